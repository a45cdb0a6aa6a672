package identitytest

import (
	"crypto/ed25519"
	"crypto/rand"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"

	"github.com/runbookdev/runbook/engine/identity"
)

// NewKey returns a fresh ed25519 key; source names it in messages.
func NewKey(t testing.TB, source string) *identity.Key {
	t.Helper()
	_, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s, err := ssh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	return &identity.Key{Signer: s, Source: source}
}

// AuthorizedKey is k's public key as an allowed_signers line writes it:
// "ssh-ed25519 AAAA…".
func AuthorizedKey(k *identity.Key) string {
	return strings.TrimSpace(string(ssh.MarshalAuthorizedKey(k.Signer.PublicKey())))
}
