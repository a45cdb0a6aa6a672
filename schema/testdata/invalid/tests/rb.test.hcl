test "shapes and names" {
  runbook = "rb"
  vars    = { key = "k", nope = 1 }
  mock "kv.get" {
    outputs = [
      { key = "k", value = "v", version = 1 },
      { key = "k", version = "seven" },
    ]
  }
  mock "kv.exec" {
    output = { code = 0 }
  }
  mock "kv.set" {
    output = { key = "k", value = "v", version = 2 }
    error  = "both"
  }
  answers       = { read = true, ghost = true }
  expect_status = "done"
  expect_steps  = { writ = "succeeded" }
  expect_calls  = { "kv.fail" = 1 }
}

test "unknown runbook" {
  runbook = "nosuch"
}

test "unknown runbook" {
  runbook = "rb"
}
