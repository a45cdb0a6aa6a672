package mcpcmd

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/schema"
)

func TestCleanAgentName(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"claude-code", "claude-code"},
		{"Claude Code", "Claude-Code"},
		{"  cursor/1.2 (beta)  ", "cursor-1.2-beta"},
		{"", "unknown"},
		{"../../etc", "etc"},
		{"\x1b[31mred\x1b[0m", "31mred-0m"},
		{"名前", "unknown"},
		{strings.Repeat("a", 100), strings.Repeat("a", 64)},
		{strings.Repeat("a", 63) + "-b", strings.Repeat("a", 63)},
	} {
		if got := cleanAgentName(tt.in); got != tt.want {
			t.Errorf("cleanAgentName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzCleanAgentName(f *testing.F) {
	for _, s := range []string{"claude-code", "Claude Code", "", "\x00", "a/b\\c", "agent:x"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := cleanAgentName(s)
		if got == "" || len(got) > 64 || !utf8.ValidString(got) || notNameChar.MatchString(got) {
			t.Fatalf("cleanAgentName(%q) = %q: not a name", s, got)
		}
	})
}

func TestVarArgs(t *testing.T) {
	rb := &schema.Runbook{Name: "r", Variables: []*schema.Variable{
		{Name: "prompt"}, {Name: "token", Sensitive: true}, {Name: "n"},
	}}
	for _, tt := range []struct {
		name      string
		vars      map[string]any
		args, env []string
		err       string
	}{
		{name: "none"},
		{name: "string as it is", vars: map[string]any{"prompt": "a b=c"}, args: []string{"--var", "prompt=a b=c"}},
		{name: "numbers and lists as literals", vars: map[string]any{"n": 3.5, "l": []any{"a", 1.0}},
			args: []string{"--var", `l=["a",1]`, "--var", "n=3.5"}},
		{name: "object", vars: map[string]any{"o": map[string]any{"k": true}}, args: []string{"--var", `o={"k":true}`}},
		{name: "sensitive through the environment", vars: map[string]any{"token": "s3cret", "prompt": "p"},
			args: []string{"--var", "prompt=p"}, env: []string{"RUNBOOK_VAR_token=s3cret"}},
		{name: "null", vars: map[string]any{"prompt": nil}, err: "null is not a value"},
		{name: "not a name", vars: map[string]any{"a=b": "x"}, err: `"a=b" is not a variable name`},
		{name: "flag-like name", vars: map[string]any{"--yes": "x"}, err: "is not a variable name"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			args, env, err := varArgs(rb, tt.vars)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(args, tt.args) || !slices.Equal(env, tt.env) {
				t.Errorf("args %q env %q, want %q %q", args, env, tt.args, tt.env)
			}
		})
	}
}

func TestCheckLoopback(t *testing.T) {
	for _, tt := range []struct {
		addr string
		ok   bool
	}{
		{"127.0.0.1:8765", true},
		{"127.0.0.1:0", true},
		{"[::1]:8765", true},
		{"localhost:8765", true},
		{"0.0.0.0:8765", false},
		{":8765", false},
		{"10.0.0.5:8765", false},
		{"example.com:80", false},
		{"127.0.0.1", false},
	} {
		if err := checkLoopback(tt.addr); (err == nil) != tt.ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", tt.addr, err, tt.ok)
		}
	}
}

func TestBoundedBuffer(t *testing.T) {
	var b boundedBuffer
	chunk := strings.Repeat("x", 1<<20)
	for range 5 {
		if n, err := b.Write([]byte(chunk)); n != len(chunk) || err != nil {
			t.Fatalf("Write = %d, %v: a writer must take everything", n, err)
		}
	}
	s := b.String()
	if !strings.HasPrefix(s, strings.Repeat("x", maxOutput)) || !strings.HasSuffix(s, "… 1048576 more bytes not kept\n") {
		t.Errorf("kept %d bytes, ending %q", len(s), s[len(s)-40:])
	}
}

func TestRunStatus(t *testing.T) {
	for _, tt := range []struct {
		events []map[string]any
		want   string
	}{
		{nil, "running"},
		{[]map[string]any{{"type": "run_started"}, {"type": "step_started"}}, "running"},
		{[]map[string]any{{"type": "run_started"}, {"type": "run_finished", "status": "declined"}}, "declined"},
		{[]map[string]any{{"type": "run_started"}, {"type": "interrupted"}}, "interrupted"},
	} {
		if got := runStatus(tt.events); got != tt.want {
			t.Errorf("runStatus(%v) = %q, want %q", tt.events, got, tt.want)
		}
	}
}

