runbook "r" {
  owner = "team"
  variable "v" {
    validation {
      condition = length(var.v) > 0
    }
  }
  step "one" {
    manual = "x"
    precondition {
      error_message = "missing condition"
    }
    retry {
      delay = "1s"
    }
  }
}
