package lock

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
)

// maxStem bounds the escaped part of a file name, leaving room under the
// usual 255-byte limit for ".holder.json" and atomicfile's temp-name affixes.
const maxStem = 160

// fileStem maps a lock name to a readable, safe file name stem: ASCII
// letters, digits, '-', '_' and '.' stay as they are, every other byte
// (including '/', '%' and a leading '.') becomes %XX, so the stem is never
// "", "." or "..", never holds a separator, never starts a hidden file, and
// distinct names give distinct stems. A stem longer than maxStem is cut and
// suffixed with '~' and a hash of the whole name; '~' is always escaped
// otherwise, so cut stems cannot collide with whole ones.
func fileStem(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		c := name[i]
		if isPlain(c) && (i > 0 || c != '.') {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	s := b.String()
	if len(s) <= maxStem {
		return s
	}
	sum := sha256.Sum256([]byte(name))
	cut := maxStem - 1 - 16
	if i := strings.LastIndexByte(s[:cut], '%'); i >= cut-2 {
		cut = i // don't split an escape
	}
	return s[:cut] + "~" + hex.EncodeToString(sum[:8])
}

func isPlain(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' ||
		c == '-' || c == '_' || c == '.'
}
