runbook "rollback" {
  description = "Every construct of the language, used correctly."
  owner       = "platform"
  tags        = ["kv", "sev1"]
  lock        = "kv/${var.key}"

  variable "key" {
    type        = string
    description = "The key to roll back"
    validation {
      condition     = length(var.key) > 0 && strcontains(var.key, "/") == false
      error_message = "key must be non-empty and have no slash."
    }
  }
  variable "limit" {
    type    = number
    default = 3
  }
  variable "labels" {
    type    = map(string)
    default = { team = "platform" }
  }
  variable "token" {
    type      = string
    sensitive = true
    default   = env("KV_TOKEN")
  }
  variable "untyped" {
    default = 2
  }
  variable "anything" {
    type    = any
    default = { a = [1, 2] }
  }

  step "ping" {
    action "svc.ping" {}
    expect {
      condition     = output.ok
      error_message = "service down"
      within        = "1m"
    }
  }

  step "read" {
    description = "Read the current value"
    when        = !run.dry_run || true
    action "kv.get" {
      key = var.key
    }
    expect {
      condition     = output.version >= 1
      error_message = "no version of ${var.key}"
      within        = "30s"
      every         = "5s"
    }
  }

  step "write" {
    owner   = "oncall"
    confirm = "Set ${var.key} back from v${step.read.output.version}? (${run.operator}, ${run.id})"
    precondition {
      condition     = step.read.output.version > 1 && contains(keys(var.labels), "team")
      error_message = "Nothing to roll back to."
    }
    action "kv.set" {
      key   = var.key
      value = upper(format("%s-%d", step.read.output.value, var.limit + var.untyped))
      ttl   = max(var.limit, 1)
    }
    expect {
      condition     = output.version > step.read.output.version
      error_message = "Version did not move (still v${output.version})."
    }
    timeout    = "30s"
    on_failure = "continue"
    retry {
      attempts = 3
      delay    = "2s"
    }
  }

  step "check" {
    action "kv.exec" {
      cmd       = "test -f ${var.key}"
      read_only = true
    }
    expect {
      condition     = output.code == 0
      error_message = "file missing"
      within        = "10m"
      every         = "30s"
    }
  }

  step "announce" {
    owner  = "incident-commander"
    manual = "Tell #incidents: ${var.key} is at v${step.write.output.version}; ${timestamp()}."
    expect {
      condition     = output.confirmed_by != ""
      error_message = "somebody must confirm"
    }
  }
}
