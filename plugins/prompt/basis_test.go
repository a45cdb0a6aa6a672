package prompt

import (
	"context"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/runbookdev/runbook/plugins"
)

// applyPlanned plans req and applies it with the plan's basis, as a run
// applying a saved plan does, after moved has run in between.
func applyPlanned(t *testing.T, p plugins.Plugin, req *plugins.ActionRequest, moved func()) (*plugins.ApplyResult, error) {
	t.Helper()
	plan, err := p.Plan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	if plan.Basis == nil {
		t.Fatal("the plan has no basis")
	}
	moved()
	req.Basis = plan.Basis
	return p.Apply(context.Background(), req)
}

func TestSavedPlanFileBackend(t *testing.T) {
	rollback := func() *plugins.ActionRequest {
		return request("rollback", map[string]any{"name": "support-agent", "label": "production"})
	}
	publish := func() *plugins.ActionRequest {
		return request("publish", map[string]any{"name": "support-agent", "text": "new", "label": "production"})
	}
	for _, tc := range []struct {
		name  string
		req   func() *plugins.ActionRequest
		moved func(t *testing.T, dir string, p plugins.Plugin)
		// errHas is empty when the apply must succeed.
		errHas string
	}{
		{"unchanged rollback", rollback, func(*testing.T, string, plugins.Plugin) {}, ""},
		{"unchanged publish", publish, func(*testing.T, string, plugins.Plugin) {}, ""},
		{"label moved by hand", rollback, func(t *testing.T, dir string, _ plugins.Plugin) {
			writeFile(t, dir+"/support-agent/labels.json", `{"production": 5, "staging": 7}`)
		}, "support-agent production moved v7 → v5 since the plan, not by a runbook run (history.jsonl has no record of it); nothing was changed"},
		{"label moved by another run", rollback, func(t *testing.T, dir string, p plugins.Plugin) {
			req := request("promote", map[string]any{"name": "support-agent", "label": "production", "version": 4})
			req.RunID, req.Operator = "20261202T081500Z-0a1b2c", "sre-2@laptop"
			if _, err := p.Apply(context.Background(), req); err != nil {
				t.Fatal(err)
			}
		}, "support-agent production moved v7 → v4 since the plan, by run 20261202T081500Z-0a1b2c of sre-2@laptop at "},
		{"a version published since", publish, func(t *testing.T, dir string, p plugins.Plugin) {
			req := request("publish", map[string]any{"name": "support-agent", "text": "other"})
			req.RunID, req.Operator = "20261202T081500Z-0a1b2c", "sre-2@laptop"
			if _, err := p.Apply(context.Background(), req); err != nil {
				t.Fatal(err)
			}
		}, "the latest version of support-agent moved v7 → v8 since the plan, by run 20261202T081500Z-0a1b2c of sre-2@laptop"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir, p := newRegistry(t)
			var before map[string]string
			_, err := applyPlanned(t, p, tc.req(), func() {
				tc.moved(t, dir, p)
				before = withoutLocks(snapshot(t, dir))
			})
			if tc.errHas == "" {
				if err != nil {
					t.Fatalf("apply: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("apply error = %v, want %q", err, tc.errHas)
			}
			if diff := cmp.Diff(before, withoutLocks(snapshot(t, dir))); diff != "" {
				t.Errorf("a refused apply changed the registry:\n%s", diff)
			}
		})
	}
}

// The second of two planned rollbacks is based on the version the first
// one leaves.
func TestSavedPlanBasisFollowsPlannedState(t *testing.T) {
	dir, p := newRegistry(t)
	req := request("rollback", map[string]any{"name": "support-agent", "label": "production"})
	first, err := p.Plan(context.Background(), req)
	if err != nil {
		t.Fatal(err)
	}
	req2 := request("rollback", map[string]any{"name": "support-agent", "label": "production"})
	req2.Planned = first.Planned
	second, err := p.Plan(context.Background(), req2)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		basis []byte
		want  int
	}{{first.Basis, 6}, {second.Basis, 5}} {
		r := request("rollback", map[string]any{"name": "support-agent", "label": "production"})
		r.Basis = step.basis
		if _, err := p.Apply(context.Background(), r); err != nil {
			t.Fatal(err)
		}
		if got := readLabelsFile(t, dir, "support-agent")["production"]; got != step.want {
			t.Errorf("production = v%d, want v%d", got, step.want)
		}
	}
}

