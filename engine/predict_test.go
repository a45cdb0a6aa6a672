package engine

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

// pkv is a key-value plugin that predicts: its planned state is the JSON
// object of the values its plans set, and its reads answer from it.
type pkv struct {
	mu    sync.Mutex
	store map[string]string
	// got records the Planned each call received, by "plan KEY" or "get KEY".
	got map[string]string
	// forget makes plans with changes return no planned state.
	forget bool
	// huge makes plans return a planned state over the limit.
	huge bool
}

var pkvSchema = &plugins.Schema{
	Predicts: true,
	Actions: map[string]*plugins.Action{
		"get": kvSchema.Actions["get"],
		"set": kvSchema.Actions["set"],
	},
}

func (p *pkv) Schema(context.Context) (*plugins.Schema, error) { return pkvSchema, nil }
func (p *pkv) Configure(context.Context, cty.Value) error      { return nil }
func (p *pkv) Close() error                                    { return nil }

func (p *pkv) planned(req *plugins.ActionRequest, call string) map[string]string {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.got[call] = string(req.Planned)
	st := map[string]string{}
	_ = json.Unmarshal(req.Planned, &st)
	return st
}

func (p *pkv) value(st map[string]string, k string) (string, bool) {
	if v, ok := st[k]; ok {
		return v, true
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.store[k], false
}

func kvOut(k, v string) cty.Value {
	return cty.ObjectVal(map[string]cty.Value{"key": cty.StringVal(k), "value": cty.StringVal(v), "version": cty.NumberIntVal(0)})
}

func (p *pkv) Plan(_ context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	k := req.Args.GetAttr("key").AsString()
	st := p.planned(req, "plan "+k)
	before, _ := p.value(st, k)
	after := req.Args.GetAttr("value").AsString()
	res := &plugins.PlanResult{Output: kvOut(k, after)}
	if before == after {
		return res, nil
	}
	res.Changes = []string{fmt.Sprintf("%s: %s → %s", k, before, after)}
	st[k] = after
	switch {
	case p.huge:
		res.Planned = make([]byte, maxPlannedState+1)
	case !p.forget:
		res.Planned, _ = json.Marshal(st)
	}
	return res, nil
}

func (p *pkv) Apply(_ context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	k := req.Args.GetAttr("key").AsString()
	if req.Action == "set" {
		p.planned(req, "set "+k)
		p.mu.Lock()
		defer p.mu.Unlock()
		p.store[k] = req.Args.GetAttr("value").AsString()
		return &plugins.ApplyResult{Output: kvOut(k, p.store[k])}, nil
	}
	st := p.planned(req, "get "+k)
	v, predicted := p.value(st, k)
	return &plugins.ApplyResult{Output: kvOut(k, v), Predicted: predicted}, nil
}

func runPredicting(t *testing.T, src string, p *pkv, dry bool) *recorder {
	t.Helper()
	reg, err := plugins.NewRegistry(&plugins.Builtin{Name: "kv", Schema: kvSchema}, &plugins.Builtin{Name: "pkv", Schema: pkvSchema})
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := schema.Load([]schema.Source{{Name: "t.hcl", Bytes: []byte(src)}}, schema.Options{Schemas: schema.RegistrySource{Registry: reg}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	rec := &recorder{}
	_, err = Run(context.Background(), cfg, cfg.Runbooks[0],
		WithPlugins(InProcess{"kv": newKV(), "pkv": p}), WithHooks(rec), WithDryRun(dry), WithYes(true),
		WithClock(&fakeClock{now: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)}),
		WithOperator("alice@host"), WithRunID("run-1"), WithEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func TestPlannedStateFlowsThroughTheDryRun(t *testing.T) {
	set := func(step, plugin, key, value string) string {
		return fmt.Sprintf("  step %q {\n    action \"%s.set\" {\n      key   = %q\n      value = %q\n    }\n  }\n", step, plugin, key, value)
	}
	const check = `
  step "check" {
    action "pkv.get" {
      key = "a"
    }
    expect {
      condition     = output.value == "on"
      error_message = "a is ${output.value}"
    }
  }
`
	tests := []struct {
		name string
		src  string
		p    *pkv
		// check is the expected result of the check on a's value.
		check         string
		predicted     bool
		changes       []string
		pendingChecks int
		stepStatus    map[string]string
	}{
		{
			name:      "a read after a planned change answers from the prediction",
			src:       set("on", "pkv", "a", "on") + check + set("off", "pkv", "a", "off"),
			p:         &pkv{},
			check:     "passed",
			predicted: true,
			changes:   []string{"a: off → on", "a: on → off"},
		},
		{
			name:    "a change planned twice plans from the first",
			src:     set("on", "pkv", "a", "on") + set("again", "pkv", "a", "on"),
			p:       &pkv{},
			changes: []string{"a: off → on"},
		},
		{
			name:          "a plan that changes something without a prediction leaves later reads unjudged",
			src:           set("on", "pkv", "a", "on") + check,
			p:             &pkv{forget: true},
			check:         StatusPending,
			changes:       []string{"a: off → on"},
			pendingChecks: 1,
		},
		{
			name:          "a change of a plugin that does not predict leaves the reads of the others unjudged",
			src:           set("other", "kv", "k", "x") + check,
			p:             &pkv{},
			check:         StatusPending,
			changes:       []string{"k: v1 → v2"},
			pendingChecks: 1,
		},
		{
			name:          "a manual step leaves every later read unjudged",
			src:           "  step \"by-hand\" {\n    manual = \"Turn a on by hand.\"\n  }\n" + check,
			p:             &pkv{},
			check:         StatusPending,
			changes:       nil,
			pendingChecks: 1,
		},
		{
			name:       "a planned state over the limit fails the step",
			src:        set("on", "pkv", "a", "on"),
			p:          &pkv{huge: true},
			stepStatus: map[string]string{"on": StatusFailed},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.p.store, tt.p.got = map[string]string{"a": "off"}, map[string]string{}
			src := "runbook \"r\" {\n  owner = \"sre\"\n" + tt.src + "}\n"
			rec := runPredicting(t, src, tt.p, true)
			var fin RunFinished
			for _, e := range rec.events {
				switch e := e.(type) {
				case ExpectationChecked:
					if e.Result != tt.check {
						t.Errorf("check = %s (%s), want %s", e.Result, e.Message, tt.check)
					}
				case ActionFinished:
					if e.Action == "pkv.get" && e.Predicted != tt.predicted {
						t.Errorf("predicted = %v, want %v", e.Predicted, tt.predicted)
					}
				case RunFinished:
					fin = e
				}
			}
			for step, want := range tt.stepStatus {
				if got := rec.steps()[step].Status; got != want {
					t.Errorf("step %s: %s, want %s", step, got, want)
				}
			}
			if tt.stepStatus != nil {
				return
			}
			if fin.Plan == nil {
				t.Fatal("the dry-run's run_finished has no plan summary")
			}
			var changes []string
			for _, c := range fin.Plan.Changes {
				changes = append(changes, c.Change)
			}
			if strings.Join(changes, "|") != strings.Join(tt.changes, "|") {
				t.Errorf("plan changes = %q, want %q", changes, tt.changes)
			}
			if fin.Plan.PendingChecks != tt.pendingChecks {
				t.Errorf("pending checks = %d, want %d", fin.Plan.PendingChecks, tt.pendingChecks)
			}
		})
	}
}

// A real run never hands a plugin planned state (not even to the plan it
// shows before a mutating action), and its run_finished has no plan
// summary.
func TestRealRunCarriesNoPlannedState(t *testing.T) {
	p := &pkv{store: map[string]string{"a": "off"}, got: map[string]string{}}
	src := "runbook \"r\" {\n  owner = \"sre\"\n  step \"on\" {\n    action \"pkv.set\" {\n      key = \"a\"\n      value = \"on\"\n    }\n  }\n  step \"check\" {\n    action \"pkv.get\" {\n      key = \"a\"\n    }\n  }\n}\n"
	rec := runPredicting(t, src, p, false)
	for call, planned := range p.got {
		if planned != "" {
			t.Errorf("%s got planned state %q in a real run", call, planned)
		}
	}
	if len(p.got) != 3 {
		t.Errorf("calls = %v, want a set (planned before it runs) and a get", p.got)
	}
	for _, e := range rec.events {
		if f, ok := e.(RunFinished); ok && f.Plan != nil {
			t.Errorf("a real run's run_finished has a plan: %+v", f.Plan)
		}
		if a, ok := e.(ActionFinished); ok && a.Predicted {
			t.Errorf("%s marked predicted in a real run", a.Action)
		}
	}
	if p.store["a"] != "on" {
		t.Errorf("a = %q after the real run", p.store["a"])
	}
}
