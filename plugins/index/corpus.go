package index

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/runbookdev/runbook/plugins/safefile"
)

// docsFile is the file the built-in builder writes a build's documents to.
const docsFile = "docs.jsonl"

// maxDocument is the largest document: a corpus file indexed whole, or one
// line of a .jsonl file.
const maxDocument = 64 << 20

// progressEvery is how many documents pass between two progress lines of a
// long read.
const progressEvery = 10000

// document is one line of docs.jsonl.
type document struct {
	ID   string `json:"id"`
	Path string `json:"path"`
	// Line is the line number in a .jsonl source; 0 (left out) for a file.
	Line int             `json:"line,omitempty"`
	Text string          `json:"text"`
	Meta json.RawMessage `json:"meta,omitempty"`
}

// corpusStats counts what a read of a source folder found.
type corpusStats struct {
	Docs, Files, Empty int64
}

// corpusBuilder is the built-in builder: each .txt and .md file of the
// source folder is one document, each non-empty line of a .jsonl file one.
type corpusBuilder struct{}

func (corpusBuilder) Build(ctx context.Context, req BuilderRequest) (*Manifest, error) {
	path := filepath.Join(req.Out, docsFile)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 256*1024)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	stats, err := scanCorpus(ctx, req.Source, func(d *document, n int64) error {
		if n%progressEvery == 0 {
			say(req.Progress, "read %s documents…", thousands(n))
		}
		return enc.Encode(d)
	})
	if err != nil {
		return nil, err
	}
	if err := w.Flush(); err != nil {
		return nil, fmt.Errorf("build: write %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return nil, fmt.Errorf("build: sync %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("build: write %s: %w", path, err)
	}
	say(req.Progress, "read %s from %s%s", plural(stats.Docs, "document"), req.Source, stats.skipped())
	return &Manifest{DocCount: stats.Docs}, nil
}

func (s corpusStats) skipped() string {
	if s.Empty == 0 {
		return ""
	}
	return fmt.Sprintf(" (%s skipped: empty)", plural(s.Empty, "file"))
}

// corpusExt are the file types the built-in builder reads.
var corpusExt = map[string]bool{".txt": true, ".md": true, ".jsonl": true}

// scanCorpus calls emit with each document of the source folder, in order:
// files sorted by slash-separated path, a .jsonl file's lines in file order.
// n is the number of documents emitted so far, this one included. Names
// starting with "." are skipped, like version-control folders.
func scanCorpus(ctx context.Context, source string, emit func(d *document, n int64) error) (corpusStats, error) {
	var stats corpusStats
	var files []string
	// The source may itself be a symlink to a folder; what it holds is read.
	root, err := filepath.EvalSymlinks(source)
	if err != nil {
		return stats, fmt.Errorf("read source %s: %w", source, err)
	}
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if path != root && strings.HasPrefix(d.Name(), ".") {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() || !corpusExt[strings.ToLower(filepath.Ext(path))] {
			return nil
		}
		if !d.Type().IsRegular() {
			// A symlink counts when it leads to a regular file.
			info, err := os.Stat(path)
			if err != nil || !info.Mode().IsRegular() {
				return nil
			}
		}
		rel, err := filepath.Rel(root, path)
		if err != nil {
			return err
		}
		files = append(files, filepath.ToSlash(rel))
		return nil
	})
	if err != nil {
		return stats, fmt.Errorf("read source %s: %w", source, err)
	}
	sort.Strings(files)
	for _, rel := range files {
		if err := ctx.Err(); err != nil {
			return stats, fmt.Errorf("read source %s: %w", source, err)
		}
		stats.Files++
		path := filepath.Join(root, filepath.FromSlash(rel))
		if strings.EqualFold(filepath.Ext(rel), ".jsonl") {
			err = scanJSONL(path, rel, &stats, emit)
		} else {
			err = scanFile(path, rel, &stats, emit)
		}
		if err != nil {
			return stats, fmt.Errorf("read source %s: %w", source, err)
		}
	}
	return stats, nil
}

func scanFile(path, rel string, stats *corpusStats, emit func(*document, int64) error) error {
	b, err := safefile.ReadFile(path, maxDocument)
	if err != nil {
		return err
	}
	if len(bytes.TrimSpace(b)) == 0 {
		stats.Empty++
		return nil
	}
	stats.Docs++
	return emit(&document{ID: rel, Path: rel, Text: validUTF8(b)}, stats.Docs)
}

func scanJSONL(path, rel string, stats *corpusStats, emit func(*document, int64) error) error {
	f, err := safefile.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 64*1024)
	for lineNo := 1; ; lineNo++ {
		line, readErr := safefile.ReadLine(r, maxDocument, fmt.Sprintf("%s line %d", rel, lineNo))
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			return fmt.Errorf("%s: %w", rel, readErr)
		}
		if trimmed := bytes.TrimSpace(line); len(trimmed) > 0 {
			d, err := jsonlDocument(rel, lineNo, trimmed)
			if err != nil {
				return err
			}
			stats.Docs++
			if err := emit(d, stats.Docs); err != nil {
				return err
			}
		}
		if readErr != nil {
			return nil
		}
	}
}

// jsonlDocument reads one line of a .jsonl source: a JSON object (its "text"
// string is the text, else the line itself; the object is kept as meta) or
// a JSON string.
func jsonlDocument(rel string, lineNo int, line []byte) (*document, error) {
	d := &document{ID: fmt.Sprintf("%s:%d", rel, lineNo), Path: rel, Line: lineNo}
	line = []byte(validUTF8(line))
	switch line[0] {
	case '{':
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(line, &obj); err != nil {
			return nil, fmt.Errorf("%s:%d: invalid JSON: %w", rel, lineNo, err)
		}
		var buf bytes.Buffer
		if err := json.Compact(&buf, line); err != nil {
			return nil, fmt.Errorf("%s:%d: invalid JSON: %w", rel, lineNo, err)
		}
		d.Meta = buf.Bytes()
		t, ok := obj["text"]
		if !ok || isNull(t) || json.Unmarshal(t, &d.Text) != nil {
			d.Text = string(line)
		}
	case '"':
		if err := json.Unmarshal(line, &d.Text); err != nil {
			return nil, fmt.Errorf("%s:%d: invalid JSON: %w", rel, lineNo, err)
		}
	default:
		return nil, fmt.Errorf("%s:%d: want a JSON object or string per line", rel, lineNo)
	}
	return d, nil
}

func validUTF8(b []byte) string {
	if utf8.Valid(b) {
		return string(b)
	}
	return strings.ToValidUTF8(string(b), "\uFFFD")
}

// thousands writes n with thousands separators: 1,204.
func thousands(n int64) string {
	s := fmt.Sprint(n)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, r := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// plural writes "1 document", "1,204 documents".
func plural(n int64, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return thousands(n) + " " + noun + "s"
}
