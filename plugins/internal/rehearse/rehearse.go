// Package rehearse holds a test helper for predicting plugins: it rehearses
// a sequence of actions as a dry-run does (plans threading the planned
// state, read-only actions answered from it), then applies the same
// sequence for real, and reports where the rehearsal's known values differ
// from what the real actions returned.
package rehearse

import (
	"context"
	"fmt"
	"testing"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// Step is one action of the sequence.
type Step struct {
	Action string
	Args   cty.Value
}

// Check rehearses steps on p, then runs them for real on the same p (whose
// backend must still hold the state the rehearsal saw), and fails t where a
// predicted value that is known differs from the real one. It returns how
// many values were compared.
func Check(t *testing.T, p plugins.Plugin, steps []Step) int {
	t.Helper()
	ctx := context.Background()
	s, err := p.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Predicts {
		t.Fatal("the plugin does not declare Predicts")
	}
	var planned []byte
	predicted := make([]cty.Value, len(steps))
	for i, st := range steps {
		a := s.Actions[st.Action]
		req := &plugins.ActionRequest{Action: st.Action, Args: st.Args, RunID: "rehearsal", Operator: "sre@test", Planned: planned}
		if a.IsReadOnly(st.Args) {
			res, err := p.Apply(ctx, req)
			if err != nil {
				t.Fatalf("rehearsal, step %d (%s): %v", i+1, st.Action, err)
			}
			if i > 0 && planned != nil && !res.Predicted {
				t.Errorf("rehearsal, step %d (%s): a read after planned changes is not marked predicted", i+1, st.Action)
			}
			predicted[i] = res.Output
			continue
		}
		res, err := p.Plan(ctx, req)
		if err != nil {
			t.Fatalf("rehearsal, step %d (%s): %v", i+1, st.Action, err)
		}
		if len(res.Changes) > 0 && res.Planned == nil {
			t.Errorf("rehearsal, step %d (%s): a planned change without a planned state", i+1, st.Action)
		}
		if res.Planned != nil {
			planned = res.Planned
		}
		predicted[i] = res.Output
	}
	compared := 0
	for i, st := range steps {
		res, err := p.Apply(ctx, &plugins.ActionRequest{Action: st.Action, Args: st.Args, RunID: "real", Operator: "sre@test"})
		if err != nil {
			t.Fatalf("real run, step %d (%s): %v", i+1, st.Action, err)
		}
		if res.Predicted {
			t.Errorf("real run, step %d (%s): marked predicted", i+1, st.Action)
		}
		n, diffs := compare(cty.Path{}, predicted[i], res.Output)
		compared += n
		for _, d := range diffs {
			t.Errorf("step %d (%s): %s\n  rehearsal: %#v\n  real run:  %#v", i+1, st.Action, d, predicted[i], res.Output)
		}
	}
	return compared
}

// compare compares the known parts of a predicted value with the real one.
func compare(path cty.Path, predicted, real cty.Value) (int, []string) {
	if !predicted.IsKnown() {
		return 0, nil
	}
	ty := predicted.Type()
	if (ty.IsObjectType() || ty.IsMapType() || ty.IsListType() || ty.IsTupleType()) && !predicted.IsNull() && !real.IsNull() {
		if predicted.LengthInt() != real.LengthInt() {
			return 0, []string{fmt.Sprintf("%s: %d elements, the real run has %d", pathString(path), predicted.LengthInt(), real.LengthInt())}
		}
		n, diffs := 0, []string(nil)
		for it := predicted.ElementIterator(); it.Next(); {
			k, v := it.Element()
			var rv cty.Value
			var step cty.PathStep
			if ty.IsObjectType() {
				rv, step = real.GetAttr(k.AsString()), cty.GetAttrStep{Name: k.AsString()}
			} else {
				rv, step = real.Index(k), cty.IndexStep{Key: k}
			}
			m, d := compare(append(path.Copy(), step), v, rv)
			n, diffs = n+m, append(diffs, d...)
		}
		return n, diffs
	}
	if !predicted.RawEquals(real) {
		return 0, []string{pathString(path) + " differs"}
	}
	return 1, nil
}

func pathString(p cty.Path) string {
	s := "output"
	for _, st := range p {
		switch st := st.(type) {
		case cty.GetAttrStep:
			s += "." + st.Name
		case cty.IndexStep:
			s += fmt.Sprintf("[%#v]", st.Key)
		}
	}
	return s
}
