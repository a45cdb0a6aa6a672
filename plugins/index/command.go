package index

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/runbookdev/runbook/plugins/procgroup"
	"github.com/runbookdev/runbook/plugins/safefile"
)

// killGrace is how long a cancelled build_command's process group has
// between SIGTERM and SIGKILL. A variable so tests can shorten it.
var killGrace = 5 * time.Second

// pipeGrace is how long, once the command and its group are gone, its output
// is still read from a process that left the group and holds the pipes.
var pipeGrace = 2 * time.Second

// maxProgressLine bounds one streamed line of the command's output.
const maxProgressLine = 4096

// stderrTail is how many of the command's last stderr lines a failure quotes.
const stderrTail = 10

// commandBuilder builds with the plugin's build_command (see the package doc
// for its contract).
type commandBuilder struct {
	command string
}

func (c *commandBuilder) Build(ctx context.Context, req BuilderRequest) (*Manifest, error) {
	if err := c.run(ctx, req); err != nil {
		return nil, err
	}
	path := filepath.Join(req.Out, manifestFile)
	data, err := safefile.ReadFile(path, maxManifestSize)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("build_command exited 0 but wrote no %s into its output folder ($2, $RUNBOOK_INDEX_OUTPUT)", manifestFile)
	}
	if err != nil {
		return nil, fmt.Errorf("build_command: %w", err)
	}
	m, err := parseManifest(data, true)
	if err != nil {
		return nil, fmt.Errorf("build_command wrote an invalid %s: %w", manifestFile, err)
	}
	say(req.Progress, "build_command built %s", plural(m.DocCount, "document"))
	return m, nil
}

// run runs the command in its own process group and waits for it. The group
// is killed when ctx is done, when the command has exited (whatever it left
// running must not write into the build any more), and — through
// procgroup's watchdog — when this process dies first.
func (c *commandBuilder) run(ctx context.Context, req BuilderRequest) error {
	stdout := &lineSink{emit: req.Progress}
	stderr := &lineSink{emit: req.Progress, prefix: "stderr: ", tail: stderrTail}
	cmd := procgroup.Command(ctx, c.command, "runbook-index-build", req.Source, req.Out)
	cmd.Env = append(os.Environ(),
		"RUNBOOK_INDEX_NAME="+req.Name,
		"RUNBOOK_INDEX_VERSION="+req.Version,
		"RUNBOOK_INDEX_SOURCE="+req.Source,
		"RUNBOOK_INDEX_OUTPUT="+req.Out,
	)
	cmd.Stdout = stdout
	cmd.Stderr = stderr
	cmd.Grace = killGrace
	cmd.PipeGrace = pipeGrace
	cmd.KillLeftovers = true
	exit, err := cmd.Run()
	stdout.flush()
	stderr.flush()
	if err != nil {
		return fmt.Errorf("build_command: %w", err)
	}
	if exit.Code != 0 {
		msg := fmt.Sprintf("build_command exited with status %d", exit.Code)
		if tail := stderr.lastLines(); tail != "" {
			msg += "; its last stderr lines:\n" + tail
		}
		return errors.New(msg)
	}
	return nil
}

// lineSink streams what a command writes as progress lines, and keeps the
// last few lines for an error message.
type lineSink struct {
	emit    func(string)
	prefix  string
	tail    int
	mu      sync.Mutex
	partial []byte
	cut     bool
	last    []string
}

var _ io.Writer = (*lineSink)(nil)

func (s *lineSink) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		chunk := p
		if i >= 0 {
			chunk = p[:i]
		}
		if room := maxProgressLine - len(s.partial); len(chunk) > room {
			chunk = chunk[:room]
			s.cut = true
		}
		s.partial = append(s.partial, chunk...)
		if i < 0 {
			break
		}
		s.line()
		p = p[i+1:]
	}
	return n, nil
}

// line ends the current line.
func (s *lineSink) line() {
	text := validUTF8(bytes.TrimSuffix(s.partial, []byte("\r")))
	if s.cut {
		text += "…"
	}
	s.partial, s.cut = s.partial[:0], false
	say(s.emit, "%s%s", s.prefix, text)
	if s.tail > 0 {
		s.last = append(s.last, text)
		if len(s.last) > s.tail {
			s.last = s.last[1:]
		}
	}
}

func (s *lineSink) flush() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.partial) > 0 {
		s.line()
	}
}

func (s *lineSink) lastLines() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return strings.Join(s.last, "\n")
}
