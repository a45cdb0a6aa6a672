package engine

import "time"

// Hook receives what happens during a run. The terminal view and the
// transcript writer are hooks; the engine itself never prints. An error from
// a hook stops the run before anything further happens (a transcript that
// cannot be written must not let a mutating step run unrecorded).
//
// Every value in an event is already redacted: sensitive values appear as
// "(sensitive)", and literal secrets inside strings a plugin returned are
// masked.
type Hook interface {
	Handle(e Event) error
}

// Flusher is implemented by hooks that buffer what they record: Flush
// makes every event handled so far durable. The engine flushes at each
// step boundary (after run_started, after every step_finished, after the
// last event) and before every attempt of a mutating action, so that a
// step's record is on disk before its side effect happens and before the
// next step starts (README, "Transcripts"). An error from Flush stops the run as one from
// Handle does.
type Flusher interface {
	Flush() error
}

// HookFunc adapts a function to a Hook.
type HookFunc func(e Event) error

// Handle implements Hook.
func (f HookFunc) Handle(e Event) error { return f(e) }

// Event is one of the event types below.
type Event interface {
	// Type is the event's transcript type ("run_started", "step_started", …).
	Type() string
}

// Step statuses.
const (
	StatusSucceeded = "succeeded"
	StatusFailed    = "failed"
	StatusSkipped   = "skipped"
	// StatusBlocked: a precondition did not hold.
	StatusBlocked = "blocked"
	// StatusDeclined: a confirmation was declined or could not be asked.
	StatusDeclined = "declined"
	// StatusInterrupted: Ctrl-C or SIGTERM during the step.
	StatusInterrupted = "interrupted"
	// StatusPlanned: a dry-run planned a mutating action.
	StatusPlanned = "planned"
	// StatusPending: a dry-run could not evaluate it: its inputs are unknown
	// until earlier steps really run.
	StatusPending = "pending"
)

// Modes.
const (
	ModeRun    = "run"
	ModeDryRun = "dry-run"
)

// StepRef names the step an event is about.
type StepRef struct {
	Index int    `json:"index"` // 1-based
	Name  string `json:"step"`
	Owner string `json:"owner"`
}

// RunStarted opens the run.
type RunStarted struct {
	RunID    string                `json:"run_id"`
	Runbook  string                `json:"runbook"`
	Source   SourceInfo            `json:"source"`
	Mode     string                `json:"mode"`
	Operator string                `json:"operator"`
	Version  string                `json:"version"`
	Plugins  map[string]PluginInfo `json:"plugins"`
	Vars     map[string]any        `json:"vars"`
	Resumes  string                `json:"resumes,omitempty"`
	// Plan names the saved plan the run applies.
	Plan    *PlanRef  `json:"plan,omitempty"`
	Lock    string    `json:"lock,omitempty"`
	Steps   []StepRef `json:"steps"`
	Started time.Time `json:"-"`
}

// SourceInfo identifies the runbook's source file.
type SourceInfo struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// PluginInfo identifies a plugin a run used.
type PluginInfo struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	// Config is the SHA-256 of the plugin's configuration, its secrets
	// left out (engine.PluginConfigSHA256); "" when it could not be had.
	Config string `json:"config,omitempty"`
}

// Type implements Event.
func (RunStarted) Type() string { return "run_started" }

// StepStarted opens a step.
type StepStarted struct {
	StepRef
	Description string `json:"description,omitempty"`
	Action      string `json:"action,omitempty"`
	Manual      string `json:"manual,omitempty"`
}

// Type implements Event.
func (StepStarted) Type() string { return "step_started" }

// PreconditionChecked reports one precondition.
type PreconditionChecked struct {
	StepRef
	Condition string `json:"condition"`
	// Result is "passed", "failed" or "pending" (dry-run, unknown inputs).
	Result  string `json:"result"`
	Message string `json:"message,omitempty"`
}

// Type implements Event.
func (PreconditionChecked) Type() string { return "precondition" }

// ConfirmationAnswered reports a confirmation or a manual step's sign-off.
type ConfirmationAnswered struct {
	StepRef
	Question string `json:"question"`
	// Answer is "yes", "no", "refused" (no terminal and no --yes) or
	// "not asked" (dry-run).
	Answer string `json:"answer"`
	// By names who answered: the operator, or "--yes".
	By string `json:"by,omitempty"`
}

