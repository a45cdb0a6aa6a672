package mcpcmd

import (
	"context"
	"regexp"
	"strings"
	"sync"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/engine/store"
)

// server is the MCP server of one runbook directory.
type server struct {
	f   *cmdutil.Factory
	cli *cli
	mcp *mcp.Server
	// storeMu guards st, the store, which tools may ask for at once.
	storeMu sync.Mutex
	st      *store.Store
}

// instructions tell the agent how the server is meant to be used.
const instructions = `runbook serves operational runbooks (HCL procedures of steps) to you.
Read freely: list_runbooks, show_runbook, validate, list_runs, get_transcript,
and the runbook:// resources. Rehearse with dry_run: it runs read-only checks
against live state, plans every change and changes nothing. You cannot change
anything yourself: request_run starts a run that waits, at each step that
changes state, for people to approve it with their own keys (runbook approve
RUN_ID). Tell the person the command request_run returns, and follow the run
with get_transcript.`

func newServer(f *cmdutil.Factory) (*server, error) {
	c, err := newCLI(f)
	if err != nil {
		return nil, err
	}
	s := &server{f: f, cli: c}
	s.mcp = mcp.NewServer(implementation(), &mcp.ServerOptions{Instructions: instructions})
	s.addReadTools()
	s.addRunTools()
	s.addResources()
	return s, nil
}

// store is the transcript store the server was started with (--store),
// nil for none. It is opened at the first need and kept; a store that
// cannot be reached is tried again at the next, since a server lives for
// as long as the agent's session.
func (s *server) store(ctx context.Context) (*store.Store, error) {
	s.storeMu.Lock()
	defer s.storeMu.Unlock()
	if s.st != nil {
		return s.st, nil
	}
	raw := s.f.Global.StoreURL
	if raw == "" || raw == cmdutil.DefaultStoreURL {
		return nil, nil
	}
	st, err := store.Open(ctx, raw)
	if err != nil {
		return nil, err
	}
	s.st = st
	return st, nil
}

// close closes what the server opened.
func (s *server) close() {
	s.storeMu.Lock()
	defer s.storeMu.Unlock()
	if s.st != nil {
		s.st.Close()
		s.st = nil
	}
}

// agentName is the name a run records its agent by (operator
// agent:<name>): the client's name from the session, reduced to letters,
// digits, dots, underscores and dashes, at most 64 of them; "unknown" for
// a client that gave none.
func agentName(req *mcp.CallToolRequest) string {
	name := ""
	if req != nil && req.Session != nil {
		if p := req.Session.InitializeParams(); p != nil && p.ClientInfo != nil {
			name = p.ClientInfo.Name
		}
	}
	return cleanAgentName(name)
}

var notNameChar = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func cleanAgentName(name string) string {
	name = strings.Trim(notNameChar.ReplaceAllString(name, "-"), "-.")
	if len(name) > 64 {
		name = strings.TrimRight(name[:64], "-.")
	}
	if name == "" {
		return "unknown"
	}
	return name
}
