package schema

import (
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
	"github.com/zclconf/go-cty/cty"
)

// Notifications (docs/language.md, "notify"; docs/execution.md,
// "Notifications"): a `notify` block at the top level of a file applies to
// every runbook of the directory, one inside a runbook to that runbook
// only. The engine posts to the block's url when the run reaches one of
// the events in its `on` list.

// Notification types: where a notify block posts.
const (
	NotifySlack   = "slack"
	NotifyWebhook = "webhook"
)

// Notification events, in the order a run can reach them.
const (
	NotifyStarted         = "started"
	NotifyWaitingApproval = "waiting_approval"
	NotifySucceeded       = "succeeded"
	NotifyFailed          = "failed"
	NotifyInterrupted     = "interrupted"
)

// NotifyEvents lists every notification event, the default of `on`.
var NotifyEvents = []string{NotifyStarted, NotifyWaitingApproval, NotifySucceeded, NotifyFailed, NotifyInterrupted}

// Notify is a `notify "NAME" { … }` block.
type Notify struct {
	Name string
	// Type is NotifySlack or NotifyWebhook.
	Type string
	// URL is where to post; it is a secret (a Slack webhook URL is its
	// own credential), never shown or recorded.
	URL hcl.Expression
	// On lists the events to send, each once, in NotifyEvents order.
	On []string
	// DryRun sends the notifications of dry-runs too.
	DryRun    bool
	DeclRange hcl.Range
}

// Wants reports whether the block sends event.
func (n *Notify) Wants(event string) bool { return slices.Contains(n.On, event) }

var notifySchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type", Required: true}, {Name: "url", Required: true}, {Name: "on"}, {Name: "dry_run"},
	},
}

// NotifyFor returns the notify blocks that apply to rb: the directory's
// shared blocks, then the runbook's own; a runbook's block replaces a
// shared block of the same name.
func (c *Config) NotifyFor(rb *Runbook) []*Notify {
	var out []*Notify
	for _, n := range c.Notify {
		if !slices.ContainsFunc(rb.Notify, func(own *Notify) bool { return own.Name == n.Name }) {
			out = append(out, n)
		}
	}
	return append(out, rb.Notify...)
}