// Type implements Event.
func (ConfirmationAnswered) Type() string { return "confirmation" }

// Planned reports what a mutating action would change (dry-run).
type Planned struct {
	StepRef
	Action  string   `json:"action"`
	Changes []string `json:"changes"`
	// Output is the predicted output; unknown parts are "(known after run)".
	Output any `json:"output"`
	// Error, when planning failed, is the whole error, masked: several
	// lines for a plugin that crashed (its stderr), where the step's
	// reason keeps only the first.
	Error string `json:"error,omitempty"`
}

// Type implements Event.
func (Planned) Type() string { return "plan" }

// Progress is a line a long action reports while it runs. It is shown, not
// recorded.
type Progress struct {
	StepRef
	Line string `json:"line"`
}

// Type implements Event.
func (Progress) Type() string { return "progress" }

// ActionFinished reports one attempt of an action.
type ActionFinished struct {
	StepRef
	Action   string        `json:"action"`
	Attempt  int           `json:"attempt"`
	Duration time.Duration `json:"-"`
	Millis   int64         `json:"duration_ms"`
	Output   any           `json:"outputs,omitempty"`
	Error    string        `json:"error,omitempty"`
	// ReadOnly actions run for real in dry-runs too.
	ReadOnly bool `json:"read_only"`
	// Predicted: in a dry-run, the output was computed from the changes
	// earlier steps planned, not only read from the system.
	Predicted bool `json:"predicted,omitempty"`
}

// Type implements Event.
func (ActionFinished) Type() string { return "action_result" }

// ExpectationChecked reports one expectation, once per evaluation.
type ExpectationChecked struct {
	StepRef
	Condition string `json:"condition"`
	// Result is "passed", "failed", "waiting" (within is still running) or
	// "pending" (dry-run, unknown inputs).
	Result  string `json:"result"`
	Message string `json:"message,omitempty"`
	Check   int    `json:"check"`
	// For a "waiting" result: the action runs again in NextIn, and the
	// check is made at most Checks times in all. Views use them; the
	// transcript's times already tell.
	NextIn time.Duration `json:"-"`
	Checks int           `json:"-"`
}

// Type implements Event.
func (ExpectationChecked) Type() string { return "expectation" }

// StepFinished closes a step.
type StepFinished struct {
	StepRef
	Status   string        `json:"status"`
	Reason   string        `json:"reason,omitempty"`
	Duration time.Duration `json:"-"`
	Millis   int64         `json:"duration_ms"`
	Output   any           `json:"output,omitempty"`
}

// Type implements Event.
func (StepFinished) Type() string { return "step_finished" }

// RunFinished closes the run.
type RunFinished struct {
	Status   string        `json:"status"`
	ExitCode int           `json:"exit_code"`
	Reason   string        `json:"reason,omitempty"`
	Duration time.Duration `json:"-"`
	Millis   int64         `json:"duration_ms"`
	// Plan sums up a dry-run: every change it planned and how many checks
	// it could not judge. Nil for a real run.
	Plan *PlanSummary `json:"plan,omitempty"`
}

// PlanSummary is what a dry-run would do, like the last lines of
// `terraform plan`.
type PlanSummary struct {
	Changes []PlannedChange `json:"changes"`
	// PendingChecks counts the preconditions and expectations a rehearsal
	// could not judge: they depend on values known only once the real run
	// has made its changes.
	PendingChecks int `json:"pending_checks"`
}

// PlannedChange is one line of a plan, with the step that plans it.
type PlannedChange struct {
	Step   string `json:"step"`
	Action string `json:"action"`
	Change string `json:"change"`
}

// Type implements Event.
func (RunFinished) Type() string { return "run_finished" }

// Interrupted closes a run stopped by a signal.
type Interrupted struct {
	Step     string        `json:"step,omitempty"`
	Signal   string        `json:"signal,omitempty"`
	Duration time.Duration `json:"-"`
	Millis   int64         `json:"duration_ms"`
}

// Type implements Event.
func (Interrupted) Type() string { return "interrupted" }
