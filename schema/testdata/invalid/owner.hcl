runbook "no-owner" {
  description = "nobody answers for this"
  step "one" {
    manual = "x"
  }
}

runbook "empty-owner" {
  owner = "  "
  step "one" {
    owner  = ""
    manual = "x"
  }
}

runbook "computed-owner" {
  owner = var.team
  step "one" {
    manual = "x"
  }
}
