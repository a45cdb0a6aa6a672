package schema

import (
	"bytes"

	"github.com/hashicorp/hcl/v2"
)

// JSONReport is the one JSON shape of a set of diagnostics, that of
// `terraform validate -json`.
type JSONReport struct {
	Valid        bool              `json:"valid"`
	ErrorCount   int               `json:"error_count"`
	WarningCount int               `json:"warning_count"`
	Diagnostics  []*JSONDiagnostic `json:"diagnostics"`
}

// JSONDiagnostic is one problem.
type JSONDiagnostic struct {
	Severity string       `json:"severity"`
	Summary  string       `json:"summary"`
	Detail   string       `json:"detail"`
	Range    *JSONRange   `json:"range,omitempty"`
	Snippet  *JSONSnippet `json:"snippet,omitempty"`
}

// JSONRange is a source range; lines and columns count from 1, bytes from 0.
type JSONRange struct {
	Filename string  `json:"filename"`
	Start    JSONPos `json:"start"`
	End      JSONPos `json:"end"`
}

// JSONPos is a position in a file.
type JSONPos struct {
	Line   int `json:"line"`
	Column int `json:"column"`
	Byte   int `json:"byte"`
}

// JSONSnippet is the source around a diagnostic: Code holds the lines from
// StartLine, and the highlight offsets are bytes into Code.
type JSONSnippet struct {
	Context              string `json:"context,omitempty"`
	Code                 string `json:"code"`
	StartLine            int    `json:"start_line"`
	HighlightStartOffset int    `json:"highlight_start_offset"`
	HighlightEndOffset   int    `json:"highlight_end_offset"`
}

// Report converts diagnostics to their JSON shape; files supply snippets.
func Report(diags hcl.Diagnostics, files map[string]*hcl.File) *JSONReport {
	r := &JSONReport{Diagnostics: make([]*JSONDiagnostic, 0, len(diags))}
	for _, d := range diags {
		jd := &JSONDiagnostic{Severity: "error", Summary: d.Summary, Detail: d.Detail}
		if d.Severity == hcl.DiagWarning {
			jd.Severity = "warning"
			r.WarningCount++
		} else {
			r.ErrorCount++
		}
		if d.Subject != nil {
			jd.Range = jsonRange(*d.Subject)
			jd.Snippet = snippet(d, files[d.Subject.Filename])
		}
		r.Diagnostics = append(r.Diagnostics, jd)
	}
	r.Valid = r.ErrorCount == 0
	return r
}

func jsonRange(rng hcl.Range) *JSONRange {
	return &JSONRange{
		Filename: rng.Filename,
		Start:    JSONPos{Line: rng.Start.Line, Column: rng.Start.Column, Byte: rng.Start.Byte},
		End:      JSONPos{Line: rng.End.Line, Column: rng.End.Column, Byte: rng.End.Byte},
	}
}

// snippet returns the lines a diagnostic's subject (widened to its context)
// covers, with the subject's offsets inside them.
func snippet(d *hcl.Diagnostic, file *hcl.File) *JSONSnippet {
	if file == nil || file.Bytes == nil {
		return nil
	}
	subject := *d.Subject
	rng := subject
	if d.Context != nil {
		rng = hcl.RangeOver(rng, *d.Context)
	}
	src := file.Bytes
	if rng.Start.Byte < 0 || rng.End.Byte > len(src) || rng.Start.Byte > rng.End.Byte {
		return nil
	}
	start := bytes.LastIndexByte(src[:rng.Start.Byte], '\n') + 1
	end := len(src)
	if i := bytes.IndexByte(src[rng.End.Byte:], '\n'); i >= 0 {
		end = rng.End.Byte + i
	}
	if rng.End.Byte > rng.Start.Byte && rng.End.Column == 1 && rng.End.Byte > start {
		// A range ending at the start of a line does not include that line.
		end = rng.End.Byte - 1
		if end < start {
			end = start
		}
	}
	code := string(src[start:end])
	s := &JSONSnippet{
		Code:                 code,
		StartLine:            rng.Start.Line,
		HighlightStartOffset: clamp(subject.Start.Byte-start, 0, len(code)),
		HighlightEndOffset:   clamp(subject.End.Byte-start, 0, len(code)),
		Context:              contextString(file, subject.Start.Byte),
	}
	return s
}

func clamp(v, lo, hi int) int {
	return max(lo, min(v, hi))
}

// contextString names the top-level block around an offset, such as
// `runbook "rollback-prompt"`, as HCL's own text writer does.
func contextString(file *hcl.File, offset int) string {
	if nav, ok := file.Nav.(interface{ ContextString(int) string }); ok {
		return nav.ContextString(offset)
	}
	return ""
}
