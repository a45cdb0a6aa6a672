// Package signers reads an OpenSSH allowed_signers file: the list of people
// (principals) and the SSH public keys they sign with, the same file that
// `ssh-keygen -Y verify` and git's gpg.ssh.allowedSignersFile read. runbook
// uses it to tell who made an SSH signature (SSHSIG) over an approval.
//
// Each line is
//
//	principals [options] keytype base64-key [comment]
//
// Principals are a comma-separated list, optionally in double quotes, whose
// items may be patterns: * matches any run of characters, ? any one
// character, and a leading ! excludes what the rest matches. Options are a
// comma-separated list of cert-authority, namespaces="list",
// valid-after="time" and valid-before="time", where a time is YYYYMMDD,
// YYYYMMDDHHMM or YYYYMMDDHHMMSS, in UTC with a Z (or UTC) suffix and in
// the machine's local time zone without one, as ssh-keygen reads it. The
// namespaces list holds patterns too. Blank lines and lines whose first
// non-blank character is # are ignored.
//
// Parse keeps every good line and returns a positioned diagnostic for each
// bad one. Lookups (Principals, Has, Literal) never match cert-authority
// lines: runbook accepts signatures by plain keys only, not by certificates.
package signers
