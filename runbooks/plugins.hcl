# Plugin configuration shared by every runbook in this folder. The paths point
# at the bundled sample state; point them at your own registry, flag file and
# index folder (or at a service backend) to use these runbooks for real.

plugin "prompt" {
  backend = "file"
  path    = "../examples/state/prompts"
}

plugin "fallback" {
  backend = "file"
  path    = "../examples/state/routes.flagd.json"
}

plugin "index" {
  backend = "file"
  path    = "../examples/state/indexes"
  keep    = 5
}

plugin "prometheus" {
  url = env("PROMETHEUS_URL") != "" ? env("PROMETHEUS_URL") : "http://127.0.0.1:9090"
}
