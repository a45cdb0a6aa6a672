package schema

import (
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// TestCase is a `test "NAME" { … }` block of a *.test.hcl file: a scenario
// that runs a runbook against mocked plugin outputs and states what must
// happen.
type TestCase struct {
	Name    string
	Runbook string
	// Vars are the variable values the run gets.
	Vars map[string]cty.Value
	// Mocks by "PLUGIN.ACTION".
	Mocks map[string]*Mock
	// Answers to confirmations by step name; manual steps confirm by default.
	Answers map[string]bool
	// Approvals are, by step name, the principals that approve a step
	// needing more approvals than the operator's; Denials the principal
	// that denies one.
	Approvals map[string][]string
	Denials   map[string]string
	// DryRun runs the scenario as a rehearsal.
	DryRun bool
	// ExpectStatus is the run's expected status ("" = not checked).
	ExpectStatus string
	// ExpectSteps are expected step statuses by step name.
	ExpectSteps map[string]string
	// ExpectCalls are expected call counts by "PLUGIN.ACTION".
	ExpectCalls map[string]int
	// ExpectPlans are the plan lines expected of steps, by step name.
	ExpectPlans map[string][]string

	Filename  string
	DeclRange hcl.Range
	// ranges of the attributes, for diagnostics pointing at a key.
	attrRanges map[string]hcl.Range
}

// Mock stands in for one action: every call returns Output, or the next of
// Outputs, or fails with Error.
type Mock struct {
	Action  string
	Output  cty.Value   // cty.NilVal when unset
	Outputs []cty.Value // successive calls
	Error   string
	// Plan, when set, is what the mocked action plans: its plan lines,
	// shown and recorded as a plugin's would be.
	Plan      []string
	DeclRange hcl.Range
	// outputRanges locate each output value, for shape errors.
	outputRanges []hcl.Range
}

// Run statuses a test may expect.
var testRunStatuses = []string{"succeeded", "failed", "blocked", "declined", "invalid"}

// Step statuses a test may expect.
var testStepStatuses = []string{"succeeded", "failed", "skipped", "blocked", "declined", "planned", "pending", "not run"}

var testFileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{{Type: "test", LabelNames: []string{"name"}}},
}

var testSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "runbook", Required: true},
		{Name: "vars"}, {Name: "answers"}, {Name: "approvals"}, {Name: "denials"}, {Name: "dry_run"},
		{Name: "expect_status"}, {Name: "expect_steps"}, {Name: "expect_calls"}, {Name: "expect_plans"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "mock", LabelNames: []string{"plugin.action"}}},
}

var mockSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "output"}, {Name: "outputs"}, {Name: "error"}, {Name: "plan"}},
}

// decodeTestFile decodes the test blocks of a *.test.hcl file. Values are
// literals: tests are data.
func decodeTestFile(file *hcl.File, filename string) ([]*TestCase, hcl.Diagnostics) {
	content, diags := file.Body.Content(testFileSchema)
	var tests []*TestCase
	seen := map[string]hcl.Range{}
	for _, block := range content.Blocks {
		name := block.Labels[0]
		if prev, dup := seen[name]; dup {
			diags = append(diags, duplicate("test", name, prev, block.DefRange))
			continue
		}
		seen[name] = block.DefRange
		tc, d := decodeTest(block, filename)
		diags = append(diags, d...)
		if tc != nil {
			tests = append(tests, tc)
		}
	}
	return tests, diags
}

func decodeTest(block *hcl.Block, filename string) (*TestCase, hcl.Diagnostics) {
	tc := &TestCase{
		Name: block.Labels[0], Filename: filename, DeclRange: block.DefRange,
		Vars: map[string]cty.Value{}, Mocks: map[string]*Mock{}, Answers: map[string]bool{},
		ExpectSteps: map[string]string{}, ExpectCalls: map[string]int{}, ExpectPlans: map[string][]string{}, attrRanges: map[string]hcl.Range{},
	}
	content, diags := block.Body.Content(testSchema)
	for _, name := range slices.Sorted(maps.Keys(content.Attributes)) {
		attr := content.Attributes[name]
		tc.attrRanges[name] = attr.Expr.Range()
		if decode := testAttrDecoders[name]; decode != nil {
			diags = append(diags, decode(tc, attr)...)
		}
	}
	for _, b := range content.Blocks {
		name := b.Labels[0]
		if prev, dup := tc.Mocks[name]; dup {
			diags = append(diags, duplicate("mock", name, prev.DeclRange, b.DefRange))
			continue
		}
		m, d := decodeMock(b)
		diags = append(diags, d...)
		if m != nil {
			tc.Mocks[name] = m
		}
	}
	return tc, diags
}

