package approve

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/identity"
	"github.com/runbookdev/runbook/engine/store"
)

// Options are the inputs of `runbook approve` and `runbook deny`.
type Options struct {
	*cmdutil.Factory
	RunID string
	// Decision is engine.DecisionApprove or engine.DecisionDeny, by the
	// command.
	Decision string
	// Key is --key: a private key file, or a .pub whose private key is in
	// ssh-agent; "" for ssh-agent's first key.
	Key string
	// Yes is approve's --yes: no question.
	Yes bool
	// Reason is deny's --reason.
	Reason string
}

// NewCmdApprove makes `runbook approve`; runF, when not nil, runs instead
// of the command (for tests of the flags).
func NewCmdApprove(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, Decision: engine.DecisionApprove}
	cmd := &cobra.Command{
		Use:   "approve RUN_ID",
		Short: "Approve a step that waits for your approval",
		Long: `Approve the step of run RUN_ID (or a unique prefix of it) that waits for other
people's approval, from any machine with the transcript store --store names.
The request is shown as the store has it: the runbook, the operator, the step's
question and plan lines, who may approve, how many approvals it still needs,
when it expires and its digest. You are asked to confirm (--yes does not ask);
the answer is signed with your SSH key (--key, or the first key ssh-agent holds)
and stored. The run checks the signature against its allowed signers.

Exit 0 when the approval is stored; 1 when the run is not waiting for one (or
it stopped waiting meanwhile); 2 without a store or a key, or for a run the
store does not have; 3 when you do not confirm, when there is no terminal to
ask on without --yes, or when the store cannot be reached.`,
		Args: cmdutil.UsageArgs(cobra.ExactArgs(1)),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			opts.RunID = args[0]
			return cmdutil.Run(opts, runF, func(o *Options) error { return runAnswer(cmd.Context(), o) })
		}),
	}
	cmd.Flags().StringVar(&opts.Key, "key", "", "sign with this SSH private key file, or the .pub of a key in ssh-agent (default: ssh-agent's first key)")
	cmd.Flags().BoolVar(&opts.Yes, "yes", false, "approve without asking")
	return cmd
}

// NewCmdDeny makes `runbook deny`; runF, when not nil, runs instead of the
// command (for tests of the flags).
func NewCmdDeny(f *cmdutil.Factory, runF func(*Options) error) *cobra.Command {
	opts := &Options{Factory: f, Decision: engine.DecisionDeny}
	cmd := &cobra.Command{
		Use:   "deny RUN_ID --reason TEXT",
		Short: "Refuse a step that waits for your approval",
		Long: `Refuse the step of run RUN_ID (or a unique prefix of it) that waits for other
people's approval, saying why (--reason), from any machine with the transcript
store --store names. The request is shown as approve shows it; the answer is
signed with your SSH key (--key, or the first key ssh-agent holds) and stored
without a question. The run checks the signature against its allowed signers.

Exit 0 when the refusal is stored; 1 when the run is not waiting for an
approval; 2 without --reason, a store or a key, or for a run the store does
not have; 3 when the store cannot be reached.`,
		Args: cmdutil.UsageArgs(cobra.ExactArgs(1)),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			opts.RunID = args[0]
			if err := checkReason(opts.Reason); err != nil {
				return err
			}
			return cmdutil.Run(opts, runF, func(o *Options) error { return runAnswer(cmd.Context(), o) })
		}),
	}
	cmd.Flags().StringVar(&opts.Key, "key", "", "sign with this SSH private key file, or the .pub of a key in ssh-agent (default: ssh-agent's first key)")
	cmd.Flags().StringVar(&opts.Reason, "reason", "", "why the step must not run, for the operator and the transcript (required)")
	return cmd
}

// checkReason refuses a deny without a reason, or with one the store
// would not keep.
func checkReason(reason string) error {
	switch n := utf8.RuneCountInString(reason); {
	case strings.TrimSpace(reason) == "":
		return cmdutil.Exitf(exitcode.BadInput, "deny needs --reason TEXT: say why the step must not run")
	case n > store.MaxApprovalReason:
		return cmdutil.Exitf(exitcode.BadInput, "--reason is %d characters long: at most %d", n, store.MaxApprovalReason)
	case !utf8.ValidString(reason):
		return cmdutil.Exitf(exitcode.BadInput, "--reason is not UTF-8")
	}
	return nil
}

// runAnswer shows the run's pending request, asks (approve without
// --yes), signs the answer and stores it.
func runAnswer(ctx context.Context, opts *Options) error {
	if ctx == nil {
		ctx = context.Background()
	}
	s, err := needStore(ctx, opts.Factory, opts.Decision)
	if err != nil {
		return err
	}
	req, others, err := pendingRequest(ctx, s, opts.RunID)
	if err != nil {
		return err
	}
	showRequest(opts, req, others)
	if err := checkDigest(req); err != nil {
		return err
	}
	key, err := signingKey(opts.Key)
	if err != nil {
		return err
	}
	fmt.Fprintf(opts.IO.Out, "Signing with %s (%s)\n", key.Fingerprint(), text.VisibleLine(key.Source))
	if opts.Decision == engine.DecisionApprove && !opts.Yes {
		if err := confirmApproval(opts, req); err != nil {
			return err
		}
	}
	return submit(ctx, opts, s, req, key)
}

