package mcpcmd

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/schema"
)

type dryRunIn struct {
	Name      string         `json:"name" jsonschema:"the runbook to rehearse"`
	Variables map[string]any `json:"variables,omitempty" jsonschema:"the runbook's variables by name (strings, numbers, booleans, lists, objects); those left out take their defaults"`
	SavePlan  bool           `json:"save_plan,omitempty" jsonschema:"save the plan, so that request_run can ask to apply exactly it (by this dry-run's run_id)"`
}

// Change is one planned change.
type Change struct {
	Step   string `json:"step"`
	Action string `json:"action"`
	Change string `json:"change" jsonschema:"what would change, as the plugin says: production: v7 → v6"`
}

// StepOutcome is how one step went in a rehearsal or a run.
type StepOutcome struct {
	Name   string `json:"name"`
	Status string `json:"status" jsonschema:"succeeded (a read-only action ran), planned (a change was planned), pending (it needs the result of a change), skipped, failed, …"`
	Reason string `json:"reason,omitempty" jsonschema:"why it was skipped, failed or is pending"`
	// Output is the step's output, predicted for a planned step.
	Output    any      `json:"output,omitempty" jsonschema:"the step's output: read from live state, or predicted from the plan; (known after run) where it cannot be known"`
	Predicted bool     `json:"predicted,omitempty" jsonschema:"the output is what the planned changes would leave"`
	Changes   []string `json:"changes,omitempty" jsonschema:"the changes its action plans"`
}

// ApprovalNeed is who would have to approve a step.
type ApprovalNeed struct {
	Step      string   `json:"step"`
	Needed    int      `json:"needed" jsonschema:"how many people must approve"`
	Approvers []string `json:"approvers" jsonschema:"the principals who may; empty: anyone in allowed_signers"`
	From      []string `json:"from,omitempty" jsonschema:"the step's approvers as written (teams and principals)"`
}

type dryRunOut struct {
	RunID         string         `json:"run_id" jsonschema:"the rehearsal's run id (its transcript: get_transcript)"`
	Runbook       string         `json:"runbook"`
	Operator      string         `json:"operator" jsonschema:"agent:<client>, as the transcript records it"`
	Status        string         `json:"status" jsonschema:"succeeded: the real run would get through; blocked: a precondition fails against live state; failed: a check or action fails"`
	ExitCode      int            `json:"exit_code"`
	Changes       []Change       `json:"changes" jsonschema:"every change the run would make, in order"`
	PendingChecks int            `json:"pending_checks" jsonschema:"checks that cannot be made before the changes are"`
	Steps         []StepOutcome  `json:"steps"`
	Approvals     []ApprovalNeed `json:"approvals" jsonschema:"the steps a requested run would wait at, and who would have to approve each"`
	Plan          string         `json:"plan,omitempty" jsonschema:"with save_plan: the plan to pass to request_run (this run id)"`
	Transcript    string         `json:"transcript" jsonschema:"the rehearsal's transcript file"`
	Text          string         `json:"text" jsonschema:"the rehearsal as the terminal shows it"`
}

// addRunTools adds dry_run and request_run.
func (s *server) addRunTools() {
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "dry_run",
		Annotations: &mcp.ToolAnnotations{ReadOnlyHint: true, OpenWorldHint: ptr(true)},
		Description: "Rehearse a runbook against live state: read-only actions really run, every change is planned by its plugin and nothing is changed. Returns the planned changes, predicted outputs, pending checks, who would have to approve, and the rehearsal's run id."},
		s.dryRun)
	mcp.AddTool(s.mcp, &mcp.Tool{Name: "request_run",
		Annotations: &mcp.ToolAnnotations{DestructiveHint: ptr(true), OpenWorldHint: ptr(true)},
		Description: "Request a real run. It starts as operator agent:<client> and waits, at every step that changes state, asks to confirm or is manual, for people to approve it with their own keys. Returns the run id and the command a person runs to approve (runbook approve RUN_ID). Needs the team's transcript store."},
		s.requestRun)
}

