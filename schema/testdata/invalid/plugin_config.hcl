plugin "kv" {
  path  = ["not", "a", "string"]
  colour = "blue"
  sha256 = "abc"
}

plugin "kv" {
  path = "again"
}

plugin "nosuch" {
  x = 1
}

runbook "r" {
  owner = "team"
  step "needs-config" {
    action "svc.ping" {}
  }
}
