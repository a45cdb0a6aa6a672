package transcript

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"time"
)

// Record is one of the typed events below: what the engine emits and what
// one transcript line holds (docs/transcript.md). Each type's JSON is its
// line's members other than seq, time, type, prev and hash; the same type
// is written (Writer.Record) and read back (Event.Record).
type Record interface {
	// Type is the record's "type" member.
	Type() string
	record()
}

// StepRef names the step a record is about.
type StepRef struct {
	Index int    `json:"index"` // 1-based
	Name  string `json:"step"`
	Owner string `json:"owner"`
}

// Duration is a span of time, recorded as a Go duration string rounded to
// the millisecond ("1.5s").
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).Round(time.Millisecond).String())
}

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration: want a string such as \"1.5s\", got %s", b)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("duration: %w", err)
	}
	*d = Duration(v)
	return nil
}

// RunStartedOf opens the run. The engine holds its variables as values
// (RunStartedOf[any]); a reader keeps them as written (RunStarted).
type RunStartedOf[V any] struct {
	Lock     string                `json:"lock,omitempty"`
	Mode     string                `json:"mode"` // "run" or "dry-run"
	Operator string                `json:"operator"`
	Plan     *PlanRef              `json:"plan,omitempty"`
	Plugins  map[string]PluginInfo `json:"plugins"`
	Resumes  string                `json:"resumes,omitempty"`
	RunID    string                `json:"run_id"`
	Runbook  string                `json:"runbook"`
	Source   Source                `json:"source"`
	// Vars are the run's variables; sensitive values are "(sensitive)".
	Vars    map[string]V `json:"vars"`
	Version string       `json:"version"`
	// Identity is the operator's verified identity, when the runbook
	// directory has an allowed_signers file; without one the operator is
	// unverified.
	Identity *OperatorIdentity `json:"identity,omitempty"`
	// TraceID is the run's OpenTelemetry trace id (32 hex digits), when
	// it was traced (docs/telemetry.md).
	TraceID string `json:"trace_id,omitempty"`
	// Steps and Started are for views: the transcript's times and step
	// records already tell.
	Steps   []StepRef `json:"-"`
	Started time.Time `json:"-"`
}

// RunStarted is the first record of every transcript, its variables as
// written.
type RunStarted = RunStartedOf[json.RawMessage]

// Type implements Record.
func (RunStartedOf[V]) Type() string { return TypeRunStarted }
func (RunStartedOf[V]) record()      {}

// PlanRef names, in the applying run's run_started, the plan it applies:
// its file's SHA-256 and the dry-run that made it.
type PlanRef struct {
	SHA256 string `json:"sha256"`
	DryRun string `json:"dry_run"`
}

// Source identifies the runbook file that ran.
type Source struct {
	Path   string `json:"path"`
	SHA256 string `json:"sha256"`
}

// PluginInfo identifies a plugin that served the run.
type PluginInfo struct {
	Version string `json:"version"`
	SHA256  string `json:"sha256"`
	// Config is the SHA-256 of the plugin's configuration, its secrets
	// left out (engine.PluginConfigSHA256); "" when it could not be had.
	Config string `json:"config,omitempty"`
}

// StepStarted opens a step.
type StepStarted struct {
	StepRef
	Action string `json:"action,omitempty"`
	Manual string `json:"manual,omitempty"`
	// Description is shown live, not recorded.
	Description string `json:"-"`
}

// Type implements Record.
func (StepStarted) Type() string { return TypeStepStarted }
func (StepStarted) record()      {}

// PreconditionChecked reports one precondition.
type PreconditionChecked struct {
	StepRef
	Condition string `json:"condition"`
	// Result is "passed", "failed" or "pending" (dry-run, unknown inputs).
	Result  string `json:"status"`
	Message string `json:"error_message,omitempty"`
}

// Type implements Record.
func (PreconditionChecked) Type() string { return TypePrecondition }
func (PreconditionChecked) record()      {}

// MarshalJSON implements json.Marshaler: the record also says whether the
// precondition passed, as a bool.
func (e PreconditionChecked) MarshalJSON() ([]byte, error) {
	type plain PreconditionChecked
	return marshal(struct {
		plain
		Passed bool `json:"passed"`
	}{plain(e), e.Result == "passed"})
}

// ConfirmationAnswered reports a confirmation or a manual step's sign-off.
type ConfirmationAnswered struct {
	StepRef
	Question string `json:"question"`
	// Answer is "yes", "no", "refused" (no terminal and no --yes) or
	// "not asked" (dry-run).
	Answer string `json:"answer"`
	// By names who answered: the operator, or "--yes".
	By string `json:"by"`
}

// Type implements Record.
func (ConfirmationAnswered) Type() string { return TypeConfirmation }
func (ConfirmationAnswered) record()      {}

