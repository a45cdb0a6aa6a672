package exec

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/runbookdev/runbook/cmd/runbook/internal/build"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/cmd/runbook/internal/telemetry"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/cmd/runbook/internal/view"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/lock"
	"github.com/runbookdev/runbook/engine/notify"
	"github.com/runbookdev/runbook/engine/store"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/plugins/procgroup"
	"github.com/runbookdev/runbook/schema"
)

// Options are the inputs of `runbook exec`.
type Options struct {
	*cmdutil.Factory
	Name        string
	Vars        []string
	VarFiles    []string
	DryRun      bool
	Yes         bool
	Resume      string
	Transcript  string
	LockTimeout time.Duration
	// Out saves the dry-run's plan; Plan applies a saved one.
	Out        string
	Plan       string
	MaxPlanAge time.Duration
	// Offline runs without the transcript store --store names.
	Offline bool
	// Key is the operator's SSH key (a private key, or a public key whose
	// private key is in ssh-agent), when allowed_signers asks for one.
	Key string
	// Agent names the client of an agent's run (engine.WithAgent); "" for
	// a person's run.
	Agent string
	// RunID is the run's id when the caller chose it (a run requested
	// through `runbook mcp`); "" for a new one.
	RunID string
}

// NewCmdExec makes `runbook exec`; runF, when not nil, runs instead of the command
// (for tests of the flags).
func NewCmdExec(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f}
	cmd := &cobra.Command{
		Use:   "exec NAME | exec --plan FILE",
		Short: "Run a runbook; --dry-run rehearses it",
		Long: `Run a runbook: resolve its variables, take its lock, and take each step in
order — when, preconditions, confirmation, action, expectations — recording
everything in a transcript under --state-dir.

--dry-run rehearses it with real inputs and no side effects: read-only actions
really run, mutating ones are planned, nothing is asked and no lock is taken.
With --out FILE it saves the plan for review (runbook show --plan FILE).

--plan FILE applies a saved plan: the runbook, its variables and plugins must
be those the plan was made with (sensitive variables are given again, by
environment or prompt), and each mutating step acts only if its object is
still as planned; a step the plan did not plan fails.

Exit status: 0 succeeded, 1 a step failed (or its object moved since the
plan), 2 bad input, 3 refused (lock held, confirmation declined, or a saved
plan that no longer fits), 130 interrupted.

--agent NAME runs it as an AI agent's request (runbook mcp starts such runs):
the operator is agent:NAME, nothing is asked at the terminal, and every step
that changes state, asks a confirmation or is manual waits for people's
signed approvals in the transcript store (runbook approve).`,
		Args:              cmdutil.UsageArgs(cobra.MaximumNArgs(1)),
		ValidArgsFunction: f.CompleteRunbooks,
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			if err := opts.checkPlanFlags(cmd, args); err != nil {
				return err
			}
			if err := opts.checkAgentFlags(); err != nil {
				return err
			}
			if len(args) == 1 {
				opts.Name = args[0]
			}
			return cmdutil.Run(opts, runF, func(o *Options) error { return runExec(cmd.Context(), o) })
		}),
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&opts.Vars, "var", nil, "set a variable: NAME=VALUE (repeatable; non-strings are HCL literals)")
	fl.StringArrayVar(&opts.VarFiles, "var-file", nil, "read variables from a .hcl or .json file (repeatable)")
	fl.BoolVar(&opts.DryRun, "dry-run", false, "rehearse: run read-only actions, plan the others, change nothing")
	fl.BoolVar(&opts.Yes, "yes", false, "approve every confirmation (recorded as such)")
	fl.StringVar(&opts.Transcript, "transcript", "", "also write the transcript to this file")
	fl.StringVar(&opts.Resume, "resume", "", "continue a failed or interrupted run (its id or a unique prefix) from its first unfinished step")
	fl.DurationVar(&opts.LockTimeout, "lock-timeout", 0, "wait this long for the run's lock instead of refusing at once")
	fl.StringVar(&opts.Out, "out", "", "with --dry-run: save the plan to this file, to review and apply with --plan")
	fl.StringVar(&opts.Plan, "plan", "", "apply the plan saved in this file (instead of NAME and --var)")
	fl.DurationVar(&opts.MaxPlanAge, "max-plan-age", time.Hour, "with --plan: refuse a plan made longer ago than this")
	fl.StringVar(&opts.Key, "key", "", "sign the run with this SSH key (a private key file, or a .pub whose key is in ssh-agent) when the directory has allowed_signers")
	fl.BoolVar(&opts.Offline, "offline", false, "run without the transcript store (--store): only the local transcript; ship it later with runbook transcript push")
	fl.StringVar(&opts.Agent, "agent", "", "run as the request of the AI agent NAME: every step that changes state waits for people's approvals")
	fl.StringVar(&opts.RunID, "run-id", "", "use this run id (as runbook exec makes them) instead of a new one")
	_ = fl.MarkHidden("run-id")
	return cmd
}

