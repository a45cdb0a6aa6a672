package show

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/cmd/runbook/internal/runbooktext"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/cmd/runbook/internal/view"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/redact"
	"github.com/runbookdev/runbook/schema"
)

// Options are the inputs of `runbook show`.
type Options struct {
	*cmdutil.Factory
	// Name is the runbook to show; PlanFile a saved plan to show instead.
	Name     string
	PlanFile string
	// Format is text or json.
	Format string
}

// NewCmdShow makes `runbook show`; runF, when not nil, runs instead of the
// command (for tests of the flags).
func NewCmdShow(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "show NAME | show --plan FILE",
		Short: "Show a runbook as a person reads it: steps, owners, checks; or a saved plan",
		Long: `Show a runbook as a person reads it: steps, owners, checks.

--plan FILE shows a plan saved by ` + "`runbook exec NAME --dry-run --out FILE`" + ` for review:
when and by whom it was made, the runbook, plugins and variables it was made
with (sensitive ones never shown), and each change it will make.`,
		Args:              cmdutil.UsageArgs(cobra.MaximumNArgs(1)),
		ValidArgsFunction: f.CompleteRunbooks,
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			if opts.PlanFile != "" && len(args) > 0 {
				return cmdutil.Exitf(exitcode.BadInput, "show --plan: the plan names its runbook; give no NAME")
			}
			if opts.PlanFile == "" && len(args) == 0 {
				return cmdutil.Exitf(exitcode.BadInput, "show: name the runbook to show, or give a saved plan with --plan FILE")
			}
			if len(args) == 1 {
				opts.Name = args[0]
			}
			return cmdutil.Run(opts, runF, runShow)
		}),
	}
	cmd.Flags().StringVar(&opts.PlanFile, "plan", "", "show the plan saved in this file")
	cmdutil.AddFormatFlag(cmd, &opts.Format, "text", "json")
	return cmd
}

func runShow(opts *Options) error {
	if err := cmdutil.CheckFormat(opts.Format, "text", "json"); err != nil {
		return err
	}
	if opts.PlanFile != "" {
		return showPlan(opts, opts.PlanFile)
	}
	cfg, err := opts.LoadValid(resolver.Locked)
	if err != nil {
		return err
	}
	rb, err := cmdutil.FindRunbook(cfg, opts.Global.Dir, opts.Name)
	if err != nil {
		return err
	}
	if opts.Format == "json" {
		return cmdutil.WriteJSON(opts.IO.Out, runbookJSONOf(cfg, rb))
	}
	return renderRunbook(opts.IO.Out, opts.IO.ColorScheme(), cfg, rb)
}

// showWriter renders a runbook; src returns an expression's source text.
type showWriter struct {
	w   io.Writer
	cs  *iostreams.ColorScheme
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
	return runbooktext.Expr(s.cfg, e)
}

func renderRunbook(w io.Writer, cs *iostreams.ColorScheme, cfg *schema.Config, rb *schema.Runbook) error {
	s := &showWriter{w: w, cs: cs, cfg: cfg}
	s.printf("%s\n", cs.Bold(rb.Name))
	if rb.Description != "" {
		s.printf("%s\n", text.Visible(rb.Description))
	}
	s.printf("\n")
	s.printf("  %-7s %s\n", cs.Faint("owner"), text.VisibleLine(rb.Owner))
	if len(rb.Tags) > 0 {
		s.printf("  %-7s %s\n", cs.Faint("tags"), text.VisibleLine(strings.Join(rb.Tags, ", ")))
	}
	s.printf("  %-7s %s\n", cs.Faint("lock"), runbooktext.Lock(cfg, rb))
	s.printf("  %-7s %s:%d\n", cs.Faint("file"), rb.Filename, rb.DeclRange.Start.Line)

	if len(rb.Variables) > 0 {
		s.printf("\n%s\n", cs.Bold("Variables"))
		width := 0
		for _, v := range rb.Variables {
			width = max(width, len(v.Name))
		}
		for _, v := range rb.Variables {
			s.renderVariable(v, width)
		}
	}
	s.printf("\n%s\n", cs.Bold("Steps"))
	for i, st := range rb.Steps {
		s.renderStep(i+1, st)
	}
	return s.err
}

func (s *showWriter) renderVariable(v *schema.Variable, width int) {
	var parts []string
	parts = append(parts, runbooktext.Type(v.Type))
	if v.Required() {
		parts = append(parts, s.cs.Yellow("required"))
	} else {
		parts = append(parts, "default "+runbooktext.Default(s.cfg, v))
	}
	if v.Sensitive {
		parts = append(parts, "sensitive")
	}
	indent := strings.Repeat(" ", width+4)
	s.printf("  %s%s  %s\n", s.cs.Cyan(v.Name), strings.Repeat(" ", width-len(v.Name)), strings.Join(parts, ", "))
	if v.Description != "" {
		s.printf("%s%s\n", indent, text.Visible(v.Description))
	}
	for _, c := range v.Validations {
		s.printf("%s%s %s\n%s  else %s\n", indent, s.cs.Faint("must hold:"), s.expr(c.Condition), indent, s.expr(c.ErrorMessage))
	}
}

