package exec

import (
	"errors"
	"slices"
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