func runExec(parent context.Context, opts *Options) error {
	// The binary's checksum goes into the transcript; hashing it takes as
	// long as loading the runbooks, so both happen at once (pluginInfo
	// waits for the result).
	go resolver.SelfSHA256()
	in, err := prepare(opts)
	if err != nil {
		return err
	}
	id, err := operatorIdentity(opts, in.cfg)
	if err != nil {
		return err
	}
	locker, st, err := backends(parent, opts)
	if err != nil {
		return err
	}

	ctx, stop := interruptible(opts.IO, parent)
	defer stop()
	tel := startTelemetry(ctx, opts)
	defer stopTelemetry(ctx, opts, tel)
	ctx = telemetry.FromEnvironment(ctx, os.Getenv)

	// External plugin processes start now, while the run is prepared,
	// rather than after run_started; a run that never starts (bad
	// variables, the lock held) closes them again.
	provider := opts.Resolver.Provider(in.cfg)
	defer provider.Close()
	provider.Prestart(ctx, engine.UsedPlugins(in.rb))

	runID := opts.RunID
	if runID == "" {
		runID = engine.NewRunID(time.Now())
	}
	tw, err := createTranscript(opts, runID)
	if err != nil {
		return err
	}
	defer tw.Close()

	hooks, shipping := runHooks(opts, tw, st, runID)
	engineOpts := append(in.engineOptions(opts),
		engine.WithRunID(runID),
		engine.WithHooks(hooks...),
		// With a store, every event is shipped as it is recorded, so that
		// `transcript follow` sees a read-only step or a dry-run at once.
		engine.WithLive(st != nil),
		engine.WithPlugins(provider),
		engine.WithLocker(locker, opts.LockTimeout),
		engine.WithNotify(notify.NewSender(build.Version()), in.cfg.NotifyFor(in.rb)),
		engine.WithTranscriptHead(tw.Head),
	)
	var broker engine.ApprovalBroker
	if st != nil {
		broker = st
	}
	engineOpts = append(engineOpts, approvalOptions(opts, in.cfg, id, broker)...)
	engineOpts = append(engineOpts, engine.WithTracer(tel.Tracer()))
	res, err := engine.Run(ctx, in.cfg, in.rb, engineOpts...)
	if shipping != nil {
		closeShipping(opts, shipping, err == nil)
	}
	if err != nil {
		// The run never started: nothing to record.
		tw.Close()
		os.Remove(tw.Path())
		return notStarted(ctx, opts, err)
	}
	if err := savePlan(opts, res, tw.Head()); err != nil {
		return err
	}
	if res.ExitCode != 0 {
		return cmdutil.SilentExit(res.ExitCode)
	}
	return nil
}

// shipTimeout bounds how long the end of a run waits for the store to take
// the events still queued: the run never hangs on the store.
const shipTimeout = 5 * time.Second

// openStore opens the transcript store --store names, unless --offline: a
// store that cannot be reached refuses the run (exit 3), naming --offline.
func openStore(ctx context.Context, opts *Options) (*store.Store, error) {
	if opts.Offline {
		return nil, nil
	}
	st, err := opts.Store(ctx)
	var unreachable *store.UnreachableError
	if errors.As(err, &unreachable) {
		return nil, cmdutil.Exitf(exitcode.Refused, "%s\nNothing ran. Run with --offline to run without the store, and ship the transcript later with `runbook transcript push RUNID`.", err)
	}
	return st, err
}

