runbook "r" {
  owner = "team"
  step "neither" {
    description = "does nothing"
  }
  step "both" {
    manual = "do it by hand"
    action "kv.get" {
      key = "a"
    }
  }
  step "two-actions" {
    action "kv.get" {
      key = "a"
    }
    action "kv.get" {
      key = "b"
    }
  }
}
