package engine

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/engine/transcript"
	"github.com/runbookdev/runbook/plugins"
)

// traced returns a tracer whose ended spans rec holds.
func traced() (*tracetest.SpanRecorder, Option) {
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	return rec, WithTracer(tp.Tracer("test"))
}

func attrs(kvs []attribute.KeyValue) map[string]string {
	out := map[string]string{}
	for _, kv := range kvs {
		out[string(kv.Key)] = kv.Value.String()
	}
	return out
}

func TestTrace(t *testing.T) {
	rec, tracer := traced()
	h := run(t, rollback, WithVars(map[string]string{"value": "v2"}), WithYes(true), tracer)
	if h.err != nil || h.res.Status != StatusSucceeded {
		t.Fatalf("err %v, res %+v", h.err, h.res)
	}
	spans := rec.Ended()
	byName := map[string]sdktrace.ReadOnlySpan{}
	for _, s := range spans {
		byName[s.Name()] = s
	}
	root := byName["RUN rb"]
	if root == nil {
		t.Fatalf("no root span among %d", len(spans))
	}
	if got := attrs(root.Attributes()); got["cicd.pipeline.name"] != "rb" || got["cicd.pipeline.run.id"] != "run-1" ||
		got["runbook.mode"] != "run" || got["runbook.operator"] != "alice@host" || got["cicd.pipeline.result"] != "success" || got["runbook.exit_code"] != "0" {
		t.Errorf("root attributes %v", got)
	}
	start := h.rec.events[0].(RunStarted)
	if start.TraceID != root.SpanContext().TraceID().String() {
		t.Errorf("run_started trace_id %q, root's %s", start.TraceID, root.SpanContext().TraceID())
	}
	// Every span is in the run's trace; steps are children of the run,
	// calls children of their step.
	parents := map[string]string{
		"read": "RUN rb", "write": "RUN rb", "check": "RUN rb", "announce": "RUN rb",
		"plan kv.set": "write", "kv.set": "write", "kv.get": "",
	}
	for name, parent := range parents {
		s := byName[name]
		if s == nil {
			t.Errorf("no span %q", name)
			continue
		}
		if s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %q is in another trace", name)
		}
		if parent != "" && s.Parent().SpanID() != byName[parent].SpanContext().SpanID() {
			t.Errorf("span %q: parent is not %q", name, parent)
		}
	}
	if got := attrs(byName["kv.set"].Attributes()); got["runbook.plugin"] != "kv" || got["runbook.action.read_only"] != "false" ||
		got["runbook.action.attempt"] != "1" || got["runbook.action.outcome"] != "ok" {
		t.Errorf("kv.set attributes %v", got)
	}
	if got := attrs(byName["write"].Attributes()); got["cicd.pipeline.task.name"] != "write" || got["runbook.step.status"] != "succeeded" {
		t.Errorf("write attributes %v", got)
	}
	events := map[string]map[string]string{}
	for _, e := range byName["write"].Events() {
		events[e.Name] = attrs(e.Attributes)
	}
	if events["confirmation"]["runbook.answered_by"] != "--yes" || !strings.Contains(events["plan"]["runbook.plan.changes"], "v2") ||
		events["precondition"]["runbook.check.status"] != "passed" || events["expectation"]["runbook.check.status"] != "passed" {
		t.Errorf("write's events %v", events)
	}
}

func TestTraceOfAFailedRun(t *testing.T) {
	rec, tracer := traced()
	h := run(t, rollback, WithVars(map[string]string{"value": "v2"}), WithPrompter(&answers{confirm: false}), tracer)
	if h.err != nil || h.res.Status != StatusDeclined {
		t.Fatalf("err %v, res %+v", h.err, h.res)
	}
	for _, s := range rec.Ended() {
		switch s.Name() {
		case "RUN rb":
			if got := attrs(s.Attributes()); got["cicd.pipeline.result"] != "failure" || got["runbook.exit_code"] != "3" || s.Status().Code.String() != "Error" {
				t.Errorf("root: %v, status %v", got, s.Status())
			}
		case "write":
			if got := attrs(s.Attributes()); got["runbook.step.status"] != "declined" || !strings.Contains(got["runbook.step.reason"], "declined") {
				t.Errorf("write: %v", got)
			}
		}
	}
}

