package signers

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/ssh"
)

// sshKeygen returns the path of ssh-keygen. Without one the test is
// skipped, unless RUNBOOK_REQUIRE_SERVICES=1 (CI), where it fails.
func sshKeygen(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("ssh-keygen")
	if err != nil {
		if os.Getenv("RUNBOOK_REQUIRE_SERVICES") == "1" {
			t.Fatalf("ssh-keygen not found (%v), and RUNBOOK_REQUIRE_SERVICES=1 requires it", err)
		}
		t.Skipf("ssh-keygen not found: %v", err)
	}
	return path
}

// run runs a command and returns its standard output, failing t on error.
func run(t *testing.T, stdin []byte, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.Bytes())
	}
	return out
}

// opensshKey is a key pair made by ssh-keygen.
type opensshKey struct {
	path string // the private key; the public key is path+".pub"
	line string // the public key as written in the .pub file, comment dropped
	pub  ssh.PublicKey
}

func newOpensshKey(t *testing.T, keygen, dir, name string, args ...string) opensshKey {
	t.Helper()
	path := filepath.Join(dir, name)
	run(t, nil, keygen, append([]string{"-q", "-N", "", "-C", name, "-f", path}, args...)...)
	data, err := os.ReadFile(path + ".pub")
	if err != nil {
		t.Fatal(err)
	}
	pub, _, _, _, err := ssh.ParseAuthorizedKey(data)
	if err != nil {
		t.Fatal(err)
	}
	fields := strings.Fields(string(data))
	return opensshKey{path: path, line: fields[0] + " " + fields[1], pub: pub}
}

// TestOpenSSHKeys parses a file of keys that ssh-keygen made, and checks
// the principals it allows against what `ssh-keygen -Y verify` accepts.
func TestOpenSSHKeys(t *testing.T) {
	keygen := sshKeygen(t)
	dir := t.TempDir()
	ed := newOpensshKey(t, keygen, dir, "ed", "-t", "ed25519")
	rsa := newOpensshKey(t, keygen, dir, "rsa", "-t", "rsa", "-b", "3072")
	ec := newOpensshKey(t, keygen, dir, "ec", "-t", "ecdsa", "-b", "256")
	src := strings.Join([]string{
		"# who may approve",
		"alice,alice@example.com " + ed.line + " alice's laptop",
		`"bob" namespaces="runbook" ` + rsa.line,
		`ops-*,!ops-mallory namespaces="run*,git" ` + ec.line,
		`carol namespaces="git" ` + ed.line,
		`dave valid-before="20000101Z" ` + rsa.line,
		`erin valid-after="20000101",valid-before="29991231235959Z" ` + rsa.line,
		`*@example.com cert-authority ` + ec.line,
		"",
	}, "\n")
	allowed := filepath.Join(dir, "allowed_signers")
	if err := os.WriteFile(allowed, []byte(src), 0o600); err != nil {
		t.Fatal(err)
	}
	f, diags := Parse(allowed, []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(f.Entries) != 7 {
		t.Fatalf("got %d entries, want 7", len(f.Entries))
	}
	now := time.Now()
	for _, tt := range []struct {
		key  opensshKey
		want []string
	}{
		{ed, []string{"alice", "alice@example.com"}},
		{rsa, []string{"bob", "erin"}},
		{ec, nil},
	} {
		if got := f.Principals(tt.key.pub, "runbook", now); strings.Join(got, ",") != strings.Join(tt.want, ",") {
			t.Errorf("Principals(%s) = %q, want %q", tt.key.pub.Type(), got, tt.want)
		}
	}

	message := filepath.Join(dir, "message")
	if err := os.WriteFile(message, []byte("approve run 42\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, k := range []opensshKey{ed, rsa, ec} {
		run(t, nil, keygen, "-q", "-Y", "sign", "-f", k.path, "-n", "runbook", message)
		for _, p := range []string{"alice", "bob", "carol", "dave", "erin", "ops-anna", "ops-mallory", "x@example.com", "nobody"} {
			want := allows(f, k.pub, p, "runbook", now)
			cmd := exec.Command(keygen, "-Y", "verify", "-f", allowed, "-I", p, "-n", "runbook", "-s", message+".sig")
			cmd.Stdin = strings.NewReader("approve run 42\n")
			out, err := cmd.CombinedOutput()
			if got := err == nil; got != want {
				t.Errorf("%s key, principal %s: ssh-keygen accepts = %v, the parsed file allows = %v\n%s", k.pub.Type(), p, got, want, out)
			}
		}
		os.Remove(message + ".sig")
	}
}

// allows reports whether f lets principal sign with key in namespace at
// time at, pattern or not, as ssh-keygen -Y verify decides.
func allows(f *File, key ssh.PublicKey, principal, namespace string, at time.Time) bool {
	for i := range f.Entries {
		e := &f.Entries[i]
		if !e.CertAuthority && bytes.Equal(e.Key.Marshal(), key.Marshal()) && e.allowsNamespace(namespace) &&
			e.validAt(at) && matchList(principal, e.Principals) == 1 {
			return true
		}
	}
	return false
}
