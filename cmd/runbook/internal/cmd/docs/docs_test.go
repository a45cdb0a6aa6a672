package docs

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/plugins/builtin"
	"github.com/runbookdev/runbook/schema"
)

// shippedCopy copies the repository's runbooks/ into a temporary folder
// (a project of its own: docs never writes beside the working tree's).
func shippedCopy(t *testing.T) string {
	t.Helper()
	project := t.TempDir()
	dir := filepath.Join(project, "runbooks")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	names, err := filepath.Glob(filepath.Join("..", "..", "..", "..", "..", "runbooks", "*.hcl"))
	if err != nil || len(names) < 6 {
		t.Fatalf("shipped runbooks: %v %v", names, err)
	}
	for _, name := range names {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(name)), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// runDocsIn runs `runbook docs` on dir with pages going to out.
func runDocsIn(t *testing.T, dir, out string) (string, error) {
	t.Helper()
	streams, _, stdout, _ := iostreams.Test()
	f := cmdutil.New(streams, builtin.Registry())
	f.Global.Dir, f.Global.StateDir = dir, filepath.Join(t.TempDir(), "state")
	err := runDocs(&Options{Factory: f, Out: out})
	return stdout.String(), err
}

var (
	stepHeading = regexp.MustCompile(`(?m)^### ([0-9]+)\. (.+)$`)
	ownerLine   = regexp.MustCompile(`(?m)^- \*\*Owner:\*\* (.+)$`)
	variable    = regexp.MustCompile("(?m)^- `([^`]+)`: ")
	indexLink   = regexp.MustCompile(`(?m)^\| \[([^\]]+)\]\(([^)]+)\) \|`)
)

// unescape undoes Inline for names and owners, which hold no character
// Markdown shows differently but `_`.
func unescape(s string) string { return strings.ReplaceAll(s, `\`, "") }

// The shipped runbooks each get a page that holds every step (in order),
// every owner and every variable of the runbook, and the index links each
// page.
func TestShippedRunbooks(t *testing.T) {
	dir := shippedCopy(t)
	out := filepath.Join(t.TempDir(), "site")
	stdout, err := runDocsIn(t, dir, out)
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := schema.LoadDir(dir, schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	if len(cfg.Runbooks) < 6 {
		t.Fatalf("only %d shipped runbooks", len(cfg.Runbooks))
	}
	index, err := os.ReadFile(filepath.Join(out, IndexPage))
	if err != nil {
		t.Fatal(err)
	}
	links := map[string]string{}
	for _, m := range indexLink.FindAllStringSubmatch(string(index), -1) {
		links[unescape(m[1])] = m[2]
	}
	for _, rb := range cfg.Runbooks {
		t.Run(rb.Name, func(t *testing.T) {
			if links[rb.Name] != rb.Name+".md" {
				t.Errorf("index links %q for %s, want %s.md", links[rb.Name], rb.Name, rb.Name)
			}
			path := filepath.Join(out, rb.Name+".md")
			if !strings.Contains(stdout, "wrote "+path+"\n") {
				t.Errorf("docs did not say it wrote %s:\n%s", path, stdout)
			}
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			page := string(b)
			if !strings.HasPrefix(page, generatedMarker+"\n\n# "+rb.Name+"\n") {
				t.Errorf("page does not start with the marker and the runbook's name:\n%s", page)
			}
			var steps, wantSteps []string
			for i, m := range stepHeading.FindAllStringSubmatch(page, -1) {
				if m[1] != strconv.Itoa(i+1) {
					t.Errorf("step heading %q is numbered %s, want %d", m[0], m[1], i+1)
				}
				steps = append(steps, unescape(m[2]))
			}
			owners := []string{rb.Owner}
			for _, st := range rb.Steps {
				wantSteps = append(wantSteps, st.Name)
				owners = append(owners, st.Owner)
			}
			if !slices.Equal(steps, wantSteps) {
				t.Errorf("page's steps %q, want %q", steps, wantSteps)
			}
			var gotOwners []string
			for _, m := range ownerLine.FindAllStringSubmatch(page, -1) {
				gotOwners = append(gotOwners, unescape(m[1]))
			}
			if !slices.Equal(gotOwners, owners) {
				t.Errorf("page's owners %q, want the runbook's then each step's %q", gotOwners, owners)
			}
			var vars, wantVars []string
			for _, m := range variable.FindAllStringSubmatch(page, -1) {
				vars = append(vars, m[1])
			}
			for _, v := range rb.Variables {
				wantVars = append(wantVars, v.Name)
			}
			if !slices.Equal(vars, wantVars) {
				t.Errorf("page's variables %q, want %q", vars, wantVars)
			}
			for _, want := range []string{"- **Last run:** never\n", "- **Last rehearsal:** never\n", "- **File:** `runbooks/" + filepath.Base(rb.Filename) + ":" + strconv.Itoa(rb.DeclRange.Start.Line) + "`\n"} {
				if !strings.Contains(page, want) {
					t.Errorf("page lacks %q", want)
				}
			}
		})
	}
	if len(links) != len(cfg.Runbooks) {
		t.Errorf("index links %d pages, want one per runbook (%d):\n%s", len(links), len(cfg.Runbooks), index)
	}
}

const tricky = `
runbook "tricky_one" {
  description = <<-EOT
    Fixes | things <b>now</b> with ` + "`kubectl`" + `.
    - not a list
    # not a heading
  EOT
  owner = "team_a|b"

  variable "token" {
    type        = string
    sensitive   = true
    default     = "hunter2-never-shown"
    description = "API token | <secret>"
  }

  step "go" {
    description = "Run *it*"
    action "shell.run" {
      command = "echo ` + "`date`" + ` | tee x"
    }
  }
}
`

// Text from a runbook cannot make Markdown of its own, in a page or in the
// index's table; a sensitive default is never written; a run and a
// rehearsal are said with their status, time and operator.
func TestRenderEscapesAndRedacts(t *testing.T) {
	cfg, diags := schema.Load([]schema.Source{{Name: "t.hcl", Bytes: []byte(tricky)}}, schema.Options{Schemas: schema.RegistrySource{Registry: builtin.Registry()}})
	if diags.HasErrors() {
		t.Fatal(diags)
	}
	started := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	ex := map[string]*engine.Exercise{"tricky_one": {
		LastRun: &engine.RunSummary{RunID: "r1", Runbook: "tricky_one", Status: engine.StatusFailed, Operator: "alice@host", Started: started},
	}}
	pages, err := Render(cfg, ex, ".")
	if err != nil {
		t.Fatal(err)
	}
	if len(pages) != 2 || pages[0].Name != "tricky_one.md" || pages[1].Name != IndexPage {
		t.Fatalf("pages %v", pages)
	}
	page, index := string(pages[0].Data), string(pages[1].Data)
	for _, want := range []string{
		"# tricky\\_one\n",
		"Fixes &#124; things &lt;b&gt;now&lt;/b&gt; with \\`kubectl\\`.\n&#45; not a list\n\\# not a heading\n",
		"- **Owner:** team\\_a&#124;b\n",
		"- `token`: string, default " + redact.Marker + ", sensitive — API token &#124; &lt;secret&gt;\n",
		"Run \\*it\\*\n",
		"  - ``command = \"echo `date` | tee x\"``\n",
		"- **Action:** `shell.run` (changes state)\n",
		"- **Last run:** failed, 2026-03-04 05:06:07Z, by alice (run `r1`)\n",
		"- **Last rehearsal:** never\n",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q:\n%s", want, page)
		}
	}
	for _, doc := range []string{page, index} {
		if strings.Contains(doc, "hunter2") {
			t.Errorf("a sensitive default is written:\n%s", doc)
		}
		if strings.Contains(doc, "<b>") || strings.Contains(doc, "<secret>") {
			t.Errorf("HTML from a runbook is written as HTML:\n%s", doc)
		}
	}
	// The row has its seven column bars, whatever the description holds.
	row := indexLink.FindString(index)
	rowLine := index[strings.Index(index, row):]
	rowLine = rowLine[:strings.IndexByte(rowLine, '\n')]
	if n := strings.Count(rowLine, "|"); n != 7 {
		t.Errorf("index row has %d bars, want 7: %s", n, rowLine)
	}
	if !strings.Contains(rowLine, "| failed, 2026-03-04 05:06:07Z, by alice | never |") {
		t.Errorf("index row does not say the last run and rehearsal: %s", rowLine)
	}
}

// Page names that would leave the folder or clash are refused before any
// page is written.
func TestPageNames(t *testing.T) {
	tests := []struct {
		names []string
		err   string
	}{
		{[]string{"a", "b"}, ""},
		{[]string{"../up"}, "path separator"},
		{[]string{`a\b`}, "path separator"},
		{[]string{".hidden"}, "starts with a dot"},
		{[]string{"index"}, "would be index.md, as the index's is"},
		{[]string{"Deploy", "deploy"}, `would be deploy.md, as runbook "Deploy"'s is`},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.names, ","), func(t *testing.T) {
			cfg := &schema.Config{}
			for _, n := range tt.names {
				cfg.Runbooks = append(cfg.Runbooks, &schema.Runbook{Name: n, Owner: "o"})
			}
			pages, err := Render(cfg, nil, ".")
			if tt.err == "" {
				if err != nil || len(pages) != len(tt.names)+1 {
					t.Errorf("Render: %v, %d pages", err, len(pages))
				}
				return
			}
			var e *cmdutil.ExitError
			if !errors.As(err, &e) || e.Code != exitcode.BadInput || !strings.Contains(e.Msg, tt.err) {
				t.Errorf("Render: %v, want bad input saying %q", err, tt.err)
			}
		})
	}
}

