package identity

import (
	"bufio"
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// startAgent starts an ssh-agent of the test's own, points SSH_AUTH_SOCK
// at it and adds the given private keys to it; the agent is killed when
// the test ends.
func startAgent(t *testing.T, keys ...string) string {
	t.Helper()
	agentBin, add := tool(t, "ssh-agent"), tool(t, "ssh-add")
	// A socket path is limited to about 100 bytes: keep it short.
	dir, err := os.MkdirTemp("", "rbagent")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "s")
	cmd := exec.Command(agentBin, "-D", "-a", sock)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// In the foreground, ssh-agent prints its SSH_AUTH_SOCK line once the
	// socket is listening.
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, sock) {
		t.Fatalf("ssh-agent did not start: %q, %v", line, err)
	}
	t.Setenv("SSH_AUTH_SOCK", sock)
	for _, k := range keys {
		run(t, []string{"SSH_AUTH_SOCK=" + sock}, nil, add, "-q", k)
	}
	return sock
}

func TestLoadKey(t *testing.T) {
	dir := t.TempDir()
	ed := newKeyPair(t, dir, "ed", "", "-t", "ed25519")
	pem := newKeyPair(t, dir, "pem", "", "-t", "rsa", "-b", "2048", "-m", "PEM")
	inAgent := newKeyPair(t, dir, "agent", "", "-t", "ecdsa")
	locked := newKeyPair(t, dir, "locked", "secret", "-t", "ed25519")
	notInAgent := newKeyPair(t, dir, "absent", "", "-t", "ed25519")
	if err := os.Remove(notInAgent.path); err != nil {
		t.Fatal(err)
	}
	beside := newKeyPair(t, dir, "beside", "", "-t", "ed25519") // in no agent; its private key is beside its .pub
	startAgent(t, inAgent.path)

	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	textFile := write("notes.txt", []byte("not a key\n"))
	bigFile := write("big", bytes.Repeat([]byte("x"), MaxKeyFileSize+1))
	pubNoSuffix := write("agent-public", []byte(inAgent.line+" comment\n"))

	tests := []struct {
		name    string
		path    string
		want    keyPair // the key it must load
		source  string
		wantErr string
		is      error
	}{
		{name: "OpenSSH private key", path: ed.path, want: ed, source: ed.path},
		{name: "PEM private key", path: pem.path, want: pem, source: pem.path},
		{name: "public key in ssh-agent", path: inAgent.path + ".pub", want: inAgent, source: AgentSource},
		{name: "public key file without .pub", path: pubNoSuffix, want: inAgent, source: AgentSource},
		{name: "private key beside the public key", path: beside.path + ".pub", want: beside, source: beside.path},
		{name: "passphrase", path: locked.path, wantErr: "ssh-agent", is: ErrPassphrase},
		{name: "passphrase beside the public key", path: locked.path + ".pub", wantErr: "ssh-add " + locked.path, is: ErrPassphrase},
		{name: "public key not in ssh-agent", path: notInAgent.path + ".pub", wantErr: "not in ssh-agent"},
		{name: "missing file", path: filepath.Join(dir, "nothing"), is: fs.ErrNotExist},
		{name: "not a key", path: textFile, wantErr: "neither an SSH private key nor an SSH public key"},
		{name: "too large", path: bigFile, wantErr: "larger than"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := LoadKey(tt.path)
			if tt.wantErr != "" || tt.is != nil {
				if err == nil {
					t.Fatalf("LoadKey succeeded, want an error")
				}
				if !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("error %q does not say %q", err, tt.wantErr)
				}
				if tt.is != nil && !errors.Is(err, tt.is) {
					t.Errorf("error %q is not %v", err, tt.is)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if k.Source != tt.source {
				t.Errorf("Source = %q, want %q", k.Source, tt.source)
			}
			if got, want := k.Fingerprint(), ssh.FingerprintSHA256(tt.want.pub); got != want {
				t.Errorf("Fingerprint = %s, want %s", got, want)
			}
			message := []byte("approve\n")
			sig, err := Sign(k, message)
			if err != nil {
				t.Fatal(err)
			}
			if err := sshVerify(t, tt.want, "alice", sig, message); err != nil {
				t.Errorf("ssh-keygen refuses the signature: %v", err)
			}
		})
	}
}

func TestLoadKeyWithoutAgent(t *testing.T) {
	kp := newKeyPair(t, t.TempDir(), "key", "", "-t", "ed25519")
	if err := os.Remove(kp.path); err != nil {
		t.Fatal(err)
	}
	t.Setenv("SSH_AUTH_SOCK", "")
	_, err := LoadKey(kp.path + ".pub")
	if err == nil || !strings.Contains(err.Error(), "SSH_AUTH_SOCK is not set") {
		t.Errorf("error = %v, want one saying SSH_AUTH_SOCK is not set", err)
	}
}