func (s *server) dryRun(ctx context.Context, req *mcp.CallToolRequest, in dryRunIn) (*mcp.CallToolResult, dryRunOut, error) {
	var out dryRunOut
	if err := needName(in.Name); err != nil {
		return nil, out, err
	}
	varFlags, varEnv, err := varArgs(s.runbook(in.Name), in.Variables)
	if err != nil {
		return nil, out, err
	}
	runID := engine.NewRunID(time.Now())
	args := []string{"exec", in.Name, "--dry-run", "--agent", agentName(req), "--run-id", runID}
	if in.SavePlan {
		dir := filepath.Join(s.stateDir(), "plans")
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, out, err
		}
		args = append(args, "--out", filepath.Join(dir, runID+".json"))
		out.Plan = runID
	}
	res, err := s.cli.run(ctx, varEnv, append(args, varFlags...)...)
	if err != nil {
		return nil, out, err
	}
	t, err := transcript.Read(s.transcriptPath(runID))
	if err != nil {
		// It never started: bad variables, an unknown runbook, …
		return nil, out, errors.New(res.errorText())
	}
	fillOutcome(&out, t)
	out.RunID, out.Runbook, out.Text, out.Transcript = runID, in.Name, res.text(), t.Path
	out.ExitCode = res.Code
	s.addTranscript(transcript.Summary{RunID: runID, Runbook: in.Name, Mode: engine.ModeDryRun, Operator: out.Operator})
	return nil, out, nil
}

// runbook is the runbook named name, nil when the directory cannot be
// loaded or has none of that name (the command then says why).
func (s *server) runbook(name string) *schema.Runbook {
	cfg, diags := s.f.LoadDir(resolver.Locked)
	if cfg == nil || diags.HasErrors() {
		return nil
	}
	return cfg.Runbook(name)
}

func (s *server) stateDir() string {
	dir, err := filepath.Abs(s.f.Global.StateDir)
	if err != nil {
		return s.f.Global.StateDir
	}
	return dir
}

func (s *server) transcriptPath(runID string) string {
	return filepath.Join(transcript.Dir(s.stateDir()), runID+".jsonl")
}

// fillOutcome fills a rehearsal's result from its transcript.
func fillOutcome(out *dryRunOut, t *transcript.Transcript) {
	out.Changes, out.Steps, out.Approvals = []Change{}, []StepOutcome{}, []ApprovalNeed{}
	if rs, err := t.RunStarted(); err == nil {
		out.Operator = rs.Operator
	}
	out.Status = t.Status()
	if end, ok := t.End(); ok && end.Type == transcript.TypeRunFinished {
		var plan struct {
			Changes       []Change `json:"changes"`
			PendingChecks int      `json:"pending_checks"`
		}
		if end.Decode("plan", &plan) == nil {
			out.Changes = append(out.Changes, plan.Changes...)
			out.PendingChecks = plan.PendingChecks
		}
	}
	for _, st := range t.Steps() {
		o := StepOutcome{Name: st.Name, Status: st.Status}
		if len(st.Output) > 0 {
			_ = json.Unmarshal(st.Output, &o.Output)
		}
		for _, e := range st.Events {
			switch e.Type {
			case transcript.TypeStepFinished:
				o.Reason = e.Str("error")
			case transcript.TypeActionResult:
				var p bool
				if e.Decode("predicted", &p) == nil && p {
					o.Predicted = true
				}
			case transcript.TypePlan:
				_ = e.Decode("changes", &o.Changes)
			case transcript.TypeApprovalRequest:
				need := ApprovalNeed{Step: st.Name, Approvers: []string{}}
				_ = e.Decode("needed", &need.Needed)
				_ = e.Decode("approvers", &need.Approvers)
				_ = e.Decode("from", &need.From)
				if need.Approvers == nil { // recorded as null: anyone in allowed_signers
					need.Approvers = []string{}
				}
				out.Approvals = append(out.Approvals, need)
			}
		}
		out.Steps = append(out.Steps, o)
	}
}
