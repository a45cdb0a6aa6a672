runbook "rb" {
  owner = "team"
  variable "key" {
    type = string
  }
  step "read" {
    action "kv.get" {
      key = var.key
    }
  }
  step "write" {
    confirm = "Write?"
    action "kv.set" {
      key   = var.key
      value = "v"
    }
  }
}
