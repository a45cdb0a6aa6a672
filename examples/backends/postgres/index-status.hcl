runbook "postgres-index-status" {
  description = "Show which build of a PostgreSQL-backed retrieval index is live."
  owner       = "search-platform"
  tags        = ["rag", "index", "postgres"]

  variable "index" {
    type        = string
    default     = "support_kb"
    description = "Index name: the view rag.<index> that the application queries"
  }

  step "status" {
    description = "Read the live build from the view's definition"
    action "index.status" {
      name = var.index
    }
    expect {
      condition     = output.active_version != ""
      error_message = "rag.${var.index} has no live build yet: run rebuild-index against this backend first."
    }
    expect {
      condition     = output.doc_count > 0
      error_message = "The live build ${output.active_version} of ${var.index} holds no documents."
    }
  }
}
