package engine

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"sync"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/engine/lock"
	"github.com/runbookdev/runbook/plugins"

	"github.com/runbookdev/runbook/engine/exitcode"
)

// PluginProvider starts the plugins a run uses. Start is called once per run
// with every plugin name the runbook's actions use; it starts them (in
// parallel, for processes) and returns them by name. Close ends them all.
type PluginProvider interface {
	Start(ctx context.Context, names []string) (map[string]plugins.Plugin, error)
	Close() error
}

// InProcess is a PluginProvider over plugins that are already running, as in
// tests and `runbook test`.
type InProcess map[string]plugins.Plugin

// Start implements PluginProvider.
func (p InProcess) Start(_ context.Context, names []string) (map[string]plugins.Plugin, error) {
	out := make(map[string]plugins.Plugin, len(names))
	for _, name := range names {
		pl, ok := p[name]
		if !ok {
			return nil, fmt.Errorf("plugin %q is not available", name)
		}
		out[name] = pl
	}
	return out, nil
}

// Close implements PluginProvider; in-process plugins belong to their owner.
func (p InProcess) Close() error { return nil }

// Prompter asks the operator. The CLI implements it on the terminal; it is
// nil when nobody can be asked, and then confirmations are refused unless
// the run was started with --yes.
type Prompter interface {
	// Confirm asks a yes/no question; false means no.
	Confirm(ctx context.Context, question string) (bool, error)
	// Ask asks for a variable's value; sensitive input is not echoed.
	Ask(ctx context.Context, name, description string, sensitive bool) (string, error)
}

// StepPrompter is a Prompter that also wants to know which step asks, as
// `runbook test` does to answer from a test's answers map.
type StepPrompter interface {
	ConfirmStep(ctx context.Context, step, question string) (bool, error)
}

// VirtualClock is a Clock whose Sleep returns at once, moving the clock on:
// a test of a ten-minute `within` takes no time.
type VirtualClock struct {
	mu  sync.Mutex
	now time.Time
}

// NewVirtualClock returns a virtual clock starting at start.
func NewVirtualClock(start time.Time) *VirtualClock { return &VirtualClock{now: start} }

// Now implements Clock.
func (c *VirtualClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Sleep implements Clock.
func (c *VirtualClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return nil
}

// Clock is the engine's notion of time, virtual in tests.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx is done.
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

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
}

// WithVars sets variables from the command line (--var NAME=VALUE), raw.
func WithVars(vars map[string]string) Option { return func(c *config) { c.vars = vars } }

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

// Resume is what a resumed run takes from the run it continues (docs/execution.md, "Resume").
type Resume struct {
	// RunID of the earlier run.
	RunID string
	// Steps the earlier run recorded, by step name.
	Steps map[string]ResumedStep
	// Vars are the earlier run's recorded variable values; sensitive ones
	// were recorded as "(sensitive)" and must be given again.
	Vars map[string]json.RawMessage
}

// ResumedStep is what the earlier run recorded of a step.
type ResumedStep struct {
	// Status is the recorded status, or "unknown": the step started and
	// its result was never recorded.
	Status string
	// Output is the recorded output, as JSON.
	Output json.RawMessage
}

// InputError is bad input: variables that are missing, malformed or fail
// their validation. Exit code 2. Problems in a var file also come as HCL
// diagnostics (file, line, column), with the files for their snippets.
type InputError struct {
	Msg   string
	Diags hcl.Diagnostics
	Files map[string]*hcl.File
}

func (e *InputError) Error() string { return e.Msg }

// ExitCode implements the CLI's exit-code interface.
func (e *InputError) ExitCode() int { return exitcode.BadInput }

func inputErrorf(format string, args ...any) error {
	return &InputError{Msg: fmt.Sprintf(format, args...)}
}

// ErrNoOperator is returned when a confirmation is needed and nobody can
// answer it.
var ErrNoOperator = errors.New("a confirmation is needed, but there is no terminal to ask on; re-run on a terminal, or with --yes to approve every confirmation")

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
