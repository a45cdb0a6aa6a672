package engine

import (
	"fmt"
	"go.opentelemetry.io/otel/trace"
	"os"
	"os/user"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/engine/lock"
)

// Option configures a run.
type Option func(*config)

type config struct {
	vars       map[string]string
	varValues  map[string]cty.Value
	varFiles   []string
	env        func(string) (string, bool)
	dryRun     bool
	yes        bool
	hooks      []Hook
	provider   PluginProvider
	locker     lock.Locker
	lockWait   time.Duration
	operator   string
	runID      string
	prompter   Prompter
	clock      Clock
	version    string
	pluginInfo map[string]PluginInfo
	resume     *Resume
	apply      *ApplyPlan
	live       bool
	// identity, broker, verifier and approvalPoll: see approval.go.
	identity     *Identity
	broker       ApprovalBroker
	verifier     ApprovalVerifier
	approvalPoll time.Duration
	// agent names the client of an agent's run (agent.go); "" otherwise.
	agent string
	// tracer makes the run's spans (trace.go).
	tracer trace.Tracer
	// notify and transcriptHead: see notify.go.
	notify         *notifier
	transcriptHead func() string
}

// WithLive flushes the hooks (the transcript fsync'd, then what ships it
// to a store) after every event rather than only around changes, so that
// a run is followed as it happens (docs/store.md, "Following a run"): a
// read-only step or a dry-run is seen at once, at the cost of an fsync per
// event.
func WithLive(live bool) Option { return func(c *config) { c.live = live } }

// WithVars sets variables from the command line (--var NAME=VALUE), raw.
func WithVars(vars map[string]string) Option { return func(c *config) { c.vars = vars } }

// WithVarValues gives variables as typed values, as a `runbook test`
// scenario's vars do; --var flags take precedence over them.
func WithVarValues(vals map[string]cty.Value) Option {
	return func(c *config) { c.varValues = vals }
}

// WithVarFiles sets variable files (--var-file), .hcl or .json.
func WithVarFiles(paths ...string) Option {
	return func(c *config) { c.varFiles = append(c.varFiles, paths...) }
}

// WithEnv sets where RUNBOOK_VAR_NAME variables are looked up (default: the
// process environment).
func WithEnv(lookup func(string) (string, bool)) Option { return func(c *config) { c.env = lookup } }

// WithDryRun rehearses the run: read-only actions run, mutating actions are
// planned, nothing is asked and no lock is taken.
func WithDryRun(dry bool) Option { return func(c *config) { c.dryRun = dry } }

// WithYes approves every confirmation (--yes), recorded as such.
func WithYes(yes bool) Option { return func(c *config) { c.yes = yes } }

// WithHooks adds hooks, called in order.
func WithHooks(hooks ...Hook) Option { return func(c *config) { c.hooks = append(c.hooks, hooks...) } }

// WithPlugins sets how plugins are started.
func WithPlugins(p PluginProvider) Option { return func(c *config) { c.provider = p } }

// WithLocker sets the run lock and how long to wait for it (--lock-timeout).
func WithLocker(l lock.Locker, wait time.Duration) Option {
	return func(c *config) { c.locker, c.lockWait = l, wait }
}

// WithOperator names who runs it (default user@host).
func WithOperator(op string) Option { return func(c *config) { c.operator = op } }

// WithRunID fixes the run id (default: a new sortable id).
func WithRunID(id string) Option { return func(c *config) { c.runID = id } }

// WithPrompter sets who answers confirmations and missing variables.
func WithPrompter(p Prompter) Option { return func(c *config) { c.prompter = p } }

// WithClock replaces the clock (tests, and `runbook test`'s virtual time).
func WithClock(clk Clock) Option { return func(c *config) { c.clock = clk } }

// WithVersion records the tool's version in the transcript.
func WithVersion(v string) Option { return func(c *config) { c.version = v } }

// WithPluginInfo records the version and checksum of each plugin.
func WithPluginInfo(info map[string]PluginInfo) Option {
	return func(c *config) { c.pluginInfo = info }
}

// WithResume continues an earlier run (--resume).
func WithResume(r *Resume) Option { return func(c *config) { c.resume = r } }

func defaultOperator() string {
	name := os.Getenv("USER")
	if name == "" {
		name = os.Getenv("LOGNAME")
	}
	if name == "" {
		if u, err := user.Current(); err == nil && u.Username != "" {
			name = u.Username
		}
	}
	if name == "" {
		name = fmt.Sprintf("uid%d", os.Getuid())
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "localhost"
	}
	return name + "@" + host
}
