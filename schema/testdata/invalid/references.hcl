runbook "r" {
  owner = "team"
  lock  = "r/${step.first.output.key}"

  variable "name" {
    type = string
  }

  step "first" {
    when = var.nmae != ""
    action "kv.get" {
      key = step.second.output.key
    }
  }

  step "second" {
    confirm = "ok ${step.second.output.value}?"
    action "kv.get" {
      key = step.missing.output.key
    }
    precondition {
      condition     = output.version > 0
      error_message = "no output outside expect"
    }
  }

  step "third" {
    manual = "${run.user} ${local.x} ${step.first.status} ${step} ${var}"
    expect {
      condition     = output.confirmed_by != "" && step.first.output.nope == ""
      error_message = "x"
    }
  }
}
