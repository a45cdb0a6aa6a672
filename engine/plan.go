package engine

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/zclconf/go-cty/cty"
	ctyjson "github.com/zclconf/go-cty/cty/json"

	"github.com/runbookdev/runbook/schema"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// PlanFormat is the version of the saved plan format this build writes and
// reads.
const PlanFormat = 1

// MaxPlanSize bounds a saved plan file.
const MaxPlanSize = 16 << 20

// SavedPlan is what `runbook exec NAME --dry-run --out FILE` writes and
// `runbook exec --plan FILE` applies: what was rehearsed, against which
// runbook, plugins and inputs, and what each mutating step was planned
// against. It holds no secret: sensitive variables are kept as a salted
// hash, change lines and outputs were masked as the dry-run showed them.
type SavedPlan struct {
	Format  int        `json:"format"`
	Runbook string     `json:"runbook"`
	Source  SourceInfo `json:"source"`
	// DryRun is the run id of the dry-run that made the plan, and
	// TranscriptHead the hash of its transcript's last event.
	DryRun         string    `json:"dry_run"`
	TranscriptHead string    `json:"transcript_head,omitempty"`
	Operator       string    `json:"operator"`
	Version        string    `json:"version"`
	Created        time.Time `json:"created"`
	// Plugins are the plugins the runbook uses, as run_started records them.
	Plugins map[string]PluginInfo `json:"plugins"`
	// Vars are the values of the variables that are not sensitive.
	Vars map[string]json.RawMessage `json:"vars"`
	// SensitiveVars hold a salted SHA-256 of each sensitive variable.
	SensitiveVars map[string]SaltedHash `json:"sensitive_vars,omitempty"`
	// Steps are the mutating steps the dry-run planned, in order.
	Steps         []PlanStep `json:"steps"`
	PendingChecks int        `json:"pending_checks"`
}

// PlanStep is one mutating step of a saved plan.
type PlanStep struct {
	Index   int      `json:"index"`
	Step    string   `json:"step"`
	Action  string   `json:"action"`
	Changes []string `json:"changes"`
	// Basis is what the plugin planned against (plugins.PlanResult.Basis),
	// handed back to it when the plan is applied; nil when the plugin gave
	// none.
	Basis []byte `json:"basis,omitempty"`
}

// SaltedHash is the SHA-256 of salt followed by a value's JSON encoding.
type SaltedHash struct {
	Salt   string `json:"salt"`
	SHA256 string `json:"sha256"`
}

func newSaltedHash(b []byte) SaltedHash {
	var salt [16]byte
	_, _ = rand.Read(salt[:])
	h := SaltedHash{Salt: hex.EncodeToString(salt[:])}
	h.SHA256 = h.sum(b)
	return h
}

func (h SaltedHash) sum(b []byte) string {
	sum := sha256.Sum256(append([]byte(h.Salt), b...))
	return hex.EncodeToString(sum[:])
}

// matches reports whether b is the value the hash was made of.
func (h SaltedHash) matches(b []byte) bool {
	return subtle.ConstantTimeCompare([]byte(h.sum(b)), []byte(h.SHA256)) == 1
}

// ParsePlan decodes a saved plan, refusing unknown formats and fields.
func ParsePlan(data []byte) (*SavedPlan, error) {
	var probe struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, fmt.Errorf("not a saved plan: %w", err)
	}
	if probe.Format != PlanFormat {
		return nil, fmt.Errorf("plan format %d; this runbook reads format %d", probe.Format, PlanFormat)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	p := &SavedPlan{}
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("not a saved plan: %w", err)
	}
	if p.Runbook == "" || p.DryRun == "" || p.Created.IsZero() {
		return nil, errors.New("not a saved plan: runbook, dry_run or created is missing")
	}
	return p, nil
}

