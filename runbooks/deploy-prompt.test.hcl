test "publishes to staging, then promotes" {
  runbook = "deploy-prompt"
  vars    = { prompt = "support-agent", text = "You are Lumen's support agent. Be brief." }
  mock "prompt.status" {
    outputs = [
      { name = "support-agent", label = "production", version = 7, versions = [6, 7] },
      { name = "support-agent", label = "staging", version = 8, versions = [6, 7, 8] },
    ]
  }
  mock "prompt.publish" {
    output = { name = "support-agent", version = 8 }
  }
  mock "prompt.promote" {
    output = { name = "support-agent", label = "production", version = 8, previous_version = 7 }
  }
  answers       = { promote = true }
  expect_status = "succeeded"
  expect_steps  = { smoke = "skipped", review = "succeeded", promote = "succeeded" }
  expect_calls  = { "prompt.publish" = 1, "prompt.promote" = 1 }
}

test "does not promote when staging serves something else" {
  runbook = "deploy-prompt"
  vars    = { prompt = "support-agent", text = "New text." }
  mock "prompt.status" {
    outputs = [
      { name = "support-agent", label = "production", version = 7, versions = [6, 7] },
      { name = "support-agent", label = "staging", version = 7, versions = [6, 7, 8] },
    ]
  }
  mock "prompt.publish" {
    output = { name = "support-agent", version = 8 }
  }
  expect_status = "failed"
  expect_steps  = { staging = "failed", promote = "not run" }
  expect_calls  = { "prompt.promote" = 0 }
}

test "leaves production alone when the reviewer says no" {
  runbook = "deploy-prompt"
  vars    = { prompt = "support-agent", text = "New text." }
  mock "prompt.status" {
    outputs = [
      { name = "support-agent", label = "production", version = 7, versions = [6, 7] },
      { name = "support-agent", label = "staging", version = 8, versions = [6, 7, 8] },
    ]
  }
  mock "prompt.publish" {
    output = { name = "support-agent", version = 8 }
  }
  answers       = { review = false }
  expect_status = "declined"
  expect_calls  = { "prompt.promote" = 0 }
}

test "refuses empty text" {
  runbook       = "deploy-prompt"
  vars          = { prompt = "support-agent", text = "   " }
  expect_status = "invalid"
}
