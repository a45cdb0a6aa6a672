package mcpcmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// Run is a recorded run, as `runbook transcript list --format json` gives it.
type Run struct {
	RunID      string    `json:"run_id" jsonschema:"the run's id"`
	Runbook    string    `json:"runbook" jsonschema:"the runbook's name"`
	Mode       string    `json:"mode" jsonschema:"run or dry-run"`
	Operator   string    `json:"operator" jsonschema:"who ran it: user@host, or agent:NAME for a run an agent requested"`
	Started    time.Time `json:"started" jsonschema:"when it started"`
	Status     string    `json:"status" jsonschema:"succeeded, failed, declined, interrupted, running, …"`
	DurationMS int64     `json:"duration_ms" jsonschema:"how long it took, in milliseconds"`
	LocalOnly  bool      `json:"local_only,omitempty" jsonschema:"the transcript store does not have this run yet"`
}

type listRunbooksIn struct{}

// RunbookSummary is one runbook of `runbook list --format json`.
type RunbookSummary struct {
	Name          string     `json:"name"`
	Owner         string     `json:"owner"`
	Description   string     `json:"description"`
	File          string     `json:"file" jsonschema:"the file that holds it"`
	Steps         int        `json:"steps" jsonschema:"how many steps it has"`
	Required      []string   `json:"required" jsonschema:"the variables without a default, which a run must be given"`
	LastRun       *Run       `json:"last_run" jsonschema:"the last real run, null when none"`
	LastDryRun    *Run       `json:"last_dry_run" jsonschema:"the last rehearsal, null when none"`
	LastSucceeded *time.Time `json:"last_succeeded" jsonschema:"when the last successful run or rehearsal started"`
}

type listRunbooksOut struct {
	Runbooks []RunbookSummary `json:"runbooks"`
}

type showRunbookIn struct {
	Name string `json:"name" jsonschema:"the runbook's name (list_runbooks gives them)"`
}

// Variable is one of a runbook's variables.
type Variable struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Type        string `json:"type" jsonschema:"its type, as the language writes it: string, number, bool, list(string), …"`
	Required    bool   `json:"required" jsonschema:"it has no default: a run must be given it"`
	Default     string `json:"default,omitempty" jsonschema:"its default's source"`
	Sensitive   bool   `json:"sensitive" jsonschema:"its value is a secret: it is never shown or recorded"`
}

// StepSummary is one of a runbook's steps, as `runbook show` describes it.
type StepSummary struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Owner       string `json:"owner"`
	When        string `json:"when,omitempty" jsonschema:"the condition under which the step runs"`
	Confirm     string `json:"confirm,omitempty" jsonschema:"the question a person must answer before it acts"`
	Manual      string `json:"manual,omitempty" jsonschema:"instructions a person carries out"`
	Action      *struct {
		Name   string `json:"name" jsonschema:"plugin.action"`
		Effect string `json:"effect" jsonschema:"read-only, changes state, or read-only when ARG is VALUES"`
	} `json:"action,omitempty"`
}

type showRunbookOut struct {
	Name        string        `json:"name"`
	Description string        `json:"description"`
	Owner       string        `json:"owner"`
	Tags        []string      `json:"tags"`
	File        string        `json:"file"`
	Variables   []Variable    `json:"variables"`
	Steps       []StepSummary `json:"steps"`
	// Page is the runbook's page, as `runbook docs` writes it.
	Text string `json:"text" jsonschema:"the runbook as runbook show prints it"`
}

type validateIn struct{}

// Diagnostic is one problem `runbook validate` found.
type Diagnostic struct {
	Severity string `json:"severity" jsonschema:"error or warning"`
	Summary  string `json:"summary"`
	Detail   string `json:"detail"`
	Range    *struct {
		Filename string `json:"filename"`
		Start    struct {
			Line   int `json:"line"`
			Column int `json:"column"`
		} `json:"start"`
	} `json:"range,omitempty" jsonschema:"where the problem is"`
}

type validateOut struct {
	Valid        bool         `json:"valid" jsonschema:"no errors (warnings allowed)"`
	ErrorCount   int          `json:"error_count"`
	WarningCount int          `json:"warning_count"`
	Diagnostics  []Diagnostic `json:"diagnostics"`
	Text         string       `json:"text" jsonschema:"the problems as runbook validate prints them, each with its source line"`
}

type getTranscriptIn struct {
	RunID string `json:"run_id" jsonschema:"the run's id, or a unique prefix of it"`
}

type getTranscriptOut struct {
	RunID string `json:"run_id"`
	Chain struct {
		Intact   bool   `json:"intact" jsonschema:"the hash chain verifies: nothing was changed or removed"`
		Problem  string `json:"problem" jsonschema:"why it does not verify"`
		Events   int    `json:"events"`
		Head     string `json:"head" jsonschema:"the hash of the last record"`
		Finished bool   `json:"finished" jsonschema:"the run has ended"`
	} `json:"chain"`
	Status string           `json:"status" jsonschema:"how the run ended, or running"`
	Events []map[string]any `json:"events" jsonschema:"every record of the transcript, as recorded"`
	Text   string           `json:"text" jsonschema:"the run as runbook transcript show renders it"`
}

type listRunsIn struct {
	Runbook string `json:"runbook,omitempty" jsonschema:"only the runs of this runbook"`
	Status  string `json:"status,omitempty" jsonschema:"only the runs with this status"`
	Since   string `json:"since,omitempty" jsonschema:"only the runs started since: a duration back from now (24h, 7d) or a date"`
}

