runbook "r" {
  owner = "team"
  step "one" {
    when    = 5
    confirm = ["a list"]
    action "kv.get" {
      key = nosuchfunc("a")
    }
    precondition {
      condition     = "maybe"
      error_message = "x"
    }
    expect {
      condition     = output.value
      error_message = { not = "a string" }
    }
  }
  step "two" {
    manual = "version ${step.one.output.version + "x"}"
  }
}
