package index

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/plugins/filestate"
	"github.com/runbookdev/runbook/plugins/safefile"
)

// The names inside an index folder (see the package doc).
const (
	currentLink    = "current"
	buildsDir      = "builds"
	historyFile    = "history.jsonl"
	lockFile       = ".lock"
	buildingPrefix = ".building-"
	deletingPrefix = ".deleting-"
	linkTmpPrefix  = ".current.tmp-"
	versionLayout  = "20060102T150405Z"
)

// fileBackend keeps indexes in a folder (the embedded backend).
type fileBackend struct {
	dir string
	// now is the clock versions are named after; tests set it.
	now func() time.Time
}

func newFileBackend(dir string) *fileBackend {
	return &fileBackend{dir: dir, now: time.Now}
}

func (b *fileBackend) indexDir(name string) string { return filepath.Join(b.dir, name) }

func (b *fileBackend) buildDir(name, version string) string {
	return filepath.Join(b.dir, name, buildsDir, version)
}

// checkIndex reports an *UnknownIndexError unless the index's folder exists.
func (b *fileBackend) checkIndex(name string) error {
	info, err := os.Stat(b.indexDir(name))
	if err == nil && info.IsDir() {
		return nil
	}
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("index %s: %w", name, err)
	}
	var known []string
	entries, _ := os.ReadDir(b.dir)
	for _, e := range entries {
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			known = append(known, e.Name())
		}
	}
	return &UnknownIndexError{Name: name, Where: b.dir, Known: known}
}

func (b *fileBackend) Lock(ctx context.Context, name string) (func(), error) {
	if err := b.checkIndex(name); err != nil {
		return nil, err
	}
	return filestate.Lock(ctx, filepath.Join(b.indexDir(name), lockFile))
}

func (b *fileBackend) Status(_ context.Context, name string) (*State, error) {
	if err := b.checkIndex(name); err != nil {
		return nil, err
	}
	live, err := b.live(name)
	if err != nil {
		return nil, err
	}
	st := &State{Name: name, Live: live, Versions: []string{}}
	entries, err := os.ReadDir(filepath.Join(b.indexDir(name), buildsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("index %s: list builds: %w", name, err)
	}
	for _, e := range entries {
		if e.IsDir() && validVersionName(e.Name()) {
			st.Versions = append(st.Versions, e.Name())
		}
	}
	sort.Strings(st.Versions)
	if live != "" {
		m, err := readManifest(b.buildDir(name, live))
		if err != nil {
			return nil, fmt.Errorf("index %s: live build %s: %w", name, live, err)
		}
		st.LiveManifest = m
	}
	return st, nil
}

// live reads the current symlink: the live build's version, or "" when there
// is none yet. A current that does not name a kept build is an error: the
// index is damaged, and nothing should guess around that.
func (b *fileBackend) live(name string) (string, error) {
	link := filepath.Join(b.indexDir(name), currentLink)
	target, err := os.Readlink(link)
	if errors.Is(err, fs.ErrNotExist) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("index %s: %s is not a symlink to a build: %w", name, link, err)
	}
	if filepath.IsAbs(target) {
		rel, err := filepath.Rel(b.indexDir(name), target)
		if err != nil {
			return "", fmt.Errorf("index %s: current → %s: %w", name, target, err)
		}
		target = rel
	}
	dir, version := filepath.Split(filepath.Clean(target))
	if filepath.Clean(dir) != buildsDir || !validVersionName(version) {
		return "", fmt.Errorf("index %s: current → %s, which is not a build (want builds/VERSION)", name, target)
	}
	info, err := os.Stat(b.buildDir(name, version))
	if err != nil || !info.IsDir() {
		return "", fmt.Errorf("index %s: current → %s, which does not exist: the index is damaged", name, target)
	}
	return version, nil
}

