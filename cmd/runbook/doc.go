// Command runbook validates, shows, formats and runs runbooks written in HCL.
// This package is the command line only: flags, terminal rendering and exit
// codes; the language lives in schema and execution in engine.
package main
