runbook "langfuse-prompt-status" {
  description = "Show which version of a Langfuse prompt a label serves."
  owner       = "ml-platform"
  tags        = ["prompt", "langfuse"]

  variable "prompt" {
    type        = string
    description = "Prompt name in Langfuse; folders are separated by '/'"
  }

  variable "label" {
    type        = string
    default     = "production"
    description = "The label to read"
  }

  step "status" {
    description = "Read the label from Langfuse"
    action "prompt.status" {
      name  = var.prompt
      label = var.label
    }
    expect {
      condition     = output.version > 0
      error_message = "Langfuse serves no version of ${var.prompt} under ${var.label}."
    }
  }
}
