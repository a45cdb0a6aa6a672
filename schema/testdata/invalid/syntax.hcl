runbook "broken" {
  owner = "team"
  step "one" {
    manual = "do it"
  
}
