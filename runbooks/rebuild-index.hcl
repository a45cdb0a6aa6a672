runbook "rebuild-index" {
  description = "Rebuild a retrieval index from its corpus, verify it, and make it live."
  owner       = "search-platform"
  tags        = ["rag", "index"]
  lock        = "index/${var.index}"

  variable "index" {
    type        = string
    description = "Index name"
    validation {
      condition     = length(var.index) > 0
      error_message = "index must not be empty."
    }
  }

  variable "source" {
    type        = string
    description = "Folder of .txt, .md and .jsonl documents to build from"
  }

  variable "min_docs" {
    type        = number
    default     = 1
    description = "Refuse a build with fewer documents"
  }

  variable "smoke_url" {
    type        = string
    default     = ""
    description = "A retrieval endpoint to query after the swap (GET, expects 200); empty to skip"
  }

  step "current" {
    description = "Read the live build"
    action "index.status" {
      name = var.index
    }
  }

  step "rebuild" {
    description = "Build a new version, verify its size, and swap it in"
    confirm     = "Rebuild ${var.index} from ${var.source} and make it live (live now: ${step.current.output.active_version}, ${step.current.output.doc_count} docs)?"
    action "index.rebuild" {
      name     = var.index
      source   = var.source
      min_docs = var.min_docs
    }
    expect {
      condition     = output.doc_count >= var.min_docs
      error_message = "The new build holds ${output.doc_count} documents, fewer than ${var.min_docs}."
    }
    expect {
      condition     = output.version != step.current.output.active_version
      error_message = "No new build was made live."
    }
    timeout = "30m"
  }

  step "verify" {
    description = "Read back which build is live"
    action "index.status" {
      name = var.index
    }
    expect {
      condition     = output.active_version == step.rebuild.output.version
      error_message = "The live build is ${output.active_version}, not the new ${step.rebuild.output.version}."
    }
  }

  step "smoke" {
    description = "Query the retrieval endpoint against the new build"
    when        = var.smoke_url != ""
    action "http.request" {
      url = var.smoke_url
    }
    expect {
      condition     = output.status == 200
      error_message = "The smoke query answered ${output.status}. Roll back with: runbook exec rollback-index --var index=${var.index}"
      within        = "1m"
      every         = "5s"
    }
  }

  step "announce" {
    owner  = "search-platform"
    manual = "Post in #search: ${var.index} rebuilt as ${step.rebuild.output.version} (${step.rebuild.output.doc_count} docs, was ${step.current.output.active_version}). If answers degrade, run rollback-index --var index=${var.index}. Transcript ${run.id}."
  }
}

runbook "rollback-index" {
  description = "Make the previous build of a retrieval index live again."
  owner       = "search-platform"
  tags        = ["rag", "index", "sev1"]
  lock        = "index/${var.index}"

  variable "index" {
    type        = string
    description = "Index name"
  }

  step "current" {
    description = "Read the live build and the builds kept"
    action "index.status" {
      name = var.index
    }
  }

  step "rollback" {
    description = "Point the index at the previous build"
    confirm     = "Roll ${var.index} back from ${step.current.output.active_version}?"
    precondition {
      condition     = length(step.current.output.versions) > 1
      error_message = "${var.index} has no earlier build to roll back to."
    }
    action "index.rollback" {
      name = var.index
    }
    expect {
      condition     = output.version != step.current.output.active_version
      error_message = "The live build did not change."
    }
  }

  step "verify" {
    description = "Read back which build is live"
    action "index.status" {
      name = var.index
    }
    expect {
      condition     = output.active_version == step.rollback.output.version
      error_message = "The live build is ${output.active_version}, not ${step.rollback.output.version}."
    }
  }

  step "announce" {
    owner  = "search-platform"
    manual = "Post in #search: ${var.index} rolled back to ${step.rollback.output.version}. Transcript ${run.id}."
  }
}
