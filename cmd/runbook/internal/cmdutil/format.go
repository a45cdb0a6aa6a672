package cmdutil

import (
	"encoding/json"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/transcript"
)

// AddFormatFlag adds --format to cmd, "text" by default, one of formats
// (text first), with shell completion.
func AddFormatFlag(cmd *cobra.Command, p *string, formats ...string) {
	cmd.Flags().StringVar(p, "format", formats[0], "output format: "+strings.Join(formats, " or "))
	_ = cmd.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// CheckFormat refuses a --format that is not one of formats ("" is the
// default, text).
func CheckFormat(format string, formats ...string) error {
	if format == "" || slices.Contains(formats, format) {
		return nil
	}
	return Exitf(exitcode.BadInput, "unknown --format %q: use %s", format, strings.Join(formats, " or "))
}

// WriteJSON writes v as indented JSON and a newline: the --format json
// output of every command (docs/commands.md, "JSON output"). Strings are
// written as they are, escaped by JSON, not made visible: a script reads
// them, not a terminal.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(v)
}

// RunJSON is a recorded run in JSON output (`list`, `transcript list`).
type RunJSON struct {
	RunID      string    `json:"run_id"`
	Runbook    string    `json:"runbook"`
	Mode       string    `json:"mode"`
	Operator   string    `json:"operator"`
	Started    time.Time `json:"started"`
	Status     string    `json:"status"`
	DurationMS int64     `json:"duration_ms"`
}

// RunOf is s in JSON output; nil for nil.
func RunOf(s *transcript.Summary) *RunJSON {
	if s == nil {
		return nil
	}
	return &RunJSON{RunID: s.RunID, Runbook: s.Runbook, Mode: s.Mode, Operator: s.Operator,
		Started: s.Started.UTC(), Status: s.Status, DurationMS: s.Duration.Milliseconds()}
}
