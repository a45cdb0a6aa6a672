// Command runbook validates, shows, formats and runs runbooks written in HCL.
// This package is only main: each command is a package of its own under
// internal/cmd (NewCmdX with an options struct), made with the
// cmdutil.Factory that holds the streams, the global options and the plugin
// resolver; ARCHITECTURE.md walks one exec from flags to transcript line.
package main