// testAttrDecoders decode each attribute of a test block into the test.
var testAttrDecoders = map[string]func(tc *TestCase, attr *hcl.Attribute) hcl.Diagnostics{
	"runbook": func(tc *TestCase, attr *hcl.Attribute) (diags hcl.Diagnostics) {
		tc.Runbook, diags = constString(attr)
		return diags
	},
	"vars": func(tc *TestCase, attr *hcl.Attribute) (diags hcl.Diagnostics) {
		tc.Vars, diags = literalMap(attr)
		return diags
	},
	"answers": func(tc *TestCase, attr *hcl.Attribute) hcl.Diagnostics {
		return eachEntry(attr, "Invalid answer", func(k string) string { return fmt.Sprintf("The answer for step %q must be true or false.", k) },
			func(k string, v cty.Value) bool {
				b, err := convert.Convert(v, cty.Bool)
				if err != nil || b.IsNull() {
					return false
				}
				tc.Answers[k] = b.True()
				return true
			})
	},
	"approvals": func(tc *TestCase, attr *hcl.Attribute) hcl.Diagnostics {
		tc.Approvals = map[string][]string{}
		return eachEntry(attr, "Invalid approvals", func(k string) string {
			return fmt.Sprintf("The approvals of step %q are a list of the principals that approve it: approvals = { %s = [\"sre-2@example.com\"] }.", k, k)
		}, func(k string, v cty.Value) bool {
			l, err := convert.Convert(v, cty.List(cty.String))
			if err != nil || l.IsNull() || !l.IsWhollyKnown() {
				return false
			}
			for it := l.ElementIterator(); it.Next(); {
				_, e := it.Element()
				if e.IsNull() {
					return false
				}
				tc.Approvals[k] = append(tc.Approvals[k], e.AsString())
			}
			return true
		})
	},
	"denials": func(tc *TestCase, attr *hcl.Attribute) hcl.Diagnostics {
		tc.Denials = map[string]string{}
		return eachEntry(attr, "Invalid denial", func(k string) string {
			return fmt.Sprintf("The denial of step %q is the principal that denies it: denials = { %s = \"sre-2@example.com\" }.", k, k)
		}, func(k string, v cty.Value) bool {
			p, err := convert.Convert(v, cty.String)
			if err != nil || p.IsNull() || !p.IsKnown() {
				return false
			}
			tc.Denials[k] = p.AsString()
			return true
		})
	},
	"dry_run": func(tc *TestCase, attr *hcl.Attribute) hcl.Diagnostics {
		v, diags := attr.Expr.Value(nil)
		if b, err := convert.Convert(v, cty.Bool); err == nil && !b.IsNull() && b.IsKnown() {
			tc.DryRun = b.True()
		} else if !diags.HasErrors() {
			diags = append(diags, attrError(attr, "Invalid dry_run", "dry_run must be true or false."))
		}
		return diags
	},
	"expect_status": func(tc *TestCase, attr *hcl.Attribute) hcl.Diagnostics {
		s, diags := constString(attr)
		if !diags.HasErrors() && !slices.Contains(testRunStatuses, s) {
			diags = append(diags, attrError(attr, "Invalid expect_status", fmt.Sprintf("expect_status is one of %s, not %q.", strings.Join(testRunStatuses, ", "), s)))
		}
		tc.ExpectStatus = s
		return diags
	},
	"expect_steps": func(tc *TestCase, attr *hcl.Attribute) hcl.Diagnostics {
		return eachEntry(attr, "Invalid step status",
			func(k string) string {
				return fmt.Sprintf("The expected status of step %q is one of %s.", k, strings.Join(testStepStatuses, ", "))
			},
			func(k string, v cty.Value) bool {
				s, err := convert.Convert(v, cty.String)
				if err != nil || s.IsNull() || !slices.Contains(testStepStatuses, s.AsString()) {
					return false
				}
				tc.ExpectSteps[k] = s.AsString()
				return true
			})
	},
	"expect_calls": func(tc *TestCase, attr *hcl.Attribute) hcl.Diagnostics {
		return eachEntry(attr, "Invalid call count",
			func(k string) string {
				return fmt.Sprintf("The expected number of calls of %s must be a whole number.", k)
			},
			func(k string, v cty.Value) bool {
				n, err := convert.Convert(v, cty.Number)
				if err != nil || n.IsNull() {
					return false
				}
				i, acc := n.AsBigFloat().Int64()
				if acc != 0 || i < 0 {
					return false
				}
				tc.ExpectCalls[k] = int(i)
				return true
			})
	},
	"expect_plans": func(tc *TestCase, attr *hcl.Attribute) hcl.Diagnostics {
		return eachEntry(attr, "Invalid plan lines",
			func(k string) string {
				return fmt.Sprintf("The expected plan of step %q is a list of lines (strings).", k)
			},
			func(k string, v cty.Value) bool {
				lines, ok := stringList(v)
				if ok {
					tc.ExpectPlans[k] = lines
				}
				return ok
			})
	},
}

