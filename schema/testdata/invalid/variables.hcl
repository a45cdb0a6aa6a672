runbook "r" {
  owner = "team"
  variable "count" {
    type    = number
    default = "many"
  }
  variable "flags" {
    type    = list(string)
    default = { a = 1 }
  }
  variable "kind" {
    type = strin
  }
  variable "from-var" {
    type    = string
    default = var.kind
  }
  variable "ok" {
    type    = map(number)
    default = { a = 1, b = 2 }
    validation {
      condition     = length(var.ok) > 0 && step.x.output == null
      error_message = "x"
    }
  }
  step "one" {
    manual = "x"
  }
}
