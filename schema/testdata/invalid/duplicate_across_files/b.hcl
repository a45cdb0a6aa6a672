plugin "kv" {
  path = "b"
}

runbook "same" {
  owner = "other-team"
  step "one" {
    manual = "x"
  }
}
