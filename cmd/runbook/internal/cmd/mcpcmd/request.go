package mcpcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/transcript"
)

type requestRunIn struct {
	Name      string         `json:"name,omitempty" jsonschema:"the runbook to run (not with plan)"`
	Variables map[string]any `json:"variables,omitempty" jsonschema:"the runbook's variables by name; with plan, only its sensitive ones, which plans never hold"`
	Plan      string         `json:"plan,omitempty" jsonschema:"the run id of a dry_run made with save_plan: the run applies exactly that plan, and a step whose object moved since fails rather than acts"`
}

// Waiting is the approval a requested run waits for.
type Waiting struct {
	Step      string    `json:"step"`
	Question  string    `json:"question" jsonschema:"what the approvers are asked"`
	Changes   []string  `json:"changes" jsonschema:"what the step would change"`
	Needed    int       `json:"needed" jsonschema:"how many people must approve"`
	Approvers []string  `json:"approvers" jsonschema:"who may; empty: anyone in allowed_signers"`
	Expires   time.Time `json:"expires" jsonschema:"when the run stops waiting (and stops, declined)"`
}

type requestRunOut struct {
	RunID          string   `json:"run_id"`
	Runbook        string   `json:"runbook"`
	Operator       string   `json:"operator" jsonschema:"agent:<client>: unverified, and never an approver"`
	Status         string   `json:"status" jsonschema:"waiting_approval; running; or how the run ended (succeeded, failed, declined, …) when it ended before waiting"`
	ExitCode       *int     `json:"exit_code,omitempty" jsonschema:"the run's exit code, when it has ended"`
	Waiting        *Waiting `json:"waiting,omitempty"`
	ApproveCommand string   `json:"approve_command" jsonschema:"what a person runs to approve, with their own key"`
	DenyCommand    string   `json:"deny_command"`
	Transcript     string   `json:"transcript" jsonschema:"the run's transcript file; follow the run with get_transcript"`
	Log            string   `json:"log" jsonschema:"the file that holds what the run printed"`
}

// summary describes the requested run's transcript.
func (o *requestRunOut) summary() transcript.Summary {
	return transcript.Summary{RunID: o.RunID, Runbook: o.Runbook, Mode: engine.ModeRun, Operator: o.Operator}
}

// requestWait bounds how long request_run waits for the run to reach its
// first approval (or to end): a run that takes longer is returned as
// running, to be followed with get_transcript.
const requestWait = 2 * time.Minute

// maxLog bounds what is read of a run's log for an error.
const maxLog = 64 << 10

func (s *server) requestRun(ctx context.Context, req *mcp.CallToolRequest, in requestRunIn) (*mcp.CallToolResult, requestRunOut, error) {
	var out requestRunOut
	st, err := s.store(ctx)
	if err != nil {
		return nil, out, err
	}
	if st == nil {
		return nil, out, errors.New("request_run needs the team's transcript store, where people approve the run: start runbook mcp with --store postgres://… (or RUNBOOK_STORE); nothing ran")
	}
	args, env, err := s.requestArgs(in)
	if err != nil {
		return nil, out, err
	}
	runID := engine.NewRunID(time.Now())
	args = append(args, "--agent", agentName(req), "--run-id", runID)
	logPath, done, err := s.start(runID, env, args)
	if err != nil {
		return nil, out, err
	}
	out = requestRunOut{RunID: runID, Runbook: in.Name, Operator: "agent:" + agentName(req),
		ApproveCommand: "runbook approve " + runID, DenyCommand: "runbook deny " + runID + " --reason '…'",
		Transcript: s.transcriptPath(runID), Log: logPath}
	deadline := time.NewTimer(requestWait)
	defer deadline.Stop()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case code := <-done:
			return s.ended(&out, code)
		case <-ctx.Done():
			// The run goes on; the agent asked no more.
			out.Status = "running"
			s.addTranscript(out.summary())
			return nil, out, nil
		case <-deadline.C:
			out.Status = "running"
			s.addTranscript(out.summary())
			return nil, out, nil
		case <-tick.C:
		}
		pending, err := st.PendingApprovals(ctx, runID)
		if err != nil || len(pending) == 0 {
			continue
		}
		p := pending[0]
		out.Status = "waiting_approval"
		out.Waiting = &Waiting{Step: p.Step, Question: p.Question, Changes: nonNil(p.Changes), Needed: p.Needed, Approvers: nonNil(p.Approvers), Expires: p.Expires.UTC()}
		if out.Runbook == "" {
			out.Runbook = p.Runbook
		}
		s.addTranscript(out.summary())
		return nil, out, nil
	}
}

