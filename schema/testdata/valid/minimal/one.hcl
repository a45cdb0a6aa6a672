runbook "minimal" {
  owner = "me"
  step "only" {
    manual = "Do the thing."
  }
}

runbook "second" {
  owner = "me"
  step "only" {
    manual = "Do the other thing."
  }
}
