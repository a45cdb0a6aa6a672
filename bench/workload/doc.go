// Package workload generates a directory of realistic runbooks for
// benchmarking `runbook validate` (see bench/validate.sh and
// schema/bench_test.go).
//
// Every runbook uses only the built-in plugins (prompt, fallback, http,
// shell), declares variables with validation, and cycles through ten kinds of
// step: reads, HTTP and shell checks, mutations guarded by preconditions and
// confirmations, expects that refer to earlier steps' outputs, manual steps,
// retries and timeouts. The output is deterministic and validates with zero
// errors.
package workload