// Running again replaces every page, leaves no temporary file, removes
// the page of a runbook that is gone and keeps a page docs did not write.
func TestRerun(t *testing.T) {
	dir := shippedCopy(t)
	out := filepath.Join(t.TempDir(), "site")
	if _, err := runDocsIn(t, dir, out); err != nil {
		t.Fatal(err)
	}
	first, _ := os.ReadFile(filepath.Join(out, "rollback-prompt.md"))
	if err := os.WriteFile(filepath.Join(out, "rollback-prompt.md"), []byte(generatedMarker+"\nedited by hand"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(out, "notes.md"), []byte("# Notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dir, "deploy-prompt.hcl")); err != nil {
		t.Fatal(err)
	}
	stdout, err := runDocsIn(t, dir, out)
	if err != nil {
		t.Fatal(err)
	}
	again, _ := os.ReadFile(filepath.Join(out, "rollback-prompt.md"))
	if !bytes.Equal(first, again) {
		t.Errorf("the page was not replaced by the same page:\n%s", again)
	}
	if !strings.Contains(stdout, "removed "+filepath.Join(out, "deploy-prompt.md")+"\n") {
		t.Errorf("docs did not say it removed the gone runbook's page:\n%s", stdout)
	}
	entries, err := os.ReadDir(out)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	want := []string{"activate-fallback.md", "deactivate-fallback.md", "index.md", "notes.md", "rebuild-index.md", "rollback-index.md", "rollback-prompt.md"}
	if !slices.Equal(names, want) {
		t.Errorf("--out holds %q, want %q", names, want)
	}
	index, _ := os.ReadFile(filepath.Join(out, IndexPage))
	if strings.Contains(string(index), "deploy-prompt") {
		t.Errorf("index still links the gone runbook:\n%s", index)
	}
}

// A file in the way that docs did not write stops it before it writes
// anything.
func TestForeignFileInTheWay(t *testing.T) {
	tests := []struct {
		name string
		make func(path string) error
	}{
		{"a page of someone's", func(path string) error { return os.WriteFile(path, []byte("# Our runbooks\n"), 0o644) }},
		{"empty", func(path string) error { return os.WriteFile(path, nil, 0o644) }},
		{"a folder", func(path string) error { return os.Mkdir(path, 0o755) }},
		{"a link to a page of docs", func(path string) error {
			target := filepath.Join(filepath.Dir(path), "elsewhere.txt")
			if err := os.WriteFile(target, []byte(generatedMarker+"\n"), 0o644); err != nil {
				return err
			}
			return os.Symlink(target, path)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := shippedCopy(t)
			out := t.TempDir()
			path := filepath.Join(out, IndexPage)
			if err := tt.make(path); err != nil {
				t.Fatal(err)
			}
			stdout, err := runDocsIn(t, dir, out)
			var e *cmdutil.ExitError
			if !errors.As(err, &e) || e.Code != exitcode.BadInput || !strings.Contains(e.Msg, path+" is in the way") {
				t.Errorf("docs: %v, want bad input naming %s", err, path)
			}
			if stdout != "" {
				t.Errorf("docs wrote pages:\n%s", stdout)
			}
			if _, err := os.Stat(filepath.Join(out, "rollback-prompt.md")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("a page was written: %v", err)
			}
		})
	}
}

// --out must be a folder, or a place one can be made.
func TestBadOut(t *testing.T) {
	dir := shippedCopy(t)
	file := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, out := range []string{file, filepath.Join(file, "below")} {
		_, err := runDocsIn(t, dir, out)
		var e *cmdutil.ExitError
		if !errors.As(err, &e) || e.Code != exitcode.BadInput || !strings.Contains(e.Msg, out) {
			t.Errorf("--out %s: %v, want bad input naming it", out, err)
		}
	}
}

// The pages go beside the runbook directory, as the state folder does.
func TestDefaultOut(t *testing.T) {
	t.Chdir(t.TempDir())
	tests := []struct{ dir, want string }{
		{"runbooks", filepath.Join("docs", "runbooks")},
		{filepath.Join("..", "runbooks"), filepath.Join("..", "docs", "runbooks")},
		{filepath.Join("ops", "runbooks"), filepath.Join("ops", "docs", "runbooks")},
		{".", filepath.Join("..", "docs", "runbooks")},
		{"/srv/ops/runbooks", "/srv/ops/docs/runbooks"},
	}
	for _, tt := range tests {
		if got, err := DefaultOut(tt.dir); err != nil || got != tt.want {
			t.Errorf("DefaultOut(%q) = %q, %v; want %q", tt.dir, got, err, tt.want)
		}
	}
}
