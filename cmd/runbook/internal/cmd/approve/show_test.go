package approve

import (
	"strings"
	"testing"
	"time"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/iostreams"
	"github.com/runbookdev/runbook/engine"
)

// What a person reads before answering: who may approve, and the other
// steps the run waits on, each name from the store shown on one line with
// its control characters escaped.
func TestShowRequest(t *testing.T) {
	now := time.Now()
	for _, tt := range []struct {
		name   string
		req    engine.ApprovalRequest
		others []string
		want   []string
	}{
		{
			name: "anyone",
			req:  engine.ApprovalRequest{Step: "migrate", Operator: "alice@laptop", Needed: 1},
			want: []string{"approvers  any principal of the run's allowed signers but the operator\n"},
		},
		{
			name: "a team and its principals",
			req: engine.ApprovalRequest{Step: "migrate", Operator: "alice@laptop", Needed: 1,
				From: []string{"dba"}, Approvers: []string{"bob@example.com", "carol@example.com"}},
			want: []string{"approvers  dba (bob@example.com, carol@example.com)\n"},
		},
		{
			name: "principals as written",
			req: engine.ApprovalRequest{Step: "migrate", Operator: "alice@laptop", Needed: 1,
				From: []string{"bob@example.com"}, Approvers: []string{"bob@example.com"}},
			want: []string{"approvers  bob@example.com\n"},
		},
		{
			name:   "other steps",
			req:    engine.ApprovalRequest{Step: "migrate", Operator: "alice@laptop", Needed: 1},
			others: []string{"deploy", "evil\x1b[2J\nstep"},
			want:   []string{`The run also waits on steps deploy, evil\x1b[2J\nstep; run this command again to answer them.` + "\n"},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			streams, _, out, _ := iostreams.Test()
			req := tt.req
			req.RunID, req.Runbook, req.Requested, req.Expires = "20261203T080000Z-0a1b2c", "release", now, now.Add(time.Hour)
			showRequest(&Options{Factory: &cmdutil.Factory{IO: streams}}, &req, tt.others)
			for _, w := range tt.want {
				if !strings.Contains(out.String(), w) {
					t.Errorf("no %q in\n%s", w, out)
				}
			}
			if strings.ContainsAny(out.String(), "\x1b\r") {
				t.Errorf("a control character reached the terminal:\n%q", out)
			}
		})
	}
}