func (s *showWriter) renderStep(n int, st *schema.Step) {
	title := s.cs.Bold(fmt.Sprintf("%d. %s", n, st.Name))
	if st.Description != "" {
		title += " — " + text.Visible(st.Description)
	}
	s.printf("\n  %s\n", title)
	field := func(name, format string, args ...any) {
		s.printf("     %s %s\n", s.cs.Faint(fmt.Sprintf("%-9s", name)), fmt.Sprintf(format, args...))
	}
	field("owner", "%s", text.VisibleLine(st.Owner))
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
	if ap := runbooktext.Approvals(s.cfg, st.Approval); ap != "" {
		field("approvals", "%s", ap)
	}
	if st.Manual != nil {
		field("manual", "%s", s.expr(st.Manual))
	}
	if a := st.Action; a != nil {
		kind := ""
		switch effect, words := runbooktext.ActionEffect(a); effect {
		case runbooktext.ReadOnlyWhen:
			kind = s.cs.Faint(" (" + words + ")")
		case runbooktext.ReadOnly:
			kind = s.cs.Green(" (" + words + ")")
		case runbooktext.ChangesState:
			kind = s.cs.Yellow(" (" + words + ")")
		}
		field("action", "%s%s", a.FullName(), kind)
		for _, arg := range runbooktext.ActionArgs(s.cfg, a) {
			field("", "  %s", arg)
		}
	}
	for _, e := range st.Expects {
		field("expects", "%s", s.expr(e.Condition))
		field("", "else %s", s.expr(e.ErrorMessage))
		if polling := runbooktext.Polling(e); polling != "" {
			field("", "%s", polling)
		}
	}
	limits := runbooktext.StepLimits(st)
	if len(limits) > 0 {
		field("limits", "%s", strings.Join(limits, " · "))
	}
}

// showPlan prints a saved plan for review: what it will change, against
// what, and with which inputs. It holds no secret to show.
func showPlan(opts *Options, path string) error {
	ap, err := cmdutil.ReadPlan(path)
	if err != nil {
		return err
	}
	p := ap.Plan
	if opts.Format == "json" {
		return cmdutil.WriteJSON(opts.IO.Out, planJSON{SHA256: ap.SHA256, Plan: p})
	}
	cs := opts.IO.ColorScheme()
	s := &showWriter{w: opts.IO.Out, cs: cs}
	s.printf("%s %s\n\n", cs.Bold("Plan for "+text.VisibleLine(p.Runbook)), cs.Faint("sha256:"+text.Short(ap.SHA256)))
	row := func(k, v string) { s.printf("  %-11s %s\n", cs.Faint(k), v) }
	age := time.Since(p.Created).Round(time.Second)
	row("made", fmt.Sprintf("%s (%s ago) by %s", p.Created.UTC().Format(time.RFC3339), age, text.VisibleLine(p.Operator)))
	row("dry-run", text.VisibleLine(p.DryRun))
	if p.TranscriptHead != "" {
		row("head", "sha256:"+text.VisibleLine(p.TranscriptHead))
	}
	row("runbook", fmt.Sprintf("%s %s", text.VisibleLine(p.Source.Path), cs.Faint("sha256:"+text.Short(p.Source.SHA256))))
	for _, name := range slices.Sorted(maps.Keys(p.Plugins)) {
		pi := p.Plugins[name]
		row("plugin", fmt.Sprintf("%s %s %s", text.VisibleLine(name), text.VisibleLine(pi.Version), cs.Faint("sha256:"+text.Short(pi.SHA256))))
	}
	names := slices.Sorted(maps.Keys(p.Vars))
	names = append(names, slices.Sorted(maps.Keys(p.SensitiveVars))...)
	for _, name := range names {
		val := redact.Marker + " (give it again when applying)"
		if raw, ok := p.Vars[name]; ok {
			val = string(raw)
		}
		row("var", text.VisibleLine(name)+" = "+text.VisibleLine(val))
	}
	s.printf("\n")
	view.PrintPlanSummary(cs, s.printf, planSummary(p))
	for _, st := range p.Steps {
		if st.Basis == nil {
			s.printf("  %s %s\n", cs.Yellow("!"), fmt.Sprintf("step %s is not checked against its object when applied: its plugin gave no basis", text.VisibleLine(st.Step)))
		}
	}
	s.printf("\nApply it with `runbook exec --plan %s` (refused once it is older than --max-plan-age, 1h by default).\n", path)
	return s.err
}

// planSummary is a saved plan's changes as a dry-run's summary shows them.
func planSummary(p *engine.SavedPlan) *engine.PlanSummary {
	sum := &engine.PlanSummary{PendingChecks: p.PendingChecks}
	for _, st := range p.Steps {
		for _, c := range st.Changes {
			sum.Changes = append(sum.Changes, engine.PlannedChange{Step: text.VisibleLine(st.Step), Action: text.VisibleLine(st.Action), Change: text.VisibleLine(c)})
		}
	}
	return sum
}
