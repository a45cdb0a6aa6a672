package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/schema"
)

// ckv is a key-value plugin that checks plans: a plan's basis is the key
// and the value it saw, and a set given a basis refuses when the value
// moved since.
type ckv struct {
	mu    sync.Mutex
	store map[string]string
	// bases records the basis each set received.
	bases []string
}

var ckvSchema = &plugins.Schema{
	ChecksPlans: true,
	Actions: map[string]*plugins.Action{
		"get": kvSchema.Actions["get"],
		"set": kvSchema.Actions["set"],
	},
}

func (p *ckv) Schema(context.Context) (*plugins.Schema, error) { return ckvSchema, nil }
func (p *ckv) Configure(context.Context, cty.Value) error      { return nil }
func (p *ckv) Close() error                                    { return nil }

type ckvBasis struct{ Key, Value string }

func (p *ckv) Plan(_ context.Context, req *plugins.ActionRequest) (*plugins.PlanResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, v := req.Args.GetAttr("key").AsString(), req.Args.GetAttr("value").AsString()
	basis, _ := json.Marshal(ckvBasis{k, p.store[k]})
	return &plugins.PlanResult{Changes: []string{fmt.Sprintf("%s: %s → %s", k, p.store[k], v)}, Output: kvOut(k, v), Basis: basis}, nil
}

func (p *ckv) Apply(_ context.Context, req *plugins.ActionRequest) (*plugins.ApplyResult, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	k := req.Args.GetAttr("key").AsString()
	if req.Action == "set" {
		p.bases = append(p.bases, string(req.Basis))
		if req.Basis != nil {
			var b ckvBasis
			if err := json.Unmarshal(req.Basis, &b); err != nil {
				return nil, err
			}
			if b.Key != k || b.Value != p.store[k] {
				return nil, fmt.Errorf("%s moved %s → %s since the plan", k, b.Value, p.store[k])
			}
		}
		p.store[k] = req.Args.GetAttr("value").AsString()
	}
	return &plugins.ApplyResult{Output: kvOut(k, p.store[k])}, nil
}

const planRunbook = `
runbook "flip" {
  owner = "sre"
  variable "to" {
    type = string
  }
  variable "token" {
    type      = string
    sensitive = true
  }
  step "read" {
    action "ckv.get" { key = "mode" }
  }
  step "set" {
    action "ckv.set" {
      key   = "mode"
      value = var.to
    }
  }
  step "extra" {
    when = step.read.output.value == "manual"
    action "ckv.set" {
      key   = "other"
      value = "x"
    }
  }
}
`

type planFixture struct {
	t   *testing.T
	cfg *schema.Config
	p   *ckv
	kv  *kvPlugin
	now time.Time
	env map[string]string
}

func newPlanFixture(t *testing.T, src string) *planFixture {
	t.Helper()
	reg, err := plugins.NewRegistry(&plugins.Builtin{Name: "kv", Schema: kvSchema}, &plugins.Builtin{Name: "ckv", Schema: ckvSchema})
	if err != nil {
		t.Fatal(err)
	}
	cfg, diags := schema.Load([]schema.Source{{Name: "t.hcl", Bytes: []byte(src)}}, schema.Options{Schemas: schema.RegistrySource{Registry: reg}})
	if diags.HasErrors() {
		t.Fatal(diags.Error())
	}
	return &planFixture{
		t: t, cfg: cfg, p: &ckv{store: map[string]string{"mode": "auto"}}, kv: newKV(),
		now: time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC),
		env: map[string]string{"RUNBOOK_VAR_token": "s3cret"},
	}
}

func (f *planFixture) run(extra ...Option) (*Result, *recorder, error) {
	rec := &recorder{}
	opts := append([]Option{
		WithPlugins(InProcess{"kv": f.kv, "ckv": f.p}), WithHooks(rec), WithYes(true),
		WithClock(NewVirtualClock(f.now)), WithOperator("alice@host"),
		WithPluginInfo(map[string]PluginInfo{"ckv": {Version: "1.0.0", SHA256: "aa"}, "kv": {Version: "1.0.0", SHA256: "bb"}}),
		WithEnv(func(k string) (string, bool) { v, ok := f.env[k]; return v, ok }),
	}, extra...)
	res, err := Run(context.Background(), f.cfg, f.cfg.Runbooks[0], opts...)
	return res, rec, err
}

// dryRun makes a plan and returns it as its file would hold it.
func (f *planFixture) dryRun() *SavedPlan {
	f.t.Helper()
	res, _, err := f.run(WithDryRun(true), WithVars(map[string]string{"to": "manual"}), WithRunID("dry-1"))
	if err != nil || res.ExitCode != 0 || res.Plan == nil {
		f.t.Fatalf("dry-run: %v %+v", err, res)
	}
	b, err := json.Marshal(res.Plan)
	if err != nil {
		f.t.Fatal(err)
	}
	p, err := ParsePlan(b)
	if err != nil {
		f.t.Fatal(err)
	}
	return p
}

func (f *planFixture) apply(p *SavedPlan) (*Result, *recorder, error) {
	f.now = f.now.Add(10 * time.Minute)
	return f.run(WithPlan(&ApplyPlan{Plan: p, SHA256: "plansum", MaxAge: time.Hour}), WithRunID("apply-1"))
}

