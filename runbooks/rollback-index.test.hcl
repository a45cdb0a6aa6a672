test "makes the previous build live" {
  runbook = "rollback-index"
  vars    = { index = "support-kb" }
  mock "index.status" {
    outputs = [
      { name = "support-kb", active_version = "B", doc_count = 13, versions = ["A", "B"] },
      { name = "support-kb", active_version = "A", doc_count = 12, versions = ["A", "B"] },
    ]
  }
  mock "index.rollback" {
    output = { name = "support-kb", version = "A", doc_count = 12, previous_version = "B" }
  }
  answers       = { rollback = true }
  expect_status = "succeeded"
  expect_calls  = { "index.rollback" = 1 }
}

test "refuses when there is no earlier build" {
  runbook = "rollback-index"
  vars    = { index = "support-kb" }
  mock "index.status" {
    output = { name = "support-kb", active_version = "A", doc_count = 12, versions = ["A"] }
  }
  expect_status = "blocked"
  expect_steps  = { rollback = "blocked" }
  expect_calls  = { "index.rollback" = 0 }
}
