package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"
)

// BenchmarkStepOverhead measures what the engine itself costs per step:
// evaluation, events, expectations, with an in-process plugin that does no
// work. Reported as ns/step.
func BenchmarkStepOverhead(b *testing.B) {
	const steps = 20
	var sb strings.Builder
	sb.WriteString("runbook \"bench\" {\n  owner = \"t\"\n  variable \"key\" {\n    default = \"k\"\n  }\n")
	for i := range steps {
		fmt.Fprintf(&sb, `  step "s%d" {
    when = var.key != ""
    precondition {
      condition     = length(var.key) > 0
      error_message = "no key"
    }
    action "kv.get" {
      key = var.key
    }
    expect {
      condition     = output.version >= 1
      error_message = "v${output.version}"
    }
  }
`, i)
	}
	sb.WriteString("}\n")
	cfg, rb := load(b, sb.String())
	kv := newKV()
	hook := HookFunc(func(Event) error { return nil })
	b.ReportAllocs()
	for b.Loop() {
		kv.calls = kv.calls[:0]
		res, err := Run(context.Background(), cfg, rb, WithPlugins(InProcess{"kv": kv}), WithHooks(hook),
			WithOperator("bench@host"), WithRunID("bench"), WithEnv(func(string) (string, bool) { return "", false }),
			WithClock(&fakeClock{now: time.Unix(0, 0)}))
		if err != nil || res.Status != StatusSucceeded {
			b.Fatalf("%v %+v", err, res)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*steps), "ns/step")
}