// testServer is a server of a directory with one runbook, whose tools are
// not called (they run the runbook program, which a test binary is not).
func testServer(t *testing.T) *server {
	t.Helper()
	dir := t.TempDir()
	runbooks := filepath.Join(dir, "runbooks")
	if err := os.MkdirAll(runbooks, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `runbook "hello" {
  description = "Say hello."
  owner       = "sre"
  step "say" {
    action "shell.run" {
      command = "echo hello"
    }
  }
}
`
	if err := os.WriteFile(filepath.Join(runbooks, "hello.hcl"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	streams, _, _, _ := iostreams.Test()
	f := cmdutil.New(streams, builtin.Registry())
	f.Global.Dir, f.Global.StateDir = runbooks, filepath.Join(dir, ".runbook")
	s, err := newServer(f)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// connect is a test client's session over transport, closed with the test.
func connect(t *testing.T, transport mcp.Transport) *mcp.ClientSession {
	t.Helper()
	cs, err := mcp.NewClient(&mcp.Implementation{Name: "test", Version: "1"}, nil).Connect(context.Background(), transport, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cs.Close() })
	return cs
}

// Over streamable HTTP: the tools are listed with their schemas, a
// runbook's page is read, and a request whose Host is not a loopback name
// (DNS rebinding) is refused.
func TestHTTP(t *testing.T) {
	s := testServer(t)
	hs := httptest.NewServer(mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s.mcp }, nil))
	t.Cleanup(hs.Close) // after the session closes
	ctx := context.Background()
	cs := connect(t, &mcp.StreamableClientTransport{Endpoint: hs.URL})
	tools, err := cs.ListTools(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tool := range tools.Tools {
		names = append(names, tool.Name)
		if tool.InputSchema == nil || tool.OutputSchema == nil {
			t.Errorf("%s has no input or output schema", tool.Name)
		}
	}
	want := []string{"dry_run", "get_transcript", "list_runbooks", "list_runs", "request_run", "show_runbook", "validate"}
	if !slices.Equal(names, want) {
		t.Errorf("tools %v, want %v", names, want)
	}
	res, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "runbook://runbooks/hello"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Contents) != 1 || !strings.Contains(res.Contents[0].Text, "\n# hello\n") {
		t.Errorf("page %q", res.Contents[0].Text)
	}
	if _, err := cs.ReadResource(ctx, &mcp.ReadResourceParams{URI: "runbook://transcripts/../../etc/passwd"}); err == nil {
		t.Error("a transcript URI that is not a run id was read")
	}

	req, err := http.NewRequest(http.MethodPost, hs.URL, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Host = "attacker.example:80"
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("a request for Host attacker.example answered %d, want 403", resp.StatusCode)
	}
}

// A transcript is listed with what never changes in it, and a runbook
// name or operator read from a transcript file shows no control
// characters.
func TestTranscriptResource(t *testing.T) {
	s := testServer(t)
	started := time.Date(2026, 12, 3, 7, 8, 21, 0, time.UTC)
	for _, r := range []transcript.Summary{
		{RunID: "20261203T070821Z-000001", Runbook: "rollback-prompt", Mode: engine.ModeDryRun, Operator: "agent:inspector", Started: started},
		{RunID: "20261203T070821Z-000002", Runbook: "rollback-prompt", Operator: "alice"},
		{RunID: "20261203T070821Z-000003", Runbook: "evil\x1b[2J\nname", Mode: engine.ModeRun, Operator: "bob\r"},
		{RunID: "20261203T070821Z-000004"},
		{RunID: "20261203T070821Z-000005\x1b[2J", Runbook: "rollback-prompt"},
	} {
		s.addTranscript(r)
	}
	ctx := context.Background()
	ct, st := mcp.NewInMemoryTransports()
	ss, err := s.mcp.Connect(ctx, st, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ss.Close() })
	res, err := connect(t, ct).ListResources(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, r := range res.Resources {
		if strings.HasPrefix(r.URI, transcriptURI) {
			got[r.Name] = r.Title + " | " + r.Description
		}
	}
	want := map[string]string{
		"20261203T070821Z-000001": "rollback-prompt dry-run 20261203T070821Z-000001 | The transcript of a dry-run of rollback-prompt by agent:inspector, started 2026-12-03T07:08:21Z",
		"20261203T070821Z-000002": "rollback-prompt run 20261203T070821Z-000002 | The transcript of a run of rollback-prompt by alice",
		"20261203T070821Z-000004": " | The transcript of run 20261203T070821Z-000004",
	}
	for id, w := range want {
		if got[id] != w {
			t.Errorf("%s: %q, want %q", id, got[id], w)
		}
	}
	if len(got) != 4 {
		t.Errorf("listed %d transcripts, want 4 (not the one whose run id is not runbook's): %q", len(got), got)
	}
	if evil := got["20261203T070821Z-000003"]; strings.ContainsAny(evil, "\x1b\n\r") || !strings.Contains(evil, "by bob") {
		t.Errorf("a hostile name is listed as %q", evil)
	}
}
