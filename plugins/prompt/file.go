package prompt

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/plugins/filestate"
	"github.com/runbookdev/runbook/plugins/safefile"
)

// The files of a prompt's folder (docs/builtins.md, "File backend: prompts"). The version files are N.txt,
// N.md or N.json; the lock file is hidden so that a reader listing versions
// never mistakes it for one.
const (
	labelsFile  = "labels.json"
	historyFile = "history.jsonl"
	lockFile    = ".lock"
)

// fileBackend is the embedded backend: a registry folder holding one folder
// per prompt, with immutable version files, labels.json and history.jsonl.
// It works on one machine with no service; writers on that machine
// serialize on a lock file in the prompt's folder.
type fileBackend struct {
	dir string
}

func newFileBackend(dir string) *fileBackend { return &fileBackend{dir: dir} }

func (b *fileBackend) folder(name string) string { return filepath.Join(b.dir, name) }

// Read returns the prompt's versions and labels. It takes no lock: every
// file it reads is replaced atomically or created whole.
func (b *fileBackend) Read(ctx context.Context, name string) (*Prompt, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := b.exists(name); err != nil {
		return nil, err
	}
	return b.read(name)
}

// create makes the folder of the prompt name, durably, unless it exists.
func (b *fileBackend) create(name, folder string) error {
	switch err := os.Mkdir(folder, 0o755); {
	case err == nil:
		if err := atomicfile.SyncDir(b.dir); err != nil {
			return fmt.Errorf("create prompt %q: %w", name, err)
		}
	case !errors.Is(err, fs.ErrExist):
		return fmt.Errorf("create prompt %q: %w", name, err)
	}
	return nil
}

func (b *fileBackend) Publish(ctx context.Context, name, text, label string, c Change) (Published, error) {
	if err := checkFolderName(name); err != nil {
		return Published{}, err
	}
	folder := b.folder(name)
	if err := b.create(name, folder); err != nil {
		return Published{}, err
	}
	if err := b.exists(name); err != nil {
		return Published{}, err
	}
	unlock, err := filestate.Lock(ctx, filepath.Join(folder, lockFile))
	if err != nil {
		return Published{}, fmt.Errorf("publish %q: %w", name, err)
	}
	defer unlock()

	// Read everything before writing anything: a corrupt labels.json stops
	// the publish before a version file exists.
	p, err := b.read(name)
	if err != nil {
		return Published{}, err
	}
	if c.Check != nil {
		if err := c.Check(p); err != nil {
			return Published{}, err
		}
	}
	version := p.Latest() + 1
	if version > maxVersion {
		return Published{}, fmt.Errorf("prompt %q: no version number left above %d", name, p.Latest())
	}
	if err := writeVersion(folder, version, text); err != nil {
		return Published{}, fmt.Errorf("publish %q: %w", name, err)
	}
	res := Published{Version: version}
	subject, from := name, versionOrNull(p.Latest())
	if label != "" {
		res.Previous = p.Labels[label]
		labels := maps.Clone(p.Labels)
		labels[label] = version
		if err := filestate.WriteJSON(filepath.Join(folder, labelsFile), labels); err != nil {
			return Published{}, fmt.Errorf("published %s v%d but could not label it %s: %w", name, version, label, err)
		}
		subject, from = name+"/"+label, versionOrNull(res.Previous)
	}
	if err := record(folder, c, subject, from, version); err != nil {
		return res, fmt.Errorf("published %s v%d but could not record it: %w", name, version, err)
	}
	line := fmt.Sprintf("%s: new version v%d", name, version)
	if label != "" {
		line += " (labelled " + label + ")"
	}
	said(c, line)
	return res, nil
}

// said reports a change in the words its plan used ("production: v7 →
// v6"), as every mutating built-in reports what it did.
func said(c Change, line string) {
	if c.Progress != nil {
		c.Progress(line)
	}
}

func (b *fileBackend) MoveLabel(ctx context.Context, name, label string, pick func(*Prompt) (int, error), c Change) (Move, error) {
	if err := b.exists(name); err != nil {
		return Move{}, err
	}
	folder := b.folder(name)
	unlock, err := filestate.Lock(ctx, filepath.Join(folder, lockFile))
	if err != nil {
		return Move{}, fmt.Errorf("%s %q: %w", c.Action, name, err)
	}
	defer unlock()

	p, err := b.read(name)
	if err != nil {
		return Move{}, err
	}
	m, err := chooseMove(p, name, label, pick)
	if err != nil {
		return m, err
	}
	if m.From == m.To {
		said(c, fmt.Sprintf("%s: %s already; nothing written", label, versionText(m.To)))
		return m, nil
	}
	from, to := m.From, m.To
	labels := maps.Clone(p.Labels)
	labels[label] = to
	if err := filestate.WriteJSON(filepath.Join(folder, labelsFile), labels); err != nil {
		return Move{}, fmt.Errorf("%s %s/%s: %w", c.Action, name, label, err)
	}
	if err := record(folder, c, name+"/"+label, versionOrNull(from), to); err != nil {
		return Move{From: from, To: to}, fmt.Errorf("moved %s/%s from v%d to v%d but could not record it: %w", name, label, from, to, err)
	}
	said(c, fmt.Sprintf("%s: %s → v%d", label, versionText(from), to))
	return Move{From: from, To: to}, nil
}

