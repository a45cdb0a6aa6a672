package schema

import (
	"fmt"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"

	"github.com/runbookdev/runbook/plugins/pluginversion"
)

var fileSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "runbook", LabelNames: []string{"name"}},
		{Type: "plugin", LabelNames: []string{"name"}},
		{Type: "team", LabelNames: []string{"name"}},
		{Type: "notify", LabelNames: []string{"name"}},
	},
}

var pluginSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "source"}, {Name: "sha256"}, {Name: "version"}},
}

var runbookSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"}, {Name: "owner"}, {Name: "tags"}, {Name: "lock"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "step", LabelNames: []string{"name"}},
		{Type: "notify", LabelNames: []string{"name"}},
	},
}

var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"}, {Name: "description"}, {Name: "default"}, {Name: "sensitive"},
	},
	Blocks: []hcl.BlockHeaderSchema{{Type: "validation"}},
}

var checkSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
	},
}

var expectSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "condition", Required: true},
		{Name: "error_message", Required: true},
		{Name: "within"},
		{Name: "every"},
	},
}

var retrySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "attempts", Required: true},
		{Name: "delay"},
	},
}

var stepSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "description"}, {Name: "owner"}, {Name: "when"}, {Name: "confirm"},
		{Name: "manual"}, {Name: "timeout"}, {Name: "on_failure"},
		{Name: "approvals"}, {Name: "approvers"}, {Name: "approval_timeout"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "precondition"},
		{Type: "action", LabelNames: []string{"plugin.action"}},
		{Type: "expect"},
		{Type: "retry"},
	},
}

// fileDecl is what one file declares, before names are checked across files.
type fileDecl struct {
	runbooks []*Runbook
	plugins  []*PluginDecl
	teams    []*Team
	notify   []*Notify
}

func decodeFile(file *hcl.File, filename string) (*fileDecl, hcl.Diagnostics) {
	content, diags := file.Body.Content(fileSchema)
	decl := &fileDecl{}
	for _, block := range content.Blocks {
		switch block.Type {
		case "runbook":
			rb, d := decodeRunbook(block, filename)
			diags = append(diags, d...)
			if rb != nil {
				decl.runbooks = append(decl.runbooks, rb)
			}
		case "plugin":
			p, d := decodePlugin(block, filename)
			diags = append(diags, d...)
			if p != nil {
				decl.plugins = append(decl.plugins, p)
			}
		case "team":
			t, d := decodeTeam(block)
			diags = append(diags, d...)
			if t != nil {
				decl.teams = append(decl.teams, t)
			}
		case "notify":
			n, d := decodeNotify(block)
			diags = append(diags, d...)
			if n != nil {
				decl.notify = append(decl.notify, n)
			}
		}
	}
	return decl, diags
}

func decodePlugin(block *hcl.Block, filename string) (*PluginDecl, hcl.Diagnostics) {
	p := &PluginDecl{Name: block.Labels[0], Dir: filepath.Dir(filename), DeclRange: block.DefRange}
	diags := checkName("plugin", block.Labels[0], block.LabelRanges[0])
	content, remain, d := block.Body.PartialContent(pluginSchema)
	diags = append(diags, d...)
	p.Config = remain
	if attr, ok := content.Attributes["source"]; ok {
		s, d := constString(attr)
		diags = append(diags, d...)
		if s != "" && !filepath.IsAbs(s) {
			s = filepath.Join(p.Dir, s)
		}
		p.Source = s
	}
	if attr, ok := content.Attributes["sha256"]; ok {
		s, d := constString(attr)
		diags = append(diags, d...)
		if s != "" && !IsSHA256(s) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid sha256",
				Detail:   "sha256 must be 64 hexadecimal digits, as printed by `sha256sum`.",
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
		p.SHA256 = strings.ToLower(s)
	}
	if attr, ok := content.Attributes["version"]; ok {
		s, d := constString(attr)
		diags = append(diags, d...)
		p.VersionRange = attr.Expr.Range()
		c, err := pluginversion.ParseConstraints(s)
		switch {
		case d.HasErrors():
		case err != nil:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid version constraint",
				Detail:   capitalize(err.Error()) + ". Write one like \">= 0.2, < 1.0\" or \"~> 1.2\".",
				Subject:  attr.Expr.Range().Ptr(),
			})
		case !p.External():
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Version constraint on a built-in plugin",
				Detail:   fmt.Sprintf("Plugin %q has no source: it is built into runbook, whose version is the plugin's. version constrains an external plugin.", p.Name),
				Subject:  attr.Expr.Range().Ptr(),
			})
		default:
			p.Version = c
		}
	}
	return p, diags
}

