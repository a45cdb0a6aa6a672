package index

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/zclconf/go-cty/cty"

	"github.com/runbookdev/runbook/plugins"
)

// planned plans action and returns the request that applies it with the
// plan's basis, as a run applying a saved plan does; planned is the
// dry-run's planned state before it, and the plan's after.
func planned(t *testing.T, p plugins.Plugin, action string, a cty.Value, state *[]byte) *plugins.ActionRequest {
	t.Helper()
	res, err := p.Plan(context.Background(), &plugins.ActionRequest{Action: action, Args: a, Planned: *state})
	if err != nil || res.Basis == nil {
		t.Fatalf("plan %s: %v, basis %q", action, err, res.Basis)
	}
	*state = res.Planned
	return &plugins.ActionRequest{Action: action, Args: a, RunID: "apply-1", Operator: "alice@host", Basis: res.Basis}
}

// movedAfterPlan builds kb twice (v1, then v2), plans a rollback, and rolls
// back before the plan is applied: it returns the plan's request.
func movedAfterPlan(t *testing.T, p plugins.Plugin, src string) (req *plugins.ActionRequest, v1, v2 string) {
	t.Helper()
	v1 = str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", src)), "version")
	v2 = str(mustRun(t, p, "rebuild", rebuildArgsVal("kb", src)), "version")
	var state []byte
	req = planned(t, p, "rollback", nameArgs("kb"), &state)
	mustRun(t, p, "rollback", nameArgs("kb"))
	return req, v1, v2
}

func applyReq(p plugins.Plugin, req *plugins.ActionRequest) error {
	_, err := p.Apply(context.Background(), req)
	return err
}

func TestSavedPlanFile(t *testing.T) {
	dir := newIndex(t, "kb")
	p, _ := newPlugin(t, config{path: dir})
	src := corpus(t, 3)
	// Someone rolls back after the plan: refused, nothing changed.
	req, v1, v2 := movedAfterPlan(t, p, src)
	before := treeHash(t, dir)
	err := applyReq(p, req)
	if err == nil || !strings.Contains(err.Error(), "index kb moved from build "+v2+" to build "+v1+" since the plan, by run run-1 of alice@host at ") ||
		!strings.HasSuffix(err.Error(), "; nothing was changed: make a new plan") {
		t.Fatalf("apply = %v", err)
	}
	if treeHash(t, dir) != before {
		t.Error("a refused apply changed the index")
	}
	// A move by hand, which history.jsonl does not record, is said to be
	// one.
	var byHand []byte
	rebuild := planned(t, p, "rebuild", rebuildArgsVal("kb", src), &byHand)
	relink := func(v string) {
		t.Helper()
		link := filepath.Join(dir, "kb", currentLink)
		if err := os.Remove(link); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(filepath.Join("builds", v), link); err != nil {
			t.Fatal(err)
		}
	}
	relink(v2)
	err = applyReq(p, rebuild)
	if err == nil || !strings.Contains(err.Error(), "index kb moved from build "+v1+" to build "+v2+" since the plan, not by a runbook run (history.jsonl has no record of it); nothing was changed") {
		t.Fatalf("apply after a move by hand = %v", err)
	}
	relink(v1)

	// Unchanged: a rebuild, then a rollback to the newest build before it
	// (v2), both planned in one dry-run; the rollback's basis is the
	// planned build.
	var state []byte
	rebuild = planned(t, p, "rebuild", rebuildArgsVal("kb", src), &state)
	rollback := planned(t, p, "rollback", nameArgs("kb"), &state)
	if err := applyReq(p, rebuild); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
	if err := applyReq(p, rollback); err != nil {
		t.Fatalf("rollback: %v", err)
	}
	if got := currentTarget(t, dir, "kb"); !strings.HasSuffix(got, v2) {
		t.Errorf("live = %s, want %s", got, v2)
	}

	// Another index than planned is refused.
	req.Args = nameArgs("other")
	if err := applyReq(p, req); err == nil || !strings.Contains(err.Error(), `the plan was made for index "kb"`) {
		t.Errorf("apply on another index = %v", err)
	}
}

func testPGSavedPlan(t *testing.T, dsn, schema string) {
	p, b := newPGPlugin(t, pgConfig{dsn: dsn, schema: schema}, nil)
	conn := pgConn(t, dsn)
	src := corpus(t, 3)
	req, v1, v2 := movedAfterPlan(t, p, src)
	before := pgSnapshot(t, conn, schema)
	err := applyReq(p, req)
	if err == nil || !strings.Contains(err.Error(), "index kb moved from build "+v2+" to build "+v1+" since the plan, by run run-1 of alice@host at ") {
		t.Fatalf("apply = %v", err)
	}
	if pgSnapshot(t, conn, schema) != before {
		t.Error("a refused apply changed the database")
	}

	// The swap's transaction checks the live build too: a change made
	// after the plugin's check is refused there.
	unlock, err := b.Lock(context.Background(), "kb")
	if err != nil {
		t.Fatal(err)
	}
	err = b.Activate(context.Background(), "kb", Change{Action: "rollback", From: v2, To: v1, CheckFrom: true})
	unlock()
	var moved *movedError
	if !errors.As(err, &moved) {
		t.Fatalf("activate = %v, want the move refused", err)
	}
	// When the history's last record did not make today's live build
	// live (a move made in SQL by hand leaves none), the move is said to
	// be made by hand.
	if _, err := conn.Exec(context.Background(), fmt.Sprintf(`UPDATE %s SET to_version = 'elsewhere' WHERE id = (SELECT max(id) FROM %[1]s)`,
		pgx.Identifier{schema, pgHistoryTable}.Sanitize())); err != nil {
		t.Fatal(err)
	}
	err = applyReq(p, req)
	if err == nil || !strings.Contains(err.Error(), "since the plan, not by a runbook run ("+schema+".runbook_index_history has no record of it); nothing was changed") {
		t.Fatalf("apply after a move by hand = %v", err)
	}
	before = pgSnapshot(t, conn, schema)
	if pgSnapshot(t, conn, schema) != before {
		t.Error("a refused activate changed the database")
	}

	// Unchanged: applied.
	var state []byte
	req = planned(t, p, "rebuild", rebuildArgsVal("kb", src), &state)
	if err := applyReq(p, req); err != nil {
		t.Fatalf("rebuild: %v", err)
	}
}
