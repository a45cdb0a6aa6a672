package exec

import (
	"errors"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/plugins/builtin"
)

// The flags reach the options as given, and combinations that make no sense
// with a saved plan are refused before anything runs.
func TestExecFlags(t *testing.T) {
	tests := []struct {
		args []string
		code int // 0: runF is called
		want func(*Options) bool
	}{
		{[]string{"rollback", "--var", "a=1", "--var", "b=2", "--yes"}, 0, func(o *Options) bool {
			return o.Name == "rollback" && slices.Equal(o.Vars, []string{"a=1", "b=2"}) && o.Yes && !o.DryRun
		}},
		{[]string{"rollback", "--dry-run", "--out", "p.json"}, 0, func(o *Options) bool { return o.DryRun && o.Out == "p.json" }},
		{[]string{"--plan", "p.json"}, 0, func(o *Options) bool { return o.Plan == "p.json" && o.Name == "" }},
		{[]string{}, exitcode.BadInput, nil},
		{[]string{"rollback", "--plan", "p.json"}, exitcode.BadInput, nil},
		{[]string{"--plan", "p.json", "--var", "a=1"}, exitcode.BadInput, nil},
		{[]string{"rollback", "--out", "p.json"}, exitcode.BadInput, nil},
		{[]string{"rollback", "--max-plan-age", "2h"}, exitcode.BadInput, nil},
		{[]string{"rollback", "--agent", "claude", "--run-id", "20261126T140000Z-0a1b2c", "--var", "a=1"}, 0, func(o *Options) bool {
			return o.Agent == "claude" && o.RunID == "20261126T140000Z-0a1b2c" && !o.Yes
		}},
		{[]string{"rollback", "--agent", "Claude-Desktop_1.2", "--dry-run"}, 0, func(o *Options) bool { return o.Agent == "Claude-Desktop_1.2" && o.DryRun }},
		{[]string{"rollback", "--run-id", "20261126T140000Z-0a1b2c"}, 0, func(o *Options) bool { return o.RunID == "20261126T140000Z-0a1b2c" && o.Agent == "" }},
		{[]string{"rollback", "--agent", ""}, 0, func(o *Options) bool { return o.Agent == "" }},
		{[]string{"rollback", "--agent", "claude desktop"}, exitcode.BadInput, nil},
		{[]string{"rollback", "--agent", strings.Repeat("a", 65)}, exitcode.BadInput, nil},
		{[]string{"rollback", "--agent", "agent:claude"}, exitcode.BadInput, nil},
		{[]string{"rollback", "--agent", "claude", "--yes"}, exitcode.BadInput, nil},
		{[]string{"rollback", "--agent", "claude", "--key", "id_ed25519"}, exitcode.BadInput, nil},
		{[]string{"rollback", "--agent", "claude", "--resume", "2026"}, exitcode.BadInput, nil},
		{[]string{"rollback", "--run-id", "../../etc/passwd"}, exitcode.BadInput, nil},
		{[]string{"rollback", "--run-id", "20261126T140000Z-0A1B2C"}, exitcode.BadInput, nil},
		{[]string{"rollback", "--run-id", "run-1"}, exitcode.BadInput, nil},
	}
	for _, tt := range tests {
		streams, _, _, _ := iostreams.Test()
		var got *Options
		cmd := NewCmdExec(cmdutil.New(streams, builtin.Registry()), func(o *Options) error { got = o; return nil })
		cmd.SetArgs(tt.args)
		cmd.SilenceErrors, cmd.SilenceUsage = true, true
		err := cmd.Execute()
		if tt.code != 0 {
			var e *cmdutil.ExitError
			if !errors.As(err, &e) || e.Code != tt.code || got != nil {
				t.Errorf("%q: err %v, ran %v; want exit %d before running", tt.args, err, got != nil, tt.code)
			}
			continue
		}
		if err != nil || got == nil || !tt.want(got) {
			t.Errorf("%q: err %v, options %+v", tt.args, err, got)
		}
	}
}

// A run id given with --run-id that a run already has is refused before
// anything runs, and the earlier run's transcript is left as it was.
func TestExecRunIDUsed(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	opts := &Options{Factory: cmdutil.New(streams, builtin.Registry()), RunID: "20261126T140000Z-0a1b2c"}
	opts.Global.StateDir = t.TempDir()
	first, err := createTranscript(opts, opts.RunID)
	if err != nil {
		t.Fatal(err)
	}
	first.Close()
	_, err = createTranscript(opts, opts.RunID)
	var e *cmdutil.ExitError
	if !errors.As(err, &e) || e.Code != exitcode.BadInput || !strings.Contains(err.Error(), "exists already") {
		t.Fatalf("err %v, want exit %d saying the id exists already", err, exitcode.BadInput)
	}
	if _, err := os.Stat(first.Path()); err != nil {
		t.Errorf("the first run's transcript: %v", err)
	}
}

func TestExecRunIDHidden(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	cmd := NewCmdExec(cmdutil.New(streams, builtin.Registry()), nil)
	if f := cmd.Flags().Lookup("run-id"); f == nil || !f.Hidden {
		t.Errorf("--run-id %+v, want a hidden flag", f)
	}
	if f := cmd.Flags().Lookup("agent"); f == nil || f.Hidden {
		t.Errorf("--agent %+v, want a visible flag", f)
	}
}
