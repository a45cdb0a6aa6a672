package schema

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"github.com/agext/levenshtein"
	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbookdev/runbook/plugins"
)

// scope says what an expression may refer to, and holds the unknown values of
// the right types that validation evaluates it against.
type scope struct {
	rb   *Runbook
	what string // "a variable default", "the lock", … for messages

	vars, run, steps, output bool
	// stepIndex is the position of the step being checked; references to
	// steps at or after it are errors.
	stepIndex int
	stepPos   map[string]int

	ctx *hcl.EvalContext
}

// checkExpr checks an expression's references against its scope, then
// evaluates it with unknown inputs and converts the result to want (unless
// want is cty.NilType). It returns the value, unknown where inputs are.
func (sc *scope) checkExpr(expr hcl.Expression, want cty.Type, name string) (cty.Value, hcl.Diagnostics) {
	diags := sc.checkTraversals(expr.Variables())
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	val, d := expr.Value(sc.ctx)
	sc.suggestFunctions(d)
	diags = append(diags, d...)
	if d.HasErrors() || want == cty.NilType {
		return val, diags
	}
	// A condition must be a bool, not something that converts to one: the
	// string "true" would hold, any other string would fail every run.
	if (name == "condition" || name == "when") && val.Type() != cty.Bool && val.Type() != cty.DynamicPseudoType {
		return cty.DynamicVal, append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Condition is not a bool",
			Detail:      fmt.Sprintf("%s must be true or false, but this expression gives %s; compare it to something (==, <, contains(…)).", capitalize(name), typeName(val.Type())),
			Subject:     expr.Range().Ptr(),
			Expression:  expr,
			EvalContext: sc.ctx,
		})
	}
	conv, err := convert.Convert(val, want)
	if err != nil {
		return cty.DynamicVal, append(diags, &hcl.Diagnostic{
			Severity:    hcl.DiagError,
			Summary:     "Incorrect value type",
			Detail:      fmt.Sprintf("%s must be %s: %s.", name, typeName(want), err),
			Subject:     expr.Range().Ptr(),
			Expression:  expr,
			EvalContext: sc.ctx,
		})
	}
	return conv, diags
}

// checkTraversals checks an expression's references against its scope,
// then traverses each on its own: evaluation with unknown inputs
// short-circuits `a && b`, which would hide a typo in b.
func (sc *scope) checkTraversals(traversals []hcl.Traversal) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, t := range traversals {
		ref, d := parseRef(t)
		if d == nil {
			d = sc.checkRef(&ref)
		}
		diags = append(diags, d...)
	}
	if diags.HasErrors() {
		return diags
	}
	for _, t := range traversals {
		_, d := t.TraverseAbs(sc.ctx)
		for _, diag := range d {
			if diag.Summary == "Unsupported attribute" && !strings.Contains(diag.Detail, "Did you mean") {
				diag.Detail += attrSuggestion(t, sc.ctx)
			}
		}
		diags = append(diags, d...)
	}
	return diags
}

// suggestFunctions adds " Did you mean …?" to each call to an unknown
// function in diags: HCL suggests only the functions of the innermost
// context, and an expect block's context is a child that has none.
func (sc *scope) suggestFunctions(diags hcl.Diagnostics) {
	for _, diag := range diags {
		if m := unknownFunction.FindStringSubmatch(diag.Detail); m != nil && diag.Summary == "Call to unknown function" {
			fns := sc.ctx
			for fns != nil && fns.Functions == nil {
				fns = fns.Parent()
			}
			if fns != nil {
				diag.Detail += didYouMean(m[1], slices.Sorted(maps.Keys(fns.Functions)), "")
			}
		}
	}
}

// unknownFunction matches HCL's detail for a call to an unknown function
// when it has no suggestion of its own.
var unknownFunction = regexp.MustCompile(`^There is no function named "([^"]+)"\.$`)

