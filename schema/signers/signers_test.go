package signers

import (
	"crypto/ed25519"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
	"golang.org/x/crypto/ssh"
)

// testKey returns a fixed ed25519 public key, made from seed, and its
// base64 form as an allowed_signers line writes it.
func testKey(t testing.TB, seed byte) (ssh.PublicKey, string) {
	t.Helper()
	priv := ed25519.NewKeyFromSeed([]byte(strings.Repeat(string(rune(seed)), ed25519.SeedSize)))
	pub, err := ssh.NewPublicKey(priv.Public())
	if err != nil {
		t.Fatal(err)
	}
	return pub, base64.StdEncoding.EncodeToString(pub.Marshal())
}

func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04:05", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseGoodLines(t *testing.T) {
	_, k := testKey(t, 1)
	key := "ssh-ed25519 " + k
	tests := []struct {
		name string
		line string
		want Entry // Key and Range are not compared
	}{
		{"plain", "alice@example.com " + key, Entry{Principals: []string{"alice@example.com"}}},
		{"comment after key", "alice " + key + " alice's laptop", Entry{Principals: []string{"alice"}}},
		{"several principals", "alice,bob,*@ops.example.com " + key, Entry{Principals: []string{"alice", "bob", "*@ops.example.com"}}},
		{"quoted principals", `"alice smith,bob" ` + key, Entry{Principals: []string{"alice smith", "bob"}}},
		{"leading blanks and tabs", " \t alice\t" + key, Entry{Principals: []string{"alice"}}},
		{"crlf", "alice " + key + "\r", Entry{Principals: []string{"alice"}}},
		{"namespaces", `alice namespaces="runbook,git" ` + key, Entry{Principals: []string{"alice"}, Namespaces: []string{"runbook", "git"}}},
		{"escaped quote", `alice namespaces="a\"b" ` + key, Entry{Principals: []string{"alice"}, Namespaces: []string{`a"b`}}},
		{"cert authority", "*@example.com cert-authority " + key, Entry{Principals: []string{"*@example.com"}, CertAuthority: true}},
		{"options any case", `alice Cert-Authority,NAMESPACES="x" ` + key, Entry{Principals: []string{"alice"}, Namespaces: []string{"x"}, CertAuthority: true}},
		{"valid-after date", `alice valid-after="20240102Z" ` + key, Entry{Principals: []string{"alice"}, ValidAfter: utc("2024-01-02 00:00:00")}},
		{"valid-before minutes", `alice valid-before="202401021530z" ` + key, Entry{Principals: []string{"alice"}, ValidBefore: utc("2024-01-02 15:30:00")}},
		{"seconds, UTC suffix", `alice valid-after="20240102153045UTC" ` + key, Entry{Principals: []string{"alice"}, ValidAfter: utc("2024-01-02 15:30:45")}},
		{"every option", `alice cert-authority,namespaces="runbook",valid-after="20240101Z",valid-before="20250101Z" ` + key,
			Entry{Principals: []string{"alice"}, Namespaces: []string{"runbook"}, CertAuthority: true,
				ValidAfter: utc("2024-01-01 00:00:00"), ValidBefore: utc("2025-01-01 00:00:00")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, diags := Parse("allowed_signers", []byte("# people\n\n"+tt.line+"\n"))
			if diags.HasErrors() {
				t.Fatalf("unexpected diagnostics: %v", diags)
			}
			if len(f.Entries) != 1 {
				t.Fatalf("got %d entries, want 1", len(f.Entries))
			}
			got := f.Entries[0]
			if got.Key == nil || got.Key.Type() != ssh.KeyAlgoED25519 {
				t.Errorf("key = %v, want an ed25519 key", got.Key)
			}
			wantRange := hcl.Range{Filename: "allowed_signers",
				Start: hcl.Pos{Line: 3, Column: 1, Byte: 10},
				End:   hcl.Pos{Line: 3, Column: 1 + len(strings.TrimSuffix(tt.line, "\r")), Byte: 10 + len(strings.TrimSuffix(tt.line, "\r"))}}
			if got.Range != wantRange {
				t.Errorf("range = %#v, want %#v", got.Range, wantRange)
			}
			got.Key, got.Range = nil, hcl.Range{}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("entry (-want +got):\n%s", diff)
			}
		})
	}
}

func TestParseLocalTime(t *testing.T) {
	_, k := testKey(t, 1)
	f, diags := Parse("f", []byte(`alice valid-after="20240102" ssh-ed25519 `+k))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	want := time.Date(2024, 1, 2, 0, 0, 0, 0, time.Local)
	if got := f.Entries[0].ValidAfter; !got.Equal(want) {
		t.Errorf("valid-after = %v, want %v (local time)", got, want)
	}
}