func decodeNotify(block *hcl.Block) (*Notify, hcl.Diagnostics) {
	n := &Notify{Name: block.Labels[0], On: NotifyEvents, DeclRange: block.DefRange}
	diags := checkName("notify", n.Name, block.LabelRanges[0])
	content, d := block.Body.Content(notifySchema)
	diags = append(diags, d...)
	if attr, ok := content.Attributes["type"]; ok {
		typ, d := constString(attr)
		diags = append(diags, d...)
		if !d.HasErrors() && typ != NotifySlack && typ != NotifyWebhook {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid notify type",
				Detail:   fmt.Sprintf("type is %q (a Slack incoming webhook) or %q (a JSON document posted to any URL), not %q.%s", NotifySlack, NotifyWebhook, typ, didYouMean(typ, []string{NotifySlack, NotifyWebhook}, "")),
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
		n.Type = typ
	}
	if attr, ok := content.Attributes["url"]; ok {
		n.URL = attr.Expr
		diags = append(diags, checkNotifyLiteral(n, attr)...)
	}
	if attr, ok := content.Attributes["on"]; ok {
		on, d := decodeNotifyOn(attr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			n.On = on
		}
	}
	if attr, ok := content.Attributes["dry_run"]; ok {
		diags = append(diags, gohcl.DecodeExpression(attr.Expr, nil, &n.DryRun)...)
	}
	// Kept with its errors, so that a duplicate of it is reported too.
	return n, diags
}

// decodeNotifyOn decodes an `on` list: known events, in NotifyEvents
// order, each once.
func decodeNotifyOn(attr *hcl.Attribute) ([]string, hcl.Diagnostics) {
	var listed []string
	if d := gohcl.DecodeExpression(attr.Expr, nil, &listed); d.HasErrors() {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid on",
			Detail:   fmt.Sprintf("on is a literal list of events: on = [\"failed\", \"succeeded\"]. The events: %s.", strings.Join(NotifyEvents, ", ")),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	var diags hcl.Diagnostics
	for _, e := range listed {
		if !slices.Contains(NotifyEvents, e) {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Unknown notify event",
				Detail:   fmt.Sprintf("%q is not an event.%s The events: %s.", e, didYouMean(e, NotifyEvents, ""), strings.Join(NotifyEvents, ", ")),
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
	}
	if len(listed) == 0 {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty on",
			Detail:   "on lists no events, so the block would never send anything; list some, or remove on to send them all.",
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	var on []string
	for _, e := range NotifyEvents {
		if slices.Contains(listed, e) {
			on = append(on, e)
		}
	}
	return on, diags
}

// checkNotifyLiteral checks a url that is known without running: it must
// be an http(s) URL. The messages never quote it: it is a secret. A
// Slack webhook URL written in the file is reported as a warning: it is
// a credential, better read from the environment.
func checkNotifyLiteral(n *Notify, attr *hcl.Attribute) hcl.Diagnostics {
	val, diags := attr.Expr.Value(&hcl.EvalContext{Functions: Functions(FunctionsStatic)})
	if diags.HasErrors() || !val.IsWhollyKnown() || val.IsNull() || val.Type() != cty.String {
		// References are checked with the runbook's variables (checkNotifyURL).
		return nil
	}
	u, err := url.Parse(val.AsString())
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid notify url",
			Detail:   fmt.Sprintf("The url of notify %q must be an http:// or https:// URL with a host.", n.Name),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	if n.Type == NotifySlack {
		return hcl.Diagnostics{{
			Severity: hcl.DiagWarning,
			Summary:  "Slack webhook URL in the source",
			Detail:   fmt.Sprintf("The url of notify %q is a credential: anyone who reads this file can post to the channel. Read it from the environment instead: url = env(\"SLACK_WEBHOOK_URL\").", n.Name),
			Subject:  attr.Expr.Range().Ptr(),
		}}
	}
	return nil
}

// checkNotifyURL checks a notify block's url against the variables of a
// runbook it applies to: it sees var and functions only.
func checkNotifyURL(rb *Runbook, n *Notify) hcl.Diagnostics {
	if n.URL == nil {
		return nil // reported as missing
	}
	sc := &scope{rb: rb, what: fmt.Sprintf("the url of notify %q", n.Name), vars: true,
		ctx: &hcl.EvalContext{Functions: Functions(FunctionsStatic), Variables: map[string]cty.Value{"var": varsObject(rb)}}}
	_, diags := sc.checkExpr(n.URL, cty.String, "url")
	return diags
}

// checkNotifyNames checks that each of blocks has a name not in seen,
// and adds their names to it.
func checkNotifyNames(blocks []*Notify, seen map[string]hcl.Range) hcl.Diagnostics {
	var diags hcl.Diagnostics
	for _, n := range blocks {
		if prev, dup := seen[n.Name]; dup {
			diags = append(diags, duplicate("notify", n.Name, prev, n.DeclRange))
			continue
		}
		seen[n.Name] = n.DeclRange
	}
	return diags
}

// collectNotify gathers the shared notify blocks of every file, each name
// once, and checks each url against the variables of every runbook: a
// reference to a variable that a runbook lacks is reported once, for the
// first such runbook.
func collectNotify(cfg *Config, results []fileResult, infos map[string]*runbookInfo) hcl.Diagnostics {
	var diags hcl.Diagnostics
	seen := map[string]hcl.Range{}
	for _, r := range results {
		if r.decl == nil {
			continue
		}
		for _, n := range r.decl.notify {
			if d := checkNotifyNames([]*Notify{n}, seen); d != nil {
				diags = append(diags, d...)
				continue
			}
			cfg.Notify = append(cfg.Notify, n)
		}
	}
	names := slices.Sorted(maps.Keys(infos))
	for _, n := range cfg.Notify {
		for _, name := range names {
			if d := checkNotifyURL(infos[name].stub(name), n); d.HasErrors() {
				diags = append(diags, d...)
				break
			}
		}
	}
	return diags
}

// stub is a runbook with info's variables, to check an expression that
// may refer to them.
func (info *runbookInfo) stub(name string) *Runbook {
	rb := &Runbook{Name: name}
	for _, v := range slices.Sorted(maps.Keys(info.vars)) {
		rb.Variables = append(rb.Variables, &Variable{Name: v, Type: info.vars[v]})
	}
	return rb
}