// attrSuggestion is " Did you mean …?" for the attribute of t that its
// object does not have (output.modle: output.model), or "".
func attrSuggestion(t hcl.Traversal, ctx *hcl.EvalContext) string {
	for i := 1; i < len(t); i++ {
		attr, ok := t[i].(hcl.TraverseAttr)
		if !ok {
			continue
		}
		v, d := t[:i].TraverseAbs(ctx)
		if d.HasErrors() {
			return ""
		}
		if ty := v.Type(); ty.IsObjectType() && !ty.HasAttribute(attr.Name) {
			prefix := ""
			for _, step := range t[:i] {
				switch s := step.(type) {
				case hcl.TraverseRoot:
					prefix += s.Name + "."
				case hcl.TraverseAttr:
					prefix += s.Name + "."
				}
			}
			return didYouMean(attr.Name, slices.Sorted(maps.Keys(ty.AttributeTypes())), prefix)
		}
	}
	return ""
}

// checkRef checks that a reference is allowed in its scope and names
// something that exists there.
func (sc *scope) checkRef(ref *Reference) hcl.Diagnostics {
	notHere := func(what string) hcl.Diagnostics {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Reference not allowed here",
			Detail:   fmt.Sprintf("%s cannot refer to %s.", capitalize(sc.what), what),
			Subject:  ref.Range.Ptr(),
		}}
	}
	switch ref.Kind {
	case RefVar:
		if !sc.vars {
			return notHere("variables")
		}
		return sc.checkVarRef(ref)
	case RefStep:
		if !sc.steps {
			return notHere("steps")
		}
		return sc.checkStepRef(ref)
	case RefRun:
		if !sc.run {
			return notHere("run")
		}
	case RefOutput:
		if !sc.output {
			return hcl.Diagnostics{{
				Severity: hcl.DiagError,
				Summary:  "Reference not allowed here",
				Detail:   "output is the step's own result and exists only inside its expect blocks; elsewhere use step.NAME.output of an earlier step.",
				Subject:  ref.Range.Ptr(),
			}}
		}
	}
	return nil
}

// checkVarRef checks that a var.NAME reference names a declared variable.
func (sc *scope) checkVarRef(ref *Reference) hcl.Diagnostics {
	if sc.rb.Variable(ref.Name) != nil {
		return nil
	}
	names := make([]string, len(sc.rb.Variables))
	for i, v := range sc.rb.Variables {
		names[i] = v.Name
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Reference to undeclared variable",
		Detail:   fmt.Sprintf("Runbook %q declares no variable %q.%s", sc.rb.Name, ref.Name, didYouMean(ref.Name, names, "var.")),
		Subject:  ref.Range.Ptr(),
	}}
}

// checkStepRef checks that a step.NAME reference names a step that runs
// before the one being checked.
func (sc *scope) checkStepRef(ref *Reference) hcl.Diagnostics {
	pos, ok := sc.stepPos[ref.Name]
	switch {
	case !ok:
		names := make([]string, 0, sc.stepIndex)
		for _, s := range sc.rb.Steps[:sc.stepIndex] {
			names = append(names, s.Name)
		}
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Reference to unknown step",
			Detail:   fmt.Sprintf("Runbook %q has no step %q.%s", sc.rb.Name, ref.Name, didYouMean(ref.Name, names, "step.")),
			Subject:  ref.Range.Ptr(),
		}}
	case pos == sc.stepIndex:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Self-referencing step",
			Detail:   fmt.Sprintf("Step %q cannot refer to its own output here; inside an expect block, use output.", ref.Name),
			Subject:  ref.Range.Ptr(),
		}}
	case pos > sc.stepIndex:
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Reference to a later step",
			Detail:   fmt.Sprintf("Step %q runs after this one, so its output does not exist yet. Steps run in the order they are written.", ref.Name),
			Subject:  ref.Range.Ptr(),
		}}
	}
	return nil
}

// checker holds what every runbook check of one load shares.
type checker struct {
	// schema returns the schema of a plugin, or nil.
	schema func(name string) *plugins.Schema
	// bodySchema returns the body schema of an action's arguments.
	bodySchema func(*plugins.Action) *hcl.BodySchema
	// knownPlugins are the names suggested for an unknown plugin.
	knownPlugins []string
	// failed plugins had their schema lookup fail with a reported error.
	failed map[string]bool
}

func (l *loader) checker(schema func(string) *plugins.Schema, failed map[string]bool) *checker {
	return &checker{schema: schema, bodySchema: l.bodySchema, failed: failed}
}

// AttributesBodySchema is the HCL body schema of a plugin's attributes
// (an action's arguments, a plugin block's configuration).
func AttributesBodySchema(attrs []*plugins.Attribute) *hcl.BodySchema {
	bs := &hcl.BodySchema{}
	for _, a := range attrs {
		bs.Attributes = append(bs.Attributes, hcl.AttributeSchema{Name: a.Name, Required: a.Required})
	}
	return bs
}

