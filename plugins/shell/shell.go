package shell

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
	"github.com/runbookdev/runbook/plugins/procgroup"
	"github.com/runbookdev/runbook/plugins/sdk"
	"github.com/runbookdev/runbook/plugins/traceprop"
)

// MaxOutput bounds how much of each of stdout and stderr is captured in the
// output (and streamed as progress). What goes past it is counted, not kept.
const MaxOutput = 1 << 20

// maxProgressLine bounds one progress line; a longer line is cut.
const maxProgressLine = 4096

// killGrace is how long a cancelled command's process group has between
// SIGTERM and SIGKILL. A variable so tests can shorten it.
var killGrace = 5 * time.Second

// pipeGrace is how long Apply waits, after bash exits, for background
// processes that still hold its stdout or stderr open.
var pipeGrace = 2 * time.Second

// defaultPath is the PATH a command gets when the host has none.
const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// New returns a shell plugin.
func New() plugins.Plugin { return compiled.New() }

// runArgs are shell.run's arguments, decoded and checked.
type runArgs struct {
	command  string
	dir      string
	env      map[string]string
	readOnly bool
}

func planRun(_ context.Context, req *sdk.Request) (*sdk.Plan, error) {
	args, _ := req.Args.Value().UnmarkDeep()
	if !args.IsKnown() || args.IsNull() {
		return &sdk.Plan{Changes: []string{"run: (command known after apply)"}}, nil
	}
	if readOnly.Matches(req.Args.Get("read_only")) {
		// Read-only runs are run by the host, not planned: nothing changes.
		return &sdk.Plan{}, nil
	}
	cmd := args.GetAttr("command")
	if !cmd.IsKnown() {
		return &sdk.Plan{Changes: []string{"run: (command known after apply)"}}, nil
	}
	if err := checkKnown(args); err != nil {
		return nil, err
	}
	return &sdk.Plan{Changes: []string{"run: " + summarize(cmd.AsString())}}, nil
}

func applyRun(ctx context.Context, req *sdk.Request) (any, error) {
	args, _ := req.Args.Value().UnmarkDeep()
	if !args.IsWhollyKnown() || args.IsNull() {
		return nil, fmt.Errorf("shell.run: arguments must be known to run")
	}
	if err := checkKnown(args); err != nil {
		return nil, err
	}
	ra := decode(args)
	if !ra.readOnly {
		// A command that changes things says so in its plan's words, as
		// every mutating action does.
		req.Progress("run: %s", summarize(ra.command))
	}
	return run(ctx, ra, func(line string) { req.Progress("%s", line) })
}

// checkKnown validates the known parts of the arguments.
func checkKnown(args cty.Value) error {
	if v := args.GetAttr("command"); v.IsKnown() {
		if v.IsNull() || strings.TrimSpace(v.AsString()) == "" {
			return &plugins.Error{Path: cty.GetAttrPath("command"), Summary: "Empty command", Detail: "shell.run needs a command to run."}
		}
		if strings.ContainsRune(v.AsString(), 0) {
			return &plugins.Error{Path: cty.GetAttrPath("command"), Summary: "Invalid command", Detail: "The command contains a NUL byte."}
		}
	}
	if v := args.GetAttr("env"); v.IsKnown() && !v.IsNull() {
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			name := k.AsString()
			path := cty.GetAttrPath("env").Index(k)
			if name == "" || strings.ContainsAny(name, "=\x00") {
				return &plugins.Error{Path: path, Summary: "Invalid environment variable name", Detail: fmt.Sprintf("%q cannot be a variable name: it is empty or holds '=' or a NUL byte.", name)}
			}
			if val.IsKnown() && !val.IsNull() && strings.ContainsRune(val.AsString(), 0) {
				return &plugins.Error{Path: path, Summary: "Invalid environment variable value", Detail: fmt.Sprintf("The value of %s contains a NUL byte.", name)}
			}
		}
	}
	return nil
}

func decode(args cty.Value) runArgs {
	ra := runArgs{command: args.GetAttr("command").AsString()}
	if v := args.GetAttr("dir"); !v.IsNull() {
		ra.dir = v.AsString()
	}
	if v := args.GetAttr("env"); !v.IsNull() {
		ra.env = make(map[string]string, v.LengthInt())
		for it := v.ElementIterator(); it.Next(); {
			k, val := it.Element()
			if !val.IsNull() {
				ra.env[k.AsString()] = val.AsString()
			}
		}
	}
	if v := args.GetAttr("read_only"); !v.IsNull() {
		ra.readOnly = v.True()
	}
	return ra
}

// summarize returns the first line of a command, cut to a readable length.
func summarize(command string) string {
	command = strings.TrimSpace(command)
	first, rest, multi := strings.Cut(command, "\n")
	first = strings.TrimSpace(first)
	const limit = 120
	if r := []rune(first); len(r) > limit {
		return string(r[:limit]) + "…"
	}
	if multi && strings.TrimSpace(rest) != "" {
		return first + " …"
	}
	return first
}