func TestParseBadLines(t *testing.T) {
	_, k := testKey(t, 1)
	key := "ssh-ed25519 " + k
	tests := []struct {
		name     string
		line     string
		summary  string
		from, to int // columns of the subject
	}{
		{"principals only", "alice", "Missing key", 6, 6},
		{"principals and spaces", "alice   ", "Missing key", 9, 9},
		{"no key data", "alice ssh-ed25519", "Missing key", 18, 18},
		{"no key after options", `alice namespaces="x"`, "Missing key", 21, 21},
		{"unknown key type", "alice ssh-foo AAAA", "Unknown key type", 7, 14},
		{"unknown key type after options", `alice namespaces="x" ssh-foo AAAA`, "Unknown key type", 22, 29},
		{"bad base64", "alice ssh-ed25519 !!!!", "Invalid key", 19, 23},
		{"not a key", "alice ssh-ed25519 AAAA", "Invalid key", 19, 23},
		{"type mismatch", "alice ssh-rsa " + k, "Key type mismatch", 7, 14},
		{"empty principal", ",alice " + key, "Empty principal", 1, 2},
		{"empty principal inside", "alice,,bob " + key, "Empty principal", 7, 8},
		{"unterminated principals", `"alice ` + key, "Unterminated quote", 1, 2},
		{"text after quote", `"alice"x ` + key, "Invalid principals", 8, 9},
		{"unknown option", `alice namespaces="x",frobnicate ` + key, "Unknown option", 22, 32},
		{"missing value", `alice namespaces ` + key, "Missing value", 7, 17},
		{"unknown word", `alice frobnicate ` + key, "Unknown key type", 7, 17},
		{"missing value in list", `alice cert-authority,namespaces ` + key, "Missing value", 22, 32},
		{"unquoted value", `alice namespaces=x ` + key, "Missing quote", 18, 19},
		{"unterminated value", `alice namespaces="x ` + key, "Unterminated quote", 18, 19},
		{"trailing comma", `alice cert-authority, ` + key, "Invalid options", 21, 22},
		{"text after value", `alice namespaces="x"y ` + key, "Invalid options", 21, 22},
		{"duplicate namespaces", `alice namespaces="x",namespaces="y" ` + key, "Duplicate option", 22, 36},
		{"duplicate valid-after", `alice valid-after="20240101Z",valid-after="20240101Z" ` + key, "Duplicate option", 31, 54},
		{"value on flag", `alice cert-authority="yes" ` + key, "Invalid option", 7, 27},
		{"bad time", `alice valid-after="2024" ` + key, "Invalid time", 7, 25},
		{"bad date", `alice valid-after="20241301Z" ` + key, "Invalid time", 7, 30},
		{"letters in time", `alice valid-after="2024010aZ" ` + key, "Invalid time", 7, 30},
		{"before not after", `alice valid-after="20240102Z",valid-before="20240101Z" ` + key, "Invalid validity", 7, 55},
		{"non-ASCII column", "ålice,,bob " + key, "Empty principal", 7, 8},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := "# people\n" + tt.line + "\nbob " + key + "\n"
			f, diags := Parse("allowed_signers", []byte(src))
			if len(diags) != 1 {
				t.Fatalf("got %d diagnostics, want 1: %v", len(diags), diags)
			}
			d := diags[0]
			if d.Severity != hcl.DiagError || d.Summary != tt.summary {
				t.Errorf("diagnostic = %q (%s), want error %q", d.Summary, d.Detail, tt.summary)
			}
			if d.Subject == nil {
				t.Fatal("diagnostic has no subject")
			}
			s := *d.Subject
			if s.Filename != "allowed_signers" || s.Start.Line != 2 || s.End.Line != 2 ||
				s.Start.Column != tt.from || s.End.Column != tt.to {
				t.Errorf("subject = %s:%d.%d-%d.%d, want allowed_signers:2.%d-2.%d (%s)",
					s.Filename, s.Start.Line, s.Start.Column, s.End.Line, s.End.Column, tt.from, tt.to, d.Detail)
			}
			if got := src[s.Start.Byte:s.End.Byte]; s.Start.Byte < 9 || s.End.Byte > 9+len(tt.line) {
				t.Errorf("subject bytes %q lie outside the line", got)
			}
			if len(f.Entries) != 1 || f.Entries[0].Principals[0] != "bob" {
				t.Errorf("the good line was not kept: %+v", f.Entries)
			}
		})
	}
}

func TestParseTooLarge(t *testing.T) {
	_, k := testKey(t, 1)
	line := "alice ssh-ed25519 " + k + "\n"
	src := []byte(strings.Repeat(line, MaxSize/len(line)+1))
	f, diags := Parse("big", src)
	if len(diags) != 1 || diags[0].Subject == nil || diags[0].Subject.Filename != "big" {
		t.Fatalf("diagnostics = %v, want one positioned error", diags)
	}
	if f == nil || len(f.Entries) != 0 {
		t.Errorf("file = %+v, want an empty file", f)
	}
	f, diags = Parse("fits", src[:MaxSize/len(line)*len(line)])
	if diags.HasErrors() || len(f.Entries) != MaxSize/len(line) {
		t.Errorf("a file under the limit: %d entries, %v", len(f.Entries), diags)
	}
}

