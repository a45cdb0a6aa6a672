# The fallback plugin with its routes in etcd: route R is the key
# /runbook/routes/R, holding the flag object a flagd flag file has under
# flags.R. activate and deactivate are compare-and-swaps on the key, with a
# history entry under /runbook/routes/.history/R/ written in the same
# transaction. Nothing connects until an action runs, so this validates
# without a cluster.
#
# For TLS, give https:// endpoints and ca_file, cert_file and key_file (PEM
# files, relative to this folder); for etcd auth, username and
# password = env("ETCD_PASSWORD"). Share run locks across machines through
# the same cluster with
#   runbook --lock-url etcd://127.0.0.1:2379/runbook/locks exec route-status --var route=chat

plugin "fallback" {
  backend      = "etcd"
  endpoints    = ["127.0.0.1:2379"]
  prefix       = "/runbook/routes"
  dial_timeout = "5s"
}