// eachEntry decodes the literal map of attr and hands each entry to set,
// which reports whether its value is right; a wrong one is an error with
// summary and detail(key).
func eachEntry(attr *hcl.Attribute, summary string, detail func(key string) string, set func(key string, v cty.Value) bool) hcl.Diagnostics {
	m, diags := literalMap(attr)
	for _, k := range slices.Sorted(maps.Keys(m)) {
		if !set(k, m[k]) {
			diags = append(diags, attrError(attr, summary, detail(k)))
		}
	}
	return diags
}

func decodeMock(block *hcl.Block) (*Mock, hcl.Diagnostics) {
	m := &Mock{Action: block.Labels[0], DeclRange: block.DefRange}
	content, diags := block.Body.Content(mockSchema)
	set := 0
	if attr, ok := content.Attributes["output"]; ok {
		set++
		v, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		m.Output = v
		m.outputRanges = []hcl.Range{attr.Expr.Range()}
	}
	if attr, ok := content.Attributes["outputs"]; ok {
		set++
		v, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if !v.Type().IsTupleType() && !v.Type().IsListType() || v.LengthInt() == 0 {
				diags = append(diags, attrError(attr, "Invalid outputs", "outputs is a non-empty list of outputs, one per call, in order."))
			} else {
				for it := v.ElementIterator(); it.Next(); {
					_, e := it.Element()
					m.Outputs = append(m.Outputs, e)
				}
				m.outputRanges = elementRanges(attr.Expr, len(m.Outputs))
			}
		}
	}
	if attr, ok := content.Attributes["error"]; ok {
		set++
		var d hcl.Diagnostics
		m.Error, d = constString(attr)
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["plan"]; ok {
		v, d := attr.Expr.Value(nil)
		diags = append(diags, d...)
		if !d.HasErrors() {
			lines, ok := stringList(v)
			if !ok {
				diags = append(diags, attrError(attr, "Invalid plan", "plan is the list of lines the mocked action plans, as strings."))
			}
			m.Plan = lines
			if m.Plan == nil {
				m.Plan = []string{}
			}
		}
	}
	if set != 1 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid mock",
			Detail:   "A mock gives exactly one of output (every call), outputs (one per call) or error (every call fails).",
			Subject:  block.DefRange.Ptr(),
		})
	}
	return m, diags
}

// stringList is v as a list of strings: a tuple or list whose elements are
// all strings (an empty one is nil).
func stringList(v cty.Value) ([]string, bool) {
	if v.IsNull() || !v.IsWhollyKnown() || !(v.Type().IsTupleType() || v.Type().IsListType()) {
		return nil, false
	}
	var out []string
	for it := v.ElementIterator(); it.Next(); {
		_, e := it.Element()
		if e.IsNull() || !e.Type().Equals(cty.String) {
			return nil, false
		}
		out = append(out, e.AsString())
	}
	return out, true
}

