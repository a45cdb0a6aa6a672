// Package identitytest makes SSH keys for tests of what signs and verifies
// (docs/approvals.md): fresh ed25519 keys in memory, no files, no agent.
package identitytest
