// Package identity signs and verifies with the SSH keys people already
// have, the way git signs commits with gpg.format=ssh: signatures are
// OpenSSH's SSHSIG format in the namespace "runbook", byte for byte what
// `ssh-keygen -Y sign -n runbook` writes, so either tool can check the
// other's signatures.
//
// A Key is a signer and where it came from: a private key file (LoadKey),
// or a key held by ssh-agent (AgentKeys, or LoadKey given the key's .pub
// file, as git's user.signingkey takes one). Keys protected by a
// passphrase are used through ssh-agent: nothing here prompts on a
// terminal.
//
// Verify takes an armored signature from untrusted input: it is bounded,
// and it refuses what OpenSSH refuses (RSA with SHA-1, an unknown hash, a
// signature in another namespace), as well as DSA keys and certificates.
// It reports which key signed; who that key belongs to is the business of
// an allowed_signers file (package schema/signers).
package identity
