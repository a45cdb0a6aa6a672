runbook "r" {
  owner = "team"
  step "one" {
    timeout = "5"
    action "kv.get" {
      key = "a"
    }
    expect {
      condition     = output.value != ""
      error_message = "x"
      within        = "ten minutes"
      every         = "-1s"
    }
    retry {
      attempts = 0
      delay    = "soon"
    }
  }
  step "two" {
    timeout = var.t
    action "kv.get" {
      key = "a"
    }
    expect {
      condition     = output.value != ""
      error_message = "x"
      every         = "10s"
    }
    expect {
      condition     = output.value != ""
      error_message = "x"
      within        = "10s"
      every         = "1m"
    }
  }
}