func TestLookups(t *testing.T) {
	alice, ka := testKey(t, 1)
	bob, kb := testKey(t, 2)
	carol, _ := testKey(t, 3)
	src := strings.Join([]string{
		"alice,alice@example.com ssh-ed25519 " + ka,
		`bob namespaces="git" ssh-ed25519 ` + kb,
		`bob,ops-* namespaces="run*,deploy" ssh-ed25519 ` + kb,
		`alice valid-after="20240101Z",valid-before="20241231Z" ssh-ed25519 ` + kb,
		`*@example.com,!mallory@example.com cert-authority ssh-ed25519 ` + kb,
		`dave cert-authority ssh-ed25519 ` + ka,
		`erin,!erin ssh-ed25519 ` + ka,
	}, "\n")
	f, diags := Parse("allowed_signers", []byte(src))
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	in2024, in2025 := utc("2024-06-01 00:00:00"), utc("2025-06-01 00:00:00")
	principals := []struct {
		name      string
		key       ssh.PublicKey
		namespace string
		at        time.Time
		want      []string
	}{
		{"alice's key", alice, "runbook", in2025, []string{"alice", "alice@example.com"}},
		{"bob's key in runbook", bob, "runbook", in2025, []string{"bob"}},
		{"bob's key in git", bob, "git", in2025, []string{"bob"}},
		{"bob's key in 2024", bob, "runbook", in2024, []string{"bob", "alice"}},
		{"bob's key on the last instant", bob, "runbook", utc("2024-12-31 00:00:00"), []string{"bob", "alice"}},
		{"bob's key elsewhere", bob, "mail", in2025, nil},
		{"unknown key", carol, "runbook", in2025, nil},
		{"nil key", nil, "runbook", in2025, nil},
	}
	for _, tt := range principals {
		t.Run("Principals/"+tt.name, func(t *testing.T) {
			if diff := cmp.Diff(tt.want, f.Principals(tt.key, tt.namespace, tt.at)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	has := []struct {
		principal, namespace string
		want                 bool
	}{
		{"alice", "runbook", true},
		{"bob", "git", true},
		{"ops-anna", "runbook", true},
		{"ops-anna", "git", false},
		{"ops-anna", "deploy", true},
		{"carol@example.com", "runbook", false}, // only a cert-authority line names it
		{"dave", "runbook", false},
		{"erin", "runbook", false},
		{"nobody", "runbook", false},
	}
	for _, tt := range has {
		if got := f.Has(tt.principal, tt.namespace); got != tt.want {
			t.Errorf("Has(%q, %q) = %v, want %v", tt.principal, tt.namespace, got, tt.want)
		}
	}
	if diff := cmp.Diff([]string{"alice", "alice@example.com", "bob"}, f.Literal("runbook")); diff != "" {
		t.Errorf("Literal(runbook) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"alice", "alice@example.com", "bob"}, f.Literal("git")); diff != "" {
		t.Errorf("Literal(git) (-want +got):\n%s", diff)
	}
}

func TestNilFile(t *testing.T) {
	var f *File
	key, _ := testKey(t, 1)
	if got := f.Principals(key, "runbook", time.Now()); got != nil {
		t.Errorf("Principals = %v", got)
	}
	if f.Has("alice", "runbook") {
		t.Error("Has = true")
	}
	if got := f.Literal("runbook"); got != nil {
		t.Errorf("Literal = %v", got)
	}
}

func TestMatch(t *testing.T) {
	tests := []struct {
		s, pattern string
		want       bool
	}{
		{"alice", "alice", true},
		{"alice", "alic", false},
		{"alice", "a*", true},
		{"alice", "*e", true},
		{"alice", "a?ice", true},
		{"alice", "a?ce", false},
		{"", "*", true},
		{"", "?", false},
		{"a*b", "a*b", true},
		{"ops-x@example.com", "ops-*@*.com", true},
		{"ops-x@example.org", "ops-*@*.com", false},
		{strings.Repeat("a", 200), strings.Repeat("*a", 100) + "b", false},
	}
	for _, tt := range tests {
		if got := match(tt.s, tt.pattern); got != tt.want {
			t.Errorf("match(%q, %q) = %v, want %v", tt.s, tt.pattern, got, tt.want)
		}
	}
}

func TestParseTestdata(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "allowed_signers"))
	if err != nil {
		t.Fatal(err)
	}
	f, diags := Parse("allowed_signers", src)
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	var types []string
	for _, e := range f.Entries {
		types = append(types, e.Key.Type())
	}
	want := []string{ssh.KeyAlgoED25519, ssh.KeyAlgoRSA, ssh.KeyAlgoECDSA384}
	if diff := cmp.Diff(want, types); diff != "" {
		t.Errorf("key types (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"alice@example.com", "bob"}, f.Literal("runbook")); diff != "" {
		t.Errorf("Literal (-want +got):\n%s", diff)
	}
}
