notify "chat" {
  type = "slak"
  url  = env("SLACK_WEBHOOK_URL")
}

notify "chat" {
  type = "webhook"
  url  = env("OTHER_URL")
}

runbook "deploy" {
  owner = "team"
  notify "hook" {
    type    = "webhook"
    url     = "mailto:ops@example.com"
    on      = ["started", "finished"]
    dry_run = "yes"
  }
  notify "hook" {
    type = "webhook"
    url  = var.missing
  }
  step "s" {
    manual = "do it"
  }
}
