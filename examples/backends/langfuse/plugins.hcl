# The prompt plugin on a Langfuse project instead of the embedded file
# backend. Create an API key pair in the project settings of Langfuse; keep
# the secret key out of the file and pass it in the environment:
#
#   export LANGFUSE_PUBLIC_KEY=pk-lf-…
#   export LANGFUSE_SECRET_KEY=sk-lf-…
#   runbook run examples/backends/langfuse/prompt-status.hcl --var prompt=support-agent
#
# Versions are Langfuse's versions; labels are Langfuse's labels ("latest" is
# Langfuse's own and cannot be moved). Langfuse keeps the history of every
# change; the run's transcript has a line per change too.

plugin "prompt" {
  backend    = "langfuse"
  url        = env("LANGFUSE_HOST") != "" ? env("LANGFUSE_HOST") : "https://cloud.langfuse.com"
  public_key = env("LANGFUSE_PUBLIC_KEY")
  secret_key = env("LANGFUSE_SECRET_KEY")
  timeout    = "30s"
}