// requestArgs are the exec arguments and environment of a request.
func (s *server) requestArgs(in requestRunIn) (args, env []string, err error) {
	if in.Plan == "" {
		if err := needName(in.Name); err != nil {
			return nil, nil, err
		}
		flags, env, err := varArgs(s.runbook(in.Name), in.Variables)
		if err != nil {
			return nil, nil, err
		}
		return append([]string{"exec", in.Name}, flags...), env, nil
	}
	if in.Name != "" {
		return nil, nil, errors.New("give either name or plan: a plan names its runbook")
	}
	if !engine.ValidRunID(in.Plan) {
		return nil, nil, fmt.Errorf("plan %q is not the run id of a dry_run", in.Plan)
	}
	path := filepath.Join(s.stateDir(), "plans", in.Plan+".json")
	if _, err := os.Stat(path); err != nil {
		return nil, nil, fmt.Errorf("no saved plan of dry-run %s: rehearse with dry_run and save_plan first", in.Plan)
	}
	// A plan holds every variable but the sensitive ones, which are
	// given again through the environment.
	for name, v := range in.Variables {
		value, err := varValue(v)
		if err != nil || !varName.MatchString(name) {
			return nil, nil, fmt.Errorf("variables: %s: not a variable and value", name)
		}
		env = append(env, engine.EnvPrefix+name+"="+value)
	}
	return []string{"exec", "--plan", path}, env, nil
}

// start starts the run as its own process, in its own session, so that it
// goes on waiting for people when this server (the agent's session) ends.
// What it prints goes to <state-dir>/agent/RUN_ID.log. done receives its
// exit code when it ends while the server runs.
func (s *server) start(runID string, env, args []string) (string, <-chan int, error) {
	dir := filepath.Join(s.stateDir(), "agent")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", nil, err
	}
	logPath := filepath.Join(dir, runID+".log")
	log, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return "", nil, err
	}
	defer log.Close()
	cmd := exec.Command(s.cli.exe, args...)
	cmd.Env = append(append([]string(nil), s.cli.env...), env...)
	cmd.Stdout, cmd.Stderr = log, log
	detach(cmd)
	if err := cmd.Start(); err != nil {
		return "", nil, fmt.Errorf("starting the run: %w", err)
	}
	done := make(chan int, 1)
	go func() {
		_ = cmd.Wait()
		done <- cmd.ProcessState.ExitCode()
	}()
	return logPath, done, nil
}

// ended fills out for a run that ended before it waited for anyone: from
// its transcript, or, when it never started, the error it printed.
func (s *server) ended(out *requestRunOut, code int) (*mcp.CallToolResult, requestRunOut, error) {
	t, err := transcript.Read(out.Transcript)
	if err != nil {
		return nil, *out, errors.New(s.logText(out.Log, code))
	}
	out.ExitCode = &code
	out.Status = t.Status()
	if rs, err := t.RunStarted(); err == nil && out.Runbook == "" {
		out.Runbook = rs.Runbook
	}
	s.addTranscript(out.summary())
	return nil, *out, nil
}

// logText is what a run that never started printed.
func (s *server) logText(path string, code int) string {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Sprintf("the run exited with status %d before it started", code)
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, maxLog))
	r := &result{Stdout: string(b), Code: code}
	return r.errorText()
}

func nonNil(a []string) []string {
	if a == nil {
		return []string{}
	}
	return a
}
