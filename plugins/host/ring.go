package host

import (
	"bytes"
	"sync"
)

// ring keeps the last limit bytes written to it: a plugin's stderr, so that
// a crash can be explained without a chatty plugin growing the host's memory.
type ring struct {
	mu    sync.Mutex
	buf   []byte
	limit int
	start int  // index of the oldest byte once full
	full  bool // buf has wrapped
	total int64
}

func newRing(limit int) *ring {
	return &ring{buf: make([]byte, 0, limit), limit: limit}
}

// Write implements io.Writer; it never fails.
func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := len(p)
	r.total += int64(n)
	if n >= r.limit {
		r.buf = append(r.buf[:0], p[n-r.limit:]...)
		r.start, r.full = 0, true
		return n, nil
	}
	if !r.full {
		room := r.limit - len(r.buf)
		if n <= room {
			r.buf = append(r.buf, p...)
			return n, nil
		}
		r.buf = append(r.buf, p[:room]...)
		p = p[room:]
		r.full, r.start = true, 0
	}
	for len(p) > 0 {
		c := copy(r.buf[r.start:], p)
		p = p[c:]
		r.start = (r.start + c) % r.limit
	}
	return n, nil
}

// Bytes returns what the ring holds, oldest first.
func (r *ring) Bytes() []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.full {
		return bytes.Clone(r.buf)
	}
	out := make([]byte, 0, r.limit)
	out = append(out, r.buf[r.start:]...)
	return append(out, r.buf[:r.start]...)
}