func decodeRunbook(block *hcl.Block, filename string) (*Runbook, hcl.Diagnostics) {
	rb := &Runbook{Name: block.Labels[0], Filename: filename, DeclRange: block.DefRange}
	diags := checkName("runbook", rb.Name, block.LabelRanges[0])
	content, d := block.Body.Content(runbookSchema)
	diags = append(diags, d...)
	diags = append(diags, rb.decodeAttributes(content.Attributes)...)
	diags = append(diags, rb.decodeBlocks(content.Blocks)...)
	if len(rb.Steps) == 0 && !diags.HasErrors() {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Runbook without steps",
			Detail:   fmt.Sprintf("Runbook %q has no step blocks, so running it does nothing.", rb.Name),
			Subject:  block.DefRange.Ptr(),
		})
	}
	return rb, diags
}

// decodeAttributes decodes a runbook's attributes; its owner is required.
func (rb *Runbook) decodeAttributes(attrs hcl.Attributes) hcl.Diagnostics {
	var diags, d hcl.Diagnostics
	if attr, ok := attrs["description"]; ok {
		rb.Description, d = constString(attr)
		diags = append(diags, d...)
	}
	if attr, ok := attrs["owner"]; ok {
		rb.Owner, d = decodeOwner(attr)
		diags = append(diags, d...)
	} else {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing owner",
			Detail:   fmt.Sprintf("Runbook %q names no owner. Every runbook names the team that answers for it: owner = \"ml-platform\".", rb.Name),
			Subject:  rb.DeclRange.Ptr(),
		})
	}
	if attr, ok := attrs["tags"]; ok {
		d := gohcl.DecodeExpression(attr.Expr, nil, &rb.Tags)
		diags = append(diags, d...)
	}
	if attr, ok := attrs["lock"]; ok {
		rb.Lock = attr.Expr
	}
	return diags
}

// decodeBlocks decodes a runbook's variables, steps and notify blocks,
// each name once; its steps inherit its owner, so the attributes are
// decoded first.
func (rb *Runbook) decodeBlocks(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seenVars := map[string]hcl.Range{}
	seenSteps := map[string]hcl.Range{}
	seenNotify := map[string]hcl.Range{}
	for _, b := range blocks {
		switch b.Type {
		case "notify":
			n, d := decodeNotify(b)
			diags = append(diags, d...)
			if n != nil {
				if d := checkNotifyNames([]*Notify{n}, seenNotify); d != nil {
					diags = append(diags, d...)
					continue
				}
				rb.Notify = append(rb.Notify, n)
			}
		case "variable":
			if prev, dup := seenVars[b.Labels[0]]; dup {
				diags = append(diags, duplicate("variable", b.Labels[0], prev, b.DefRange))
				continue
			}
			seenVars[b.Labels[0]] = b.DefRange
			v, d := decodeVariable(b)
			diags = append(diags, d...)
			rb.Variables = append(rb.Variables, v)
		case "step":
			if prev, dup := seenSteps[b.Labels[0]]; dup {
				diags = append(diags, duplicate("step", b.Labels[0], prev, b.DefRange))
				continue
			}
			seenSteps[b.Labels[0]] = b.DefRange
			s, d := decodeStep(b, rb.Owner)
			diags = append(diags, d...)
			rb.Steps = append(rb.Steps, s)
		}
	}
	return diags
}

