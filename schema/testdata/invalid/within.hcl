runbook "r" {
  owner = "team"
  variable "ro" {
    type    = bool
    default = true
  }
  step "mutating" {
    action "kv.set" {
      key   = "a"
      value = "b"
    }
    expect {
      condition     = output.version > 1
      error_message = "x"
      within        = "1m"
    }
  }
  step "manual" {
    manual = "x"
    expect {
      condition     = output.confirmed_by != ""
      error_message = "x"
      within        = "1m"
    }
  }
  step "exec-not-read-only" {
    action "kv.exec" {
      cmd = "true"
    }
    expect {
      condition     = output.code == 0
      error_message = "x"
      within        = "1m"
    }
  }
  step "exec-read-only-unknown" {
    action "kv.exec" {
      cmd       = "true"
      read_only = var.ro
    }
    expect {
      condition     = output.code == 0
      error_message = "x"
      within        = "1m"
    }
  }
}