func TestSavedPlanOtherTarget(t *testing.T) {
	_, p := newRegistry(t)
	plan, err := p.Plan(context.Background(), request("rollback", map[string]any{"name": "support-agent", "label": "production"}))
	if err != nil {
		t.Fatal(err)
	}
	req := request("rollback", map[string]any{"name": "support-agent", "label": "staging"})
	req.Basis = plan.Basis
	if _, err := p.Apply(context.Background(), req); err == nil || !strings.Contains(err.Error(), `the plan was made for prompt "support-agent" label "production"`) {
		t.Errorf("apply on another label = %v", err)
	}
}

// Langfuse offers no compare-and-set: the basis is checked just before the
// change.
func TestSavedPlanLangfuse(t *testing.T) {
	f := newFakeLangfuse(t)
	p := langfusePlugin(t, f, nil)
	_, err := applyPlanned(t, p, request("rollback", map[string]any{"name": "support-agent", "label": "production"}), func() {
		f.Label("support-agent", 5, "production")
	})
	if err == nil || !strings.Contains(err.Error(), "support-agent production moved v7 → v5 since the plan; nothing was changed") {
		t.Fatalf("apply = %v", err)
	}
	if w := f.Writes(); len(w) != 0 {
		t.Errorf("a refused apply wrote: %+v", w)
	}

	f = newFakeLangfuse(t)
	p = langfusePlugin(t, f, nil)
	_, err = applyPlanned(t, p, request("publish", map[string]any{"name": "summarizer", "text": "x", "label": "production"}), func() {
		f.Seed("summarizer", "v4")
	})
	if err == nil || !strings.Contains(err.Error(), "the latest version of summarizer moved v3 → v4 since the plan, not by a runbook run (the commit message of v4 names none); nothing was changed") {
		t.Fatalf("publish = %v", err)
	}

	// A version a runbook run published names the run and its operator
	// in its commit message, and so does the refusal.
	f = newFakeLangfuse(t)
	p = langfusePlugin(t, f, nil)
	_, err = applyPlanned(t, p, request("publish", map[string]any{"name": "summarizer", "text": "x", "label": "production"}), func() {
		other := request("publish", map[string]any{"name": "summarizer", "text": "theirs"})
		other.RunID, other.Operator = "20261202T081500Z-abc123", "sre-2@laptop"
		if _, err := p.Apply(context.Background(), other); err != nil {
			t.Fatal(err)
		}
	})
	if err == nil || !strings.Contains(err.Error(), "the latest version of summarizer moved v3 → v4 since the plan, by run 20261202T081500Z-abc123 of sre-2@laptop; nothing was changed") {
		t.Fatalf("publish after another run's = %v", err)
	}
	// Langfuse records no author of a label move: none is named.
	f = newFakeLangfuse(t)
	p = langfusePlugin(t, f, nil)
	_, err = applyPlanned(t, p, request("promote", map[string]any{"name": "support-agent", "label": "production", "version": 2}), func() {
		f.Label("support-agent", 4, "production")
	})
	if err == nil || !strings.HasSuffix(err.Error(), "support-agent production moved v7 → v4 since the plan; nothing was changed: make a new plan") {
		t.Fatalf("promote = %v", err)
	}

	f = newFakeLangfuse(t)
	p = langfusePlugin(t, f, nil)
	if _, err := applyPlanned(t, p, request("rollback", map[string]any{"name": "support-agent", "label": "production"}), func() {}); err != nil {
		t.Fatalf("unchanged: %v", err)
	}
	if got := f.Labels("support-agent")["production"]; got != 6 {
		t.Errorf("production = v%d", got)
	}
}