func decodeVariable(block *hcl.Block) (*Variable, hcl.Diagnostics) {
	v := &Variable{Name: block.Labels[0], DeclRange: block.DefRange}
	diags := checkName("variable", v.Name, block.LabelRanges[0])
	content, d := block.Body.Content(variableSchema)
	diags = append(diags, d...)
	if attr, ok := content.Attributes["description"]; ok {
		v.Description, d = constString(attr)
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["type"]; ok {
		ty, d := typeexpr.TypeConstraint(attr.Expr)
		diags = append(diags, d...)
		v.Type = ty
	}
	if attr, ok := content.Attributes["default"]; ok {
		v.Default = attr.Expr
	}
	if v.Type == cty.NilType {
		// Without a type, a variable takes the type of its default, or string.
		v.Type = cty.String
		if v.Default != nil {
			if val, d := v.Default.Value(&hcl.EvalContext{Functions: Functions(FunctionsStatic)}); !d.HasErrors() && val.Type() != cty.DynamicPseudoType {
				v.Type = val.Type()
			}
		}
	}
	if attr, ok := content.Attributes["sensitive"]; ok {
		diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, &v.Sensitive)...)
	}
	for _, b := range content.Blocks {
		c, d := decodeCheck(b, checkSchema)
		diags = append(diags, d...)
		if c != nil {
			v.Validations = append(v.Validations, c)
		}
	}
	return v, diags
}

func decodeCheck(block *hcl.Block, schema *hcl.BodySchema) (*Check, hcl.Diagnostics) {
	content, diags := block.Body.Content(schema)
	c := &Check{DeclRange: block.DefRange}
	if attr, ok := content.Attributes["condition"]; ok {
		c.Condition = attr.Expr
	}
	if attr, ok := content.Attributes["error_message"]; ok {
		c.ErrorMessage = attr.Expr
	}
	if c.Condition == nil || c.ErrorMessage == nil {
		return nil, diags
	}
	return c, diags
}

func decodeStep(block *hcl.Block, runbookOwner string) (*Step, hcl.Diagnostics) {
	s := &Step{
		Name:      block.Labels[0],
		Owner:     runbookOwner,
		Timeout:   DefaultTimeout,
		OnFailure: OnFailureAbort,
		DeclRange: block.DefRange,
	}
	diags := checkName("step", s.Name, block.LabelRanges[0])
	content, d := block.Body.Content(stepSchema)
	diags = append(diags, d...)
	diags = append(diags, s.decodeAttributes(content.Attributes)...)
	s.Approval, d = decodeApproval(content.Attributes, s.Confirm != nil)
	diags = append(diags, d...)
	actionBlocks, d := s.decodeBlocks(content.Blocks)
	diags = append(diags, d...)
	switch {
	case len(actionBlocks) > 0 && s.Manual != nil:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Conflicting action and manual",
			Detail:   fmt.Sprintf("Step %q has both an action block and manual instructions; a step either runs an action or asks a person to act.", s.Name),
			Subject:  content.Attributes["manual"].NameRange.Ptr(),
			Context:  block.DefRange.Ptr(),
		})
	case len(actionBlocks) == 0 && s.Manual == nil:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing action",
			Detail:   fmt.Sprintf("Step %q does nothing: give it an action \"PLUGIN.ACTION\" { … } block, or manual = \"instructions for a person\".", s.Name),
			Subject:  block.DefRange.Ptr(),
		})
	}
	return s, diags
}

