runbook "r" {
  owner   = "team"
  version = 2
  step "one" {
    manual  = "x"
    retries = 3
  }
  variable "v" {
    type     = string
    nullable = false
  }
}
