package transcriptcmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/view"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/store"
	"github.com/runbookdev/runbook/engine/transcript"
)

// PushOptions are the inputs of `runbook transcript push`.
type PushOptions struct {
	*cmdutil.Factory
	IDs []string
}

// NewCmdPush makes `runbook transcript push`; runF, when not nil, runs
// instead of the command (for tests of the flags).
func NewCmdPush(f *cmdutil.Factory, runF func(*PushOptions) error) *cobra.Command {
	opts := &PushOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "push [ID...]",
		Short: "Ship local transcripts to the transcript store",
		Long: `Ship the runs' local transcripts (every one under --state-dir when no ID is
given) to the transcript store --store names: what a run could not ship while
the store was away, or runs made with --offline. Each transcript's chain is
verified first; what the store already has of a run must be the start of the
local chain, and only the rest is appended, so pushing twice ships nothing.

Exit 0 when every run is in the store; 1 when one was not shipped (a chain that
does not verify, or one that conflicts with the stored run), the others still
pushed; 3 when the store cannot be reached.`,
		ValidArgsFunction: func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			return runIDs(f, nil, toComplete)
		},
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			opts.IDs = args
			return cmdutil.Run(opts, runF, func(o *PushOptions) error { return runPush(cmd.Context(), o) })
		}),
	}
	return cmd
}

func runPush(ctx context.Context, opts *PushOptions) error {
	s, err := needStore(ctx, opts.Factory, "transcript push")
	if err != nil {
		return err
	}
	var paths []string
	if len(opts.IDs) == 0 {
		runs, err := transcript.List(transcript.Dir(opts.Global.StateDir))
		if err != nil {
			return err
		}
		for _, r := range runs {
			paths = append(paths, r.Path)
		}
		if len(paths) == 0 {
			fmt.Fprintf(opts.IO.ErrOut, "No runs recorded in %s.\n", transcript.Dir(opts.Global.StateDir))
			return nil
		}
	}
	for _, id := range opts.IDs {
		path, err := findTranscript(opts.Factory, id)
		if err != nil {
			return err
		}
		paths = append(paths, path)
	}
	failed := 0
	for _, path := range paths {
		if !pushRun(ctx, opts, s, path) {
			failed++
		}
	}
	if failed > 0 {
		return cmdutil.SilentExit(exitcode.Failed)
	}
	return nil
}

// FollowOptions are the inputs of `runbook transcript follow`.
type FollowOptions struct {
	*cmdutil.Factory
	ID string
}

// NewCmdFollow makes `runbook transcript follow`; runF, when not nil, runs
// instead of the command (for tests of the flags).
func NewCmdFollow(f *cmdutil.Factory, runF func(*FollowOptions) error) *cobra.Command {
	opts := &FollowOptions{Factory: f}
	cmd := &cobra.Command{
		Use:   "follow ID",
		Short: "Stream a run live from the transcript store",
		Long: `Stream a run from the transcript store as it happens, from any machine, as
tail -f would: the events stored so far at once, then each one as it is stored,
rendered as transcript show renders them. It ends with the run.

Exit 0 once the run's end (run_finished or interrupted) is shown, whatever the
run's own exit code; 1 when following fails (the store went away); 2 for a run
the store does not have; 130 on Ctrl-C.`,
		Args:              cmdutil.UsageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeRunIDs(f),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(opts, runF, func(o *FollowOptions) error { return runFollow(cmd.Context(), o) })
		}),
	}
	return cmd
}

func runFollow(parent context.Context, opts *FollowOptions) error {
	if parent == nil {
		parent = context.Background()
	}
	ctx, stop := signal.NotifyContext(parent, os.Interrupt, syscall.SIGTERM)
	defer stop()
	s, err := needStore(ctx, opts.Factory, "transcript follow")
	if err != nil {
		return err
	}
	loc, err := locate(ctx, opts.Factory, opts.ID)
	if err != nil {
		return err
	}
	runID := loc.RunID
	r := view.NewFollower(opts.IO.Out, opts.IO.ColorScheme(), runID)
	err = s.Follow(ctx, runID, 0, r.Event)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil && parent.Err() == nil:
		fmt.Fprintln(opts.IO.ErrOut, "\nInterrupted: stopped following; the run goes on.")
		return cmdutil.SilentExit(exitcode.Interrupted)
	case errors.Is(err, store.ErrNotFound):
		return storedNotFound(s, runID)
	}
	return err
}