// decodeAttributes decodes a step's attributes into s.
func (s *Step) decodeAttributes(attrs hcl.Attributes) hcl.Diagnostics {
	var diags, d hcl.Diagnostics
	if attr, ok := attrs["description"]; ok {
		s.Description, d = constString(attr)
		diags = append(diags, d...)
	}
	if attr, ok := attrs["owner"]; ok {
		s.Owner, d = decodeOwner(attr)
		diags = append(diags, d...)
	}
	if attr, ok := attrs["when"]; ok {
		s.When = attr.Expr
	}
	if attr, ok := attrs["confirm"]; ok {
		s.Confirm = attr.Expr
	}
	if attr, ok := attrs["manual"]; ok {
		s.Manual = attr.Expr
	}
	if attr, ok := attrs["timeout"]; ok {
		s.Timeout, d = constDuration(attr)
		diags = append(diags, d...)
	}
	if attr, ok := attrs["on_failure"]; ok {
		v, d := constString(attr)
		diags = append(diags, d...)
		switch {
		case d.HasErrors():
		case v != OnFailureAbort && v != OnFailureContinue:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid on_failure",
				Detail:   fmt.Sprintf("on_failure is \"abort\" (the default: stop the run) or \"continue\" (go on to the next step), not %q.", v),
				Subject:  attr.Expr.Range().Ptr(),
			})
		default:
			s.OnFailure = v
		}
	}
	return diags
}

// decodeBlocks decodes a step's blocks into s and returns its action
// blocks (one is right; the first is decoded).
func (s *Step) decodeBlocks(blocks hcl.Blocks) ([]*hcl.Block, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	var actionBlocks []*hcl.Block
	for _, b := range blocks {
		switch b.Type {
		case "precondition":
			c, d := decodeCheck(b, checkSchema)
			diags = append(diags, d...)
			if c != nil {
				s.Preconditions = append(s.Preconditions, c)
			}
		case "expect":
			e, d := decodeExpect(b)
			diags = append(diags, d...)
			if e != nil {
				s.Expects = append(s.Expects, e)
			}
		case "retry":
			if s.Retry != nil {
				diags = append(diags, duplicateBlock("retry", s.Retry.DeclRange, b.DefRange))
				continue
			}
			r, d := decodeRetry(b)
			diags = append(diags, d...)
			s.Retry = r
		case "action":
			actionBlocks = append(actionBlocks, b)
		}
	}
	for i, b := range actionBlocks {
		if i > 0 {
			diags = append(diags, duplicateBlock("action", actionBlocks[0].DefRange, b.DefRange))
			continue
		}
		a, d := decodeActionCall(b)
		diags = append(diags, d...)
		s.Action = a
	}
	return actionBlocks, diags
}

func decodeExpect(block *hcl.Block) (*Expect, hcl.Diagnostics) {
	content, diags := block.Body.Content(expectSchema)
	e := &Expect{Check: Check{DeclRange: block.DefRange}}
	if attr, ok := content.Attributes["condition"]; ok {
		e.Condition = attr.Expr
	}
	if attr, ok := content.Attributes["error_message"]; ok {
		e.ErrorMessage = attr.Expr
	}
	if attr, ok := content.Attributes["within"]; ok {
		var d hcl.Diagnostics
		e.Within, d = constDuration(attr)
		e.WithinRange = attr.Range
		diags = append(diags, d...)
	}
	if attr, ok := content.Attributes["every"]; ok {
		var d hcl.Diagnostics
		e.Every, d = constDuration(attr)
		diags = append(diags, d...)
		if _, hasWithin := content.Attributes["within"]; !hasWithin {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "every without within",
				Detail:   "every sets how often to re-check while within runs; set within too, or remove every.",
				Subject:  attr.NameRange.Ptr(),
			})
		}
	}
	if e.Within > 0 && e.Every == 0 {
		e.Every = min(DefaultEvery, e.Within)
	}
	if e.Condition == nil || e.ErrorMessage == nil {
		return nil, diags
	}
	return e, diags
}

