package main

import (
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/spf13/cobra"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/schema"
)

func (a *app) showCmd() *cobra.Command {
	var planFile string
	cmd := &cobra.Command{
		Use:   "show NAME | show --plan FILE",
		Short: "Show a runbook as a person reads it: steps, owners, checks; or a saved plan",
		Long: `Show a runbook as a person reads it: steps, owners, checks.

--plan FILE shows a plan saved by ` + "`runbook exec NAME --dry-run --out FILE`" + ` for review:
when and by whom it was made, the runbook, plugins and variables it was made
with (sensitive ones never shown), and each change it will make.`,
		Args:              usageArgs(cobra.MaximumNArgs(1)),
		ValidArgsFunction: a.completeRunbooks,
		RunE: runE(func(cmd *cobra.Command, args []string) error {
			if planFile != "" {
				if len(args) > 0 {
					return exitf(ExitBadInput, "show --plan: the plan names its runbook; give no NAME")
				}
				return a.showPlan(planFile)
			}
			if len(args) == 0 {
				return exitf(ExitBadInput, "show: name the runbook to show, or give a saved plan with --plan FILE")
			}
			cfg, err := a.loadValid(lockedSchemas)
			if err != nil {
				return err
			}
			rb, err := findRunbook(cfg, a.opts.Dir, args[0])
			if err != nil {
				return err
			}
			return renderRunbook(a.io.Out, cfg, rb)
		}),
	}
	cmd.Flags().StringVar(&planFile, "plan", "", "show the plan saved in this file")
	return cmd
}

// showWriter renders a runbook; src returns an expression's source text.
type showWriter struct {
	w   io.Writer
	cfg *schema.Config
	err error
}

func (s *showWriter) printf(format string, args ...any) {
	if s.err == nil {
		_, s.err = fmt.Fprintf(s.w, format, args...)
	}
}

// expr returns an expression's source on one line.
func (s *showWriter) expr(e hcl.Expression) string {
	src := s.cfg.Source(e.Range())
	return visibleLine(strings.Join(strings.Fields(src), " "))
}

func renderRunbook(w io.Writer, cfg *schema.Config, rb *schema.Runbook) error {
	s := &showWriter{w: w, cfg: cfg}
	s.printf("%s\n", bold(rb.Name))
	if rb.Description != "" {
		s.printf("%s\n", visible(rb.Description))
	}
	s.printf("\n")
	s.printf("  %-7s %s\n", faint("owner"), visibleLine(rb.Owner))
	if len(rb.Tags) > 0 {
		s.printf("  %-7s %s\n", faint("tags"), visibleLine(strings.Join(rb.Tags, ", ")))
	}
	lock := fmt.Sprintf("%q", rb.Name)
	if rb.Lock != nil {
		lock = s.expr(rb.Lock)
	}
	s.printf("  %-7s %s\n", faint("lock"), lock)
	s.printf("  %-7s %s:%d\n", faint("file"), rb.Filename, rb.DeclRange.Start.Line)

	if len(rb.Variables) > 0 {
		s.printf("\n%s\n", bold("Variables"))
		width := 0
		for _, v := range rb.Variables {
			width = max(width, len(v.Name))
		}
		for _, v := range rb.Variables {
			s.renderVariable(v, width)
		}
	}
	s.printf("\n%s\n", bold("Steps"))
	for i, st := range rb.Steps {
		s.renderStep(i+1, st)
	}
	return s.err
}

func (s *showWriter) renderVariable(v *schema.Variable, width int) {
	var parts []string
	parts = append(parts, typeString(v.Type))
	switch {
	case v.Required():
		parts = append(parts, yellow("required"))
	case v.Sensitive:
		parts = append(parts, "default (sensitive)")
	default:
		parts = append(parts, "default "+s.expr(v.Default))
	}
	if v.Sensitive {
		parts = append(parts, "sensitive")
	}
	indent := strings.Repeat(" ", width+4)
	s.printf("  %s%s  %s\n", cyan(v.Name), strings.Repeat(" ", width-len(v.Name)), strings.Join(parts, ", "))
	if v.Description != "" {
		s.printf("%s%s\n", indent, visible(v.Description))
	}
	for _, c := range v.Validations {
		s.printf("%s%s %s\n%s  else %s\n", indent, faint("must hold:"), s.expr(c.Condition), indent, s.expr(c.ErrorMessage))
	}
}

