test "rebuilds, verifies and swaps" {
  runbook = "rebuild-index"
  vars    = { index = "support-kb", source = "examples/corpus/support-kb", smoke_url = "http://127.0.0.1:8080/search?q=refund" }
  mock "index.status" {
    outputs = [
      { name = "support-kb", active_version = "20261120T090000Z", doc_count = 12, versions = ["20261120T090000Z"] },
      { name = "support-kb", active_version = "20261126T140512Z", doc_count = 13, versions = ["20261120T090000Z", "20261126T140512Z"] },
    ]
  }
  mock "index.rebuild" {
    output = { name = "support-kb", version = "20261126T140512Z", doc_count = 13, previous_version = "20261120T090000Z" }
  }
  mock "http.request" {
    outputs = [
      { status = 503, headers = {}, body = "warming up", json = null },
      { status = 200, headers = {}, body = "{}", json = {} },
    ]
  }
  answers       = { rebuild = true }
  expect_status = "succeeded"
  expect_calls  = { "index.rebuild" = 1, "http.request" = 2 }
}

test "fails when the live build did not change" {
  runbook = "rebuild-index"
  vars    = { index = "support-kb", source = "examples/corpus/support-kb" }
  mock "index.status" {
    output = { name = "support-kb", active_version = "20261120T090000Z", doc_count = 12, versions = ["20261120T090000Z"] }
  }
  mock "index.rebuild" {
    output = { name = "support-kb", version = "20261120T090000Z", doc_count = 12, previous_version = "20261120T090000Z" }
  }
  answers       = { rebuild = true }
  expect_status = "failed"
  expect_steps  = { rebuild = "failed", verify = "not run" }
}

test "fails when the smoke check never answers 200" {
  runbook = "rebuild-index"
  vars    = { index = "support-kb", source = "examples/corpus/support-kb", smoke_url = "http://127.0.0.1:8080/search?q=refund" }
  mock "index.status" {
    outputs = [
      { name = "support-kb", active_version = "20261120T090000Z", doc_count = 12, versions = ["20261120T090000Z"] },
      { name = "support-kb", active_version = "20261126T140512Z", doc_count = 13, versions = ["20261120T090000Z", "20261126T140512Z"] },
    ]
  }
  mock "index.rebuild" {
    output = { name = "support-kb", version = "20261126T140512Z", doc_count = 13, previous_version = "20261120T090000Z" }
  }
  mock "http.request" {
    output = { status = 500, headers = {}, body = "error", json = null }
  }
  answers       = { rebuild = true }
  expect_status = "failed"
  expect_steps  = { smoke = "failed", announce = "not run" }
}