// TestTraceMasksSecrets: no span, attribute, event or status holds a
// secret that the transcript masks.
func TestTraceMasksSecrets(t *testing.T) {
	const key, password = "k3y-from-config-0123", "literal-passw0rd-456"
	src := `plugin "vault" {
  api_key = "` + key + `"
}
runbook "rb" {
  owner = "t"
  step "who" {
    action "vault.whoami" {}
  }
  step "login" {
    confirm = "Log in with ${"` + password + `"}?"
    action "vault.login" {
      user     = "svc"
      password = "` + password + `"
    }
  }
}`
	for _, dry := range []bool{false, true} {
		t.Run(fmt.Sprintf("dry-run=%v", dry), func(t *testing.T) {
			rec, tracer := traced()
			cfg, rb := loadWith(t, src, &plugins.Builtin{Name: "vault", Schema: vaultSchema})
			_, _, _ = recordRun(t, cfg, rb, WithPlugins(InProcess{"vault": &vaultPlugin{}}), WithDryRun(dry), WithYes(true), tracer)
			var all strings.Builder
			for _, s := range rec.Ended() {
				fmt.Fprintln(&all, s.Name(), s.Status().Description, attrs(s.Attributes()))
				for _, e := range s.Events() {
					fmt.Fprintln(&all, e.Name, attrs(e.Attributes))
				}
			}
			if !strings.Contains(all.String(), "login") {
				t.Fatalf("the trace lacks the login step:\n%s", all.String())
			}
			assertHidden(t, map[string]string{"trace": all.String()}, key, password)
		})
	}
}

// TestExportTranscript: a recorded run exported afterwards makes the spans
// the live run made, with the same names, parents, attributes and events.
func TestExportTranscript(t *testing.T) {
	live, tracer := traced()
	w, err := transcript.Create(t.TempDir(), "run-1", transcript.WithFS(noSync{}))
	if err != nil {
		t.Fatal(err)
	}
	h := run(t, rollback, WithVars(map[string]string{"value": "v2"}), WithYes(true), tracer, WithHooks(TranscriptHook(w)))
	w.Close()
	if h.err != nil || h.res.Status != StatusSucceeded {
		t.Fatalf("err %v, res %+v", h.err, h.res)
	}
	tr, err := transcript.Read(w.Path())
	if err != nil {
		t.Fatal(err)
	}
	replayed, tracer2 := traced()
	var c config
	tracer2(&c)
	id, err := ExportTranscript(context.Background(), c.tracer, tr)
	if err != nil {
		t.Fatal(err)
	}
	describe := func(spans []sdktrace.ReadOnlySpan) map[string]string {
		names := map[trace.SpanID]string{}
		for _, s := range spans {
			names[s.SpanContext().SpanID()] = s.Name()
		}
		out := map[string]string{}
		for _, s := range spans {
			if s.Name() == "plan kv.set" {
				continue // a plan's call is not recorded, only its lines
			}
			a := attrs(s.Attributes())
			var events []string
			for _, e := range s.Events() {
				events = append(events, e.Name+fmt.Sprint(attrs(e.Attributes)))
			}
			key := s.Name() + " #" + a["runbook.action.attempt"] + a["runbook.step.index"]
			out[key] = fmt.Sprintf("parent=%s attrs=%v events=%v status=%v", names[s.Parent().SpanID()], a, events, s.Status().Code)
		}
		return out
	}
	want, got := describe(live.Ended()), describe(replayed.Ended())
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("replayed spans differ from the live run's (-live +replayed):\n%s", diff)
	}
	if len(got) < 7 || id == "" {
		t.Errorf("%d spans, trace %q", len(got), id)
	}
}
