test "switches back to the primary" {
  runbook = "deactivate-fallback"
  vars    = { route = "chat", check_error_rate = true }
  mock "fallback.status" {
    output = { route = "chat", active = "fallback", model = "anthropic/claude-sonnet-4", variants = { primary = "openai/gpt-4.1", fallback = "anthropic/claude-sonnet-4" } }
  }
  mock "fallback.deactivate" {
    output = { route = "chat", active = "primary", model = "openai/gpt-4.1", variants = { primary = "openai/gpt-4.1", fallback = "anthropic/claude-sonnet-4" } }
  }
  mock "prometheus.query" {
    outputs = [{ value = 0.2, series = [] }, { value = 0.01, series = [] }]
  }
  answers       = { deactivate = true }
  expect_status = "succeeded"
  expect_steps  = { primary-ready = "succeeded", error-rate-holds = "succeeded" }
  expect_calls  = { "fallback.deactivate" = 1, "prometheus.query" = 2 }
}

test "refuses when the primary is already active" {
  runbook = "deactivate-fallback"
  vars    = { route = "chat", check_error_rate = false }
  mock "fallback.status" {
    output = { route = "chat", active = "primary", model = "openai/gpt-4.1", variants = { primary = "openai/gpt-4.1", fallback = "anthropic/claude-sonnet-4" } }
  }
  expect_status = "blocked"
  expect_steps  = { deactivate = "blocked" }
  expect_calls  = { "fallback.deactivate" = 0 }
}

test "stops when the on-call engineer is not sure the primary is healthy" {
  runbook = "deactivate-fallback"
  vars    = { route = "chat", check_error_rate = false }
  mock "fallback.status" {
    output = { route = "chat", active = "fallback", model = "anthropic/claude-sonnet-4", variants = { primary = "openai/gpt-4.1", fallback = "anthropic/claude-sonnet-4" } }
  }
  answers       = { primary-ready = false }
  expect_status = "declined"
  expect_calls  = { "fallback.deactivate" = 0 }
}
