package show

import (
	"github.com/runbookdev/runbook/cmd/runbook/internal/runbooktext"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/schema"
)

// runbookJSON is `show NAME --format json` (docs/commands.md, "JSON
// output"): the runbook as written, expressions as their source on one
// line, sensitive defaults and literal sensitive arguments as the marker.
type runbookJSON struct {
	Name        string         `json:"name"`
	Description string         `json:"description"`
	Owner       string         `json:"owner"`
	Tags        []string       `json:"tags"`
	Lock        string         `json:"lock"`
	File        string         `json:"file"`
	Line        int            `json:"line"`
	Variables   []variableJSON `json:"variables"`
	Steps       []stepJSON     `json:"steps"`
}

type variableJSON struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type"`
	Required    bool   `json:"required"`
	// Default is the default's source; absent for a required variable.
	Default     *string     `json:"default,omitempty"`
	Sensitive   bool        `json:"sensitive"`
	Validations []checkJSON `json:"validations"`
}

type checkJSON struct {
	Condition    string `json:"condition"`
	ErrorMessage string `json:"error_message"`
}

type expectJSON struct {
	checkJSON
	// WithinMS and EveryMS are how long and how often it is re-checked;
	// 0 when it is checked once.
	WithinMS int64 `json:"within_ms"`
	EveryMS  int64 `json:"every_ms"`
}

// approvalsJSON is a step's approvals: how many, the operator's included;
// approvers as written and expanded into principals; the timeout.
type approvalsJSON struct {
	Count     int      `json:"count"`
	From      []string `json:"from"`
	Approvers []string `json:"approvers"`
	TimeoutMS int64    `json:"timeout_ms"`
}

type stepJSON struct {
	Name          string         `json:"name"`
	Description   string         `json:"description"`
	Owner         string         `json:"owner"`
	When          string         `json:"when,omitempty"`
	Preconditions []checkJSON    `json:"preconditions"`
	Confirm       string         `json:"confirm,omitempty"`
	Approvals     *approvalsJSON `json:"approvals,omitempty"`
	Manual        string         `json:"manual,omitempty"`
	Action        *actionJSON    `json:"action,omitempty"`
	Expects       []expectJSON   `json:"expects"`
	// Limits are the timeout, retries and on_failure as `show` words
	// them, when they differ from the defaults.
	Limits []string `json:"limits"`
}

type actionJSON struct {
	Name string `json:"name"`
	// Effect is "read-only", "changes state", "read-only when ARG is
	// VALUES", or "" when the plugin's schema is not known.
	Effect string    `json:"effect"`
	Args   []argJSON `json:"args"`
}

type argJSON struct {
	Name   string `json:"name"`
	Source string `json:"source"`
}

// planJSON is `show --plan FILE --format json`: the plan as saved, and its
// file's SHA-256.
type planJSON struct {
	SHA256 string            `json:"sha256"`
	Plan   *engine.SavedPlan `json:"plan"`
}

func runbookJSONOf(cfg *schema.Config, rb *schema.Runbook) runbookJSON {
	out := runbookJSON{Name: rb.Name, Description: rb.Description, Owner: rb.Owner, Tags: append([]string{}, rb.Tags...),
		Lock: runbooktext.Lock(cfg, rb), File: rb.Filename, Line: rb.DeclRange.Start.Line,
		Variables: []variableJSON{}, Steps: []stepJSON{}}
	if rb.Lock != nil {
		out.Lock = runbooktext.Source(cfg, rb.Lock)
	}
	for _, v := range rb.Variables {
		j := variableJSON{Name: v.Name, Description: v.Description, Type: runbooktext.Type(v.Type), Required: v.Required(),
			Sensitive: v.Sensitive, Validations: checksJSON(cfg, v.Validations)}
		if !v.Required() {
			d := runbooktext.Default(cfg, v)
			if !v.Sensitive {
				d = runbooktext.Source(cfg, v.Default)
			}
			j.Default = &d
		}
		out.Variables = append(out.Variables, j)
	}
	for _, st := range rb.Steps {
		out.Steps = append(out.Steps, stepJSONOf(cfg, st))
	}
	return out
}

func stepJSONOf(cfg *schema.Config, st *schema.Step) stepJSON {
	j := stepJSON{Name: st.Name, Description: st.Description, Owner: st.Owner,
		Preconditions: checksJSON(cfg, st.Preconditions), Expects: []expectJSON{}, Limits: append([]string{}, runbooktext.StepLimits(st)...)}
	if st.When != nil {
		j.When = runbooktext.Source(cfg, st.When)
	}
	if st.Confirm != nil {
		j.Confirm = runbooktext.Source(cfg, st.Confirm)
	}
	if a := st.Approval; a.Others() > 0 {
		j.Approvals = &approvalsJSON{Count: a.Count, From: a.From, Approvers: cfg.Approvers(a), TimeoutMS: a.Timeout.Milliseconds()}
	}
	if st.Manual != nil {
		j.Manual = runbooktext.Source(cfg, st.Manual)
	}
	if a := st.Action; a != nil {
		_, effect := runbooktext.ActionEffect(a)
		j.Action = &actionJSON{Name: a.FullName(), Effect: effect, Args: []argJSON{}}
		for _, arg := range runbooktext.Args(cfg, a) {
			j.Action.Args = append(j.Action.Args, argJSON{Name: arg.Name, Source: arg.Source})
		}
	}
	for _, e := range st.Expects {
		j.Expects = append(j.Expects, expectJSON{checkJSON: checkJSONOf(cfg, &e.Check),
			WithinMS: e.Within.Milliseconds(), EveryMS: e.Every.Milliseconds()})
	}
	return j
}

func checksJSON(cfg *schema.Config, checks []*schema.Check) []checkJSON {
	out := []checkJSON{}
	for _, c := range checks {
		out = append(out, checkJSONOf(cfg, c))
	}
	return out
}

func checkJSONOf(cfg *schema.Config, c *schema.Check) checkJSON {
	return checkJSON{Condition: runbooktext.Source(cfg, c.Condition), ErrorMessage: runbooktext.Source(cfg, c.ErrorMessage)}
}
