package iostreams

import (
	"bytes"
	"io"
	"os"

	"github.com/mattn/go-isatty"
)

// IOStreams owns the terminal decisions: where output goes, whether colour
// is on, and whether a person can be asked a question.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	stdinTTY, stdoutTTY, stderrTTY bool
	// colorOff is set by --no-color and NO_COLOR.
	colorOff bool
	// width of the terminal, for wrapping diagnostics.
	width int
}

// System returns streams on the process's standard files.
func System() *IOStreams {
	isTTY := func(f *os.File) bool {
		return isatty.IsTerminal(f.Fd()) || isatty.IsCygwinTerminal(f.Fd())
	}
	_, noColor := os.LookupEnv("NO_COLOR")
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		stdinTTY:  isTTY(os.Stdin),
		stdoutTTY: isTTY(os.Stdout),
		stderrTTY: isTTY(os.Stderr),
		colorOff:  noColor,
		width:     100,
	}
}

// Test returns streams on buffers, as if no terminal were attached.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut, width: 100}, in, out, errOut
}

// SetTTY pretends the given streams are terminals (for tests).
func (s *IOStreams) SetTTY(stdin, stdout, stderr bool) {
	s.stdinTTY, s.stdoutTTY, s.stderrTTY = stdin, stdout, stderr
}

// DisableColor turns colour off (--no-color).
func (s *IOStreams) DisableColor() { s.colorOff = true }

// ColorEnabled reports whether stdout gets colour.
func (s *IOStreams) ColorEnabled() bool { return !s.colorOff && s.stdoutTTY }

// ErrColorEnabled reports whether stderr gets colour.
func (s *IOStreams) ErrColorEnabled() bool { return !s.colorOff && s.stderrTTY }

// CanPrompt reports whether a person can answer a question: stdin is a
// terminal. Questions go to stderr, so they are seen even when stdout is
// piped (`runbook exec … | tee incident.log`). It never depends on colour.
func (s *IOStreams) CanPrompt() bool { return s.stdinTTY }

// ColorScheme paints text for stdout.
func (s *IOStreams) ColorScheme() *ColorScheme { return NewColorScheme(s.ColorEnabled()) }

// ErrColorScheme paints text for stderr.
func (s *IOStreams) ErrColorScheme() *ColorScheme { return NewColorScheme(s.ErrColorEnabled()) }

// IsStdoutTTY reports whether stdout is a terminal.
func (s *IOStreams) IsStdoutTTY() bool { return s.stdoutTTY }

// IsStderrTTY reports whether stderr is a terminal.
func (s *IOStreams) IsStderrTTY() bool { return s.stderrTTY }

// Width is the terminal width used to wrap text.
func (s *IOStreams) Width() int { return s.width }