// elementRanges locates the elements of a tuple expression, for errors
// about one of them; it falls back to the whole expression.
func elementRanges(expr hcl.Expression, n int) []hcl.Range {
	out := make([]hcl.Range, n)
	exprs, _ := hcl.ExprList(expr)
	for i := range out {
		if i < len(exprs) {
			out[i] = exprs[i].Range()
		} else {
			out[i] = expr.Range()
		}
	}
	return out
}

func literalMap(attr *hcl.Attribute) (map[string]cty.Value, hcl.Diagnostics) {
	v, diags := attr.Expr.Value(&hcl.EvalContext{Functions: Functions(FunctionsStatic)})
	if diags.HasErrors() {
		return nil, diags
	}
	if v.IsNull() || !(v.Type().IsObjectType() || v.Type().IsMapType()) {
		return nil, hcl.Diagnostics{attrError(attr, "Invalid "+attr.Name, attr.Name+" must be a map, as in { name = value }.")}
	}
	out := map[string]cty.Value{}
	for it := v.ElementIterator(); it.Next(); {
		k, e := it.Element()
		out[k.AsString()] = e
	}
	return out, nil
}

func attrError(attr *hcl.Attribute, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{Severity: hcl.DiagError, Summary: summary, Detail: detail, Subject: attr.Expr.Range().Ptr()}
}

// runbookInfo is what checking a test needs to know of a runbook, kept
// even when Validate drops the runbook itself.
type runbookInfo struct {
	vars  map[string]cty.Type
	steps map[string]stepInfo
	order []string
	// summary is what `runbook list` shows.
	summary RunbookSummary
}

// RunbookSummary is a runbook's catalogue entry, kept by Validate too.
type RunbookSummary struct {
	Name, Owner, Description, Filename string
	Steps                              int
	// Required names the variables without a default, in declaration order.
	Required []string
}

type stepInfo struct {
	confirm, manual bool
	action          string
	output          cty.Type
	approval        *Approval
}

func infoOf(rb *Runbook) *runbookInfo {
	info := &runbookInfo{vars: map[string]cty.Type{}, steps: map[string]stepInfo{},
		summary: RunbookSummary{Name: rb.Name, Owner: rb.Owner, Description: rb.Description, Filename: rb.Filename, Steps: len(rb.Steps)}}
	for _, v := range rb.Variables {
		info.vars[v.Name] = v.Type
		if v.Required() {
			info.summary.Required = append(info.summary.Required, v.Name)
		}
	}
	for _, s := range rb.Steps {
		si := stepInfo{confirm: s.Confirm != nil, manual: s.Action == nil && s.Manual != nil, approval: s.Approval}
		if s.Action != nil {
			si.action = s.Action.FullName()
			if s.Action.Schema != nil {
				si.output = s.Action.Schema.Output
			}
		}
		info.steps[s.Name] = si
		info.order = append(info.order, s.Name)
	}
	return info
}

// checkTest checks a test against the runbook it names and the schemas of
// the actions it mocks: every name it uses must exist, and every mocked
// output must have the action's output type.
func checkTest(tc *TestCase, runbooks map[string]*runbookInfo) hcl.Diagnostics {
	var diags hcl.Diagnostics
	at := func(attr string) *hcl.Range {
		if r, ok := tc.attrRanges[attr]; ok {
			return &r
		}
		return tc.DeclRange.Ptr()
	}
	info := runbooks[tc.Runbook]
	if info == nil {
		names := make([]string, 0, len(runbooks))
		for n := range runbooks {
			names = append(names, n)
		}
		sort.Strings(names)
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Unknown runbook",
			Detail:   fmt.Sprintf("Test %q names runbook %q, which does not exist.%s", tc.Name, tc.Runbook, didYouMean(tc.Runbook, names, "")),
			Subject:  at("runbook"),
		}}
	}
	diags = append(diags, checkTestNames(tc, info, at)...)
	return append(diags, checkMocks(tc, info, at)...)
}