// ApplyPlan is what a run that applies a saved plan needs (WithPlan).
type ApplyPlan struct {
	Plan *SavedPlan
	// SHA256 is the hex SHA-256 of the plan file, recorded in run_started.
	SHA256 string
	// MaxAge refuses a plan created longer ago (0: no limit).
	MaxAge time.Duration
}

// WithPlan applies a saved plan: the run is refused (*PlanRefusedError,
// exit 3) unless the runbook, its plugins and its variables are those the
// plan was made with, the plan is recent enough and every planned mutating
// step's plugin checks plans; each mutating step then gets the basis it was
// planned against, and a mutating step the plan did not plan fails.
func WithPlan(p *ApplyPlan) Option { return func(c *config) { c.apply = p } }

// PlanRefusedError refuses to apply a saved plan; nothing ran. Exit code 3.
type PlanRefusedError struct{ Msg string }

func (e *PlanRefusedError) Error() string { return e.Msg }

// ExitCode implements the CLI's exit-code interface.
func (e *PlanRefusedError) ExitCode() int { return exitcode.Refused }

func planRefusedf(format string, args ...any) error {
	return &PlanRefusedError{Msg: fmt.Sprintf(format, args...) + "; make a new plan (runbook exec NAME --dry-run --out FILE)"}
}

// planClockSkew is how far in the future a plan's creation time may lie
// (clocks of two machines differ).
const planClockSkew = 5 * time.Minute

// checkPlan refuses, before any variable is asked for, a saved plan that no
// longer describes this run: another runbook or source, too old, other
// plugins, or a step whose plugin cannot check plans.
func checkPlan(cfg *schema.Config, rb *schema.Runbook, c *config) error {
	ap := c.apply
	p := ap.Plan
	if p.Runbook != rb.Name {
		return planRefusedf("the plan is of runbook %q, not %q", p.Runbook, rb.Name)
	}
	age := c.clock.Now().Sub(p.Created)
	if ap.MaxAge > 0 && age > ap.MaxAge {
		return planRefusedf("the plan was made %s ago (%s), more than --max-plan-age %s", age.Round(time.Second), p.Created.UTC().Format(time.RFC3339), ap.MaxAge)
	}
	if age < -planClockSkew {
		return planRefusedf("the plan says it was made at %s, in the future", p.Created.UTC().Format(time.RFC3339))
	}
	if now := SourceSHA256(rb.Filename); now != p.Source.SHA256 {
		return planRefusedf("%s changed since the plan (sha256 %s, now %s)", rb.Filename, shortSum(p.Source.SHA256), shortSum(now))
	}
	used := UsedPlugins(rb)
	if !slices.Equal(used, slices.Sorted(maps.Keys(p.Plugins))) {
		return planRefusedf("the runbook uses other plugins than when the plan was made")
	}
	for _, name := range used {
		was, now := p.Plugins[name], c.pluginInfo[name]
		if was.Version != now.Version || was.SHA256 != now.SHA256 {
			return planRefusedf("plugin %q changed since the plan (version %s sha256 %s, now version %s sha256 %s)", name, was.Version, shortSum(was.SHA256), now.Version, shortSum(now.SHA256))
		}
		if sum, _ := PluginConfigSHA256(cfg, name); was.Config != "" && sum != was.Config {
			return planRefusedf("the configuration of plugin %q changed since the plan: it points elsewhere now", name)
		}
	}
	for _, ps := range p.Steps {
		plugin, _, _ := strings.Cut(ps.Action, ".")
		if s := cfg.Schemas[plugin]; s == nil || !s.ChecksPlans {
			return planRefusedf("step %q uses plugin %q, which cannot check that %s is still as planned", ps.Step, plugin, ps.Action)
		}
	}
	return nil
}