func (b *fileBackend) Manifest(_ context.Context, name, version string) (*Manifest, error) {
	if !validVersionName(version) {
		return nil, fmt.Errorf("index %s: %q is not a build name", name, version)
	}
	m, err := readManifest(b.buildDir(name, version))
	if err != nil {
		return nil, fmt.Errorf("index %s: build %s: %w", name, version, err)
	}
	return m, nil
}

func (b *fileBackend) Leftovers(ctx context.Context, name string) ([]Leftover, error) {
	st, err := b.Status(ctx, name)
	if err != nil {
		return nil, err
	}
	var out []Leftover
	entries, err := os.ReadDir(filepath.Join(b.indexDir(name), buildsDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("index %s: list builds: %w", name, err)
	}
	for _, e := range entries {
		switch n := e.Name(); {
		case strings.HasPrefix(n, buildingPrefix):
			out = append(out, Leftover{Path: buildsDir + "/" + n, Why: "an unfinished build"})
		case strings.HasPrefix(n, deletingPrefix):
			out = append(out, Leftover{Path: buildsDir + "/" + n, Why: "a half-removed build"})
		}
	}
	entries, err = os.ReadDir(b.indexDir(name))
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), linkTmpPrefix) {
			out = append(out, Leftover{Path: e.Name(), Why: "an unused symlink"})
		}
	}
	newer := false
	for _, v := range st.Versions {
		if v > st.Live {
			newer = true
		}
	}
	if !newer {
		return out, nil
	}
	everLive, err := b.everLive(name, st.Live)
	if err != nil {
		return nil, err
	}
	for _, v := range st.Versions {
		if v > st.Live && !everLive[v] {
			out = append(out, Leftover{Path: buildsDir + "/" + v, Why: "a build that was never made live"})
		}
	}
	return out, nil
}

