package schema

import (
	"fmt"

	"github.com/hashicorp/hcl/v2"
)

// RefKind is what a reference points at.
type RefKind int

// The kinds of reference an expression can make.
const (
	RefVar    RefKind = iota + 1 // var.NAME
	RefStep                      // step.NAME.output
	RefRun                       // run.id, run.operator, run.dry_run
	RefOutput                    // output (inside expect)
)

// Reference is one parsed reference of an expression.
type Reference struct {
	Kind RefKind
	// Name is the variable, step or run attribute named.
	Name string
	// Remaining is the rest of the traversal after the referenced object
	// (after `step.NAME.output`, `var.NAME`, `run.ATTR` or `output`).
	Remaining hcl.Traversal
	// Range covers the whole traversal; NameRange the part that names.
	Range     hcl.Range
	NameRange hcl.Range
}

var runAttrs = map[string]bool{"id": true, "operator": true, "dry_run": true}

// parseRef turns a traversal found by Expression.Variables into a typed
// reference, or explains why it is not one. It returns a value, not a
// pointer: validation parses every reference of every expression.
func parseRef(t hcl.Traversal) (Reference, hcl.Diagnostics) {
	root := t.RootName()
	rng := t.SourceRange()
	switch root {
	case "var":
		name, nameRng, diags := traversalAttr(t, 1, "var", "a variable name, as in var.prompt")
		if diags.HasErrors() {
			return Reference{}, diags
		}
		return Reference{Kind: RefVar, Name: name, Remaining: t[2:], Range: rng, NameRange: nameRng}, nil
	case "step":
		name, nameRng, diags := traversalAttr(t, 1, "step", "a step name, as in step.current.output")
		if diags.HasErrors() {
			return Reference{}, diags
		}
		attr, attrRng, diags := traversalAttr(t, 2, "step."+name, "output, as in step."+name+".output")
		if diags.HasErrors() {
			return Reference{}, diags
		}
		if attr != "output" {
			return Reference{}, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Unsupported step attribute",
				Detail:   fmt.Sprintf("A step exposes only its output: use step.%s.output, not step.%s.%s.", name, name, attr),
				Subject:  attrRng.Ptr(),
			}}
		}
		return Reference{Kind: RefStep, Name: name, Remaining: t[3:], Range: rng, NameRange: nameRng}, nil
	case "run":
		name, nameRng, diags := traversalAttr(t, 1, "run", "run.id, run.operator or run.dry_run")
		if diags.HasErrors() {
			return Reference{}, diags
		}
		if !runAttrs[name] {
			return Reference{}, hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Unsupported run attribute",
				Detail:   fmt.Sprintf("run has no attribute %q; use run.id, run.operator or run.dry_run.", name),
				Subject:  nameRng.Ptr(),
			}}
		}
		return Reference{Kind: RefRun, Name: name, Remaining: t[2:], Range: rng, NameRange: nameRng}, nil
	case "output":
		return Reference{Kind: RefOutput, Name: "output", Remaining: t[1:], Range: rng, NameRange: t[0].SourceRange()}, nil
	default:
		return Reference{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown reference",
			Detail:   fmt.Sprintf("There is nothing named %q here. Expressions can refer to var.NAME, step.NAME.output, run.id, run.operator, run.dry_run, and output inside an expect block.", root),
			Subject:  t[0].SourceRange().Ptr(),
		}}
	}
}

// traversalAttr returns the attribute name at position i of t.
func traversalAttr(t hcl.Traversal, i int, prefix, want string) (string, hcl.Range, hcl.Diagnostics) {
	if len(t) <= i {
		return "", hcl.Range{}, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incomplete reference",
			Detail:   fmt.Sprintf("%s must be followed by %s.", prefix, want),
			Subject:  t.SourceRange().Ptr(),
		}}
	}
	switch step := t[i].(type) {
	case hcl.TraverseAttr:
		return step.Name, step.SrcRange, nil
	case hcl.TraverseIndex:
		if step.Key.Type().FriendlyName() == "string" && step.Key.IsKnown() && !step.Key.IsNull() {
			return step.Key.AsString(), step.SrcRange, nil
		}
	}
	return "", hcl.Range{}, hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid reference",
		Detail:   fmt.Sprintf("%s must be followed by %s.", prefix, want),
		Subject:  t[i].SourceRange().Ptr(),
	}}
}