func decodeRetry(block *hcl.Block) (*Retry, hcl.Diagnostics) {
	content, diags := block.Body.Content(retrySchema)
	r := &Retry{Attempts: 1, DeclRange: block.DefRange}
	if attr, ok := content.Attributes["attempts"]; ok {
		var n int
		d := gohcl.DecodeExpression(attr.Expr, nil, &n)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if n < 1 || n > 100 {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid retry attempts",
					Detail:   fmt.Sprintf("attempts counts every try, the first included: a whole number from 1 to 100, not %d.", n),
					Subject:  attr.Expr.Range().Ptr(),
				})
			} else {
				r.Attempts = n
			}
		}
	}
	if attr, ok := content.Attributes["delay"]; ok {
		var d hcl.Diagnostics
		r.Delay, d = constDuration(attr)
		diags = append(diags, d...)
	}
	return r, diags
}

func decodeActionCall(block *hcl.Block) (*ActionCall, hcl.Diagnostics) {
	label := block.Labels[0]
	a := &ActionCall{Body: block.Body, DeclRange: block.DefRange, LabelRange: block.LabelRanges[0]}
	plugin, action, ok := strings.Cut(label, ".")
	if !ok || !validName(plugin) || !validName(action) {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid action name",
			Detail:   fmt.Sprintf("An action is named \"PLUGIN.ACTION\", as in \"prompt.rollback\", not %q.", label),
			Subject:  block.LabelRanges[0].Ptr(),
		}}
	}
	a.Plugin, a.Name = plugin, action
	return a, nil
}

// constString decodes an attribute that must be a literal string.
func constString(attr *hcl.Attribute) (string, hcl.Diagnostics) {
	val, diags := attr.Expr.Value(nil)
	if diags.HasErrors() {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Value must be constant",
			Detail:   fmt.Sprintf("%s must be a literal string; it cannot refer to variables, steps or functions.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	val, err := convert.Convert(val, cty.String)
	if err != nil || val.IsNull() {
		return "", hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("%s must be a string.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	return val.AsString(), nil
}

// constDuration decodes an attribute that must be a literal duration string.
func constDuration(attr *hcl.Attribute) (time.Duration, hcl.Diagnostics) {
	s, diags := constString(attr)
	if diags.HasErrors() {
		return 0, diags
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("%s must be a positive duration such as \"30s\", \"5m\" or \"1h30m\", not %q.", attr.Name, s),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	return d, nil
}

func checkName(kind, name string, rng hcl.Range) hcl.Diagnostics {
	if validName(name) {
		return nil
	}
	return hcl.Diagnostics{{
		Severity: hcl.DiagError,
		Summary:  "Invalid " + kind + " name",
		Detail:   fmt.Sprintf("%q is not a valid %s name: use letters, digits, '_' and '-', starting with a letter.", name, kind),
		Subject:  rng.Ptr(),
	}}
}

// validName accepts the names of runbooks, steps, variables and plugins:
// they appear in references (step.NAME), file names and command lines.
func validName(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case r >= '0' && r <= '9', r == '_', r == '-':
			if i == 0 {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// IsSHA256 reports whether s is a SHA-256 in hex (64 digits, either case).
func IsSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

// decodeOwner decodes an owner attribute: a string that is not blank.
func decodeOwner(attr *hcl.Attribute) (string, hcl.Diagnostics) {
	owner, diags := constString(attr)
	if !diags.HasErrors() && strings.TrimSpace(owner) == "" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty owner",
			Detail:   "owner names the team or person who answers for this; it cannot be empty.",
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return owner, diags
}

func duplicate(kind, name string, prev, this hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + kind,
		Detail:   fmt.Sprintf("A %s named %q is already declared at %s. Names must be unique.", kind, name, prev),
		Subject:  this.Ptr(),
	}
}

func duplicateBlock(kind string, prev, this hcl.Range) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Duplicate " + kind + " block",
		Detail:   fmt.Sprintf("A step has at most one %s block; the first is at %s.", kind, prev),
		Subject:  this.Ptr(),
	}
}