// everLive reads from the history which builds have been live.
func (b *fileBackend) everLive(name, live string) (map[string]bool, error) {
	seen := map[string]bool{live: true}
	f, err := safefile.OpenNoFollow(filepath.Join(b.indexDir(name), historyFile))
	if errors.Is(err, fs.ErrNotExist) {
		return seen, nil
	}
	if err != nil {
		return nil, fmt.Errorf("index %s: read history: %w", name, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64*1024), 16<<20)
	for sc.Scan() {
		var e struct {
			Action string `json:"action"`
			From   any    `json:"from"`
			To     any    `json:"to"`
		}
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			continue
		}
		if e.Action != "rebuild" && e.Action != "rollback" {
			continue
		}
		for _, v := range []any{e.From, e.To} {
			if s, ok := v.(string); ok {
				seen[s] = true
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("index %s: read history: %w", name, err)
	}
	return seen, nil
}

func (b *fileBackend) Recover(ctx context.Context, name string, ch Change, progress func(string)) error {
	leftovers, err := b.Leftovers(ctx, name)
	if err != nil {
		return err
	}
	for _, l := range leftovers {
		path := filepath.Join(b.indexDir(name), filepath.FromSlash(l.Path))
		if dir, v := filepath.Split(l.Path); filepath.Clean(dir) == buildsDir && validVersionName(v) {
			ch := ch
			ch.Action, ch.From, ch.To = "discard", v, ""
			if err := b.remove(name, v, ch); err != nil {
				return err
			}
		} else if err := os.RemoveAll(path); err != nil {
			return fmt.Errorf("index %s: remove %s: %w", name, l.Path, err)
		}
		say(progress, "removed %s (%s, left by an interrupted change)", l.Path, l.Why)
	}
	if len(leftovers) > 0 {
		if err := syncDirs(filepath.Join(b.indexDir(name), buildsDir), b.indexDir(name)); err != nil {
			return fmt.Errorf("index %s: %w", name, err)
		}
	}
	return nil
}

func (b *fileBackend) Build(ctx context.Context, name string, req BuildRequest) (*Manifest, error) {
	builds := filepath.Join(b.indexDir(name), buildsDir)
	if err := os.MkdirAll(builds, 0o755); err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	version, tmp, err := b.newBuildDir(builds)
	if err != nil {
		return nil, fmt.Errorf("index %s: %w", name, err)
	}
	say(req.Progress, "building %s %s from %s", name, version, req.Source)
	m, err := b.fill(ctx, name, version, tmp, req)
	if err != nil {
		if rmErr := os.RemoveAll(tmp); rmErr != nil {
			return nil, errors.Join(err, fmt.Errorf("remove the failed build: %w", rmErr))
		}
		return nil, err
	}
	return m, nil
}

// fill runs the builder into tmp and writes the manifest.
func (b *fileBackend) fill(ctx context.Context, name, version, tmp string, req BuildRequest) (*Manifest, error) {
	m, err := runBuilder(ctx, name, version, tmp, req, b.now)
	if err != nil {
		return nil, err
	}
	if err := filestate.WriteJSON(filepath.Join(tmp, manifestFile), m); err != nil {
		return nil, fmt.Errorf("build %s: %w", version, err)
	}
	return m, nil
}

// newBuildDir picks the next version and creates its temporary folder.
// Versions are the UTC time, with a suffix when that name is taken or the
// clock went back behind an existing build: they always sort in build order.
func (b *fileBackend) newBuildDir(builds string) (version, tmp string, err error) {
	entries, err := os.ReadDir(builds)
	if err != nil {
		return "", "", fmt.Errorf("list builds: %w", err)
	}
	var names []string
	for _, e := range entries {
		n := strings.TrimPrefix(strings.TrimPrefix(e.Name(), buildingPrefix), deletingPrefix)
		names = append(names, n)
	}
	for range 100 {
		version = nextVersion(b.now(), names)
		tmp = filepath.Join(builds, buildingPrefix+version)
		err = os.Mkdir(tmp, 0o755)
		if err == nil {
			return version, tmp, nil
		}
		if !errors.Is(err, fs.ErrExist) {
			return "", "", fmt.Errorf("create build folder: %w", err)
		}
		names = append(names, version)
	}
	return "", "", fmt.Errorf("create build folder: %w", err)
}

// nextVersion names a build made at now, after every name in existing that
// is a version.
func nextVersion(now time.Time, existing []string) string {
	base, seq := now.UTC().Format(versionLayout), 0
	for _, n := range existing {
		b, s, ok := splitVersion(n)
		if !ok {
			continue
		}
		switch {
		case b > base:
			base, seq = b, s+1
		case b == base && s+1 > seq:
			seq = s + 1
		}
	}
	if seq == 0 {
		return base
	}
	return fmt.Sprintf("%s-%03d", base, seq)
}

// splitVersion splits "20261126T140512Z-002" into its time and suffix.
func splitVersion(v string) (base string, seq int, ok bool) {
	base, suffix, hasSuffix := strings.Cut(v, "-")
	if _, err := time.Parse(versionLayout, base); err != nil {
		return "", 0, false
	}
	if !hasSuffix {
		return base, 0, true
	}
	n, err := strconv.Atoi(suffix)
	if err != nil || n < 1 {
		return "", 0, false
	}
	return base, n, true
}

// validVersionName reports whether v can name a kept build: one path
// segment, not hidden.
func validVersionName(v string) bool {
	return v != "" && !strings.HasPrefix(v, ".") && !strings.ContainsAny(v, "/\\\x00") && filepath.Base(v) == v
}

func (b *fileBackend) Discard(_ context.Context, name, version string) error {
	if !validVersionName(version) {
		return fmt.Errorf("index %s: %q is not a build name", name, version)
	}
	tmp := filepath.Join(b.indexDir(name), buildsDir, buildingPrefix+version)
	if err := os.RemoveAll(tmp); err != nil {
		return fmt.Errorf("index %s: discard build %s: %w", name, version, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(tmp)); err != nil {
		return fmt.Errorf("index %s: %w", name, err)
	}
	return nil
}

func (b *fileBackend) Activate(_ context.Context, name string, ch Change) error {
	if !validVersionName(ch.To) {
		return fmt.Errorf("index %s: %q is not a build name", name, ch.To)
	}
	builds := filepath.Join(b.indexDir(name), buildsDir)
	final := filepath.Join(builds, ch.To)
	pending := filepath.Join(builds, buildingPrefix+ch.To)
	if _, err := os.Stat(pending); err == nil {
		if err := os.Rename(pending, final); err != nil {
			return fmt.Errorf("index %s: finish build %s: %w", name, ch.To, err)
		}
		if err := atomicfile.SyncDir(builds); err != nil {
			return fmt.Errorf("index %s: %w", name, err)
		}
	}
	if info, err := os.Stat(final); err != nil || !info.IsDir() {
		return fmt.Errorf("index %s: no build %s to make live", name, ch.To)
	}
	if err := b.swap(name, ch.To); err != nil {
		return err
	}
	return b.record(name, ch)
}

// swap points current at a build: a new symlink under a temporary name,
// renamed over current (rename is atomic), then the folder fsync'd.
func (b *fileBackend) swap(name, version string) error {
	dir := b.indexDir(name)
	var suffix [8]byte
	if _, err := rand.Read(suffix[:]); err != nil {
		return fmt.Errorf("index %s: %w", name, err)
	}
	tmp := filepath.Join(dir, linkTmpPrefix+hex.EncodeToString(suffix[:]))
	if err := os.Symlink(buildsDir+"/"+version, tmp); err != nil {
		return fmt.Errorf("index %s: swap current: %w", name, err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, currentLink)); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("index %s: swap current: %w", name, err)
	}
	if err := atomicfile.SyncDir(dir); err != nil {
		return fmt.Errorf("index %s: swap current: %w", name, err)
	}
	return nil
}

func (b *fileBackend) Remove(_ context.Context, name, version string, ch Change) error {
	if !validVersionName(version) {
		return fmt.Errorf("index %s: %q is not a build name", name, version)
	}
	live, err := b.live(name)
	if err != nil {
		return err
	}
	if version == live {
		return fmt.Errorf("index %s: build %s is live; it cannot be removed", name, version)
	}
	ch.From, ch.To = version, ""
	return b.remove(name, version, ch)
}

// remove takes a build out of the list with one rename, then deletes it: a
// crash half-way leaves a ".deleting-" folder, never a half build.
func (b *fileBackend) remove(name, version string, ch Change) error {
	builds := filepath.Join(b.indexDir(name), buildsDir)
	gone := filepath.Join(builds, deletingPrefix+version)
	if err := os.Rename(filepath.Join(builds, version), gone); err != nil {
		return fmt.Errorf("index %s: remove build %s: %w", name, version, err)
	}
	if err := atomicfile.SyncDir(builds); err != nil {
		return fmt.Errorf("index %s: %w", name, err)
	}
	if err := b.record(name, ch); err != nil {
		return err
	}
	if err := os.RemoveAll(gone); err != nil {
		return fmt.Errorf("index %s: remove build %s: %w", name, version, err)
	}
	return nil
}

func (b *fileBackend) record(name string, ch Change) error {
	e := filestate.HistoryEntry{
		Time:     b.now().UTC(),
		Action:   ch.Action,
		From:     versionOrNil(ch.From),
		To:       versionOrNil(ch.To),
		Operator: ch.Operator,
		RunID:    ch.RunID,
		Subject:  name,
	}
	if err := filestate.AppendHistory(filepath.Join(b.indexDir(name), historyFile), e); err != nil {
		return fmt.Errorf("index %s: %w", name, err)
	}
	return nil
}

func versionOrNil(v string) any {
	if v == "" {
		return nil
	}
	return v
}

func syncDirs(dirs ...string) error {
	for _, d := range dirs {
		if _, err := os.Stat(d); errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err := atomicfile.SyncDir(d); err != nil {
			return err
		}
	}
	return nil
}

// say sends one progress line, if anyone listens.
func say(progress func(string), format string, args ...any) {
	if progress != nil {
		progress(fmt.Sprintf(format, args...))
	}
}
