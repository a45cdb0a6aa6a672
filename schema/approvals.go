package schema

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"

	"github.com/runbookdev/runbook/schema/signers"
)

// Two-person approval (docs/approvals.md): `team` blocks name groups of
// principals, the runbook directory's allowed_signers file maps principals
// to SSH keys, and a step's approvals, approvers and approval_timeout say
// who must approve its confirmation besides the operator.

// SignersFileName is the name of the allowed signers file in a runbook
// directory.
const SignersFileName = "allowed_signers"

// SignersNamespace is the namespace of runbook's SSH signatures: an entry
// of allowed_signers restricted to other namespaces does not count.
const SignersNamespace = "runbook"

// DefaultApprovalTimeout is how long a step waits for its approvals.
const DefaultApprovalTimeout = 30 * time.Minute

// Team is a `team "NAME" { members = [...] }` block.
type Team struct {
	Name      string
	Members   []string
	DeclRange hcl.Range
}

// Approval is what a step's approval attributes ask for.
type Approval struct {
	// Count is the approvals the step needs, the operator's included.
	Count int
	// From lists the team names and principals that may give the
	// approvals beyond the operator's, as written; none: any principal of
	// allowed_signers.
	From    []string
	Timeout time.Duration
	// Range locates the approvals attribute.
	Range     hcl.Range
	FromRange hcl.Range
}

// Others counts the approvals wanted besides the operator's.
func (a *Approval) Others() int {
	if a == nil || a.Count <= 1 {
		return 0
	}
	return a.Count - 1
}

// Approvers expands From into principals: each team's members, each
// principal itself, in order, each once. With no From it is every literal
// principal of allowed_signers.
func (c *Config) Approvers(a *Approval) []string {
	if a == nil {
		return nil
	}
	if len(a.From) == 0 {
		return c.Signers.Literal(SignersNamespace)
	}
	var out []string
	add := func(p string) {
		if !slices.Contains(out, p) {
			out = append(out, p)
		}
	}
	for _, name := range a.From {
		if t := c.Teams[name]; t != nil {
			for _, m := range t.Members {
				add(m)
			}
			continue
		}
		add(name)
	}
	return out
}

var teamSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{{Name: "members", Required: true}},
}

func decodeTeam(block *hcl.Block) (*Team, hcl.Diagnostics) {
	t := &Team{Name: block.Labels[0], DeclRange: block.DefRange}
	diags := checkName("team", t.Name, block.LabelRanges[0])
	content, d := block.Body.Content(teamSchema)
	diags = append(diags, d...)
	attr, ok := content.Attributes["members"]
	if !ok {
		return nil, diags
	}
	if d := gohcl.DecodeExpression(attr.Expr, nil, &t.Members); d.HasErrors() {
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid members",
			Detail:   "members is a list of principals as allowed_signers names them: members = [\"sre-1@example.com\", \"sre-2@example.com\"].",
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	seen := map[string]bool{}
	for _, m := range t.Members {
		switch {
		case strings.TrimSpace(m) == "" || strings.ContainsAny(m, "*?, \t\n"):
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid member",
				Detail:   fmt.Sprintf("Team %q: %q is not a principal. A member is one principal of allowed_signers, without spaces, commas or patterns.", t.Name, m),
				Subject:  attr.Expr.Range().Ptr(),
			})
		case seen[m]:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate member",
				Detail:   fmt.Sprintf("Team %q names %q twice.", t.Name, m),
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
		seen[m] = true
	}
	if len(t.Members) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty team",
			Detail:   fmt.Sprintf("Team %q has no members, so nobody in it can approve.", t.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	return t, diags
}

// decodeApproval decodes a step's approvals, approvers and
// approval_timeout; it returns nil when none is set.
func decodeApproval(attrs hcl.Attributes, confirm bool) (*Approval, hcl.Diagnostics) {
	count, hasCount := attrs["approvals"]
	from, hasFrom := attrs["approvers"]
	timeout, hasTimeout := attrs["approval_timeout"]
	if !hasCount && !hasFrom && !hasTimeout {
		return nil, nil
	}
	a := &Approval{Count: 1, Timeout: DefaultApprovalTimeout}
	var diags hcl.Diagnostics
	first := firstAttr(count, from, timeout)
	if !confirm {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Approvals without confirm",
			Detail:   fmt.Sprintf("%s applies to the step's confirmation: give the step a confirm question, which the operator answers first and the approvers approve.", first.Name),
			Subject:  first.NameRange.Ptr(),
		})
	}
	if hasCount {
		a.Range = count.Expr.Range()
		if d := gohcl.DecodeExpression(count.Expr, nil, &a.Count); d.HasErrors() || a.Count < 1 || a.Count > 10 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid approvals",
				Detail:   "approvals is a whole number from 1 to 10: how many people approve the step, the operator included (approvals = 2: the operator and one more).",
				Subject:  count.Expr.Range().Ptr(),
			})
			a.Count = 1
		}
	}
	if hasFrom {
		a.FromRange = from.Expr.Range()
		if d := gohcl.DecodeExpression(from.Expr, nil, &a.From); d.HasErrors() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid approvers",
				Detail:   "approvers is a list of team names and principals: approvers = [\"ml-oncall\", \"lead@example.com\"].",
				Subject:  from.Expr.Range().Ptr(),
			})
		}
	}
	if hasTimeout {
		var d hcl.Diagnostics
		if a.Timeout, d = constDuration(timeout); d.HasErrors() {
			a.Timeout = DefaultApprovalTimeout
		}
		diags = append(diags, d...)
	}
	return a, diags
}

