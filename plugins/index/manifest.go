package index

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/plugins/safefile"
)

// manifestFile is the name of a build's manifest.
const manifestFile = "manifest.json"

// maxManifestSize bounds what is read of a manifest.json: a manifest is a
// few hundred bytes, and a runaway build_command must not exhaust memory.
const maxManifestSize = 1 << 20

// Manifest describes one build (manifest.json in the build's folder).
type Manifest struct {
	Version  string
	DocCount int64
	// Source is the source the build was made from, as the action received it.
	Source  string
	BuiltAt time.Time
	// SHA256 is the digest of the build's content (see the package doc).
	SHA256 string
	// Extra holds every other key, as written (by a build_command).
	Extra map[string]json.RawMessage
}

// manifestKeys are the keys Manifest owns, in the order they are written.
var manifestKeys = []string{"version", "doc_count", "source", "built_at", "sha256"}

// ParseManifest reads a manifest.json. doc_count is required (a whole number,
// at least 0); the other known keys are optional but must have their type;
// unknown keys are kept in Extra.
func ParseManifest(data []byte) (*Manifest, error) {
	return parseManifest(data, false)
}

// parseManifest is ParseManifest; with ownKeys, the keys the plugin sets
// itself (version, source, built_at, sha256) are dropped unread, so that a
// build_command's idea of them can neither fail the build nor survive it.
func parseManifest(data []byte, ownKeys bool) (*Manifest, error) {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("manifest: %w", err)
	}
	if raw == nil {
		return nil, errors.New("manifest: want a JSON object, got null")
	}
	m := &Manifest{}
	count, ok := raw["doc_count"]
	if !ok || isNull(count) {
		return nil, errors.New("manifest: doc_count is missing")
	}
	n, err := parseCount(count)
	if err != nil {
		return nil, fmt.Errorf("manifest: doc_count: %w", err)
	}
	m.DocCount = n
	if !ownKeys {
		if err := m.readOwnKeys(raw); err != nil {
			return nil, err
		}
	}
	for _, key := range manifestKeys {
		delete(raw, key)
	}
	if len(raw) > 0 {
		m.Extra = make(map[string]json.RawMessage, len(raw))
		for k, v := range raw {
			var buf bytes.Buffer
			if err := json.Compact(&buf, v); err != nil {
				return nil, fmt.Errorf("manifest: %s: %w", k, err)
			}
			m.Extra[k] = buf.Bytes()
		}
	}
	return m, nil
}

// readOwnKeys reads version, source, sha256 and built_at.
func (m *Manifest) readOwnKeys(raw map[string]json.RawMessage) error {
	for _, f := range []struct {
		key string
		dst *string
	}{{"version", &m.Version}, {"source", &m.Source}, {"sha256", &m.SHA256}} {
		v, ok := raw[f.key]
		if !ok || isNull(v) {
			continue
		}
		if err := json.Unmarshal(v, f.dst); err != nil {
			return fmt.Errorf("manifest: %s: want a string", f.key)
		}
	}
	if v, ok := raw["built_at"]; ok && !isNull(v) {
		var s string
		if err := json.Unmarshal(v, &s); err != nil {
			return errors.New("manifest: built_at: want an RFC 3339 time string")
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return fmt.Errorf("manifest: built_at: %w", err)
		}
		m.BuiltAt = t
	}
	return nil
}

func isNull(v json.RawMessage) bool { return string(bytes.TrimSpace(v)) == "null" }

// parseCount reads a whole, non-negative JSON number. 12.0 and 1.2e3 are
// whole; 1.5 and -1 are not.
func parseCount(v json.RawMessage) (int64, error) {
	var num json.Number
	// json.Number also takes a quoted number; a count is a JSON number.
	if t := bytes.TrimSpace(v); len(t) == 0 || t[0] == '"' || json.Unmarshal(t, &num) != nil {
		return 0, errors.New("want a whole number")
	}
	if n, err := strconv.ParseInt(string(num), 10, 64); err == nil {
		if n < 0 {
			return 0, fmt.Errorf("%d is negative", n)
		}
		return n, nil
	}
	f, err := strconv.ParseFloat(string(num), 64)
	if err != nil || f != math.Trunc(f) || f < 0 || f > 1<<53 {
		return 0, fmt.Errorf("%s is not a whole number from 0 to 2^53", num)
	}
	return int64(f), nil
}

