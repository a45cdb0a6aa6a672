package transcript

import "errors"

// What the tests look at inside a Writer, which nothing else needs.

// Seq is the sequence number of the last event written, 0 before the first.
func (w *Writer) Seq() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.seq
}

// Err is the error that broke the writer, nil while it works.
func (w *Writer) Err() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if errors.Is(w.err, ErrClosed) {
		return nil
	}
	return w.err
}