// exists checks that the prompt's folder exists, and is a folder rather
// than a link to one elsewhere.
func (b *fileBackend) exists(name string) error {
	if err := checkFolderName(name); err != nil {
		return err
	}
	folder := b.folder(name)
	fi, err := os.Lstat(folder)
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w %q: there is no folder %s", ErrUnknownPrompt, name, folder)
	}
	if err != nil {
		return fmt.Errorf("prompt %q: %w", name, err)
	}
	if fi.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("prompt %q: %s %w", name, folder, safefile.ErrSymlink)
	}
	if !fi.IsDir() {
		return fmt.Errorf("prompt %q: %s is not a folder", name, folder)
	}
	return nil
}

// read reads labels.json first and lists the versions second: a writer
// creates a version's file before it points a label at it, so a label read
// first never points at a version that the listing then misses.
func (b *fileBackend) read(name string) (*Prompt, error) {
	folder := b.folder(name)
	labelsPath := filepath.Join(folder, labelsFile)
	labels, err := readLabels(labelsPath)
	if err != nil {
		return nil, fmt.Errorf("prompt %q: %w", name, err)
	}
	versions, err := listVersions(folder)
	if err != nil {
		return nil, fmt.Errorf("prompt %q: %w", name, err)
	}
	return &Prompt{Name: name, Versions: versions, Labels: labels, LabelsSource: labelsPath}, nil
}

// checkFolderName guards the file system against a name that is not one
// folder inside the registry; the plugin validates names before this.
func checkFolderName(name string) error {
	if name == "" || name == "." || name == ".." || strings.ContainsAny(name, `/\`) || strings.ContainsRune(name, 0) {
		return fmt.Errorf("prompt name %q is not a folder name", name)
	}
	return nil
}

// readLabels reads a labels.json; a missing one means no labels yet.
func readLabels(path string) (map[string]int, error) {
	data, err := safefile.ReadFileNoFollow(path, safefile.MaxStateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return map[string]int{}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read labels: %w", err)
	}
	labels, err := parseLabels(data)
	if err != nil {
		return nil, fmt.Errorf("%s is corrupt: %w", path, err)
	}
	return labels, nil
}

// listVersions returns the version numbers stored in folder, ascending.
func listVersions(folder string) ([]int, error) {
	entries, err := os.ReadDir(folder)
	if err != nil {
		return nil, fmt.Errorf("list versions: %w", err)
	}
	seen := make(map[int]string)
	versions := []int{}
	for _, e := range entries {
		if e.IsDir() {
			continue
		}
		v, ok := versionOf(e.Name())
		if !ok {
			continue
		}
		if other, dup := seen[v]; dup {
			return nil, fmt.Errorf("version %d is stored twice, as %s and %s in %s: keep one", v, other, e.Name(), folder)
		}
		seen[v] = e.Name()
		versions = append(versions, v)
	}
	slices.Sort(versions)
	return versions, nil
}

// versionOf parses a version file's name: N.txt, N.md or N.json, N a whole
// number from 1 to maxVersion without leading zeros. Anything else in the
// folder (labels.json, history.jsonl, notes, temp files) is not a version.
func versionOf(file string) (int, bool) {
	ext := filepath.Ext(file)
	switch ext {
	case ".txt", ".md", ".json":
	default:
		return 0, false
	}
	digits := strings.TrimSuffix(file, ext)
	if digits == "" || digits[0] == '0' || len(digits) > len(strconv.Itoa(maxVersion)) {
		return 0, false
	}
	for _, r := range digits {
		if r < '0' || r > '9' {
			return 0, false
		}
	}
	n, err := strconv.Atoi(digits)
	if err != nil || n > maxVersion {
		return 0, false
	}
	return n, true
}

// writeVersion stores text as folder/N.txt. The text goes to a temp file in
// the same folder, fsynced, which is then hard-linked to its final name:
// readers see the whole file or none, and the link fails rather than replace
// a file that exists, so a version is never overwritten, even by a writer
// that ignores the lock.
func writeVersion(folder string, version int, text string) (err error) {
	name := strconv.Itoa(version) + ".txt"
	final := filepath.Join(folder, name)
	tmp, err := os.CreateTemp(folder, "."+name+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", final, err)
	}
	defer os.Remove(tmp.Name())
	defer func() {
		if err != nil {
			tmp.Close()
		}
	}()
	if _, err = tmp.WriteString(text); err != nil {
		return fmt.Errorf("write %s: %w", final, err)
	}
	if err = tmp.Chmod(0o644); err != nil {
		return fmt.Errorf("write %s: %w", final, err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("write %s: sync: %w", final, err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", final, err)
	}
	if err = os.Link(tmp.Name(), final); err != nil {
		if errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("version %d already exists as %s: versions are immutable, it is not overwritten", version, final)
		}
		return fmt.Errorf("write %s: %w", final, err)
	}
	// The version exists now; a temp name left behind would be harmless.
	_ = os.Remove(tmp.Name())
	return atomicfile.SyncDir(folder)
}

// record appends a change to the prompt's history.jsonl.
func record(folder string, c Change, subject string, from any, to int) error {
	return filestate.AppendHistory(filepath.Join(folder, historyFile), filestate.HistoryEntry{
		Action:   c.Action,
		From:     from,
		To:       to,
		Operator: c.Operator,
		RunID:    c.RunID,
		Subject:  subject,
	})
}

// versionOrNull is v for the history, or JSON null for "none" (0).
func versionOrNull(v int) any {
	if v == 0 {
		return nil
	}
	return v
}
