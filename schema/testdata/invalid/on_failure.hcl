runbook "r" {
  owner = "team"
  step "one" {
    manual     = "x"
    on_failure = "retry"
  }
  step "two" {
    manual     = "x"
    on_failure = "continue"
  }
}
