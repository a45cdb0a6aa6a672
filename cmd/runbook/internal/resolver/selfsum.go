package resolver

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"

	"github.com/runbookdev/runbook/plugins/atomicfile"
	"github.com/runbookdev/runbook/plugins/host"
)

// The transcript records the SHA-256 of the binary that serves the
// built-in plugins (this one), and --resume compares it. Hashing a 40 MB
// binary costs about 25 ms of CPU on every exec, so the sum is cached in
// the user's cache folder, keyed by what any change to the file changes:
// its device, inode, size, modification time and status-change time. The
// kernel sets the status-change time (ctime) on every write, truncation,
// chmod or rename, and nobody can set it back, so a binary that changed in
// any way misses the cache and is hashed again. A cache that cannot be
// read or written only costs the hashing.

// fileKey identifies a file's content without reading it.
type fileKey struct {
	Path  string `json:"path"`
	Dev   uint64 `json:"dev"`
	Ino   uint64 `json:"ino"`
	Size  int64  `json:"size"`
	Mtime int64  `json:"mtime_ns"`
	Ctime int64  `json:"ctime_ns"`
}

type sumEntry struct {
	fileKey
	SHA256 string `json:"sha256"`
}

// sumCacheDir is where cached sums live: runbook's folder in the user's
// cache folder, "" when there is none.
func sumCacheDir() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		return ""
	}
	return filepath.Join(dir, "runbook")
}

// cachedSHA256 returns the hex SHA-256 of the file at path, from the cache
// in dir when its key still matches the file, else by hashing the file
// (and caching the result). dir "" disables the cache.
func cachedSHA256(path, dir string) (string, error) {
	key, keyed := statKey(path)
	var cacheFile string
	if keyed && dir != "" {
		name := sha256.Sum256([]byte(path))
		cacheFile = filepath.Join(dir, "sha256-"+hex.EncodeToString(name[:8])+".json")
		if b, err := os.ReadFile(cacheFile); err == nil {
			var e sumEntry
			if json.Unmarshal(b, &e) == nil && e.fileKey == key && len(e.SHA256) == 64 {
				return e.SHA256, nil
			}
		}
	}
	sum, err := host.FileSHA256(path)
	if err != nil {
		return "", err
	}
	if cacheFile != "" {
		// Only a file that did not change while it was hashed is cached.
		if after, ok := statKey(path); ok && after == key {
			if b, err := json.Marshal(sumEntry{fileKey: key, SHA256: sum}); err == nil && os.MkdirAll(dir, 0o700) == nil {
				_ = atomicfile.Write(cacheFile, b, 0o600)
			}
		}
	}
	return sum, nil
}