// OperatorIdentity is who started a run, proven by an SSH signature.
type OperatorIdentity struct {
	// Principal is the operator's principal in allowed_signers.
	Principal string `json:"principal"`
	// Key is the operator's public key, in authorized_keys form.
	Key string `json:"key"`
	// Fingerprint is the key's SHA-256 fingerprint ("SHA256:…").
	Fingerprint string `json:"fingerprint"`
	// Signature is the armored SSH signature (namespace "runbook") over
	// the run's start (engine.RunStartedMessage).
	Signature string `json:"signature"`
}

// ApprovalRequested reports that a step waits for approvals besides the
// operator's (or, in a dry-run, would).
type ApprovalRequested struct {
	StepRef
	// Digest is what approvers sign (engine.RequestDigest).
	Digest string `json:"digest"`
	// Needed counts the approvals wanted besides the operator's.
	Needed int `json:"needed"`
	// Approvers are the principals that may approve; empty: any allowed
	// signer.
	Approvers []string `json:"approvers"`
	// From is the step's approvers attribute as written.
	From []string `json:"from,omitempty"`
	// Question is what the approvers are asked: the step's confirm
	// question or, in an agent's run, what the agent asks to do.
	Question string    `json:"question,omitempty"`
	Changes  []string  `json:"changes"`
	Expires  time.Time `json:"expires"`
	// DryRun: a rehearsal, which asks nobody.
	DryRun bool `json:"dry_run,omitempty"`
}

// Type implements Record.
func (ApprovalRequested) Type() string { return TypeApprovalRequest }
func (ApprovalRequested) record()      {}

// ApprovalAnswered reports one answer to an approval request, counted or
// refused.
type ApprovalAnswered struct {
	StepRef
	Decision string `json:"decision"` // "approve" or "deny"
	Reason   string `json:"reason,omitempty"`
	// Principal is who signed, as allowed_signers names them; "" when
	// the signature did not verify.
	Principal string `json:"principal,omitempty"`
	// Key is the signing key's fingerprint, when it could be read.
	Key       string `json:"key,omitempty"`
	Signature string `json:"signature"`
	// Accepted is false when the answer does not count; Refused says why.
	Accepted bool   `json:"accepted"`
	Refused  string `json:"refused,omitempty"`
	// Approvals counts the approvals accepted so far, this one included.
	Approvals int `json:"approvals"`
}

// Type implements Record.
func (ApprovalAnswered) Type() string { return TypeApproval }
func (ApprovalAnswered) record()      {}

// Planned reports what a mutating action would change: in a dry-run, and in
// a real run before it runs.
type Planned struct {
	StepRef
	Action  string   `json:"action"`
	Changes []string `json:"changes"`
	// Output is the predicted output; unknown parts are "(known after run)".
	Output any `json:"output"`
	// Error, when planning failed, is the whole error, masked: several
	// lines for a plugin that crashed (its stderr), where the step's
	// reason keeps only the first. A failed plan has no changes and no
	// output.
	Error string `json:"error,omitempty"`
}

// Type implements Record.
func (Planned) Type() string { return TypePlan }
func (Planned) record()      {}

// MarshalJSON implements json.Marshaler.
func (e Planned) MarshalJSON() ([]byte, error) {
	type plain Planned
	if e.Error == "" {
		return marshal(plain(e))
	}
	return marshal(struct {
		StepRef
		Action string `json:"action"`
		Error  string `json:"error"`
	}{e.StepRef, e.Action, e.Error})
}

// ActionFinished reports one attempt of an action.
type ActionFinished struct {
	StepRef
	Action   string   `json:"action"`
	Attempt  int      `json:"attempt"`
	Duration Duration `json:"duration"`
	// Output is the action's output; an attempt that failed has none.
	Output any    `json:"output"`
	Error  string `json:"error,omitempty"`
	// ReadOnly actions run for real in dry-runs too.
	ReadOnly bool `json:"read_only"`
	// Predicted: in a dry-run, the output was computed from the changes
	// earlier steps planned, not only read from the system.
	Predicted bool `json:"predicted,omitempty"`
}

// Type implements Record.
func (ActionFinished) Type() string { return TypeActionResult }
func (ActionFinished) record()      {}

// MarshalJSON implements json.Marshaler.
func (e ActionFinished) MarshalJSON() ([]byte, error) {
	type plain ActionFinished
	if e.Error == "" {
		return marshal(plain(e))
	}
	return marshal(struct {
		StepRef
		Action    string   `json:"action"`
		Attempt   int      `json:"attempt"`
		Duration  Duration `json:"duration"`
		Error     string   `json:"error"`
		ReadOnly  bool     `json:"read_only"`
		Predicted bool     `json:"predicted,omitempty"`
	}{e.StepRef, e.Action, e.Attempt, e.Duration, e.Error, e.ReadOnly, e.Predicted})
}

// ExpectationChecked reports one expectation, once per evaluation.
type ExpectationChecked struct {
	StepRef
	Condition string `json:"condition"`
	// Result is "passed", "failed", "waiting" (within is still running) or
	// "pending" (dry-run, unknown inputs).
	Result  string `json:"status"`
	Message string `json:"error_message,omitempty"`
	Check   int    `json:"check"`
	// For a "waiting" result: the action runs again in NextIn, and the
	// check is made at most Checks times in all. Views use them; the
	// transcript's times already tell.
	NextIn time.Duration `json:"-"`
	Checks int           `json:"-"`
}