// closeShipping waits a bounded time for the store to have the whole run,
// and says on stderr which events it lacks; the run's exit code is not
// changed. started is false for a run that never started, whose shipper
// only stops.
func closeShipping(opts *Options, h *store.FileHook, started bool) {
	timeout := shipTimeout
	if !started {
		timeout = 0
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	err := h.Close(ctx)
	if err == nil || !started {
		return
	}
	cs := opts.IO.ErrColorScheme()
	fmt.Fprintf(opts.IO.ErrOut, "%s %s\n", cs.Yellow("!"), text.Visible(err.Error()))
}

// backends are where the run takes its lock (--lock-url) and ships its
// transcript (--store; nil for none, or --offline).
func backends(ctx context.Context, opts *Options) (lock.Locker, *store.Store, error) {
	locker, err := lock.FromURL(opts.Global.LockURL, lockDir(opts.Global.StateDir))
	if err != nil {
		return nil, nil, cmdutil.Exitf(exitcode.BadInput, "--lock-url: %s", err)
	}
	st, err := openStore(ctx, opts)
	if err != nil {
		return nil, nil, err
	}
	return locker, st, nil
}

// runHooks are the hooks of a run, in order: the transcript, then what
// ships it to the store (shipping, nil without one), then the terminal
// view.
func runHooks(opts *Options, tw *transcript.Writer, st *store.Store, runID string) (hooks []engine.Hook, shipping *store.FileHook) {
	runView := view.NewRun(opts.IO.Out, opts.IO.ColorScheme(), view.RunOptions{
		Transcript: tw.Path(),
		Head:       tw.Head,
		AskedHere:  opts.IO.CanPrompt() && opts.IO.IsStdoutTTY() && opts.IO.IsStderrTTY(),
		TTY:        opts.IO.IsStdoutTTY(),
	})
	hooks = []engine.Hook{engine.TranscriptHook(tw)}
	if st != nil {
		// Right after the transcript hook: it ships what that hook has
		// just made durable (docs/store.md, "When the store is down").
		shipping = store.NewFileHook(tw.Path(), st.NewShipper(runID))
		hooks = append(hooks, shipping)
	}
	return append(hooks, runView), shipping
}

// createTranscript creates the run's transcript under the state directory
// (and its copy, --transcript): nothing runs unless it can be written.
func createTranscript(opts *Options, runID string) (*transcript.Writer, error) {
	var topts []transcript.Option
	if opts.Transcript != "" {
		topts = append(topts, transcript.WithCopy(opts.Transcript))
	}
	dir := transcript.Dir(opts.Global.StateDir)
	tw, err := transcript.Create(dir, runID, topts...)
	if opts.RunID != "" && errors.Is(err, fs.ErrExist) && exists(filepath.Join(dir, transcript.FileName(runID))) {
		return nil, cmdutil.Exitf(exitcode.BadInput, "--run-id %s: a run with this id exists already, so nothing will run: %s", runID, err)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot write the transcript, so nothing will run: %w", err)
	}
	return tw, nil
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// inputs are what a run is made of, read before anything starts: the
// runbooks, the one to run, its variables, and the plan or the run it
// continues.
type inputs struct {
	cfg     *schema.Config
	rb      *schema.Runbook
	vars    map[string]string
	applied *engine.ApplyPlan
	resume  *engine.Resume
}

// prepare reads the inputs of a run and refuses bad ones.
func prepare(opts *Options) (*inputs, error) {
	cfg, err := opts.LoadValid(resolver.Launch)
	if err != nil {
		return nil, err
	}
	in := &inputs{cfg: cfg, vars: map[string]string{}}
	if opts.Plan != "" {
		if in.applied, err = cmdutil.ReadPlan(opts.Plan); err != nil {
			return nil, err
		}
		in.applied.MaxAge = opts.MaxPlanAge
		opts.Name = in.applied.Plan.Runbook
		if err := checkDryRun(opts.Global.StateDir, in.applied.Plan); err != nil {
			return nil, err
		}
	}
	if in.rb, err = cmdutil.FindRunbook(cfg, opts.Global.Dir, opts.Name); err != nil {
		return nil, err
	}
	if err := refuseCommands(cfg, in.rb, procgroup.Supported); err != nil {
		return nil, err
	}
	for _, arg := range opts.Vars {
		name, value, err := engine.ParseVarFlag(arg)
		if err != nil {
			return nil, err
		}
		in.vars[name] = value
	}
	if opts.Resume != "" {
		if in.resume, err = resumeFrom(opts, cfg, in.rb, opts.Resume); err != nil {
			return nil, err
		}
	}
	return in, nil
}

// engineOptions are the run's options that follow from its inputs and flags.
func (in *inputs) engineOptions(opts *Options) []engine.Option {
	o := []engine.Option{
		engine.WithVars(in.vars),
		engine.WithVarFiles(opts.VarFiles...),
		engine.WithDryRun(opts.DryRun),
		engine.WithYes(opts.Yes),
		engine.WithVersion(build.Version()),
		engine.WithPluginInfo(opts.Resolver.Info(in.cfg)),
	}
	if in.resume != nil {
		o = append(o, engine.WithResume(in.resume))
	}
	if in.applied != nil {
		o = append(o, engine.WithPlan(in.applied))
	}
	if opts.Agent != "" {
		// An agent's run asks nobody at the terminal: a missing variable
		// is an error, and people approve its steps in the store.
		return append(o, engine.WithAgent(opts.Agent))
	}
	if opts.IO.CanPrompt() {
		o = append(o, engine.WithPrompter(&termPrompter{io: opts.IO}))
	}
	return o
}

// notStarted is the error of a run that never started.
func notStarted(ctx context.Context, opts *Options, err error) error {
	if errors.Is(err, context.Canceled) && ctx.Err() != nil {
		return cmdutil.Exitf(exitcode.Interrupted, "interrupted before the run started: nothing ran")
	}
	var input *engine.InputError
	if errors.As(err, &input) && len(input.Diags) > 0 {
		// A var file's problems, each with its source line.
		opts.PrintDiagnostics(input.Files, input.Diags)
		return cmdutil.SilentExit(exitcode.BadInput)
	}
	return err
}

func lockDir(stateDir string) string { return stateDir + string(os.PathSeparator) + "locks" }

// interruptible returns a context cancelled by the first SIGINT or SIGTERM;
// a second one exits at once with 130.
func interruptible(streams *iostreams.IOStreams, parent context.Context) (context.Context, func()) {
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	var wg sync.WaitGroup
	done := make(chan struct{})
	wg.Go(func() {
		select {
		case <-sigs:
			fmt.Fprintln(streams.ErrOut, "\nInterrupted: stopping the run (press Ctrl-C again to exit at once)…")
			cancel()
		case <-done:
			return
		}
		select {
		case <-sigs:
			fmt.Fprintln(streams.ErrOut, "Exiting now.")
			os.Exit(exitcode.Interrupted)
		case <-done:
		}
	})
	return ctx, func() {
		signal.Stop(sigs)
		close(done)
		wg.Wait()
		cancel()
	}
}

// termPrompter asks on the terminal.
type termPrompter struct {
	io *iostreams.IOStreams
	mu sync.Mutex
	in *bufio.Reader
}

func (p *termPrompter) reader() *bufio.Reader {
	if p.in == nil {
		p.in = bufio.NewReader(p.io.In)
	}
	return p.in
}

// readLine reads one line, giving up when ctx is cancelled.
func (p *termPrompter) readLine(ctx context.Context) (string, error) {
	type result struct {
		line string
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		line, err := p.reader().ReadString('\n')
		ch <- result{strings.TrimSpace(line), err}
	}()
	select {
	case r := <-ch:
		if r.err != nil && r.line == "" {
			return "", fmt.Errorf("reading the answer: %w", r.err)
		}
		return r.line, nil
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// Confirm implements engine.Prompter: "yes" or "y" approves, "no" or "n"
// declines; any other answer, an empty one included, asks again, saying
// what is accepted, rather than being taken for a no.
func (p *termPrompter) Confirm(ctx context.Context, question string) (bool, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for {
		fmt.Fprintf(p.io.ErrOut, "      %s %s %s ", p.io.ErrColorScheme().Cyan("?"), p.io.ErrColorScheme().Bold(text.Visible(question)), p.io.ErrColorScheme().Faint("[yes/no]"))
		line, err := p.readLine(ctx)
		if errors.Is(err, io.EOF) {
			// Nobody is left to answer: that is not a yes.
			fmt.Fprintln(p.io.ErrOut)
			return false, nil
		}
		if err != nil {
			return false, err
		}
		switch strings.ToLower(line) {
		case "y", "yes":
			return true, nil
		case "n", "no":
			return false, nil
		}
		fmt.Fprintf(p.io.ErrOut, "      %s\n", p.io.ErrColorScheme().Yellow(fmt.Sprintf("Please answer yes or no (y or n), not %q.", text.VisibleLine(line))))
	}
}

// Ask implements engine.Prompter; sensitive values are not echoed.
func (p *termPrompter) Ask(ctx context.Context, name, description string, sensitive bool) (string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	label := name
	if description != "" {
		label += " (" + description + ")"
	}
	fmt.Fprintf(p.io.ErrOut, "%s %s: ", p.io.ErrColorScheme().Cyan("var."+text.VisibleLine(name)), p.io.ErrColorScheme().Faint(text.Visible(label)))
	if sensitive {
		if f, ok := p.io.In.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
			return p.readSecret(ctx, int(f.Fd()), name)
		}
	}
	return p.readLine(ctx)
}

// readSecret reads a line without echo, giving up when ctx is cancelled (the
// first Ctrl-C): the terminal gets its echo back either way.
func (p *termPrompter) readSecret(ctx context.Context, fd int, name string) (string, error) {
	saved, err := term.GetState(fd)
	if err != nil {
		return "", fmt.Errorf("reading %s: %w", name, err)
	}
	type result struct {
		b   []byte
		err error
	}
	ch := make(chan result, 1)
	go func() {
		// Left blocked on the terminal when ctx is cancelled; the run is
		// stopping and exits soon after.
		b, err := term.ReadPassword(fd)
		ch <- result{b, err}
	}()
	select {
	case r := <-ch:
		fmt.Fprintln(p.io.ErrOut)
		if r.err != nil {
			return "", fmt.Errorf("reading %s: %w", name, r.err)
		}
		return string(r.b), nil
	case <-ctx.Done():
		_ = term.Restore(fd, saved)
		fmt.Fprintln(p.io.ErrOut)
		return "", ctx.Err()
	}
}

// resumeFrom reads the run to resume and refuses what cannot be resumed
// safely: another runbook, a dry-run, a finished run, a tampered transcript,
// or a runbook or plugin that changed since.
func resumeFrom(opts *Options, cfg *schema.Config, rb *schema.Runbook, id string) (*engine.Resume, error) {
	dir := transcript.Dir(opts.Global.StateDir)
	path, err := transcript.Find(dir, id)
	if err != nil {
		return nil, cmdutil.Exitf(exitcode.BadInput, "--resume: %s", err)
	}
	report, err := transcript.Verify(path)
	if err != nil {
		return nil, cmdutil.Exitf(exitcode.BadInput, "--resume: %s", err)
	}
	if report.Problem != nil {
		return nil, cmdutil.Exitf(exitcode.BadInput, "--resume: the transcript %s does not verify (%s); it cannot be trusted to resume from", path, report.Problem)
	}
	t, err := transcript.Read(path)
	if err != nil {
		return nil, cmdutil.Exitf(exitcode.BadInput, "--resume: %s", err)
	}
	started, err := t.RunStarted()
	if err != nil {
		return nil, cmdutil.Exitf(exitcode.BadInput, "--resume: %s", err)
	}
	switch {
	case started.Runbook != rb.Name:
		return nil, cmdutil.Exitf(exitcode.BadInput, "--resume: run %s is of runbook %q, not %q", started.RunID, started.Runbook, rb.Name)
	case started.Mode != engine.ModeRun:
		return nil, cmdutil.Exitf(exitcode.BadInput, "--resume: run %s was a dry-run; there is nothing to resume", started.RunID)
	case t.Status() == engine.StatusSucceeded:
		return nil, cmdutil.Exitf(exitcode.BadInput, "--resume: run %s succeeded; there is nothing to resume", started.RunID)
	case started.Plan != nil:
		// The rest of the run would act on what nobody reviewed.
		return nil, cmdutil.Exitf(exitcode.BadInput, "--resume: run %s applied the saved plan of dry-run %s, which no longer held; make a new plan (runbook exec %s --dry-run --out FILE), review it, and apply that", started.RunID, started.Plan.DryRun, rb.Name)
	}
	if now := engine.SourceSHA256(rb.Filename); now != started.Source.SHA256 {
		return nil, cmdutil.Exitf(exitcode.BadInput, "--resume: %s changed since run %s (sha256 %s, now %s); resuming would run a different procedure — start a new run", rb.Filename, started.RunID, text.Short(started.Source.SHA256), text.Short(now))
	}
	if err := pluginsUnchanged(opts, cfg, started); err != nil {
		return nil, err
	}
	r := &engine.Resume{RunID: started.RunID, Vars: started.Vars, Steps: map[string]engine.ResumedStep{}}
	for _, s := range t.Steps() {
		r.Steps[s.Name] = engine.ResumedStep{Status: s.Status, Output: s.Output}
	}
	return r, nil
}

// pluginsUnchanged refuses to resume when a plugin the run used, or its
// configuration, changed since: the steps that succeeded acted through
// what was there then.
func pluginsUnchanged(opts *Options, cfg *schema.Config, started transcript.RunStarted) error {
	current := opts.Resolver.Info(cfg)
	for _, name := range slices.Sorted(maps.Keys(started.Plugins)) {
		was := started.Plugins[name]
		if now := current[name]; now.SHA256 != was.SHA256 {
			return cmdutil.Exitf(exitcode.BadInput, "--resume: plugin %q changed since run %s (sha256 %s, now %s); start a new run", name, started.RunID, text.Short(was.SHA256), text.Short(now.SHA256))
		}
		// A transcript from before configurations were recorded has none
		// to compare.
		if was.Config == "" {
			continue
		}
		now, err := engine.PluginConfigSHA256(cfg, name)
		if err != nil {
			return cmdutil.Exitf(exitcode.BadInput, "--resume: %s", err)
		}
		if now != was.Config {
			where := "its plugin block"
			if decl := cfg.Plugins[name]; decl != nil {
				where = fmt.Sprintf("its plugin block (%s:%d)", decl.DeclRange.Filename, decl.DeclRange.Start.Line)
			}
			return cmdutil.Exitf(exitcode.BadInput, "--resume: the configuration of plugin %q changed since run %s: %s now points it elsewhere (its paths, URLs or backend differ), so the steps that succeeded acted on other state than this run would; start a new run, or restore the configuration to resume", name, started.RunID, where)
		}
	}
	return nil
}

// startTelemetry sets up tracing from the environment (docs/telemetry.md).
// A configuration it cannot use is a warning: tracing never stops a run.
func startTelemetry(ctx context.Context, opts *Options) *telemetry.Telemetry {
	tel, err := telemetry.Setup(ctx, telemetry.Options{Getenv: os.Getenv, Version: build.Version()})
	if err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "%s %s\n", opts.IO.ErrColorScheme().Yellow("warning:"), text.VisibleLine(err.Error()))
	}
	return tel
}

// stopTelemetry exports the spans still queued, at most
// telemetry.ShutdownTimeout, and says once if any could not be.
func stopTelemetry(ctx context.Context, opts *Options, tel *telemetry.Telemetry) {
	if err := tel.Shutdown(ctx); err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "%s %s\n", opts.IO.ErrColorScheme().Yellow("warning:"), text.VisibleLine(err.Error()))
	}
}