// environ is the command's environment: only the variables the runbook gives,
// plus PATH, HOME and LANG so that ordinary tools work. Nothing else of the
// host's environment (tokens, cloud credentials, …) reaches the command unless
// the runbook passes it on explicitly, so a runbook behaves the same whoever
// runs it. When ctx holds a span (the action's attempt), TRACEPARENT and
// TRACESTATE carry its trace context, so that a traced tool joins the run's
// trace.
func environ(ctx context.Context, given map[string]string) []string {
	base := map[string]string{
		"PATH": os.Getenv("PATH"),
		"HOME": os.Getenv("HOME"),
		"LANG": os.Getenv("LANG"),
	}
	if base["PATH"] == "" {
		base["PATH"] = defaultPath
	}
	if base["HOME"] == "" {
		if home, err := os.UserHomeDir(); err == nil {
			base["HOME"] = home
		} else {
			base["HOME"] = "/"
		}
	}
	if base["LANG"] == "" {
		base["LANG"] = "C.UTF-8"
	}
	for k, v := range traceEnv(ctx, given) {
		base[k] = v
	}
	for k, v := range given {
		base[k] = v
	}
	env := make([]string, 0, len(base))
	for k, v := range base {
		env = append(env, k+"="+v)
	}
	return env
}

// traceEnv is the trace context of ctx's span as environment variables:
// TRACEPARENT, and TRACESTATE when it is not empty, the names tools such as
// otel-cli read. It is empty when ctx has no valid span context, or when the
// runbook sets either variable itself: the two belong together, and the
// runbook's own then stand alone.
func traceEnv(ctx context.Context, given map[string]string) map[string]string {
	for _, name := range []string{"TRACEPARENT", "TRACESTATE"} {
		if _, ok := given[name]; ok {
			return nil
		}
	}
	fields := traceprop.Fields(ctx)
	env := make(map[string]string, len(fields))
	for k, v := range fields {
		env[strings.ToUpper(k)] = v
	}
	return env
}

// run runs the command in its own process group and returns the output
// object. A non-zero exit is reported in the output; only a command that
// cannot start or is cancelled is an error.
func run(ctx context.Context, ra runArgs, progress func(string)) (cty.Value, error) {
	if ra.dir != "" {
		info, err := os.Stat(ra.dir)
		if err != nil {
			return cty.NilVal, &plugins.Error{Path: cty.GetAttrPath("dir"), Summary: "Working directory not found", Detail: err.Error()}
		}
		if !info.IsDir() {
			return cty.NilVal, &plugins.Error{Path: cty.GetAttrPath("dir"), Summary: "Working directory is not a directory", Detail: ra.dir + " is a file."}
		}
	}

	var mu sync.Mutex // serializes progress calls from the two streams
	emit := func(line string) {
		if progress == nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		progress(line)
	}
	stdout := newCapture("", emit)
	stderr := newCapture("stderr: ", emit)

	cmd := procgroup.Command(ctx, ra.command)
	cmd.Dir = ra.dir
	cmd.Env = environ(ctx, ra.env)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.Grace = killGrace
	cmd.PipeGrace = pipeGrace
	exit, err := cmd.Run()
	if exit.OutputCut {
		emit("note: background processes still hold the command's output; what they write after it exited is not captured")
	}
	stdout.flush()
	stderr.flush()
	if err != nil {
		return cty.NilVal, fmt.Errorf("shell.run: %w", err)
	}

	return cty.ObjectVal(map[string]cty.Value{
		"exit_code": cty.NumberIntVal(int64(exit.Code)),
		"stdout":    cty.StringVal(stdout.text("stdout")),
		"stderr":    cty.StringVal(stderr.text("stderr")),
	}), nil
}

// capture keeps the first MaxOutput bytes of a stream and reports each
// complete line of what it keeps through emit.
type capture struct {
	prefix  string
	emit    func(string)
	mu      sync.Mutex
	buf     bytes.Buffer
	dropped int64
	partial []byte // the unfinished last line, not yet emitted
	cut     bool   // partial lost bytes to maxProgressLine
}

func newCapture(prefix string, emit func(string)) *capture {
	return &capture{prefix: prefix, emit: emit}
}

func (c *capture) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(p)
	room := MaxOutput - c.buf.Len()
	keep := p
	if len(keep) > room {
		keep = keep[:room]
	}
	c.dropped += int64(n - len(keep))
	c.buf.Write(keep)
	c.lines(keep)
	return n, nil
}

// lines emits the complete lines of p, keeping the rest for later.
func (c *capture) lines(p []byte) {
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			c.keepPartial(p)
			return
		}
		c.keepPartial(p[:i])
		c.emitPartial()
		p = p[i+1:]
	}
}

func (c *capture) keepPartial(p []byte) {
	if room := maxProgressLine - len(c.partial); len(p) > room {
		p = p[:room]
		c.cut = true
	}
	c.partial = append(c.partial, p...)
}

func (c *capture) emitPartial() {
	line := string(bytes.TrimSuffix(c.partial, []byte("\r")))
	if c.cut {
		line += "…"
	}
	c.emit(c.prefix + strings.ToValidUTF8(line, "\uFFFD"))
	c.partial = c.partial[:0]
	c.cut = false
}

// flush emits the unfinished last line, once the stream has ended.
func (c *capture) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.partial) > 0 {
		c.emitPartial()
	}
	if c.dropped > 0 {
		c.emit(fmt.Sprintf("%snote: output truncated at %d bytes; %d more bytes not captured", c.prefix, MaxOutput, c.dropped))
	}
}

// text is what was captured, valid UTF-8, with a note when it was cut.
func (c *capture) text(name string) string {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := strings.ToValidUTF8(c.buf.String(), "\uFFFD")
	if c.dropped > 0 {
		s += fmt.Sprintf("\n[runbook: %s truncated at %d bytes; %d more bytes not captured]\n", name, MaxOutput, c.dropped)
	}
	return s
}
