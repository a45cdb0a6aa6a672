// Command parsefloor is the floor that `runbook validate` is measured
// against: it reads every *.hcl file directly inside DIR and parses each with
// hclsyntax.ParseConfig, one file after another on a single goroutine, and
// does nothing else.
//
//	go run ./bench/parsefloor DIR
//
// It prints the number of files parsed, and exits non-zero on any read or
// parse error.
package main
