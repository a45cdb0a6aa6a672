runbook "has space" {
  owner = "team"
  step "9lives" {
    manual = "x"
  }
  variable "a.b" {}
}
