package transcript

import (
	"fmt"
	"testing"
)

// nopFile is a transcript file that writes and syncs nothing: the writer's
// own cost (marshal, hash chain) without the disk.
type nopFile struct{}

func (nopFile) Write(p []byte) (int, error) { return len(p), nil }
func (nopFile) Sync() error                 { return nil }
func (nopFile) Close() error                { return nil }

type nopFS struct{}

func (nopFS) MkdirAll(string) (bool, error)   { return false, nil }
func (nopFS) CreateExcl(string) (File, error) { return nopFile{}, nil }
func (nopFS) SyncDir(string) error            { return nil }
func (nopFS) Remove(string) error             { return nil }

// BenchmarkAppend measures appending one step-sized event: "fsync" to a
// real file in the test's temp folder, fsync'd as transcripts require (the
// figure depends on the disk: tmpfs is near free), "nosync" the writer
// alone, marshalling and chaining.
func BenchmarkAppend(b *testing.B) {
	fields := map[string]any{
		"step":   "rollback_05",
		"action": "prompt.rollback",
		"status": "succeeded",
		"output": map[string]any{"name": "support-agent", "label": "production", "version": 6, "versions": []int{1, 2, 3, 4, 5, 6, 7}},
	}
	for _, kind := range []string{"fsync", "nosync"} {
		b.Run(kind, func(b *testing.B) {
			var opts []Option
			if kind == "nosync" {
				opts = append(opts, WithFS(nopFS{}))
			}
			w, err := Create(b.TempDir(), fmt.Sprintf("20260101T000000Z-%s", map[string]string{"fsync": "aaaaaa", "nosync": "bbbbbb"}[kind]), opts...)
			if err != nil {
				b.Fatal(err)
			}
			defer w.Close()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := appendEvent(w, "step_finished", fields); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
