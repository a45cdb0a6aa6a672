runbook "route-status" {
  description = "Show which model a route serves, from the routes kept in etcd."
  owner       = "ml-platform"
  tags        = ["model", "fallback", "etcd"]

  variable "route" {
    type        = string
    description = "Route (flag) name: the key under the etcd prefix"
    validation {
      condition     = length(var.route) > 0
      error_message = "route must not be empty."
    }
  }

  step "status" {
    description = "Read the route's flag from etcd"
    action "fallback.status" {
      route = var.route
    }
    expect {
      condition     = output.model != ""
      error_message = "Route ${var.route} serves no model: its flag has no default variant."
    }
  }

  step "report" {
    owner  = "oncall-ml"
    manual = "Route ${var.route} serves ${step.status.output.active} (${step.status.output.model})."
  }
}