func (s *showWriter) renderStep(n int, st *schema.Step) {
	title := bold(fmt.Sprintf("%d. %s", n, st.Name))
	if st.Description != "" {
		title += " — " + visible(st.Description)
	}
	s.printf("\n  %s\n", title)
	field := func(name, format string, args ...any) {
		s.printf("     %s %s\n", faint(fmt.Sprintf("%-9s", name)), fmt.Sprintf(format, args...))
	}
	field("owner", "%s", visibleLine(st.Owner))
	if st.When != nil {
		field("when", "%s", s.expr(st.When))
	}
	for _, p := range st.Preconditions {
		field("requires", "%s", s.expr(p.Condition))
		field("", "else %s", s.expr(p.ErrorMessage))
	}
	if st.Confirm != nil {
		field("confirm", "%s", s.expr(st.Confirm))
	}
	if st.Manual != nil {
		field("manual", "%s", s.expr(st.Manual))
	}
	if a := st.Action; a != nil {
		kind := ""
		if a.Schema != nil {
			if readOnly, known := literalReadOnly(a); !known {
				kind = faint(fmt.Sprintf(" (read-only when %s is %s)", a.Schema.ReadOnlyWhen.Arg, valuesText(a.Schema.ReadOnlyWhen.Values)))
			} else if readOnly {
				kind = green(" (read-only)")
			} else {
				kind = yellow(" (changes state)")
			}
		}
		field("action", "%s%s", a.FullName(), kind)
		for _, arg := range s.actionArgs(a) {
			field("", "  %s", arg)
		}
	}
	for _, e := range st.Expects {
		field("expects", "%s", s.expr(e.Condition))
		field("", "else %s", s.expr(e.ErrorMessage))
		if e.Within > 0 {
			field("", "re-checked every %s for up to %s", shortDuration(e.Every), shortDuration(e.Within))
		}
	}
	var limits []string
	if st.Timeout != schema.DefaultTimeout {
		limits = append(limits, "timeout "+shortDuration(st.Timeout))
	}
	if st.Retry != nil && st.Retry.Attempts > 1 {
		r := fmt.Sprintf("%d attempts", st.Retry.Attempts)
		if st.Retry.Delay > 0 {
			r += ", " + shortDuration(st.Retry.Delay) + " apart"
		}
		limits = append(limits, r)
	}
	if st.OnFailure == schema.OnFailureContinue {
		limits = append(limits, "on failure: continue")
	}
	if len(limits) > 0 {
		field("limits", "%s", strings.Join(limits, " · "))
	}
}

// actionArgs lists an action's arguments in source order; literal values
// of sensitive arguments are never shown.
func (s *showWriter) actionArgs(a *schema.ActionCall) []string {
	body, ok := a.Body.(*hclsyntax.Body)
	if !ok {
		return nil
	}
	attrs := make([]*hclsyntax.Attribute, 0, len(body.Attributes))
	for _, attr := range body.Attributes {
		attrs = append(attrs, attr)
	}
	sort.Slice(attrs, func(i, j int) bool { return attrs[i].SrcRange.Start.Byte < attrs[j].SrcRange.Start.Byte })
	out := make([]string, 0, len(attrs))
	for _, attr := range attrs {
		val := s.expr(attr.Expr)
		if a.Schema != nil {
			if arg := a.Schema.Arg(attr.Name); arg != nil && arg.Sensitive && len(attr.Expr.Variables()) == 0 {
				val = "(sensitive)"
			}
		}
		out = append(out, attr.Name+" = "+val)
	}
	return out
}

func typeString(t cty.Type) string {
	if t == cty.DynamicPseudoType {
		return "any"
	}
	return t.FriendlyNameForConstraint()
}

// literalReadOnly decides whether an action is read-only from its schema
// and literal arguments; known is false when it depends on a value that
// exists only at run time.
func literalReadOnly(a *schema.ActionCall) (readOnly, known bool) {
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

func valuesText(vals []cty.Value) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		if v.Type() == cty.String {
			parts[i] = fmt.Sprintf("%q", v.AsString())
		} else if v.Type() == cty.Bool {
			parts[i] = fmt.Sprintf("%t", v.True())
		} else {
			parts[i] = v.GoString()
		}
	}
	return strings.Join(parts, " or ")
}

// shortDuration prints 10m rather than 10m0s.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
