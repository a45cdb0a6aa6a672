package safefile

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// MaxStateFile is the largest state file of a file backend (labels.json,
// a flag file) that is read.
const MaxStateFile = 16 << 20

// TooLargeError reports input beyond its limit.
type TooLargeError struct {
	What  string // the file or response
	Limit int64  // in bytes
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is too large (limit %s)", e.What, Size(e.Limit))
}

// Size renders a byte count as the limits are documented: 8 MiB, 64 KiB.
func Size(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// ErrSymlink is wrapped by the errors of the NoFollow functions when the
// path is a symbolic link.
var ErrSymlink = errors.New("is a symbolic link; runbook does not follow links in its state")

// Open opens the regular file at path for reading, following symbolic
// links. Anything else is refused with an error that says what it is.
func Open(path string) (*os.File, error) { return open(path, false) }

// OpenNoFollow is Open that refuses a symbolic link at path.
func OpenNoFollow(path string) (*os.File, error) { return open(path, true) }

func open(path string, noFollow bool) (*os.File, error) {
	f, err := openFile(path, noFollow)
	if err != nil {
		if noFollow && errors.Is(err, errLoop) {
			return nil, fmt.Errorf("%s %w", path, ErrSymlink)
		}
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		f.Close()
		return nil, fmt.Errorf("%s is %s, not a regular file", path, kind(fi.Mode()))
	}
	return f, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m.IsDir():
		return "a folder"
	case m&fs.ModeNamedPipe != 0:
		return "a named pipe"
	case m&fs.ModeSocket != 0:
		return "a socket"
	case m&fs.ModeDevice != 0:
		return "a device"
	}
	return "a special file"
}

// ReadFile reads the regular file at path, following symbolic links, and
// refuses a file larger than limit bytes.
func ReadFile(path string, limit int64) ([]byte, error) { return readFile(path, limit, Open) }

// ReadFileNoFollow is ReadFile that refuses a symbolic link at path.
func ReadFileNoFollow(path string, limit int64) ([]byte, error) {
	return readFile(path, limit, OpenNoFollow)
}

func readFile(path string, limit int64, open func(string) (*os.File, error)) ([]byte, error) {
	f, err := open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err := f.Stat(); err == nil && fi.Size() > limit {
		return nil, &TooLargeError{What: path, Limit: limit}
	}
	return ReadAll(f, limit, path)
}

// ReadAll reads r to its end, or fails with a TooLargeError naming what
// once it holds more than limit bytes: it never buffers more than limit+1.
func ReadAll(r io.Reader, limit int64, what string) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > limit {
		return nil, &TooLargeError{What: what, Limit: limit}
	}
	return data, nil
}

// LimitReader returns a reader of r that fails with a TooLargeError naming
// what once more than limit bytes have been read: for streams read line by
// line, which io.LimitReader would silently cut short.
func LimitReader(r io.Reader, limit int64, what string) io.Reader {
	return &limitReader{r: r, left: limit, limit: limit, what: what}
}

type limitReader struct {
	r     io.Reader
	left  int64
	limit int64
	what  string
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.left < 0 {
		return 0, &TooLargeError{What: l.what, Limit: l.limit}
	}
	if int64(len(p)) > l.left+1 {
		p = p[:l.left+1]
	}
	n, err := l.r.Read(p)
	l.left -= int64(n)
	if l.left < 0 {
		n += int(l.left) // drop the byte past the limit
		return n, &TooLargeError{What: l.what, Limit: l.limit}
	}
	return n, err
}

// ReadLine is bufio.Reader.ReadBytes('\n') that fails with a TooLargeError
// naming what once the line is longer than limit bytes, instead of
// buffering a line that never ends.
func ReadLine(r *bufio.Reader, limit int, what string) ([]byte, error) {
	var line []byte
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > limit {
			return nil, &TooLargeError{What: what, Limit: int64(limit)}
		}
		line = append(line, frag...)
		if !errors.Is(err, bufio.ErrBufferFull) {
			return line, err
		}
	}
}
