package fallback

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/plugins"
)

// planBasis is the basis of req's plan: what a saved plan keeps for it.
func planBasis(t *testing.T, p plugins.Plugin, req *plugins.ActionRequest) []byte {
	t.Helper()
	plan, err := p.Plan(context.Background(), req)
	if err != nil || plan.Basis == nil {
		t.Fatalf("plan: %v, basis %q", err, plan.Basis)
	}
	return plan.Basis
}

// applyPlanned applies req as a run applying its saved plan does, after
// moved has run since the plan.
func applyPlanned(t *testing.T, p plugins.Plugin, req *plugins.ActionRequest, moved func()) error {
	t.Helper()
	basis := planBasis(t, p, req)
	moved()
	_, err := p.Apply(context.Background(), &plugins.ActionRequest{Action: req.Action, Args: req.Args, RunID: req.RunID, Operator: req.Operator, Basis: basis})
	return err
}

func TestSavedPlanFile(t *testing.T) {
	for _, tc := range []struct {
		name   string
		moved  func(t *testing.T, path string, p plugins.Plugin)
		errHas string
	}{
		{"unchanged", func(*testing.T, string, plugins.Plugin) {}, ""},
		{"switched by hand", func(t *testing.T, path string, _ plugins.Plugin) {
			writeFile(t, path, strings.Replace(routesFile, `"defaultVariant": "primary"`, `"defaultVariant": "canary"`, 1))
		}, "route chat moved primary → canary since the plan, not by a runbook run (the history has no record of it); nothing was changed"},
		{"switched by another run", func(t *testing.T, path string, p plugins.Plugin) {
			req := request("activate", "chat", "canary")
			req.RunID, req.Operator = "20261202T081500Z-0a1b2c", "sre-2@laptop"
			if _, err := p.Apply(context.Background(), req); err != nil {
				t.Fatal(err)
			}
		}, "route chat moved primary → canary since the plan, by run 20261202T081500Z-0a1b2c of sre-2@laptop at "},
		{"a variant's model changed", func(t *testing.T, path string, _ plugins.Plugin) {
			writeFile(t, path, strings.Replace(routesFile, `"anthropic/claude-sonnet-4"`, `"anthropic/claude-opus-4"`, 1))
		}, "the variants of route chat changed since the plan; nothing was changed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeRoutes(t, routesFile)
			p := newPlugin(t, path)
			var before string
			err := applyPlanned(t, p, request("activate", "chat"), func() {
				tc.moved(t, path, p)
				before = mustRead(t, path)
			})
			if tc.errHas == "" {
				if err != nil {
					t.Fatal(err)
				}
				if !strings.Contains(mustRead(t, path), `"defaultVariant": "fallback"`) {
					t.Error("the route was not switched")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.errHas) {
				t.Fatalf("apply = %v, want %q", err, tc.errHas)
			}
			if mustRead(t, path) != before {
				t.Error("a refused apply changed the flag file")
			}
		})
	}
}

// A deactivate planned after an activate of the same route is based on the
// route as the activate leaves it.
func TestSavedPlanBasisFollowsPlannedState(t *testing.T) {
	path := writeRoutes(t, routesFile)
	p := newPlugin(t, path)
	on, err := p.Plan(context.Background(), request("activate", "chat"))
	if err != nil {
		t.Fatal(err)
	}
	offReq := request("deactivate", "chat")
	offReq.Planned = on.Planned
	off, err := p.Plan(context.Background(), offReq)
	if err != nil {
		t.Fatal(err)
	}
	for _, step := range []struct {
		req   *plugins.ActionRequest
		basis []byte
	}{{request("activate", "chat"), on.Basis}, {request("deactivate", "chat"), off.Basis}} {
		step.req.Basis = step.basis
		if _, err := p.Apply(context.Background(), step.req); err != nil {
			t.Fatalf("%s: %v", step.req.Action, err)
		}
	}
	if !strings.Contains(mustRead(t, path), `"defaultVariant": "primary"`) {
		t.Error("chat does not serve primary again")
	}
}

func TestSavedPlanEtcd(t *testing.T) {
	e := newEtcdRoutes(t)
	other := strings.Replace(e.values["chat"], `"defaultVariant": "primary"`, `"defaultVariant": "canary"`, 1)

	// Unchanged: switched.
	p := e.plugin(t)
	if err := applyPlanned(t, p, request("activate", "chat"), func() {}); err != nil {
		t.Fatal(err)
	}
	if v, _ := e.get(t, "chat"); !strings.Contains(v, `"defaultVariant": "fallback"`) {
		t.Errorf("chat = %s", v)
	}

	// Moved by another run after the plan: refused, naming the run.
	e.put(t, "chat", e.values["chat"])
	err := applyPlanned(t, p, request("activate", "chat"), func() {
		req := request("activate", "chat", "canary")
		req.RunID, req.Operator = "20261202T081500Z-0a1b2c", "sre-2@laptop"
		if _, err := p.Apply(context.Background(), req); err != nil {
			t.Fatal(err)
		}
	})
	if err == nil || !strings.Contains(err.Error(), "route chat moved primary → canary since the plan, by run 20261202T081500Z-0a1b2c of sre-2@laptop") {
		t.Fatalf("apply = %v", err)
	}
	if v, _ := e.get(t, "chat"); !strings.Contains(v, `"defaultVariant": "canary"`) {
		t.Errorf("a refused apply changed chat: %s", v)
	}

	// Moved between the check and the transaction: the transaction's
	// revision compare refuses it, nothing written.
	e.put(t, "chat", e.values["chat"])
	b := e.backend(t)
	basis, err := decodeBasis(planBasis(t, p, request("activate", "chat")), "chat")
	if err != nil {
		t.Fatal(err)
	}
	b.beforeCommit = func() { e.put(t, "chat", other) }
	_, err = b.Switch(context.Background(), "chat", "fallback", Change{Action: "activate", RunID: "run-1", Operator: "alice", Check: basis.check})
	var conflict *ConflictError
	if !errors.As(err, &conflict) {
		t.Fatalf("switch = %v, want a conflict", err)
	}
	if v, _ := e.get(t, "chat"); v != other {
		t.Errorf("chat = %s", v)
	}
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
