package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/examples/sample"
)

// runJSON runs the command line in the current folder and decodes its
// stdout, which must be JSON, into v; it returns the exit code.
func runJSON(t *testing.T, v any, args ...string) int {
	t.Helper()
	streams, _, out, errOut := iostreams.Test()
	code := Main(args, streams)
	if err := json.Unmarshal(out.Bytes(), v); err != nil {
		t.Fatalf("%v: stdout is not JSON (%v):\n%s\nstderr:\n%s", args, err, out, errOut)
	}
	return code
}

// --format json of list, plugins, transcript list and transcript show has
// the shapes docs/commands.md documents, with the values the text views
// show.
func TestJSONOutput(t *testing.T) {
	dir := sample.Copy(t, "examples", "runbooks")
	t.Chdir(dir)
	t.Setenv("NO_COLOR", "1")
	streams, _, _, _ := iostreams.Test()
	if code := Main([]string{"exec", "rollback-prompt", "--var", "prompt=support-agent", "--dry-run"}, streams); code != 0 {
		t.Fatalf("dry-run: exit %d", code)
	}

	var cat struct {
		Runbooks []struct {
			Name, Owner, Description, File string
			Steps                          int
			Required                       []string
			LastRun                        *struct {
				RunID string `json:"run_id"`
			} `json:"last_run"`
			LastDryRun *struct {
				RunID, Mode, Status, Operator string
			} `json:"last_dry_run"`
			LastSucceeded *string `json:"last_succeeded"`
		}
	}
	if code := runJSON(t, &cat, "list", "--format", "json"); code != 0 {
		t.Fatalf("list: exit %d", code)
	}
	found := false
	for _, rb := range cat.Runbooks {
		if rb.Name != "rollback-prompt" {
			if rb.LastDryRun != nil {
				t.Errorf("%s: last_dry_run %+v, want null", rb.Name, rb.LastDryRun)
			}
			continue
		}
		found = true
		if rb.Owner != "ml-platform" || rb.Steps != 6 || rb.File != filepath.Join("runbooks", "rollback-prompt.hcl") || len(rb.Required) != 1 || rb.Required[0] != "prompt" {
			t.Errorf("rollback-prompt: %+v", rb)
		}
		if rb.LastRun != nil || rb.LastDryRun == nil || rb.LastDryRun.Mode != "dry-run" || rb.LastDryRun.Status != "succeeded" || rb.LastSucceeded == nil {
			t.Errorf("rollback-prompt runs: last_run %+v, last_dry_run %+v, last_succeeded %v", rb.LastRun, rb.LastDryRun, rb.LastSucceeded)
		}
	}
	if !found || len(cat.Runbooks) < 5 {
		t.Fatalf("list: %d runbooks, rollback-prompt found %v", len(cat.Runbooks), found)
	}

	var runs struct {
		Runs []struct {
			RunID      string `json:"run_id"`
			Runbook    string
			Mode       string
			Status     string
			DurationMS *int64 `json:"duration_ms"`
		}
	}
	if code := runJSON(t, &runs, "transcript", "list", "--format", "json"); code != 0 || len(runs.Runs) != 1 {
		t.Fatalf("transcript list: exit %d, %+v", code, runs)
	}
	r := runs.Runs[0]
	if r.Runbook != "rollback-prompt" || r.Mode != "dry-run" || r.Status != "succeeded" || r.DurationMS == nil || r.RunID == "" {
		t.Errorf("transcript list: %+v", r)
	}

	var shown struct {
		RunID string `json:"run_id"`
		Chain struct {
			Intact, Finished, Torn bool
			Events                 int
			Head, Problem          string
		}
		Events []map[string]any
	}
	if code := runJSON(t, &shown, "transcript", "show", r.RunID, "--format", "json"); code != 0 {
		t.Fatalf("transcript show: exit %d", code)
	}
	if shown.RunID != r.RunID || !shown.Chain.Intact || !shown.Chain.Finished || shown.Chain.Torn || shown.Chain.Problem != "" ||
		shown.Chain.Events != len(shown.Events) || len(shown.Chain.Head) != 64 {
		t.Errorf("transcript show chain: %+v with %d events", shown.Chain, len(shown.Events))
	}
	if len(shown.Events) < 3 || shown.Events[0]["type"] != "run_started" || shown.Events[len(shown.Events)-1]["type"] != "run_finished" ||
		shown.Events[len(shown.Events)-1]["hash"] != shown.Chain.Head {
		t.Errorf("transcript show events: first %v, last %v", shown.Events[0]["type"], shown.Events[len(shown.Events)-1])
	}

	// A transcript changed after it was written: still JSON, intact false,
	// exit 1.
	path := filepath.Join(".runbook", "transcripts", r.RunID+".jsonl")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(data), `"succeeded"`, `"failed"`, 1)), 0o600); err != nil {
		t.Fatal(err)
	}
	shown.Chain.Intact = true
	if code := runJSON(t, &shown, "transcript", "show", r.RunID, "--format", "json"); code != 1 || shown.Chain.Intact || shown.Chain.Problem == "" {
		t.Errorf("tampered transcript: exit %d, chain %+v", code, shown.Chain)
	}

	var pl struct {
		Plugins []struct {
			Name, Kind string
			Config     []struct {
				Name     string
				Required bool
				Default  *string
			}
			Actions []struct {
				Name         string
				ReadOnly     bool `json:"read_only"`
				ReadOnlyWhen *struct {
					Arg    string
					Values []string
				} `json:"read_only_when"`
				Args []struct {
					Name, Type string
					Required   bool
				}
				Output string
			}
		}
	}
	if code := runJSON(t, &pl, "plugins", "shell", "--format", "json"); code != 0 || len(pl.Plugins) != 1 {
		t.Fatalf("plugins: exit %d, %+v", code, pl)
	}
	sh := pl.Plugins[0]
	if sh.Name != "shell" || sh.Kind != "built-in" || len(sh.Actions) != 1 {
		t.Fatalf("plugins shell: %+v", sh)
	}
	run := sh.Actions[0]
	if run.Name != "run" || run.ReadOnly || run.ReadOnlyWhen == nil || run.ReadOnlyWhen.Arg != "read_only" || len(run.ReadOnlyWhen.Values) != 1 || run.ReadOnlyWhen.Values[0] != "true" {
		t.Errorf("shell.run: %+v", run)
	}
	if len(run.Args) == 0 || run.Args[0].Name != "command" || run.Args[0].Type != "string" || !run.Args[0].Required || !strings.HasPrefix(run.Output, "object(") {
		t.Errorf("shell.run args/output: %+v / %s", run.Args, run.Output)
	}

	var rb struct {
		Name, Owner, Lock, File string
		Variables               []struct {
			Name     string
			Required bool
			Default  *string
			Type     string
		}
		Steps []struct {
			Name, Owner string
			Action      *struct {
				Name, Effect string
				Args         []struct{ Name, Source string }
			}
			Expects []struct {
				Condition string
				WithinMS  int64 `json:"within_ms"`
			}
		}
	}
	if code := runJSON(t, &rb, "show", "rollback-prompt", "--format", "json"); code != 0 {
		t.Fatalf("show: exit %d", code)
	}
	if rb.Name != "rollback-prompt" || rb.Owner != "ml-platform" || rb.Lock != `"prompt/${var.prompt}"` || len(rb.Steps) != 6 || len(rb.Variables) == 0 {
		t.Fatalf("show: %+v", rb)
	}
	if v := rb.Variables[0]; v.Name != "prompt" || !v.Required || v.Default != nil || v.Type != "string" {
		t.Errorf("show: first variable %+v", v)
	}
	effects := map[string]bool{}
	for _, st := range rb.Steps {
		if st.Owner == "" {
			t.Errorf("show: step %s has no owner", st.Name)
		}
		if st.Action != nil {
			effects[st.Action.Name+" "+st.Action.Effect] = true
		}
	}
	if !effects["prompt.rollback changes state"] || !effects["prompt.status read-only"] {
		t.Errorf("show: action effects %v", effects)
	}

	// An unknown format is bad input.
	streams, _, out, errOut := iostreams.Test()
	if code := Main([]string{"list", "--format", "yaml"}, streams); code != 2 || out.Len() != 0 || !strings.Contains(errOut.String(), `unknown --format "yaml"`) {
		t.Errorf("--format yaml: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}
