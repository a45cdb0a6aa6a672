resource "aws_instance" "x" {}

runbook "r" {
  owner = "team"
  stepp "one" {
    manual = "x"
  }
  step "two" {
    manual = "x"
    verify {
      condition = true
    }
  }
}