func TestDryRunSavesAPlan(t *testing.T) {
	f := newPlanFixture(t, planRunbook)
	p := f.dryRun()
	if p.Runbook != "flip" || p.DryRun != "dry-1" || !p.Created.Equal(f.now) || p.Plugins["ckv"].SHA256 != "aa" {
		t.Errorf("plan = %+v", p)
	}
	if len(p.Steps) != 1 || p.Steps[0].Step != "set" || p.Steps[0].Action != "ckv.set" ||
		strings.Join(p.Steps[0].Changes, ";") != "mode: auto → manual" || string(p.Steps[0].Basis) != `{"Key":"mode","Value":"auto"}` {
		t.Errorf("steps = %+v", p.Steps)
	}
	if string(p.Vars["to"]) != `"manual"` {
		t.Errorf("vars = %s", p.Vars)
	}
	b, _ := json.Marshal(p)
	if strings.Contains(string(b), "s3cret") || p.SensitiveVars["token"].SHA256 == "" {
		t.Errorf("the sensitive variable is not hashed: %s", b)
	}
}

func TestApplyUnchangedPlanRunsWithBases(t *testing.T) {
	f := newPlanFixture(t, planRunbook)
	p := f.dryRun()
	res, rec, err := f.apply(p)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("apply: %v %+v", err, res)
	}
	if f.p.store["mode"] != "manual" || strings.Join(f.p.bases, ";") != `{"Key":"mode","Value":"auto"}` {
		t.Errorf("store = %v, bases = %q", f.p.store, f.p.bases)
	}
	started := rec.events[0].(RunStarted)
	if started.Plan == nil || *started.Plan != (PlanRef{SHA256: "plansum", DryRun: "dry-1"}) || started.Vars["to"] != "manual" {
		t.Errorf("run_started = %+v", started)
	}
}

func TestApplyAfterTheObjectMovedFails(t *testing.T) {
	f := newPlanFixture(t, planRunbook)
	p := f.dryRun()
	f.p.store["mode"] = "paused"
	res, _, err := f.apply(p)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 1 || !strings.Contains(res.Reason, "mode moved auto → paused since the plan") || f.p.store["mode"] != "paused" {
		t.Errorf("result = %+v, store = %v", res, f.p.store)
	}
}

func TestApplyRunsNoStepThePlanDidNotPlan(t *testing.T) {
	f := newPlanFixture(t, planRunbook)
	p := f.dryRun()
	// The dry-run read "auto": step extra was skipped. Now its when holds.
	f.p.store["mode"] = "manual"
	p.Steps[0].Basis = []byte(`{"Key":"mode","Value":"manual"}`)
	res, _, err := f.apply(p)
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 1 || !strings.Contains(res.Reason, `did not plan step "extra"`) || f.p.store["other"] != "" {
		t.Errorf("result = %+v, store = %v", res, f.p.store)
	}
}

func TestApplyRefusesAPlanThatNoLongerFits(t *testing.T) {
	kvRunbook := strings.Replace(planRunbook, `action "ckv.set" {
      key   = "mode"`, `action "kv.set" {
      key   = "mode"`, 1)
	for _, tc := range []struct {
		name   string
		src    string
		change func(f *planFixture, p *SavedPlan)
		want   string
	}{
		{"too old", planRunbook, func(f *planFixture, p *SavedPlan) { f.now = f.now.Add(2 * time.Hour) }, "more than --max-plan-age 1h0m0s"},
		{"runbook changed", planRunbook, func(f *planFixture, p *SavedPlan) { p.Source.SHA256 = "0123456789abcdef" }, "changed since the plan (sha256 0123456789ab"},
		{"plugin changed", planRunbook, func(f *planFixture, p *SavedPlan) { p.Plugins["ckv"] = PluginInfo{Version: "0.9.0", SHA256: "cc"} }, `plugin "ckv" changed since the plan`},
		{"variable changed", planRunbook, func(f *planFixture, p *SavedPlan) { f.env["RUNBOOK_VAR_to"] = "auto" }, `RUNBOOK_VAR_to is "auto", and the plan was made with to = "manual"`},
		{"sensitive variable changed", planRunbook, func(f *planFixture, p *SavedPlan) { f.env["RUNBOOK_VAR_token"] = "other" }, `sensitive variable "token" is not the one`},
		{"another runbook", planRunbook, func(f *planFixture, p *SavedPlan) { p.Runbook = "other" }, `of runbook "other"`},
		{"made in the future", planRunbook, func(f *planFixture, p *SavedPlan) { p.Created = f.now.Add(time.Hour) }, "in the future"},
		{"plugin does not check plans", kvRunbook, func(f *planFixture, p *SavedPlan) {}, `plugin "kv", which cannot check`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newPlanFixture(t, tc.src)
			p := f.dryRun()
			tc.change(f, p)
			res, rec, err := f.apply(p)
			var refused *PlanRefusedError
			if !errors.As(err, &refused) || refused.ExitCode() != 3 || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("apply = %+v, %v; want refused with %q", res, err, tc.want)
			}
			if len(rec.events) != 0 || f.p.store["mode"] != "auto" || f.kv.store["mode"] != "" {
				t.Errorf("something ran: %s, %v", rec.types(), f.p.store)
			}
		})
	}
}

func TestParsePlanRefuses(t *testing.T) {
	ok := `{"format":1,"runbook":"r","dry_run":"d","created":"2026-12-02T08:00:00Z"}`
	if _, err := ParsePlan([]byte(ok)); err != nil {
		t.Fatalf("a minimal plan: %v", err)
	}
	for in, want := range map[string]string{
		`{"format":2,"runbook":"r"}`: "plan format 2; this runbook reads format 1",
		ok + `{}`:                    "not a saved plan: invalid character '{' after top-level value",
		`{"format":1,"runbook":"r","created":"2026-12-02T08:00:00Z"}`:   "dry_run or created is missing",
		strings.Replace(ok, `"format":1`, `"format":1,"extra":true`, 1): `unknown field "extra"`,
		`not json`: "not a saved plan",
	} {
		if _, err := ParsePlan([]byte(in)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParsePlan(%s) = %v, want %q", in, err, want)
		}
	}
}
