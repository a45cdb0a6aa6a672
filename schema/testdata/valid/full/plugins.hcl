plugin "kv" {
  path = "./state"
}

plugin "svc" {
  url   = env("SVC_URL")
  token = "not-shown"
}
