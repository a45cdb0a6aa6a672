package runbooktext

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/schema"
)

// Expr returns an expression's source on one line, safe to show.
func Expr(cfg *schema.Config, e hcl.Expression) string {
	return text.VisibleLine(Source(cfg, e))
}

// Source returns an expression's source on one line, as written (for JSON
// output; Expr for a terminal).
func Source(cfg *schema.Config, e hcl.Expression) string {
	return strings.Join(strings.Fields(cfg.Source(e.Range())), " ")
}

// Lock is the lock a run of rb takes: its lock expression, or its name
// quoted when it declares none.
func Lock(cfg *schema.Config, rb *schema.Runbook) string {
	if rb.Lock != nil {
		return Expr(cfg, rb.Lock)
	}
	return fmt.Sprintf("%q", rb.Name)
}

// Type is a variable's type constraint as it is written ("any" for any).
func Type(t cty.Type) string {
	if t == cty.DynamicPseudoType {
		return "any"
	}
	return t.FriendlyNameForConstraint()
}

// Default is a variable's default as it is shown: its source, or
// redact.Marker for a sensitive variable's; "" when the variable is
// required.
func Default(cfg *schema.Config, v *schema.Variable) string {
	switch {
	case v.Required():
		return ""
	case v.Sensitive:
		return redact.Marker
	default:
		return Expr(cfg, v.Default)
	}
}

// Effect is what an action does to the world, as far as its schema and
// literal arguments tell before a run.
type Effect int

const (
	// Unknown: the plugin's schema is not known.
	Unknown Effect = iota
	ReadOnly
	ChangesState
	// ReadOnlyWhen: read-only or not depending on an argument known only
	// at run time.
	ReadOnlyWhen
)

// ActionEffect says whether an action changes state, and in words: "",
// "read-only", "changes state" or "read-only when ARG is VALUES".
func ActionEffect(a *schema.ActionCall) (Effect, string) {
	if a.Schema == nil {
		return Unknown, ""
	}
	readOnly, known := LiteralReadOnly(a)
	switch {
	case !known:
		return ReadOnlyWhen, fmt.Sprintf("read-only when %s is %s", a.Schema.ReadOnlyWhen.Arg, text.ValuesText(a.Schema.ReadOnlyWhen.Values))
	case readOnly:
		return ReadOnly, "read-only"
	default:
		return ChangesState, "changes state"
	}
}

// LiteralReadOnly decides whether an action is read-only from its schema
// and literal arguments; known is false when it depends on a value that
// exists only at run time. The action's schema must be known.
func LiteralReadOnly(a *schema.ActionCall) (readOnly, known bool) {
	rule := a.Schema.ReadOnlyWhen
	if a.Schema.ReadOnly || rule == nil {
		return a.Schema.ReadOnly, true
	}
	attrs, _ := a.Body.JustAttributes()
	vals := map[string]cty.Value{}
	if attr, ok := attrs[rule.Arg]; ok {
		v, diags := attr.Expr.Value(nil)
		if diags.HasErrors() || !v.IsWhollyKnown() {
			return false, false
		}
		vals[rule.Arg] = v
	}
	return a.Schema.IsReadOnly(cty.ObjectVal(vals)), true
}

// ActionArgs lists an action's arguments in source order as
// "NAME = SOURCE", safe to show; literal values of sensitive arguments are
// never shown.
func ActionArgs(cfg *schema.Config, a *schema.ActionCall) []string {
	args := Args(cfg, a)
	out := make([]string, 0, len(args))
	for _, arg := range args {
		val := arg.Source
		if val != redact.Marker {
			val = text.VisibleLine(val)
		}
		out = append(out, arg.Name+" = "+val)
	}
	return out
}

// Arg is one argument of an action as written: its name and its source on
// one line (redact.Marker for the literal value of a sensitive argument).
type Arg struct {
	Name, Source string
}

// Args lists an action's arguments in source order.
func Args(cfg *schema.Config, a *schema.ActionCall) []Arg {
	body, ok := a.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, attr := range body.Attributes {
		attrs = append(attrs, attr)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	out := make([]Arg, 0, len(attrs))
	for _, attr := range attrs {
		val := Source(cfg, attr.Expr)
		if a.Schema != nil {
			if arg := a.Schema.Arg(attr.Name); arg != nil && arg.Sensitive && len(attr.Expr.Variables()) == 0 {
				val = redact.Marker
			}
		}
		out = append(out, Arg{Name: attr.Name, Source: val})
	}
	return out
}

// Polling is how an expectation is re-checked ("re-checked every 10s for
// up to 1m"), or "" when it is checked once.
func Polling(e *schema.Expect) string {
	if e.Within <= 0 {
		return ""
	}
	return fmt.Sprintf("re-checked every %s for up to %s", text.ShortDuration(e.Every), text.ShortDuration(e.Within))
}

// StepLimits lists what bounds a step beyond the defaults: its timeout,
// its retries, and whether the run goes on when it fails.
func StepLimits(st *schema.Step) []string {
	var limits []string
	if st.Timeout != schema.DefaultTimeout {
		limits = append(limits, "timeout "+text.ShortDuration(st.Timeout))
	}
	if st.Retry != nil && st.Retry.Attempts > 1 {
		r := fmt.Sprintf("%d attempts", st.Retry.Attempts)
		if st.Retry.Delay > 0 {
			r += ", " + text.ShortDuration(st.Retry.Delay) + " apart"
		}
		limits = append(limits, r)
	}
	if st.OnFailure == schema.OnFailureContinue {
		limits = append(limits, "on failure: continue")
	}
	return limits
}

// Approvals says who approves a step's confirmation besides the operator,
// or "" when the operator alone does: "2: the operator and 1 more from
// oncall (bob@example.com, carol@example.com), within 30m0s".
func Approvals(cfg *schema.Config, a *schema.Approval) string {
	if a.Others() == 0 {
		return ""
	}
	var principals []string
	if len(a.From) > 0 {
		principals = cfg.Approvers(a)
	}
	from := Approvers(a.From, principals, "any principal of allowed_signers")
	return fmt.Sprintf("%d: the operator and %d more from %s, within %s", a.Count, a.Others(), from, a.Timeout)
}

// Approvers says who may approve: the approvers attribute as written
// (teams and principals), then the principals it expands to when they
// differ, or anyone when neither is known. Each name is shown on one line
// with its control characters escaped.
func Approvers(from, principals []string, anyone string) string {
	visible := func(ss []string) string { return strings.Join(text.VisibleLines(ss), ", ") }
	switch {
	case len(from) == 0 && len(principals) == 0:
		return anyone
	case len(from) == 0:
		return visible(principals)
	case len(principals) == 0 || slices.Equal(principals, from):
		return visible(from)
	}
	return visible(from) + " (" + visible(principals) + ")"
}
