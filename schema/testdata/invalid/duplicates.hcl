runbook "r" {
  owner = "team"
  variable "v" {}
  variable "v" {}
  step "one" {
    manual = "x"
  }
  step "one" {
    manual = "y"
  }
  step "two" {
    manual = "z"
    retry {
      attempts = 2
    }
    retry {
      attempts = 3
    }
  }
}
