package identity

import (
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/crypto/ssh"
)

func TestAgentKeys(t *testing.T) {
	dir := t.TempDir()
	ed := newKeyPair(t, dir, "ed", "", "-t", "ed25519")
	rsa := newKeyPair(t, dir, "rsa", "", "-t", "rsa", "-b", "2048")
	startAgent(t, ed.path, rsa.path)

	fds := openFiles(t)
	keys, err := AgentKeys()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 {
		t.Fatalf("got %d keys, want 2", len(keys))
	}
	message := []byte("approve\n")
	for i, want := range []keyPair{ed, rsa} {
		k := keys[i]
		if k.Source != AgentSource || k.Comment != filepath.Base(want.path)+"@test" {
			t.Errorf("key %d: Source %q, Comment %q", i, k.Source, k.Comment)
		}
		if got := k.Fingerprint(); got != ssh.FingerprintSHA256(want.pub) {
			t.Errorf("key %d: fingerprint %s, want %s", i, got, ssh.FingerprintSHA256(want.pub))
		}
		sig, err := Sign(k, message)
		if err != nil {
			t.Fatal(err)
		}
		if err := sshVerify(t, want, "alice", sig, message); err != nil {
			t.Errorf("key %d (%s): ssh-keygen refuses the agent's signature: %v", i, want.pub.Type(), err)
		}
		if pub, err := Verify(sig, message); err != nil || ssh.FingerprintSHA256(pub) != k.Fingerprint() {
			t.Errorf("key %d: Verify = %v, %v", i, pub, err)
		}
	}
	if got := openFiles(t); got != fds {
		t.Errorf("%d files open after listing and signing, %d before: a connection to the agent leaked", got, fds)
	}
}

func TestAgentKeysWithoutAgent(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", "")
	keys, err := AgentKeys()
	if keys != nil || err != nil {
		t.Errorf("AgentKeys() = %v, %v, want nil, nil", keys, err)
	}
}

func TestAgentKeysBadSocket(t *testing.T) {
	t.Setenv("SSH_AUTH_SOCK", t.TempDir()+"/none")
	if _, err := AgentKeys(); err == nil {
		t.Error("AgentKeys succeeded with no agent listening")
	}
}

// openFiles counts the process's open file descriptors.
func openFiles(t *testing.T) int {
	t.Helper()
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skipf("cannot count open files: %v", err)
	}
	return len(entries)
}
