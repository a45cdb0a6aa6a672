plugin "kv" {
  path = "a"
}

runbook "same" {
  owner = "team"
  step "one" {
    manual = "x"
  }
}
