package identity

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/crypto/ssh"
)

// tool returns the path of an OpenSSH program. Without it the test is
// skipped, unless RUNBOOK_REQUIRE_SERVICES=1 (CI), where it fails.
func tool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("RUNBOOK_REQUIRE_SERVICES") == "1" {
			t.Fatalf("%s not found (%v), and RUNBOOK_REQUIRE_SERVICES=1 requires it", name, err)
		}
		t.Skipf("%s not found: %v", name, err)
	}
	return path
}

// run runs a command with env added to the environment and returns its
// standard output, failing t when it fails.
func run(t *testing.T, env []string, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	out, err := runErr(env, stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v", name, strings.Join(args, " "), err)
	}
	return out
}

func runErr(env []string, stdin []byte, name string, args ...string) ([]byte, error) {
	cmd := exec.Command(name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, &cmdError{err: err, stderr: stderr.String()}
	}
	return out, nil
}

type cmdError struct {
	err    error
	stderr string
}

func (e *cmdError) Error() string { return e.err.Error() + ": " + strings.TrimSpace(e.stderr) }

// keyPair is a key made by ssh-keygen in a test's directory.
type keyPair struct {
	path string // the private key; its public key is path+".pub"
	pub  ssh.PublicKey
	line string // the public key as an allowed_signers line writes it
}

// newKeyPair makes a key with ssh-keygen; args choose its type and format,
// passphrase protects it when not empty.
func newKeyPair(t *testing.T, dir, name, passphrase string, args ...string) keyPair {
	t.Helper()
	keygen := tool(t, "ssh-keygen")
	path := filepath.Join(dir, name)
	run(t, nil, nil, keygen, append([]string{"-q", "-N", passphrase, "-C", name + "@test", "-f", path}, args...)...)
	data, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(data))
	return keyPair{path: path, pub: pub, line: f[0] + " " + f[1]}
}

var keyTypes = []struct {
	name string
	args []string
}{
	{"ed25519", []string{"-t", "ed25519"}},
	{"ecdsa", []string{"-t", "ecdsa", "-b", "256"}},
	{"rsa", []string{"-t", "rsa", "-b", "3072"}},
}

// sshSign signs message with ssh-keygen -Y sign and returns the armored
// signature; extra arguments go before the file.
func sshSign(t *testing.T, key, namespace string, message []byte, extra ...string) string {
	t.Helper()
	file := filepath.Join(t.TempDir(), "message")
	if err := os.WriteFile(file, message, 0o600); err != nil {
		t.Fatal(err)
	}
	args := append([]string{"-q", "-Y", "sign", "-f", key, "-n", namespace}, extra...)
	run(t, nil, nil, tool(t, "ssh-keygen"), append(args, file)...)
	sig, err := os.ReadFile(file + ".sig")
	if err != nil {
		t.Fatal(err)
	}
	return string(sig)
}

// sshVerify checks an armored signature with ssh-keygen -Y verify against
// an allowed_signers file naming pub for principal.
func sshVerify(t *testing.T, pub keyPair, principal, armored string, message []byte) error {
	t.Helper()
	dir := t.TempDir()
	allowed, sig := filepath.Join(dir, "allowed_signers"), filepath.Join(dir, "message.sig")
	if err := os.WriteFile(allowed, []byte(principal+" "+pub.line+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(sig, []byte(armored), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := runErr(nil, message, tool(t, "ssh-keygen"), "-Y", "verify", "-f", allowed, "-I", principal, "-n", Namespace, "-s", sig)
	return err
}

func TestOpenSSHInterop(t *testing.T) {
	message := []byte("approve run 7f3a of deploy-web\n")
	for _, kt := range keyTypes {
		t.Run(kt.name, func(t *testing.T) {
			kp := newKeyPair(t, t.TempDir(), "key", "", kt.args...)

			theirs := sshSign(t, kp.path, Namespace, message)
			pub, err := Verify(theirs, message)
			if err != nil {
				t.Fatalf("Verify of ssh-keygen's signature: %v", err)
			}
			if !bytes.Equal(pub.Marshal(), kp.pub.Marshal()) {
				t.Errorf("Verify returned key %s, want %s", ssh.FingerprintSHA256(pub), ssh.FingerprintSHA256(kp.pub))
			}

			k, err := LoadKey(kp.path)
			if err != nil {
				t.Fatal(err)
			}
			ours, err := Sign(k, message)
			if err != nil {
				t.Fatal(err)
			}
			if err := sshVerify(t, kp, "alice@example.com", ours, message); err != nil {
				t.Errorf("ssh-keygen -Y verify refuses Sign's signature: %v\n%s", err, ours)
			}
			if err := sshVerify(t, kp, "alice@example.com", ours, []byte("another message")); err == nil {
				t.Error("ssh-keygen -Y verify accepts Sign's signature over another message")
			}
			// ed25519 and RSA (PKCS #1 v1.5) signatures are deterministic,
			// so the two tools must write the same bytes.
			if kt.name != "ecdsa" && ours != theirs {
				t.Errorf("Sign wrote\n%s\nssh-keygen wrote\n%s", ours, theirs)
			}
		})
	}
}

func TestVerifySHA256(t *testing.T) {
	kp := newKeyPair(t, t.TempDir(), "key", "", "-t", "ed25519")
	message := []byte("approve\n")
	sig := sshSign(t, kp.path, Namespace, message, "-O", "hashalg=sha256")
	if _, err := Verify(sig, message); err != nil {
		t.Errorf("Verify refuses a signature hashed with sha256: %v", err)
	}
}