// planVar is a variable that is not sensitive, as the plan being applied
// holds it. The same variable given in the environment must agree.
func planVar(v *schema.Variable, p *SavedPlan, lookupEnv func(string) (string, bool)) (cty.Value, error) {
	raw, ok := p.Vars[v.Name]
	if !ok {
		return cty.NilVal, planRefusedf("variable %q is not in the plan", v.Name)
	}
	val, err := ctyjson.Unmarshal(raw, v.Type)
	if err != nil {
		return cty.NilVal, planRefusedf("variable %q as the plan holds it: %s", v.Name, err)
	}
	if given, ok := lookupEnv(EnvPrefix + v.Name); ok {
		gv, err := parseRaw(v, given, EnvPrefix+v.Name)
		if err != nil || !gv.Equals(val).True() {
			return cty.NilVal, planRefusedf("%s%s is %q, and the plan was made with %s = %s", EnvPrefix, v.Name, given, v.Name, raw)
		}
	}
	return val, nil
}

// checkPlanVars compares the run's variables with the plan's.
func (r *runner) checkPlanVars() error {
	p := r.c.apply.Plan
	for _, v := range r.rb.Variables {
		val, _ := r.vars.GetAttr(v.Name).UnmarkDeep()
		b, err := ctyjson.Marshal(val, v.Type)
		if err != nil {
			return planRefusedf("variable %q: %s", v.Name, err)
		}
		if v.Sensitive {
			h, ok := p.SensitiveVars[v.Name]
			if !ok {
				return planRefusedf("variable %q is sensitive now and was not when the plan was made", v.Name)
			}
			if !h.matches(b) {
				return planRefusedf("the value given for sensitive variable %q is not the one the plan was made with", v.Name)
			}
			continue
		}
		raw, ok := p.Vars[v.Name]
		if !ok {
			return planRefusedf("variable %q is not in the plan", v.Name)
		}
		if !jsonEqual(raw, b) {
			return planRefusedf("variable %q is %s, and the plan was made with %s", v.Name, b, raw)
		}
	}
	if len(p.Vars)+len(p.SensitiveVars) != len(r.rb.Variables) {
		return planRefusedf("the runbook declares other variables than when the plan was made")
	}
	return nil
}

func jsonEqual(a, b []byte) bool {
	var x, y any
	if json.Unmarshal(a, &x) != nil || json.Unmarshal(b, &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func shortSum(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	if s == "" {
		return "(none)"
	}
	return s
}

// planVars records the run's variables for a saved plan: the values of the
// others, a salted hash of the sensitive ones.
func (r *runner) planVars(p *SavedPlan) {
	p.Vars = map[string]json.RawMessage{}
	for _, v := range r.rb.Variables {
		val, _ := r.vars.GetAttr(v.Name).UnmarkDeep()
		b, err := ctyjson.Marshal(val, v.Type)
		if err != nil {
			b = []byte("null")
		}
		if v.Sensitive {
			if p.SensitiveVars == nil {
				p.SensitiveVars = map[string]SaltedHash{}
			}
			p.SensitiveVars[v.Name] = newSaltedHash(b)
			continue
		}
		p.Vars[v.Name] = b
	}
}

// planStep is the saved plan's entry for the step st, when the run
// applies a plan; ok is false when the plan did not plan it.
func (st *stepRun) planStep() (PlanStep, bool) {
	for _, ps := range st.c.apply.Plan.Steps {
		if ps.Step == st.s.Name {
			return ps, ps.Action == st.s.Action.FullName()
		}
	}
	return PlanStep{}, false
}

// savedPlan is what a dry-run saves with --out.
func (r *runner) savedPlan() *SavedPlan {
	p := &SavedPlan{
		Format: PlanFormat, Runbook: r.rb.Name, Source: r.sourceInfo(), DryRun: r.c.runID,
		Operator: r.c.operator, Version: r.c.version, Created: r.started.UTC(),
		Plugins: r.info, Steps: r.saved, PendingChecks: r.pendingChecks,
	}
	if p.Steps == nil {
		p.Steps = []PlanStep{}
	}
	r.planVars(p)
	return p
}