func varsObject(rb *Runbook) cty.Value {
	if len(rb.Variables) == 0 {
		return cty.EmptyObjectVal
	}
	vals := make(map[string]cty.Value, len(rb.Variables))
	for _, v := range rb.Variables {
		vals[v.Name] = cty.UnknownVal(v.Type)
	}
	return cty.ObjectVal(vals)
}

// StepOutputType is the type of a step's output: its action's output type,
// the manual output, or dynamic when the action is unknown.
func StepOutputType(s *Step) cty.Type {
	switch {
	case s.Action != nil && s.Action.Schema != nil:
		return s.Action.Schema.Output
	case s.Action == nil && s.Manual != nil:
		return ManualOutputType
	default:
		return cty.DynamicPseudoType
	}
}

func (c *checker) checkRunbook(rb *Runbook) hcl.Diagnostics {
	var diags hcl.Diagnostics
	fns := Functions(FunctionsStatic)
	varObj := varsObject(rb)
	runObj := cty.UnknownVal(RunType)

	// Variable defaults see functions only; validations see variables.
	defaultScope := &scope{rb: rb, what: "a variable default", ctx: &hcl.EvalContext{Functions: fns}}
	varScope := &scope{rb: rb, what: "a variable validation", vars: true,
		ctx: &hcl.EvalContext{Functions: fns, Variables: map[string]cty.Value{"var": varObj}}}
	for _, v := range rb.Variables {
		if v.Default != nil {
			_, d := defaultScope.checkExpr(v.Default, v.Type, fmt.Sprintf("The default of variable %q", v.Name))
			for _, diag := range d {
				if diag.Summary == "Incorrect value type" {
					diag.Summary = "Invalid default value for variable"
				}
			}
			diags = append(diags, d...)
		}
		for _, val := range v.Validations {
			diags = append(diags, checkCheck(varScope, &val.Condition, val.ErrorMessage)...)
		}
	}
	for _, n := range rb.Notify {
		diags = append(diags, checkNotifyURL(rb, n)...)
	}
	if rb.Lock != nil {
		lockScope := &scope{rb: rb, what: "the lock", vars: true,
			ctx: &hcl.EvalContext{Functions: fns, Variables: map[string]cty.Value{"var": varObj}}}
		_, d := lockScope.checkExpr(rb.Lock, cty.String, "lock")
		diags = append(diags, d...)
	}

	// One object holds every step's output: references to the same or a
	// later step are rejected before anything is evaluated.
	stepPos := make(map[string]int, len(rb.Steps))
	stepVals := make(map[string]cty.Value, len(rb.Steps))
	for i, s := range rb.Steps {
		stepPos[s.Name] = i
		diags = append(diags, c.resolveAction(s)...)
		stepVals[s.Name] = cty.ObjectVal(map[string]cty.Value{"output": cty.UnknownVal(StepOutputType(s))})
	}
	stepObj := cty.EmptyObjectVal
	if len(stepVals) > 0 {
		stepObj = cty.ObjectVal(stepVals)
	}
	ctx := &hcl.EvalContext{Functions: fns, Variables: map[string]cty.Value{"var": varObj, "run": runObj, "step": stepObj}}
	for i, s := range rb.Steps {
		sc := &scope{rb: rb, what: "a step", vars: true, run: true, steps: true, stepIndex: i, stepPos: stepPos, ctx: ctx}
		diags = append(diags, c.checkStep(sc, s)...)
	}
	return diags
}

func checkCheck(sc *scope, cond *hcl.Expression, msg hcl.Expression) hcl.Diagnostics {
	_, diags := sc.checkExpr(*cond, cty.Bool, "condition")
	_, d := sc.checkExpr(msg, cty.String, "error_message")
	return append(diags, d...)
}

