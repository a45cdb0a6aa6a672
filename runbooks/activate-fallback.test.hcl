test "switches a failing route to its fallback" {
  runbook = "activate-fallback"
  vars    = { route = "chat", check_error_rate = true }
  mock "fallback.status" {
    outputs = [
      { route = "chat", active = "primary", model = "openai/gpt-4.1", variants = { primary = "openai/gpt-4.1", fallback = "anthropic/claude-sonnet-4" } },
      { route = "chat", active = "fallback", model = "anthropic/claude-sonnet-4", variants = { primary = "openai/gpt-4.1", fallback = "anthropic/claude-sonnet-4" } },
    ]
  }
  mock "prometheus.query" {
    outputs = [{ value = 0.3, series = [] }, { value = 0.002, series = [] }]
  }
  mock "fallback.activate" {
    output = { route = "chat", active = "fallback", model = "anthropic/claude-sonnet-4", variants = { primary = "openai/gpt-4.1", fallback = "anthropic/claude-sonnet-4" } }
  }
  answers       = { activate = true }
  expect_status = "succeeded"
  expect_calls  = { "fallback.activate" = 1 }
}

test "stops when the route has no such variant" {
  runbook = "activate-fallback"
  vars    = { route = "chat", target = "backup", check_error_rate = false }
  mock "fallback.status" {
    output = { route = "chat", active = "primary", model = "openai/gpt-4.1", variants = { primary = "openai/gpt-4.1", fallback = "anthropic/claude-sonnet-4" } }
  }
  expect_status = "failed"
  expect_steps  = { current = "failed", activate = "not run" }
  expect_calls  = { "fallback.activate" = 0 }
}

test "stops when the primary is not failing" {
  runbook = "activate-fallback"
  vars    = { route = "chat", check_error_rate = true }
  mock "fallback.status" {
    output = { route = "chat", active = "primary", model = "openai/gpt-4.1", variants = { primary = "openai/gpt-4.1", fallback = "anthropic/claude-sonnet-4" } }
  }
  mock "prometheus.query" {
    output = { value = 0.001, series = [] }
  }
  expect_status = "failed"
  expect_steps  = { primary-failing = "failed" }
  expect_calls  = { "fallback.activate" = 0 }
}

test "refuses when the fallback is already active" {
  runbook = "activate-fallback"
  vars    = { route = "chat", check_error_rate = false }
  mock "fallback.status" {
    output = { route = "chat", active = "fallback", model = "anthropic/claude-sonnet-4", variants = { primary = "openai/gpt-4.1", fallback = "anthropic/claude-sonnet-4" } }
  }
  expect_status = "blocked"
  expect_steps  = { activate = "blocked" }
  expect_calls  = { "fallback.activate" = 0 }
}
