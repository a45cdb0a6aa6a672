package identity

import (
	"os"
	"path/filepath"
	"testing"
)

// The seeds are signatures ssh-keygen -Y sign -n runbook made over
// testdata/message: one by an ed25519 key, one by an RSA key hashing with
// SHA-256.
func FuzzVerify(f *testing.F) {
	message, err := os.ReadFile(filepath.Join("testdata", "message"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range []string{"ed25519.sig", "rsa-sha256.sig"} {
		sig, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		if _, err := Verify(string(sig), message); err != nil {
			f.Fatalf("seed %s does not verify: %v", name, err)
		}
		f.Add(string(sig), message)
	}
	f.Add(armorBegin+"\n"+armorEnd+"\n", []byte{})
	f.Fuzz(func(t *testing.T, armored string, message []byte) {
		pub, err := Verify(armored, message)
		if (pub == nil) == (err == nil) {
			t.Fatalf("Verify returned key %v and error %v: exactly one must be set", pub, err)
		}
	})
}