// resolveAction attaches the action's schema to the step, or reports why
// there is none.
func (c *checker) resolveAction(s *Step) hcl.Diagnostics {
	a := s.Action
	if a == nil {
		return nil
	}
	schema := c.schema(a.Plugin)
	if schema == nil {
		if c.failed[a.Plugin] {
			return nil
		}
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown plugin",
			Detail:   fmt.Sprintf("No plugin is named %q.%s Declare an external plugin with plugin %q { source = \"PATH\", sha256 = \"…\" }; `runbook plugins` lists the installed ones.", a.Plugin, didYouMean(a.Plugin, c.knownPlugins, ""), a.Plugin),
			Subject:  a.LabelRange.Ptr(),
		}}
	}
	action := schema.Actions[a.Name]
	if action == nil {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown action",
			Detail:   fmt.Sprintf("Plugin %q has no action %q.%s Its actions: %s.", a.Plugin, a.Name, didYouMean(a.Name, schema.ActionNames(), a.Plugin+"."), strings.Join(schema.ActionNames(), ", ")),
			Subject:  a.LabelRange.Ptr(),
		}}
	}
	a.Schema = action
	return nil
}

func (c *checker) checkStep(sc *scope, s *Step) hcl.Diagnostics {
	var diags hcl.Diagnostics
	sc.what = fmt.Sprintf("step %q", s.Name)
	if s.When != nil {
		_, d := sc.checkExpr(s.When, cty.Bool, "when")
		diags = append(diags, d...)
	}
	for _, p := range s.Preconditions {
		diags = append(diags, checkCheck(sc, &p.Condition, p.ErrorMessage)...)
	}
	if s.Confirm != nil {
		_, d := sc.checkExpr(s.Confirm, cty.String, "confirm")
		diags = append(diags, d...)
	}
	if s.Manual != nil && s.Action == nil {
		_, d := sc.checkExpr(s.Manual, cty.String, "manual")
		diags = append(diags, d...)
	}
	readOnly := false
	if s.Action != nil && s.Action.Schema != nil {
		var d hcl.Diagnostics
		readOnly, d = c.checkArgs(sc, s.Action)
		diags = append(diags, d...)
	}

	return append(diags, checkExpects(sc, s, readOnly)...)
}

// checkExpects checks a step's expectations, where output is the step's
// output; `within` re-runs the action, so it needs a read-only one, and
// `every` must fit in it.
func checkExpects(sc *scope, s *Step, readOnly bool) hcl.Diagnostics {
	var diags hcl.Diagnostics
	expectCtx := sc.ctx.NewChild()
	expectCtx.Variables = map[string]cty.Value{"output": cty.UnknownVal(StepOutputType(s))}
	expectScope := *sc
	expectScope.output = true
	expectScope.ctx = expectCtx
	for _, e := range s.Expects {
		diags = append(diags, checkCheck(&expectScope, &e.Condition, e.ErrorMessage)...)
		if e.Within == 0 {
			continue
		}
		switch {
		case s.Action == nil:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "within on a manual step",
				Detail:   "within re-runs the step's action until the condition holds; a manual step has no action to re-run.",
				Subject:  e.WithinRange.Ptr(),
			})
		case s.Action.Schema != nil && !readOnly:
			why := fmt.Sprintf("%s changes state", s.Action.FullName())
			if r := s.Action.Schema.ReadOnlyWhen; r != nil {
				why = fmt.Sprintf("%s is read-only only when %s is literally %s", s.Action.FullName(), r.Arg, valuesList(r.Values))
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "within on a mutating action",
				Detail:   fmt.Sprintf("within re-runs the action until the condition holds, so it is allowed only on read-only actions, and %s. Check the outcome in a later step with a read-only action instead.", why),
				Subject:  e.WithinRange.Ptr(),
			})
		}
		if e.Every > e.Within {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "every longer than within",
				Detail:   fmt.Sprintf("every (%s) must not exceed within (%s), or the condition would be checked only once.", e.Every, e.Within),
				Subject:  e.WithinRange.Ptr(),
			})
		}
	}
	return diags
}

