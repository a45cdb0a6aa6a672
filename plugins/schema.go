// Package plugins owns the contract between runbook and the plugins that carry
// out actions: the schema a plugin reports (its configuration, its actions,
// their arguments and outputs), the transport-agnostic Plugin interface the
// engine calls, and the registry of plugins built into the runbook binary.
package plugins

import (
	"fmt"
	"sort"
	"strings"

	"github.com/zclconf/go-cty/cty"
)

// Schema is what a plugin reports about itself: the attributes its `plugin`
// block accepts and the actions it offers.
type Schema struct {
	// Config lists the attributes of the plugin's `plugin "NAME" { … }` block,
	// other than `source` and `sha256`, which belong to the host.
	Config []*Attribute
	// Actions by name, without the plugin prefix ("status", not "prompt.status").
	Actions map[string]*Action
	// Predicts declares that the plugin's dry-run is exact across steps: its
	// Plan returns PlanResult.Planned, and its Plan and read-only Apply
	// answer from ActionRequest.Planned. Without it, whatever the plugin
	// reads after a planned change is shown as stale and the checks on it
	// as pending.
	Predicts bool
	// ChecksPlans declares that the plugin's plans return PlanResult.Basis
	// and that its mutating Apply, given ActionRequest.Basis, refuses to
	// act when the object moved since the plan. A saved plan is applied
	// only through plugins that declare it.
	ChecksPlans bool
}

// Attribute describes one argument of an action or one configuration attribute.
type Attribute struct {
	Name        string
	Description string
	Type        cty.Type
	Required    bool
	// Sensitive values are redacted wherever they would be shown or recorded.
	Sensitive bool
	// Default applies when the attribute is omitted; cty.NilVal means none
	// (the attribute is null in the arguments the plugin receives).
	Default cty.Value
	// Path marks a string that names a file or folder: the host resolves a
	// relative value against the folder of the file that sets it.
	Path bool
	// Validators check the value without running the plugin (`runbook
	// validate`), and again when the run reaches a value known only then.
	Validators []*Validator
}

// Action describes one action a plugin offers.
type Action struct {
	Name        string
	Description string
	// ReadOnly actions never change anything: dry-runs really run them, and
	// `expect { within = … }` may re-run them while polling.
	ReadOnly bool
	// ReadOnlyWhen makes an otherwise mutating action read-only for some
	// argument values (shell.run with read_only = true, http.request with GET).
	ReadOnlyWhen *ReadOnlyRule
	Args         []*Attribute
	// Output is the type of the action's result (an object type for every
	// built-in action; cty.DynamicPseudoType where it cannot be known).
	Output cty.Type
}

// ReadOnlyRule says that an action is read-only when argument Arg (after its
// default is applied) equals one of Values. Strings compare case-insensitively.
type ReadOnlyRule struct {
	Arg    string
	Values []cty.Value
}

// Arg returns the argument named name, or nil.
func (a *Action) Arg(name string) *Attribute {
	for _, attr := range a.Args {
		if attr.Name == name {
			return attr
		}
	}
	return nil
}

// IsReadOnly reports whether the action is read-only for the given argument
// value (an object with one attribute per argument). An unknown deciding
// argument counts as mutating: the safe answer.
func (a *Action) IsReadOnly(args cty.Value) bool {
	if a.ReadOnly {
		return true
	}
	rule := a.ReadOnlyWhen
	if rule == nil {
		return false
	}
	if !args.IsKnown() {
		return false
	}
	v := Attr(args, rule.Arg)
	if v.IsNull() {
		if attr := a.Arg(rule.Arg); attr != nil && attr.Default != cty.NilVal {
			v = attr.Default
		}
	}
	return rule.Matches(v)
}

// Attr returns attribute name of an object of arguments or configuration,
// or null when the object is null or has no such attribute.
func Attr(obj cty.Value, name string) cty.Value {
	if obj.IsNull() || !obj.Type().IsObjectType() || !obj.Type().HasAttribute(name) {
		return cty.NullVal(cty.DynamicPseudoType)
	}
	return obj.GetAttr(name)
}

// Matches reports whether v is one of the rule's values.
func (r *ReadOnlyRule) Matches(v cty.Value) bool {
	if v == cty.NilVal || v.IsNull() || !v.IsWhollyKnown() {
		return false
	}
	v, _ = v.Unmark()
	for _, want := range r.Values {
		if v.Type() == cty.String && want.Type() == cty.String {
			if strings.EqualFold(v.AsString(), want.AsString()) {
				return true
			}
			continue
		}
		if v.Type().Equals(want.Type()) && v.Equals(want).True() {
			return true
		}
	}
	return false
}

// ArgsType is the object type of an action's arguments.
func (a *Action) ArgsType() cty.Type {
	return attributesType(a.Args)
}

// ConfigType is the object type of a plugin's configuration.
func (s *Schema) ConfigType() cty.Type {
	return attributesType(s.Config)
}

func attributesType(attrs []*Attribute) cty.Type {
	types := make(map[string]cty.Type, len(attrs))
	for _, a := range attrs {
		types[a.Name] = a.Type
	}
	return cty.Object(types)
}

// ActionNames returns the names of the schema's actions, sorted.
func (s *Schema) ActionNames() []string {
	names := make([]string, 0, len(s.Actions))
	for name := range s.Actions {
		names = append(names, name)
	}
	sort.Strings(names)
	return names
}

// Validate reports a schema that the host cannot use: it guards the host
// against a plugin that reports nonsense.
func (s *Schema) Validate() error {
	if err := validateAttributes("config", s.Config); err != nil {
		return err
	}
	for name, a := range s.Actions {
		if a == nil || a.Name != name {
			return fmt.Errorf("action %q: name does not match its key", name)
		}
		if !validName(name) {
			return fmt.Errorf("action %q: names are lower-case letters, digits, '_' and '-'", name)
		}
		if err := validateAttributes("action "+name, a.Args); err != nil {
			return err
		}
		if a.Output == cty.NilType {
			return fmt.Errorf("action %q: no output type", name)
		}
		if r := a.ReadOnlyWhen; r != nil && a.Arg(r.Arg) == nil {
			return fmt.Errorf("action %q: read-only rule names unknown argument %q", name, r.Arg)
		}
	}
	return nil
}

func validateAttributes(where string, attrs []*Attribute) error {
	seen := make(map[string]bool, len(attrs))
	for _, a := range attrs {
		if a == nil || !validName(a.Name) {
			return fmt.Errorf("%s: invalid attribute name", where)
		}
		if seen[a.Name] {
			return fmt.Errorf("%s: attribute %q declared twice", where, a.Name)
		}
		seen[a.Name] = true
		if a.Type == cty.NilType {
			return fmt.Errorf("%s: attribute %q has no type", where, a.Name)
		}
		if a.Required && a.Default != cty.NilVal {
			return fmt.Errorf("%s: attribute %q is required and has a default", where, a.Name)
		}
		for _, v := range a.Validators {
			if err := v.check(a.Type); err != nil {
				return fmt.Errorf("%s: attribute %q: %w", where, a.Name, err)
			}
		}
		if a.Default != cty.NilVal && len(a.Validators) > 0 {
			if errs := a.Validate(a.Default); len(errs) > 0 {
				return fmt.Errorf("%s: attribute %q: the default fails its validator: %s", where, a.Name, errs[0].Detail)
			}
		}
	}
	return nil
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r == '_':
		case (r >= '0' && r <= '9') || r == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}