// Type implements Record.
func (ExpectationChecked) Type() string { return TypeExpectation }
func (ExpectationChecked) record()      {}

// StepFinished closes a step.
type StepFinished struct {
	StepRef
	Status   string   `json:"status"`
	Reason   string   `json:"error,omitempty"`
	Duration Duration `json:"duration"`
	Output   any      `json:"output,omitempty"`
}

// Type implements Record.
func (StepFinished) Type() string { return TypeStepFinished }
func (StepFinished) record()      {}

// RunFinished closes the run.
type RunFinished struct {
	Status   string   `json:"status"`
	ExitCode int      `json:"exit_code"`
	Reason   string   `json:"error,omitempty"`
	Duration Duration `json:"duration"`
	// Plan sums up a dry-run: every change it planned and how many checks
	// it could not judge. Nil for a real run.
	Plan *PlanSummary `json:"plan,omitempty"`
}

// Type implements Record.
func (RunFinished) Type() string { return TypeRunFinished }
func (RunFinished) record()      {}

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

// Interrupted closes a run stopped by a signal.
type Interrupted struct {
	Step     string   `json:"step,omitempty"`
	Signal   string   `json:"signal,omitempty"`
	Duration Duration `json:"duration"`
}

// Type implements Record.
func (Interrupted) Type() string { return TypeInterrupted }
func (Interrupted) record()      {}

// Notification reports one delivery of a notify block's notification
// (docs/execution.md, "Notifications"). It never holds the URL.
type Notification struct {
	// Notify is the notify block's name.
	Notify string `json:"notify"`
	// NotifyType is the block's type: "slack" or "webhook".
	NotifyType string `json:"notify_type"`
	// Event is what the notification tells: "started",
	// "waiting_approval", "succeeded", "failed" or "interrupted".
	Event     string `json:"event"`
	Delivered bool   `json:"delivered"`
	// Attempts counts the requests made; 0 when none could be.
	Attempts int `json:"attempts"`
	// StatusCode is the receiver's last answer; absent when none came.
	StatusCode int `json:"status_code,omitempty"`
	// Error says why it was not delivered.
	Error string `json:"error,omitempty"`
}

// Type implements Record.
func (Notification) Type() string { return TypeNotification }
func (Notification) record()      {}

// marshal encodes v as the writer does: compact, without HTML escaping.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// members is r's JSON object as its members, so that the writer writes them
// in key order whatever the order of r's fields.
func members(r Record) (map[string]json.RawMessage, error) {
	b, err := marshal(r)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	return m, nil
}

// Record writes r (Write with r's type and members).
func (w *Writer) Record(r Record) (Event, error) {
	m, err := members(r)
	if err != nil {
		return Event{}, fmt.Errorf("append %s to transcript: %w", r.Type(), err)
	}
	return w.Write(r.Type(), m)
}

// newRecord is the zero record of type typ, nil for a type no writer writes.
func newRecord(typ string) Record {
	switch typ {
	case TypeRunStarted:
		return &RunStarted{}
	case TypeStepStarted:
		return &StepStarted{}
	case TypePrecondition:
		return &PreconditionChecked{}
	case TypeConfirmation:
		return &ConfirmationAnswered{}
	case TypeApprovalRequest:
		return &ApprovalRequested{}
	case TypeApproval:
		return &ApprovalAnswered{}
	case TypePlan:
		return &Planned{}
	case TypeActionResult:
		return &ActionFinished{}
	case TypeExpectation:
		return &ExpectationChecked{}
	case TypeStepFinished:
		return &StepFinished{}
	case TypeRunFinished:
		return &RunFinished{}
	case TypeInterrupted:
		return &Interrupted{}
	case TypeNotification:
		return &Notification{}
	}
	return nil
}

// Record decodes the event's fields into its typed record, the value the
// engine emitted (StepStarted for a step_started line; RunStarted, its
// variables as written, for run_started); numbers in outputs keep the form
// they were written in (json.Number). ok is false for a type no writer
// writes; err says what is wrong with a known type's members.
func (e Event) Record() (r Record, ok bool, err error) {
	ptr := newRecord(e.Type)
	if ptr == nil {
		return nil, false, nil
	}
	obj, err := json.Marshal(e.Fields)
	if err == nil {
		dec := json.NewDecoder(bytes.NewReader(obj))
		dec.UseNumber()
		err = dec.Decode(ptr)
	}
	if err != nil {
		return nil, true, fmt.Errorf("event %d (%s): %w", e.Seq, e.Type, err)
	}
	return reflect.ValueOf(ptr).Elem().Interface().(Record), true, nil
}

// Ref is the step a step record is about; every record but run_started,
// run_finished, interrupted and notification has it.
func (r StepRef) Ref() StepRef { return r }