// checkArgs checks an action's arguments against its schema and reports
// whether the action is read-only with these arguments.
func (c *checker) checkArgs(sc *scope, a *ActionCall) (bool, hcl.Diagnostics) {
	action := a.Schema
	content, diags := a.Body.Content(c.bodySchema(action))
	vals := make(map[string]cty.Value, len(action.Args))
	for _, arg := range action.Args {
		attr, ok := content.Attributes[arg.Name]
		if !ok {
			continue
		}
		v, d := sc.checkExpr(attr.Expr, arg.Type, fmt.Sprintf("Argument %q of %s", arg.Name, a.FullName()))
		for _, diag := range d {
			if diag.Summary == "Incorrect value type" {
				diag.Summary = "Invalid argument value"
			}
		}
		diags = append(diags, d...)
		if !d.HasErrors() {
			vals[arg.Name] = v
			diags = append(diags, ValidateAttribute(arg, v, attr.Expr, fmt.Sprintf("Argument %q of %s", arg.Name, a.FullName()))...)
		}
	}
	for _, arg := range action.Args {
		if _, ok := vals[arg.Name]; !ok {
			vals[arg.Name] = cty.NullVal(arg.Type)
		}
	}
	return action.IsReadOnly(cty.ObjectVal(vals)), diags
}

// checkPluginConfig checks a plugin block's attributes against the config
// schema the plugin reports.
func checkPluginConfig(decl *PluginDecl, schema *plugins.Schema) hcl.Diagnostics {
	if schema == nil {
		return nil
	}
	content, diags := decl.Config.Content(AttributesBodySchema(schema.Config))
	sc := &scope{what: fmt.Sprintf("plugin %q configuration", decl.Name), ctx: &hcl.EvalContext{Functions: Functions(FunctionsStatic)}}
	for _, attr := range schema.Config {
		a, ok := content.Attributes[attr.Name]
		if !ok {
			continue
		}
		what := fmt.Sprintf("Attribute %q of plugin %q", attr.Name, decl.Name)
		v, d := sc.checkExpr(a.Expr, attr.Type, what)
		diags = append(diags, d...)
		if !d.HasErrors() {
			diags = append(diags, ValidateAttribute(attr, v, a.Expr, what)...)
		}
	}
	return diags
}

// ValidateAttribute checks v, the value of expr, against the validators of
// attribute attr, which what names ("Argument \"url\" of http.request"):
// one positioned error per problem. Unknown parts pass; the run checks them
// when they are known.
func ValidateAttribute(attr *plugins.Attribute, v cty.Value, expr hcl.Expression, what string) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, e := range attr.Validate(v) {
		where := what
		if len(e.Path) > 0 {
			where += ", element " + formatIndexPath(e.Path)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid value",
			Detail:   fmt.Sprintf("%s: %s", where, e.Detail),
			Subject:  expr.Range().Ptr(),
		})
	}
	return diags
}

// formatIndexPath writes the index steps of a path: [1], ["env"].
func formatIndexPath(path cty.Path) string {
	var b strings.Builder
	for _, step := range path {
		s, ok := step.(cty.IndexStep)
		if !ok {
			continue
		}
		switch k := s.Key; k.Type() {
		case cty.String:
			fmt.Fprintf(&b, "[%q]", k.AsString())
		case cty.Number:
			fmt.Fprintf(&b, "[%s]", k.AsBigFloat().Text('f', -1))
		}
	}
	return b.String()
}

func valuesList(vals []cty.Value) string {
	parts := make([]string, len(vals))
	for i, v := range vals {
		switch {
		case v.Type() == cty.String:
			parts[i] = fmt.Sprintf("%q", v.AsString())
		case v.Type() == cty.Bool && v.True():
			parts[i] = "true"
		case v.Type() == cty.Bool:
			parts[i] = "false"
		default:
			parts[i] = v.GoString()
		}
	}
	return strings.Join(parts, " or ")
}

// Closest is the candidate nearest to name, a likely misspelling of it
// (at most three edits away), or "" when none is: the one rule behind every
// "did you mean".
func Closest(name string, candidates []string) string {
	best, bestDist := "", 4
	for _, c := range candidates {
		if d := levenshtein.Distance(name, c, nil); d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

func didYouMean(name string, candidates []string, prefix string) string {
	best := Closest(name, candidates)
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" Did you mean %s%s?", prefix, best)
}

// TypeNoun names a type in a message, without an article: "number",
// "list of string", "value" for any type.
func TypeNoun(t cty.Type) string {
	if t == cty.DynamicPseudoType {
		return "value"
	}
	return t.FriendlyNameForConstraint()
}

// typeName names a type after "must be": "a string", "a number", "a
// bool", else its name.
func typeName(t cty.Type) string {
	switch {
	case t == cty.String, t == cty.Bool, t == cty.Number:
		return "a " + TypeNoun(t)
	default:
		return t.FriendlyName()
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}
