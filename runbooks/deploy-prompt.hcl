runbook "deploy-prompt" {
  description = "Publish a new prompt version to staging, check it, and promote it to production."
  owner       = "ml-platform"
  tags        = ["prompt", "deploy"]
  lock        = "prompt/${var.prompt}"

  variable "prompt" {
    type        = string
    description = "Prompt name in the registry"
    validation {
      condition     = length(var.prompt) > 0
      error_message = "prompt must not be empty."
    }
  }

  variable "text" {
    type        = string
    description = "The new prompt text (e.g. --var text=\"$(cat prompt.txt)\")"
    validation {
      condition     = length(trimspace(var.text)) > 0
      error_message = "The prompt text must not be empty."
    }
  }

  variable "smoke_url" {
    type        = string
    default     = ""
    description = "An endpoint that exercises the staging prompt (GET, expects 200); empty to skip"
  }

  step "production" {
    description = "Read which version production serves"
    action "prompt.status" {
      name  = var.prompt
      label = "production"
    }
  }

  step "publish" {
    description = "Publish the text as a new version, labelled staging"
    action "prompt.publish" {
      name  = var.prompt
      text  = var.text
      label = "staging"
    }
    expect {
      condition     = output.version > step.production.output.version
      error_message = "The new version v${output.version} is not newer than production's v${step.production.output.version}."
    }
  }

  step "staging" {
    description = "Read back what staging serves"
    action "prompt.status" {
      name  = var.prompt
      label = "staging"
    }
    expect {
      condition     = output.version == step.publish.output.version
      error_message = "Staging serves v${output.version}, not the new v${step.publish.output.version}."
    }
  }

  step "smoke" {
    description = "Exercise the staging prompt"
    when        = var.smoke_url != ""
    action "http.request" {
      url = var.smoke_url
    }
    expect {
      condition     = output.status == 200
      error_message = "The staging smoke check answered ${output.status}; production is untouched."
    }
  }

  step "review" {
    owner  = "ml-platform"
    manual = "Try ${var.prompt} v${step.publish.output.version} on staging (evals, a few real conversations). Confirm only if it is better than production's v${step.production.output.version}."
  }

  step "promote" {
    description = "Point production at the new version"
    confirm     = "Promote ${var.prompt} v${step.publish.output.version} to production (now v${step.production.output.version})?"
    action "prompt.promote" {
      name    = var.prompt
      label   = "production"
      version = step.publish.output.version
    }
    expect {
      condition     = output.version == step.publish.output.version
      error_message = "Production serves v${output.version}, not v${step.publish.output.version}."
    }
  }

  step "announce" {
    owner  = "ml-platform"
    manual = "Post in #ml-releases: ${var.prompt} v${step.publish.output.version} is live in production (was v${step.production.output.version}); roll back with: runbook exec rollback-prompt --var prompt=${var.prompt}. Transcript ${run.id}."
  }
}
