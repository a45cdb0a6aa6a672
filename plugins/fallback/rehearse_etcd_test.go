package fallback

import (
	"testing"

	"github.com/runbookdev/runbook/plugins/internal/rehearse"
)

// The rehearsal of the etcd backend predicts what the real switches do,
// as the file backend's does (runbooks/equivalence_test.go).
func TestEtcdRehearsalMatchesRealRun(t *testing.T) {
	e := newEtcdRoutes(t)
	p := e.plugin(t)
	step := func(action, route string) rehearse.Step {
		r := request(action, route)
		return rehearse.Step{Action: r.Action, Args: r.Args}
	}
	n := rehearse.Check(t, p, []rehearse.Step{
		step("activate", "chat"), step("status", "chat"), step("activate", "chat"),
		step("deactivate", "chat"), step("status", "chat"), step("activate", "embeddings"), step("status", "embeddings"),
	})
	if n < 20 {
		t.Errorf("only %d values compared", n)
	}
}
