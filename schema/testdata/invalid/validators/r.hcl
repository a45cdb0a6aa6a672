runbook "validators" {
  owner = "team"
  variable "ttl" {
    type    = number
    default = 5
  }
  step "ping" {
    action "svc.ping" {}
  }
  step "too_long" {
    action "kv.set" {
      key   = "k"
      value = "v"
      ttl   = 90000
    }
  }
  # Known only when the run reaches the step: checked then.
  step "known_later" {
    action "kv.set" {
      key   = "k"
      value = "v"
      ttl   = var.ttl * 100000
    }
  }
}
