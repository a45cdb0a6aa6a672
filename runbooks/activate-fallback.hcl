runbook "activate-fallback" {
  description = "Route a model's traffic to its fallback when the primary provider is failing."
  owner       = "ml-platform"
  tags        = ["model", "fallback", "sev1"]
  lock        = "route/${var.route}"

  variable "route" {
    type        = string
    description = "Route (flag) name, as in the flag file"
    validation {
      condition     = length(var.route) > 0
      error_message = "route must not be empty."
    }
  }

  variable "target" {
    type        = string
    default     = "fallback"
    description = "Variant to switch to"
  }

  variable "check_error_rate" {
    type        = bool
    default     = env("PROMETHEUS_URL") != ""
    description = "Check in Prometheus that the primary is failing; on when PROMETHEUS_URL is set"
  }

  variable "error_rate_threshold" {
    type        = number
    default     = 0.05
    description = "Error rate above which the primary counts as failing"
  }

  step "current" {
    description = "Read which variant the route serves"
    action "fallback.status" {
      route = var.route
    }
    expect {
      condition     = contains(keys(output.variants), var.target)
      error_message = "Route ${var.route} has no variant ${var.target}; its variants: ${join(", ", keys(output.variants))}."
    }
  }

  step "primary-failing" {
    description = "Confirm the primary is really failing"
    owner       = "oncall-ml"
    when        = var.check_error_rate
    action "prometheus.query" {
      query = "sum(rate(llm_errors_total{route=\"${var.route}\"}[5m])) / sum(rate(llm_requests_total{route=\"${var.route}\"}[5m]))"
    }
    expect {
      condition     = output.value >= var.error_rate_threshold
      error_message = "The error rate of ${var.route} is below ${var.error_rate_threshold}. To switch anyway, run again with --var check_error_rate=false."
    }
  }

  step "activate" {
    description = "Switch the route to the fallback variant"
    confirm     = "Switch ${var.route} from ${step.current.output.active} (${step.current.output.model}) to ${var.target} (${step.current.output.variants[var.target]})?"
    precondition {
      condition     = step.current.output.active != var.target
      error_message = "${var.route} already serves ${var.target}."
    }
    action "fallback.activate" {
      route  = var.route
      target = var.target
    }
    expect {
      condition     = output.active == var.target
      error_message = "The route still serves ${output.active}."
    }
    timeout = "30s"
  }

  step "verify" {
    description = "Read back what the route serves now"
    action "fallback.status" {
      route = var.route
    }
    expect {
      condition     = output.active == var.target && output.model == step.current.output.variants[var.target]
      error_message = "The route serves ${output.active} (${output.model}), not ${var.target}."
    }
  }

  step "error-rate-recovers" {
    description = "Watch the error rate come back under the threshold"
    owner       = "oncall-ml"
    when        = var.check_error_rate
    action "prometheus.query" {
      query = "sum(rate(llm_errors_total{route=\"${var.route}\"}[5m])) / sum(rate(llm_requests_total{route=\"${var.route}\"}[5m]))"
    }
    expect {
      condition     = output.value < var.error_rate_threshold
      error_message = "The error rate has not recovered on the fallback: the cause may be upstream of the model."
      within        = "10m"
      every         = "30s"
    }
    on_failure = "continue"
  }

  step "announce" {
    owner  = "incident-commander"
    manual = "Post in #incidents: ${var.route} now serves ${var.target} (${step.verify.output.model}); run deactivate-fallback when the primary recovers. Transcript ${run.id}."
  }
}
