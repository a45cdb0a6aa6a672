// Package testcmd is `runbook test`: the test blocks of *.test.hcl files
// run against mocked plugins on a virtual clock, reported as text or JUnit.
package testcmd
