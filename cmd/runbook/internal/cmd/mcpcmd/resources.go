package mcpcmd

import (
	"context"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/runbookdev/runbook/cmd/runbook/internal/cmd/docs"
	"github.com/runbookdev/runbook/cmd/runbook/internal/resolver"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/plugins/safefile"
)

// Resource addresses.
const (
	runbookURI    = "runbook://runbooks/"
	transcriptURI = "runbook://transcripts/"
)

// maxListedTranscripts bounds how many transcripts are listed as
// resources when the server starts (the newest); any other is read through
// the template.
const maxListedTranscripts = 200

// maxResource bounds a transcript read as a resource.
const maxResource = 16 << 20

// addResources adds each runbook's page and each recorded run's
// transcript, and templates for those that appear later.
func (s *server) addResources() {
	s.mcp.AddResourceTemplate(&mcp.ResourceTemplate{
		Name: "runbook", URITemplate: runbookURI + "{name}", MIMEType: "text/markdown",
		Description: "A runbook's page, as runbook docs writes it: variables, steps, what each changes, who may approve, when it last ran.",
	}, s.readRunbook)
	s.mcp.AddResourceTemplate(&mcp.ResourceTemplate{
		Name: "transcript", URITemplate: transcriptURI + "{run_id}", MIMEType: "application/jsonl",
		Description: "A recorded run's transcript: one JSON record per line, hash-chained (docs/transcript.md).",
	}, s.readTranscript)
	if cfg, diags := s.f.LoadDir(resolver.Locked); cfg != nil && !diags.HasErrors() {
		for _, rb := range cfg.Runbooks {
			s.mcp.AddResource(&mcp.Resource{
				Name: rb.Name, URI: runbookURI + url.PathEscape(rb.Name), MIMEType: "text/markdown",
				Title: rb.Name, Description: rb.Description,
			}, s.readRunbook)
		}
	}
	runs, err := transcript.List(transcript.Dir(s.stateDir()))
	if err != nil {
		return
	}
	for i, r := range runs {
		if i == maxListedTranscripts {
			break
		}
		s.addTranscript(r)
	}
}

// addTranscript lists a run's transcript as a resource, described by what
// never changes in it: the runbook, the mode, the operator and the start.
// A run id read from a transcript that is not one runbook makes is not
// listed: it could not be read back through its URI.
func (s *server) addTranscript(r transcript.Summary) {
	if !engine.ValidRunID(r.RunID) {
		return
	}
	res := &mcp.Resource{
		Name: r.RunID, URI: transcriptURI + r.RunID, MIMEType: "application/jsonl",
		Description: "The transcript of run " + r.RunID,
	}
	if r.Runbook != "" {
		mode := r.Mode
		if mode == "" {
			mode = engine.ModeRun
		}
		res.Title = text.VisibleLine(r.Runbook) + " " + text.VisibleLine(mode) + " " + r.RunID
		res.Description = "The transcript of a " + text.VisibleLine(mode) + " of " + text.VisibleLine(r.Runbook)
		if r.Operator != "" {
			res.Description += " by " + text.VisibleLine(r.Operator)
		}
		if !r.Started.IsZero() {
			res.Description += ", started " + r.Started.UTC().Format(time.RFC3339)
		}
	}
	s.mcp.AddResource(res, s.readTranscript)
}

func (s *server) readRunbook(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	name, err := url.PathUnescape(strings.TrimPrefix(req.Params.URI, runbookURI))
	if err != nil || !strings.HasPrefix(req.Params.URI, runbookURI) || name == "" {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	cfg, diags := s.f.LoadDir(resolver.Locked)
	if cfg == nil || diags.HasErrors() {
		return nil, fmt.Errorf("the runbook directory does not validate: run the validate tool")
	}
	rb := cfg.Runbook(name)
	if rb == nil {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	exercised, err := engine.Exercises(s.stateDir())
	if err != nil {
		return nil, err
	}
	dir, err := filepath.Abs(s.f.Global.Dir)
	if err != nil {
		return nil, err
	}
	pages, err := docs.Render(cfg, exercised, filepath.Dir(dir))
	if err != nil {
		return nil, err
	}
	for _, p := range pages {
		if p.Name == name+".md" {
			return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
				URI: req.Params.URI, MIMEType: "text/markdown", Text: string(p.Data),
			}}}, nil
		}
	}
	return nil, mcp.ResourceNotFoundError(req.Params.URI)
}

func (s *server) readTranscript(ctx context.Context, req *mcp.ReadResourceRequest) (*mcp.ReadResourceResult, error) {
	id := strings.TrimPrefix(req.Params.URI, transcriptURI)
	if !strings.HasPrefix(req.Params.URI, transcriptURI) || !engine.ValidRunID(id) {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	data, err := safefile.ReadFile(s.transcriptPath(id), maxResource)
	if err != nil {
		return nil, mcp.ResourceNotFoundError(req.Params.URI)
	}
	return &mcp.ReadResourceResult{Contents: []*mcp.ResourceContents{{
		URI: req.Params.URI, MIMEType: "application/jsonl", Text: string(data),
	}}}, nil
}
