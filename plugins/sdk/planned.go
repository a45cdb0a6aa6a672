package sdk

import (
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// Planned is a plugin's predicted state in a dry-run: what the changes its
// earlier plans in the same run would have done, as values by key of the
// plugin's choosing ("route/chat"). runbook keeps it between calls and
// hands it back; it never reads it.
//
// A plugin that sets Plugin.Predicts uses it in two places:
//
//   - a Plan handler reads the objects it plans from req.Planned first
//     (Get), then records the change it plans (Set): a second change of the
//     same object plans from the first one's result;
//   - an Apply handler of a read-only action reads from req.Planned first
//     (Get): in a dry-run its answer is what the real run will see, and
//     runbook shows it as "predicted".
//
// In a real run, and before the first plan of a dry-run, it is empty.
// See docs/plugins.md, "Predicted state".
type Planned struct {
	mu      sync.Mutex
	values  map[string]json.RawMessage
	changed bool
	used    bool
}

func newPlanned(b []byte) (*Planned, error) {
	p := &Planned{values: map[string]json.RawMessage{}}
	if len(b) == 0 {
		return p, nil
	}
	if err := json.Unmarshal(b, &p.values); err != nil {
		return nil, fmt.Errorf("the planned state of this dry-run cannot be read: %w", err)
	}
	return p, nil
}

// Get decodes the planned value of key into v (as encoding/json does) and
// reports whether there is one.
func (p *Planned) Get(key string, v any) (bool, error) {
	if p == nil {
		return false, nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	raw, ok := p.values[key]
	if !ok {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return false, fmt.Errorf("planned state %q: %w", key, err)
	}
	p.used = true
	return true, nil
}

// Keep hands the planned state back with the plan although the handler
// set nothing: the plan's changes leave every object as it is (a switch to
// the variant already active), so what is read after them is still
// predicted. A plan with changes that neither sets nor keeps is taken as a
// change the plugin could not predict.
func (p *Planned) Keep() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.changed = true
}

// Set records the value key will have once the planned change is made.
func (p *Planned) Set(key string, v any) error {
	if p == nil {
		return nil
	}
	raw, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("planned state %q: %w", key, err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.values[key] = raw
	p.changed = true
	return nil
}

// Keys returns the keys that have a planned value, sorted.
func (p *Planned) Keys() []string {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return slices.Sorted(maps.Keys(p.values))
}

// encode returns the state to hand back, or nil when Set was not called.
func (p *Planned) encode() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.changed {
		return nil
	}
	b, _ := json.Marshal(p.values) // raw JSON values always encode
	return b
}
