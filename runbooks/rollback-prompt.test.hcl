test "rolls back when errors are elevated" {
  runbook = "rollback-prompt"
  vars    = { prompt = "support-agent", check_error_rate = true }
  mock "prompt.status" {
    outputs = [
      { name = "support-agent", label = "production", version = 7, versions = [5, 6, 7] },
      { name = "support-agent", label = "production", version = 6, versions = [5, 6, 7] },
    ]
  }
  mock "prometheus.query" {
    outputs = [
      { value = 0.2, series = [] },
      { value = 0.08, series = [] },
      { value = 0.001, series = [] },
    ]
  }
  mock "prompt.rollback" {
    output = { name = "support-agent", label = "production", version = 6, previous_version = 7 }
    plan   = ["production: v7 → v6"]
  }
  answers       = { rollback = true }
  expect_status = "succeeded"
  expect_steps  = { rollback = "succeeded", verify = "succeeded", error-rate-recovers = "succeeded", announce = "succeeded" }
  expect_calls  = { "prompt.rollback" = 1, "prometheus.query" = 3 }
  expect_plans  = { rollback = ["production: v7 → v6"] }
}

test "rolls back without Prometheus" {
  runbook = "rollback-prompt"
  vars    = { prompt = "support-agent", check_error_rate = false }
  mock "prompt.status" {
    outputs = [
      { name = "support-agent", label = "production", version = 7, versions = [5, 6, 7] },
      { name = "support-agent", label = "production", version = 6, versions = [5, 6, 7] },
    ]
  }
  mock "prompt.rollback" {
    output = { name = "support-agent", label = "production", version = 6, previous_version = 7 }
  }
  answers       = { rollback = true }
  expect_status = "succeeded"
  expect_steps  = { error-rate-elevated = "skipped", error-rate-recovers = "skipped" }
  expect_calls  = { "prompt.rollback" = 1, "prometheus.query" = 0 }
}

test "stops when the error rate is normal" {
  runbook = "rollback-prompt"
  vars    = { prompt = "support-agent", check_error_rate = true }
  mock "prompt.status" {
    output = { name = "support-agent", label = "production", version = 7, versions = [5, 6, 7] }
  }
  mock "prometheus.query" {
    output = { value = 0.001, series = [] }
  }
  expect_status = "failed"
  expect_steps  = { error-rate-elevated = "failed", rollback = "not run" }
  expect_calls  = { "prompt.rollback" = 0 }
}

test "refuses when there is no earlier version" {
  runbook = "rollback-prompt"
  vars    = { prompt = "support-agent", check_error_rate = false }
  mock "prompt.status" {
    output = { name = "support-agent", label = "production", version = 1, versions = [1] }
  }
  expect_status = "blocked"
  expect_steps  = { rollback = "blocked" }
  expect_calls  = { "prompt.rollback" = 0 }
}

test "refuses a to_version that is not older than the live one" {
  runbook = "rollback-prompt"
  vars    = { prompt = "support-agent", check_error_rate = false, to_version = 9 }
  mock "prompt.status" {
    output = { name = "support-agent", label = "production", version = 7, versions = [5, 6, 7] }
  }
  expect_status = "blocked"
  expect_steps  = { rollback = "blocked" }
  expect_calls  = { "prompt.rollback" = 0 }
}

test "stops when the operator declines" {
  runbook = "rollback-prompt"
  vars    = { prompt = "support-agent", check_error_rate = false }
  mock "prompt.status" {
    output = { name = "support-agent", label = "production", version = 7, versions = [5, 6, 7] }
  }
  answers       = { rollback = false }
  expect_status = "declined"
  expect_calls  = { "prompt.rollback" = 0 }
}

test "fails when the registry still serves the old version" {
  runbook = "rollback-prompt"
  vars    = { prompt = "support-agent", check_error_rate = false }
  mock "prompt.status" {
    output = { name = "support-agent", label = "production", version = 7, versions = [5, 6, 7] }
  }
  mock "prompt.rollback" {
    output = { name = "support-agent", label = "production", version = 6, previous_version = 7 }
  }
  answers       = { rollback = true }
  expect_status = "failed"
  expect_steps  = { verify = "failed", announce = "not run" }
}

test "continues when the error rate does not recover" {
  runbook = "rollback-prompt"
  vars    = { prompt = "support-agent", check_error_rate = true }
  mock "prompt.status" {
    outputs = [
      { name = "support-agent", label = "production", version = 7, versions = [5, 6, 7] },
      { name = "support-agent", label = "production", version = 6, versions = [5, 6, 7] },
    ]
  }
  mock "prometheus.query" {
    output = { value = 0.2, series = [] }
  }
  mock "prompt.rollback" {
    output = { name = "support-agent", label = "production", version = 6, previous_version = 7 }
  }
  answers       = { rollback = true }
  expect_status = "failed"
  expect_steps  = { error-rate-recovers = "failed", announce = "succeeded" }
}
