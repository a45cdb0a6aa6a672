package signers

import (
	"os"
	"path/filepath"
	"testing"
)

// The seeds are lines of every shape, and testdata/allowed_signers, whose
// keys ssh-keygen made.
func FuzzParse(f *testing.F) {
	_, k := testKey(f, 1)
	for _, seed := range []string{
		"alice@example.com ssh-ed25519 " + k + " laptop\n",
		`"alice,bob" namespaces="runbook,git" ssh-ed25519 ` + k,
		`ops-*,!ops-x cert-authority,valid-after="20240101",valid-before="20250101Z" ssh-ed25519 ` + k + "\r\n",
		"# comment\n\n  \talice ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQ\n",
		`alice namespaces="a\"b ssh-ed25519 ` + k,
		"ålice,,bob ssh-ed25519 " + k,
	} {
		f.Add([]byte(seed))
	}
	sample, err := os.ReadFile(filepath.Join("testdata", "allowed_signers"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(sample)
	f.Fuzz(func(t *testing.T, src []byte) {
		file, diags := Parse("allowed_signers", src)
		if file == nil {
			t.Fatal("Parse returned a nil file")
		}
		for _, d := range diags {
			if d.Subject == nil {
				t.Fatalf("diagnostic without a subject: %s", d.Summary)
			}
			s := d.Subject
			if s.Start.Byte < 0 || s.End.Byte > len(src) || s.Start.Byte > s.End.Byte || s.Start.Line < 1 || s.Start.Column < 1 {
				t.Fatalf("diagnostic %q has a bad range %#v for %d bytes", d.Summary, s, len(src))
			}
		}
		for _, e := range file.Entries {
			if e.Key == nil || len(e.Principals) == 0 {
				t.Fatalf("entry without a key or principals: %+v", e)
			}
			file.Principals(e.Key, "runbook", e.ValidAfter)
		}
		file.Has("alice", "runbook")
		file.Literal("runbook")
	})
}