type listRunsOut struct {
	Runs []Run `json:"runs" jsonschema:"newest first"`
}

// addReadTools adds the tools that only read.
func (s *server) addReadTools() {
	ro := &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(false)}
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "list_runbooks", Annotations: ro,
		Description: "The runbooks of the directory: name, owner, description, steps, the variables a run needs, the last run and rehearsal."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ listRunbooksIn) (*mcp.CallToolResult, listRunbooksOut, error) {
			var out listRunbooksOut
			res, err := s.jsonTool(ctx, &out, "list", "--format", "json")
			return res, out, err
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "show_runbook", Annotations: ro,
		Description: "One runbook: its variables and each step's condition, confirmation, action (and whether it changes state) and checks."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in showRunbookIn) (*mcp.CallToolResult, showRunbookOut, error) {
			var out showRunbookOut
			if err := needName(in.Name); err != nil {
				return nil, out, err
			}
			if _, err := s.jsonTool(ctx, &out, "show", in.Name, "--format", "json"); err != nil {
				return nil, out, err
			}
			text, err := s.textTool(ctx, "show", in.Name)
			out.Text = text
			return nil, out, err
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "validate", Annotations: ro,
		Description: "Check every runbook of the directory as CI does: syntax, references, plugin arguments, approvals. Positioned errors and warnings."},
		func(ctx context.Context, _ *mcp.CallToolRequest, _ validateIn) (*mcp.CallToolResult, validateOut, error) {
			var out validateOut
			res, err := s.cli.run(ctx, nil, "validate", "--format", "json")
			if err != nil {
				return nil, out, err
			}
			if jerr := json.Unmarshal([]byte(res.Stdout), &out); jerr != nil {
				return nil, out, errors.New(res.errorText())
			}
			text, err := s.cli.run(ctx, nil, "validate")
			if err != nil {
				return nil, out, err
			}
			out.Text = text.text()
			return nil, out, nil
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "get_transcript", Annotations: ro,
		Description: "A recorded run (a rehearsal or a real run, finished or running): every record, whether its hash chain verifies, and the run as a person reads it."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in getTranscriptIn) (*mcp.CallToolResult, getTranscriptOut, error) {
			var out getTranscriptOut
			if err := needName(in.RunID); err != nil {
				return nil, out, err
			}
			// A transcript that does not verify exits 1 and still prints.
			res, err := s.cli.run(ctx, nil, "transcript", "show", in.RunID, "--format", "json")
			if err != nil {
				return nil, out, err
			}
			if jerr := json.Unmarshal([]byte(res.Stdout), &out); jerr != nil {
				return nil, out, errors.New(res.errorText())
			}
			out.Status = runStatus(out.Events)
			text, err := s.cli.run(ctx, nil, "transcript", "show", in.RunID)
			if err != nil {
				return nil, out, err
			}
			out.Text = text.text()
			return nil, out, nil
		})
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "list_runs", Annotations: ro,
		Description: "Recorded runs and rehearsals, newest first (from the transcript store too, when the server has one), optionally of one runbook, with one status or since a time."},
		func(ctx context.Context, _ *mcp.CallToolRequest, in listRunsIn) (*mcp.CallToolResult, listRunsOut, error) {
			var out listRunsOut
			args := []string{"transcript", "list", "--format", "json"}
			for _, f := range []struct{ flag, v string }{{"--runbook", in.Runbook}, {"--status", in.Status}, {"--since", in.Since}} {
				if f.v != "" {
					args = append(args, f.flag+"="+f.v)
				}
			}
			res, err := s.jsonTool(ctx, &out, args...)
			return res, out, err
		})
}

// jsonTool runs a command whose --format json output decodes into out; a
// command that fails is a tool error with the text it printed.
func (s *server) jsonTool(ctx context.Context, out any, args ...string) (*mcp.CallToolResult, error) {
	res, err := s.cli.run(ctx, nil, args...)
	if err != nil {
		return nil, err
	}
	if res.Code != 0 {
		return nil, errors.New(res.errorText())
	}
	if err := json.Unmarshal([]byte(res.Stdout), out); err != nil {
		return nil, fmt.Errorf("runbook %s printed what is not its JSON output: %w", args[0], err)
	}
	return nil, nil
}

// textTool runs a command for its text output.
func (s *server) textTool(ctx context.Context, args ...string) (string, error) {
	res, err := s.cli.run(ctx, nil, args...)
	if err != nil {
		return "", err
	}
	if res.Code != 0 {
		return "", errors.New(res.errorText())
	}
	return res.text(), nil
}

// runStatus is the status of a transcript's run: run_finished's, or
// interrupted, or running.
func runStatus(events []map[string]any) string {
	for i := len(events) - 1; i >= 0; i-- {
		switch events[i]["type"] {
		case "run_finished":
			if s, ok := events[i]["status"].(string); ok {
				return s
			}
		case "interrupted":
			return "interrupted"
		}
	}
	return "running"
}

// needName refuses an empty name, and one that would be read as a flag.
func needName(name string) error {
	if name == "" {
		return errors.New("a name is needed")
	}
	if name[0] == '-' {
		return fmt.Errorf("%q is not a name", name)
	}
	return nil
}

func ptr[T any](v T) *T { return &v }
