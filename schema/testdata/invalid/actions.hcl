runbook "r" {
  owner = "team"
  step "unknown-plugin" {
    action "kvv.get" {
      key = "a"
    }
  }
  step "unknown-action" {
    action "kv.gett" {
      key = "a"
    }
  }
  step "bad-label" {
    action "kvget" {}
  }
  step "args" {
    action "kv.set" {
      keey = "a"
      ttl  = "forever"
    }
  }
  step "arg-types" {
    action "kv.set" {
      key   = ["a"]
      value = "v"
    }
  }
}