// firstAttr returns the first attribute set, in source order.
func firstAttr(attrs ...*hcl.Attribute) *hcl.Attribute {
	var first *hcl.Attribute
	for _, a := range attrs {
		if a != nil && (first == nil || a.Range.Start.Byte < first.Range.Start.Byte) {
			first = a
		}
	}
	return first
}

// loadSigners reads the allowed_signers file of the runbook directory:
// a source of that name, or, reading from disk, the file beside the first
// runbook file that has one.
func (l *loader) loadSigners(cfg *Config, srcs []Source) hcl.Diagnostics {
	for _, src := range srcs {
		if filepath.Base(src.Name) == SignersFileName && !l.fromDisk {
			f, diags := signers.Parse(src.Name, src.Bytes)
			cfg.Signers = f
			return diags
		}
	}
	if !l.fromDisk {
		return nil
	}
	seen := map[string]bool{}
	for _, src := range srcs {
		dir := filepath.Dir(src.Name)
		if seen[dir] {
			continue
		}
		seen[dir] = true
		name := filepath.Join(dir, SignersFileName)
		if _, err := os.Lstat(name); err != nil {
			continue
		}
		b, diags := readSigners(name)
		if diags != nil {
			return diags
		}
		f, diags := signers.Parse(name, b)
		cfg.Signers = f
		return diags
	}
	return nil
}

// checkApprovals checks every step's approvals against the teams and the
// allowed signers: each name in approvers is a team or a principal with a
// key, and there are enough of them.
func checkApprovals(cfg *Config, infos map[string]*runbookInfo) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(infos)) {
		info := infos[name]
		for _, step := range info.order {
			if a := info.steps[step].approval; a != nil {
				diags = append(diags, checkApproval(cfg, step, a)...)
			}
		}
	}
	return append(diags, checkTeamKeys(cfg)...)
}

func checkApproval(cfg *Config, step string, a *Approval) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, name := range a.From {
		if cfg.Teams[name] != nil || cfg.Signers.Has(name, SignersNamespace) {
			continue
		}
		detail := fmt.Sprintf("Step %q: %q is neither a team block nor a principal of %s.", step, name, SignersFileName)
		if cfg.Signers == nil {
			detail = fmt.Sprintf("Step %q: %q is not a team block, and there is no %s file to name principals.", step, name, SignersFileName)
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unknown approver",
			Detail:   detail + didYouMean(name, slices.Sorted(maps.Keys(cfg.Teams)), ""),
			Subject:  a.FromRange.Ptr(),
		})
	}
	if a.Others() == 0 || diags.HasErrors() {
		return diags
	}
	if cfg.Signers == nil {
		return append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Approvals without allowed_signers",
			Detail:   fmt.Sprintf("Step %q needs %d approvals, but the runbook directory has no %s file: approvers are people with SSH keys listed there (docs/approvals.md).", step, a.Count, SignersFileName),
			Subject:  a.Range.Ptr(),
		})
	}
	var possible []string
	for _, p := range cfg.Approvers(a) {
		if cfg.Signers.Has(p, SignersNamespace) {
			possible = append(possible, p)
		}
	}
	if a.Others() > len(possible) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Too many approvals",
			Detail: fmt.Sprintf("Step %q needs %d approvals: the operator and %d more, but only %s can approve (%s).",
				step, a.Count, a.Others(), plural(len(possible), "principal with a key in "+SignersFileName, "principals with keys in "+SignersFileName), strings.Join(possible, ", ")),
			Subject: a.Range.Ptr(),
		})
	}
	return diags
}

// checkTeamKeys warns of team members that have no key: they cannot
// approve.
func checkTeamKeys(cfg *Config) hcl.Diagnostics {
	if cfg.Signers == nil {
		return nil
	}
	var diags hcl.Diagnostics
	for _, name := range slices.Sorted(maps.Keys(cfg.Teams)) {
		t := cfg.Teams[name]
		for _, m := range t.Members {
			if !cfg.Signers.Has(m, SignersNamespace) {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagWarning,
					Summary:  "Team member without a key",
					Detail:   fmt.Sprintf("Team %q: %q has no key in %s (namespace %q), so they cannot approve.", name, m, SignersFileName, SignersNamespace),
					Subject:  t.DeclRange.Ptr(),
				})
			}
		}
	}
	return diags
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