// checkTestNames checks what a test names of its runbook: variables and
// their values, the steps it answers for, expects and expects plans of.
func checkTestNames(tc *TestCase, info *runbookInfo, at func(string) *hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(tc.Vars)) {
		ty, ok := info.vars[name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown variable",
				Detail: fmt.Sprintf("Runbook %q has no variable %q.", tc.Runbook, name), Subject: at("vars")})
			continue
		}
		if _, err := convert.Convert(tc.Vars[name], ty); err != nil {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Invalid variable value",
				Detail: fmt.Sprintf("Variable %q must be %s: %s.", name, typeName(ty), err), Subject: at("vars")})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tc.Answers)) {
		si, ok := info.steps[name]
		switch {
		case !ok:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown step",
				Detail: fmt.Sprintf("Runbook %q has no step %q to answer for.", tc.Runbook, name), Subject: at("answers")})
		case !si.confirm && !si.manual:
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Nothing to answer",
				Detail: fmt.Sprintf("Step %q asks no confirmation and is not manual.", name), Subject: at("answers")})
		}
	}
	diags = append(diags, checkTestApprovals(tc, info, at)...)
	for _, name := range slices.Sorted(maps.Keys(tc.ExpectSteps)) {
		if _, ok := info.steps[name]; !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown step",
				Detail: fmt.Sprintf("Runbook %q has no step %q.%s", tc.Runbook, name, didYouMean(name, info.order, "")), Subject: at("expect_steps")})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tc.ExpectPlans)) {
		if _, ok := info.steps[name]; !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown step",
				Detail: fmt.Sprintf("Runbook %q has no step %q.%s", tc.Runbook, name, didYouMean(name, info.order, "")), Subject: at("expect_plans")})
		}
	}
	return diags
}

// checkMocks checks the actions a test counts and mocks: each is one the
// runbook calls, and every mocked output has the action's output type.
func checkMocks(tc *TestCase, info *runbookInfo, at func(string) *hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	used := map[string]cty.Type{}
	for _, s := range info.steps {
		if s.action != "" {
			used[s.action] = s.output
		}
	}
	calls := slices.Sorted(maps.Keys(used))
	for _, name := range slices.Sorted(maps.Keys(tc.ExpectCalls)) {
		if _, ok := used[name]; !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown action",
				Detail: fmt.Sprintf("Runbook %q never calls %s.%s", tc.Runbook, name, didYouMean(name, calls, "")), Subject: at("expect_calls")})
		}
	}
	for _, name := range slices.Sorted(maps.Keys(tc.Mocks)) {
		m := tc.Mocks[name]
		out, ok := used[name]
		if !ok {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unused mock",
				Detail: fmt.Sprintf("Runbook %q never calls %s.%s", tc.Runbook, name, didYouMean(name, calls, "")), Subject: m.DeclRange.Ptr()})
			continue
		}
		if out == cty.NilType {
			continue
		}
		outputs := m.Outputs
		if m.Output != cty.NilVal {
			outputs = []cty.Value{m.Output}
		}
		for i, v := range outputs {
			if _, err := convert.Convert(v, out); err != nil {
				rng := m.DeclRange
				if i < len(m.outputRanges) {
					rng = m.outputRanges[i]
				}
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Mock output of the wrong shape",
					Detail: fmt.Sprintf("%s returns %s: %s.", name, out.FriendlyName(), err), Subject: &rng})
			}
		}
	}
	return diags
}

// checkTestApprovals checks the steps a test approves or denies: each
// exists and needs approvals besides the operator's.
func checkTestApprovals(tc *TestCase, info *runbookInfo, at func(string) *hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	check := func(attr string, names []string) {
		for _, name := range names {
			si, ok := info.steps[name]
			switch {
			case !ok:
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Unknown step",
					Detail: fmt.Sprintf("Runbook %q has no step %q.%s", tc.Runbook, name, didYouMean(name, info.order, "")), Subject: at(attr)})
			case si.approval.Others() == 0:
				diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Nothing to approve",
					Detail: fmt.Sprintf("Step %q needs no approval besides the operator's: give it approvals = 2 or more.", name), Subject: at(attr)})
			}
		}
	}
	check("approvals", slices.Sorted(maps.Keys(tc.Approvals)))
	check("denials", slices.Sorted(maps.Keys(tc.Denials)))
	return diags
}