// needStore is the store the commands cannot do without.
func needStore(ctx context.Context, f *cmdutil.Factory, command string) (*store.Store, error) {
	s, err := f.Store(ctx)
	if err == nil && s == nil {
		err = cmdutil.Exitf(exitcode.BadInput, "%s needs a transcript store: --store postgres://USER@HOST:PORT/DATABASE or RUNBOOK_STORE", command)
	}
	return s, err
}

// pendingRequest finds the run idOrPrefix names and its oldest pending
// request; others are the steps of its other pending requests. A run that
// waits for nothing is exit 1, saying how it stands.
func pendingRequest(ctx context.Context, s *store.Store, idOrPrefix string) (*engine.ApprovalRequest, []string, error) {
	runID, err := s.Find(ctx, idOrPrefix)
	switch {
	case errors.Is(err, store.ErrAmbiguous):
		return nil, nil, cmdutil.Exitf(exitcode.BadInput, "%s\nGive more of the run id.", err)
	case errors.Is(err, store.ErrNotFound):
		// The run's events may not be shipped yet while its request is
		// stored: an exact id is looked for among the requests too.
		runID = idOrPrefix
	case err != nil:
		return nil, nil, err
	}
	reqs, err := s.PendingApprovals(ctx, runID)
	if err != nil {
		return nil, nil, err
	}
	if len(reqs) == 0 {
		return nil, nil, notWaiting(ctx, s, runID)
	}
	var others []string
	for _, r := range reqs[1:] {
		others = append(others, r.Step)
	}
	return &reqs[0], others, nil
}

// notWaiting is the error of a run with no pending request: exit 1,
// saying how its last request ended and how the run ended; exit 2 for a
// run the store knows nothing of.
func notWaiting(ctx context.Context, s *store.Store, runID string) error {
	last, outcome, err := s.LastApproval(ctx, runID)
	if err != nil {
		return err
	}
	run, err := s.Run(ctx, runID)
	known := err == nil
	if err != nil && !errors.Is(err, store.ErrNotFound) {
		return err
	}
	if !known && last == nil {
		return cmdutil.Exitf(exitcode.BadInput, "run %q is not in the transcript store %s, and nothing waits for an approval under that id\nRun 'runbook transcript list' for the recorded runs.",
			text.VisibleLine(runID), s.Service())
	}
	var why []string
	if last != nil {
		how := "was closed: " + outcome
		if outcome == store.ApprovalExpired {
			how = "expired at " + text.FormatTime(last.Expires)
		}
		why = append(why, fmt.Sprintf("its last request, for step %s, %s", text.VisibleLine(last.Step), text.VisibleLine(how)))
	}
	switch {
	case !known || run.Status == store.StatusRunning:
	case run.ExitCode >= 0:
		why = append(why, fmt.Sprintf("the run ended %s (exit code %d)", text.VisibleLine(run.Status), run.ExitCode))
	default:
		why = append(why, "the run ended "+text.VisibleLine(run.Status))
	}
	msg := fmt.Sprintf("run %s is not waiting for an approval", text.VisibleLine(runID))
	if len(why) > 0 {
		msg += ": " + strings.Join(why, "; ")
	}
	return cmdutil.Exitf(exitcode.Failed, "%s", msg)
}

// submit signs the answer to req and stores it.
func submit(ctx context.Context, opts *Options, s *store.Store, req *engine.ApprovalRequest, key *identity.Key) error {
	reason := ""
	if opts.Decision == engine.DecisionDeny {
		reason = opts.Reason
	}
	sig, err := sign(key, engine.ApprovalMessage(req.RunID, req.Step, req.Digest, opts.Decision, reason))
	if err != nil {
		return err
	}
	_, err = s.SubmitApproval(ctx, req.RunID, req.Step, engine.ApprovalResponse{Decision: opts.Decision, Reason: reason, Signature: sig})
	if errors.Is(err, store.ErrNotWaiting) {
		return cmdutil.Exitf(exitcode.Failed, "%s\nNothing was stored.", text.Visible(err.Error()))
	}
	if err != nil {
		return err
	}
	done := "approved"
	if opts.Decision == engine.DecisionDeny {
		done = "denied"
	}
	fmt.Fprintf(opts.IO.Out, "%s step %s of run %s as %s — the run checks the signature against its allowed_signers\n",
		done, text.VisibleLine(req.Step), text.VisibleLine(req.RunID), key.Fingerprint())
	return nil
}
