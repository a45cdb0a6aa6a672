runbook "rollback-prompt" {
  description = "Roll a production prompt back to the last known-good version."
  owner       = "ml-platform"
  tags        = ["prompt", "sev1"]
  lock        = "prompt/${var.prompt}"

  variable "prompt" {
    type        = string
    description = "Prompt name in the registry"
    validation {
      condition     = length(var.prompt) > 0
      error_message = "prompt must not be empty."
    }
  }

  variable "label" {
    type        = string
    default     = "production"
    description = "The label to roll back"
  }

  variable "to_version" {
    type        = number
    default     = 0
    description = "Version to roll back to; 0 = the highest version below the live one"
    validation {
      condition     = var.to_version >= 0 && floor(var.to_version) == var.to_version
      error_message = "to_version is a version number, or 0 for the one before the live version."
    }
  }

  variable "check_error_rate" {
    type        = bool
    default     = env("PROMETHEUS_URL") != ""
    description = "Check the error rate in Prometheus before and after; on when PROMETHEUS_URL is set"
  }

  variable "error_rate_threshold" {
    type        = number
    default     = 0.05
    description = "Error rate (errors / requests over 5m) above which the prompt counts as failing"
  }

  step "current" {
    description = "Read which version the label serves"
    action "prompt.status" {
      name  = var.prompt
      label = var.label
    }
    expect {
      condition     = output.version > 0
      error_message = "The registry serves no version of ${var.prompt} under ${var.label}."
    }
  }

  step "error-rate-elevated" {
    description = "Confirm the error rate is really elevated before changing anything"
    owner       = "oncall-ml"
    when        = var.check_error_rate
    action "prometheus.query" {
      query = "sum(rate(llm_errors_total{prompt=\"${var.prompt}\"}[5m])) / sum(rate(llm_requests_total{prompt=\"${var.prompt}\"}[5m]))"
    }
    expect {
      condition     = output.value >= var.error_rate_threshold
      error_message = "The error rate of ${var.prompt} is below ${var.error_rate_threshold}: the prompt may not be the cause. To roll back anyway, run again with --var check_error_rate=false."
    }
  }

  step "rollback" {
    description = "Move the label to the earlier version"
    confirm     = "Roll ${var.prompt} (${var.label}) back from v${step.current.output.version}?"
    precondition {
      condition     = length([for v in step.current.output.versions : v if v < step.current.output.version]) > 0
      error_message = "${var.prompt} has no version older than the live v${step.current.output.version} to roll back to."
    }
    precondition {
      condition     = var.to_version == 0 || (contains(step.current.output.versions, var.to_version) && var.to_version < step.current.output.version)
      error_message = "to_version ${var.to_version} is not an existing version older than the live v${step.current.output.version}."
    }
    action "prompt.rollback" {
      name       = var.prompt
      label      = var.label
      to_version = var.to_version
    }
    expect {
      condition     = output.version < step.current.output.version
      error_message = "The label still points at v${output.version}."
    }
    timeout = "30s"
  }

  step "verify" {
    description = "Read back what the registry serves now"
    action "prompt.status" {
      name  = var.prompt
      label = var.label
    }
    expect {
      condition     = output.version == step.rollback.output.version
      error_message = "The registry serves v${output.version}, not the rolled-back v${step.rollback.output.version}."
    }
  }

  step "error-rate-recovers" {
    description = "Watch the error rate come back under the threshold"
    owner       = "oncall-ml"
    when        = var.check_error_rate
    action "prometheus.query" {
      query = "sum(rate(llm_errors_total{prompt=\"${var.prompt}\"}[5m])) / sum(rate(llm_requests_total{prompt=\"${var.prompt}\"}[5m]))"
    }
    expect {
      condition     = output.value < var.error_rate_threshold
      error_message = "The error rate has not recovered: the rollback did not help, look elsewhere (model, retrieval, upstream)."
      within        = "10m"
      every         = "30s"
    }
    on_failure = "continue"
  }

  step "announce" {
    owner  = "incident-commander"
    manual = "Post in #incidents: ${var.prompt} (${var.label}) rolled back from v${step.current.output.version} to v${step.rollback.output.version}; transcript ${run.id}."
  }
}
