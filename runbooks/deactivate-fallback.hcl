runbook "deactivate-fallback" {
  description = "Route a model's traffic back to its primary once the provider has recovered."
  owner       = "ml-platform"
  tags        = ["model", "fallback"]
  lock        = "route/${var.route}"

  variable "route" {
    type        = string
    description = "Route (flag) name, as in the flag file"
    validation {
      condition     = length(var.route) > 0
      error_message = "route must not be empty."
    }
  }

  variable "check_error_rate" {
    type        = bool
    default     = env("PROMETHEUS_URL") != ""
    description = "Watch the error rate in Prometheus after switching back; on when PROMETHEUS_URL is set"
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
  }

  step "primary-ready" {
    owner  = "oncall-ml"
    manual = "Check the provider's status page and a test request: is ${step.current.output.variants["primary"]} healthy again?"
  }

  step "deactivate" {
    description = "Switch the route back to the primary variant"
    confirm     = "Switch ${var.route} from ${step.current.output.active} back to primary (${step.current.output.variants["primary"]})?"
    precondition {
      condition     = step.current.output.active != "primary"
      error_message = "${var.route} already serves primary."
    }
    action "fallback.deactivate" {
      route = var.route
    }
    expect {
      condition     = output.active == "primary"
      error_message = "The route still serves ${output.active}."
    }
    timeout = "30s"
  }

  step "error-rate-holds" {
    description = "Watch that the primary stays healthy under traffic"
    owner       = "oncall-ml"
    when        = var.check_error_rate
    action "prometheus.query" {
      query = "sum(rate(llm_errors_total{route=\"${var.route}\"}[5m])) / sum(rate(llm_requests_total{route=\"${var.route}\"}[5m]))"
    }
    expect {
      condition     = output.value < var.error_rate_threshold
      error_message = "The primary is failing again: run activate-fallback --var route=${var.route}."
      within        = "10m"
      every         = "30s"
    }
  }

  step "announce" {
    owner  = "incident-commander"
    manual = "Post in #incidents: ${var.route} is back on primary (${step.deactivate.output.model}). Transcript ${run.id}."
  }
}
