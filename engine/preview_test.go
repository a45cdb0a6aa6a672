package engine

import (
	"context"
	"strings"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

const confirmed = `runbook "r" {
  owner = "team"
  step "write" {
    confirm = "Write k?"
    action "kv.set" {
      key   = "k"
      value = "v2"
    }
  }
  step "read" {
    confirm = "Read k?"
    action "kv.get" {
      key = "k"
    }
  }
}
`

// A real run shows the plan of a mutating action before asking to confirm
// it, and records it; a read-only action is not planned.
func TestPlanBeforeConfirmation(t *testing.T) {
	h := run(t, confirmed, WithPrompter(&answers{confirm: true}))
	if h.err != nil || h.res.Status != StatusSucceeded {
		t.Fatalf("%v %+v", h.err, h.res)
	}
	if got, want := strings.Join(h.kv.Calls(), ", "), "configure, plan set, apply set, apply get"; got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
	var order []string
	for _, e := range h.rec.events {
		switch e := e.(type) {
		case Planned:
			order = append(order, "plan "+e.Name+": "+strings.Join(e.Changes, "; "))
		case ConfirmationAnswered:
			order = append(order, "confirm "+e.Name)
		case ActionFinished:
			order = append(order, "apply "+e.Name)
		}
	}
	want := "plan write: k: v1 → v2 | confirm write | apply write | confirm read | apply read"
	if got := strings.Join(order, " | "); got != want {
		t.Errorf("events:\n got %s\nwant %s", got, want)
	}
}

// failingPlanKV fails every plan with an error about an argument.
type failingPlanKV struct{ *kvPlugin }

func (p failingPlanKV) Plan(context.Context, *plugins.ActionRequest) (*plugins.PlanResult, error) {
	p.record("plan")
	return nil, &plugins.Error{Path: cty.GetAttrPath("key"), Summary: "No such key"}
}

// A plan that fails fails the step, at the argument, before anyone is
// asked or anything changes.
func TestPlanBeforeConfirmationFails(t *testing.T) {
	cfg, rb := load(t, confirmed)
	kv := failingPlanKV{newKV()}
	prompter := &answers{confirm: true}
	res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": kv}), WithHooks(&recorder{}), WithPrompter(prompter),
		WithEnv(func(string) (string, bool) { return "", false }))
	if err != nil {
		t.Fatal(err)
	}
	want := `step "write": planning kv.set before asking to confirm it: t.hcl:6,15-18: argument key: No such key`
	if res.Status != StatusFailed || res.Reason != want {
		t.Errorf("%s: %q\nwant %q", res.Status, res.Reason, want)
	}
	if got := strings.Join(kv.Calls(), ", "); got != "configure, plan" {
		t.Errorf("calls %s", got)
	}
	if len(prompter.asked) != 0 {
		t.Errorf("asked %q", prompter.asked)
	}
}

// A run that applies a saved plan shows, before a step's confirmation,
// what that plan planned for the step: what was reviewed.
func TestSavedPlanShownBeforeConfirmation(t *testing.T) {
	src := strings.Replace(planRunbook, `  step "set" {
`, `  step "set" {
    confirm = "Flip it?"
`, 1)
	f := newPlanFixture(t, src)
	p := f.dryRun()
	res, rec, err := f.apply(p)
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("apply: %v %+v", err, res)
	}
	var order []string
	for _, e := range rec.events {
		switch e := e.(type) {
		case Planned:
			order = append(order, "plan "+strings.Join(e.Changes, ";"))
		case ConfirmationAnswered:
			order = append(order, "confirm "+e.Question)
		}
	}
	if got, want := strings.Join(order, " | "), "plan mode: auto → manual | confirm Flip it?"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
