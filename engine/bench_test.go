package engine

import (
	"context"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// hookFunc adapts a function to a Hook.
type hookFunc func(e Event) error

// Handle implements Hook.
func (f hookFunc) Handle(e Event) error { return f(e) }

// BenchmarkStepOverhead measures what the engine itself costs per step:
// evaluation, events, expectations, with an in-process plugin that does no
// work. Reported as ns/step.
func BenchmarkStepOverhead(b *testing.B) { benchStepOverhead(b) }

// BenchmarkStepOverheadTraced is BenchmarkStepOverhead with the run traced
// as exec traces it when a collector is set (docs/telemetry.md): a span
// for the run, each step and each call, events for checks, through a batch
// processor; the exporter discards the batches, so what is measured is the
// engine's tracing, not the network.
func BenchmarkStepOverheadTraced(b *testing.B) {
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discardExporter{}))
	defer tp.Shutdown(context.Background())
	benchStepOverhead(b, WithTracer(tp.Tracer("bench")))
}

// discardExporter drops every span it is given.
type discardExporter struct{}

func (discardExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discardExporter) Shutdown(context.Context) error                             { return nil }

func benchStepOverhead(b *testing.B, opts ...Option) {
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
	hook := hookFunc(func(Event) error { return nil })
	b.ReportAllocs()
	for b.Loop() {
		kv.calls = kv.calls[:0]
		res, err := Run(context.Background(), cfg, rb, append([]Option{WithPlugins(InProcess{"kv": kv}), WithHooks(hook),
			WithOperator("bench@host"), WithRunID("bench"), WithEnv(func(string) (string, bool) { return "", false }),
			WithClock(&fakeClock{now: time.Unix(0, 0)})}, opts...)...)
		if err != nil || res.Status != StatusSucceeded {
			b.Fatalf("%v %+v", err, res)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*steps), "ns/step")
}

// BenchmarkManualSteps runs runbooks of 1k, 3k and 10k manual steps, each
// quoting the one before, approved with --yes: the engine's cost must grow linearly with the number
// of steps (ns/step stays flat across the sizes).
func BenchmarkManualSteps(b *testing.B) {
	for _, steps := range []int{1000, 3000, 10000} {
		b.Run(fmt.Sprintf("steps=%d", steps), func(b *testing.B) {
			cfg, rb := load(b, manualRunbook(steps))
			hook := hookFunc(func(Event) error { return nil })
			for b.Loop() {
				res, err := Run(context.Background(), cfg, rb, WithHooks(hook), WithYes(true),
					WithOperator("bench@host"), WithRunID("bench"), WithEnv(func(string) (string, bool) { return "", false }),
					WithClock(&fakeClock{now: time.Unix(0, 0)}))
				if err != nil || res.Status != StatusSucceeded {
					b.Fatalf("%v %+v", err, res)
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*steps), "ns/step")
		})
	}
}

// manualRunbook is a runbook of n manual steps, each quoting the one before.
func manualRunbook(n int) string {
	var sb strings.Builder
	sb.WriteString("runbook \"bench\" {\n  owner = \"t\"\n")
	for i := range n {
		if i == 0 {
			fmt.Fprintf(&sb, "  step \"s%d\" {\n    manual = \"Do thing %d.\"\n  }\n", i, i)
			continue
		}
		fmt.Fprintf(&sb, "  step \"s%d\" {\n    manual = \"Do thing %d after ${step.s%d.output.confirmed_by}.\"\n  }\n", i, i, i-1)
	}
	sb.WriteString("}\n")
	return sb.String()
}

// TestManualStepsLinear: what a step costs does not grow with the number of
// steps before it. Measured in bytes allocated, which unlike time does not
// depend on the machine's load: 4 times the steps may cost at most 6 times
// the bytes (a quadratic engine costs 16 times).
func TestManualStepsLinear(t *testing.T) {
	allocated := func(n int) uint64 {
		cfg, rb := load(t, manualRunbook(n))
		hook := hookFunc(func(Event) error { return nil })
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		res, err := Run(context.Background(), cfg, rb, WithHooks(hook), WithYes(true),
			WithOperator("bench@host"), WithRunID("bench"), WithEnv(func(string) (string, bool) { return "", false }),
			WithClock(&fakeClock{now: time.Unix(0, 0)}))
		runtime.ReadMemStats(&after)
		if err != nil || res.Status != StatusSucceeded {
			t.Fatalf("%v %+v", err, res)
		}
		return after.TotalAlloc - before.TotalAlloc
	}
	small, large := allocated(500), allocated(2000)
	if ratio := float64(large) / float64(small); ratio > 6 {
		t.Errorf("2000 steps allocate %.1f times what 500 do (%d vs %d bytes): the cost per step grows with the steps before it", ratio, large, small)
	}
}
