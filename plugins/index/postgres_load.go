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
	"math"
	"path/filepath"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/runbookdev/runbook/plugins/safefile"
)

// pgColumns are the columns a build table is loaded into, in COPY order.
var pgColumns = []string{"id", "path", "content", "line", "meta"}

// load makes the build's table from OUT/docs.jsonl in one transaction:
// create it, COPY the documents in, index and count them. A failure, a
// cancelled step or a crash rolls it all back: no half-built table is ever
// committed.
func (b *postgresBackend) load(ctx context.Context, name, table, out string, m *Manifest, progress func(string)) (int64, error) {
	path := filepath.Join(out, docsFile)
	f, err := safefile.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, fmt.Errorf("the build wrote no %s: the postgres backend loads its documents from it (one JSON object per line, with id, text, and optionally path, line and meta); a build_command writes it into its output folder", docsFile)
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	qt := b.qualified(table)
	var count int64
	err = b.change(ctx, name, func(tx pgx.Tx) error {
		if err := b.createBuildTable(ctx, tx, table); err != nil {
			return err
		}
		src := &docsSource{r: bufio.NewReaderSize(f, 256*1024), progress: progress}
		n, err := tx.CopyFrom(ctx, pgx.Identifier{b.schema, table}, pgColumns, src)
		if err != nil {
			return fmt.Errorf("load %s into %s: %w", docsFile, b.display(table), pgDetail(err))
		}
		if n != m.DocCount {
			return fmt.Errorf("%s holds %s, but the build's doc_count is %s", docsFile, plural(n, "document"), thousands(m.DocCount))
		}
		say(progress, "loaded %s into %s", plural(n, "document"), b.display(table))
		for _, stmt := range []string{
			`ALTER TABLE ` + qt + ` ADD PRIMARY KEY (id)`,
			`CREATE INDEX ON ` + qt + ` (path)`,
			`CREATE INDEX ON ` + qt + ` USING gin (to_tsvector('english', content))`,
			`ANALYZE ` + qt,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("index %s: %w", b.display(table), pgDetail(err))
			}
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+qt).Scan(&count); err != nil {
			return fmt.Errorf("count %s: %w", b.display(table), err)
		}
		if count != n {
			return fmt.Errorf("%s holds %s after loading %s", b.display(table), plural(count, "document"), thousands(n))
		}
		manifest, err := json.Marshal(m)
		if err != nil {
			return err
		}
		return b.comment(ctx, tx, "TABLE", table, fmt.Sprintf("runbook index %s, build %s: %s", name, m.Version, manifest))
	})
	if err != nil {
		return 0, err
	}
	say(progress, "indexed %s: primary key on id, btree on path, GIN full text on content; %s counted", b.display(table), plural(count, "document"))
	return count, nil
}

// createBuildTable creates the build's table, with a column for embeddings
// where the database has a vector type.
func (b *postgresBackend) createBuildTable(ctx context.Context, tx pgx.Tx, table string) error {
	vector, err := b.vectorType(ctx, tx)
	if err != nil {
		return err
	}
	columns := `id text NOT NULL, path text NOT NULL, content text NOT NULL, line integer, meta jsonb`
	if vector != "" {
		// Left NULL: embedding the documents is the application's.
		columns += `, embedding ` + vector
	}
	if _, err := tx.Exec(ctx, `CREATE TABLE `+b.qualified(table)+` (`+columns+`)`); err != nil {
		return fmt.Errorf("create %s: %w", b.display(table), pgDetail(err))
	}
	return nil
}

// pgDetail adds a PostgreSQL error's detail to its text: the reason is
// often there ("Key (id)=(a.txt) is duplicated.").
func pgDetail(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Detail != "" {
		return fmt.Errorf("%w (%s)", err, pgErr.Detail)
	}
	return err
}

// docsSource feeds the lines of a docs.jsonl to COPY, one row per document.
type docsSource struct {
	r        *bufio.Reader
	lineNo   int
	n        int64
	row      []any
	err      error
	progress func(string)
}

var _ pgx.CopyFromSource = (*docsSource)(nil)

func (s *docsSource) Next() bool {
	for {
		line, readErr := safefile.ReadLine(s.r, maxDocument, fmt.Sprintf("%s line %d", docsFile, s.lineNo+1))
		if readErr != nil && !errors.Is(readErr, io.EOF) {
			s.err = fmt.Errorf("read %s: %w", docsFile, readErr)
			return false
		}
		if len(line) == 0 && readErr != nil {
			return false
		}
		s.lineNo++
		if len(bytes.TrimSpace(line)) == 0 {
			if readErr != nil {
				return false
			}
			continue
		}
		row, err := docRow(line)
		if err != nil {
			s.err = fmt.Errorf("%s:%d: %w", docsFile, s.lineNo, err)
			return false
		}
		s.row = row
		s.n++
		if s.n%progressEvery == 0 {
			say(s.progress, "loaded %s documents…", thousands(s.n))
		}
		return true
	}
}

func (s *docsSource) Values() ([]any, error) { return s.row, nil }

func (s *docsSource) Err() error { return s.err }

// docRow reads one line of docs.jsonl (see document) into the values of
// pgColumns.
func docRow(line []byte) ([]any, error) {
	var d struct {
		ID   *string         `json:"id"`
		Path string          `json:"path"`
		Line int64           `json:"line"`
		Text *string         `json:"text"`
		Meta json.RawMessage `json:"meta"`
	}
	if err := json.Unmarshal(line, &d); err != nil {
		return nil, fmt.Errorf("want a JSON object with id and text: %w", err)
	}
	if d.ID == nil || *d.ID == "" {
		return nil, errors.New("a document needs a non-empty id")
	}
	if d.Text == nil {
		return nil, fmt.Errorf("document %q has no text", *d.ID)
	}
	var lineNo, meta any
	if d.Line != 0 {
		if d.Line < 0 || d.Line > math.MaxInt32 {
			return nil, fmt.Errorf("document %q: line %d is out of range", *d.ID, d.Line)
		}
		lineNo = int32(d.Line)
	}
	if len(d.Meta) > 0 && !isNull(d.Meta) {
		// jsonb cannot hold the NUL character either.
		meta = bytes.ReplaceAll(d.Meta, []byte(`\u0000`), []byte(`\ufffd`))
	}
	return []any{noNUL(*d.ID), noNUL(d.Path), noNUL(*d.Text), lineNo, meta}, nil
}
