//go:build unix

package procgroup

import (
	"context"
	"testing"
	"time"
)

// BenchmarkRunTrue measures what running a command costs on top of bash
// itself: the process group, the output pipes and the watchdog.
func BenchmarkRunTrue(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		cmd := Command(ctx, "true")
		cmd.Grace, cmd.PipeGrace = time.Second, time.Second
		exit, err := cmd.Run()
		if err != nil || exit.Code != 0 {
			b.Fatalf("exit %+v, err %v", exit, err)
		}
	}
}
