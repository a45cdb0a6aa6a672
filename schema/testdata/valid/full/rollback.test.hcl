test "ignored by the loader beyond syntax" {
  runbook = "rollback"
}