// MarshalJSON writes the known keys in a fixed order, then Extra's keys
// sorted; empty known keys are left out.
func (m *Manifest) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	first := true
	put := func(key string, v any) error {
		if !first {
			buf.WriteByte(',')
		}
		first = false
		k, _ := json.Marshal(key)
		buf.Write(k)
		buf.WriteByte(':')
		if raw, ok := v.(json.RawMessage); ok {
			return json.Compact(&buf, raw)
		}
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		buf.Write(b)
		return nil
	}
	if m.Version != "" {
		_ = put("version", m.Version)
	}
	_ = put("doc_count", m.DocCount)
	if m.Source != "" {
		_ = put("source", m.Source)
	}
	if !m.BuiltAt.IsZero() {
		if err := put("built_at", m.BuiltAt.Format(time.RFC3339Nano)); err != nil {
			return nil, err
		}
	}
	if m.SHA256 != "" {
		_ = put("sha256", m.SHA256)
	}
	keys := make([]string, 0, len(m.Extra))
	for k := range m.Extra {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := put(k, m.Extra[k]); err != nil {
			return nil, fmt.Errorf("manifest key %q: %w", k, err)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// readManifest reads and parses the manifest.json of the build in dir.
func readManifest(dir string) (*Manifest, error) {
	path := filepath.Join(dir, manifestFile)
	data, err := safefile.ReadFileNoFollow(path, maxManifestSize)
	if err != nil {
		return nil, err
	}
	m, err := ParseManifest(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return m, nil
}

// runBuilder runs the builder into out, a new folder, and stamps the
// manifest it returns: version, source, the digest of out, and the build
// time by now.
func runBuilder(ctx context.Context, name, version, out string, req BuildRequest, now func() time.Time) (*Manifest, error) {
	m, err := req.Builder.Build(ctx, BuilderRequest{Name: name, Version: version, Source: req.Source, Out: out, Progress: req.Progress})
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("build %s: %w", version, err)
	}
	sum, err := contentDigest(out)
	if err != nil {
		return nil, fmt.Errorf("build %s: %w", version, err)
	}
	m.Version, m.Source, m.SHA256 = version, req.Source, sum
	m.BuiltAt = now().UTC().Truncate(time.Second)
	return m, nil
}

// contentDigest computes a build's sha256 (see the package doc): SHA-256
// over "HEX(SHA-256(file))  PATH\n" for every file of dir but manifest.json,
// sorted by slash-separated path. It fsyncs every file and folder on the
// way, since a build_command may not have. Anything but regular files and
// folders (a symlink, a socket) is refused: a build must be self-contained.
func contentDigest(dir string) (string, error) {
	type entry struct{ path, sum string }
	var entries []entry
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			return syncPath(path)
		}
		if !d.Type().IsRegular() {
			return fmt.Errorf("%s is not a regular file (%s); a build must hold only files and folders", rel, d.Type())
		}
		if strings.ContainsAny(rel, "\n\r") {
			return fmt.Errorf("%q: file names must not contain line breaks", rel)
		}
		if rel == manifestFile {
			return nil
		}
		sum, err := hashAndSync(path)
		if err != nil {
			return err
		}
		entries = append(entries, entry{rel, sum})
		return nil
	})
	if err != nil {
		return "", fmt.Errorf("digest %s: %w", dir, err)
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].path < entries[j].path })
	h := sha256.New()
	for _, e := range entries {
		fmt.Fprintf(h, "%s  %s\n", e.sum, e.path)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func hashAndSync(path string) (string, error) {
	f, err := safefile.OpenNoFollow(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	if err := f.Sync(); err != nil {
		return "", fmt.Errorf("sync %s: %w", path, err)
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}

func syncPath(path string) error {
	return atomicfile.SyncDir(path)
}
