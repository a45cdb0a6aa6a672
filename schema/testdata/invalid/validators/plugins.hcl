plugin "svc" {
  url     = "ftp://svc.internal"
  regions = ["eu", "asia"]
}
