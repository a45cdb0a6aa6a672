package index

import (
	"testing"

	"github.com/runbookdev/runbook/plugins/index/pgtest"
	"github.com/runbookdev/runbook/plugins/internal/rehearse"
)

// The rehearsal of the PostgreSQL backend predicts what the real rebuilds
// and rollbacks do, as the file backend's does
// (runbooks/equivalence_test.go): a rollback after a planned rebuild goes
// back to today's live build.
func TestPostgresRehearsalMatchesRealRun(t *testing.T) {
	dsn := pgtest.Start(t)
	p, _ := newPGPlugin(t, pgConfig{dsn: dsn, schema: "rehearsal"}, nil)
	src := corpus(t, 3)
	mustRun(t, p, "rebuild", rebuildArgsVal("kb", src))
	n := rehearse.Check(t, p, []rehearse.Step{
		{Action: "rebuild", Args: rebuildArgsVal("kb", src)},
		{Action: "status", Args: nameArgs("kb")},
		{Action: "rollback", Args: nameArgs("kb")},
		{Action: "status", Args: nameArgs("kb")},
	})
	if n < 8 {
		t.Errorf("only %d values compared", n)
	}
}
