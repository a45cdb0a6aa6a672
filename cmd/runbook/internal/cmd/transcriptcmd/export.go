package transcriptcmd

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"

	"github.com/spf13/cobra"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/runbookdev/runbook/cmd/runbook/internal/build"
	"github.com/runbookdev/runbook/cmd/runbook/internal/cmdutil"
	"github.com/runbookdev/runbook/cmd/runbook/internal/telemetry"
	"github.com/runbookdev/runbook/cmd/runbook/internal/text"
	"github.com/runbookdev/runbook/engine"
	"github.com/runbookdev/runbook/engine/exitcode"
	"github.com/runbookdev/runbook/engine/transcript"
)

// ExportOptions are the inputs of `runbook transcript export`.
type ExportOptions struct {
	*cmdutil.Factory
	ID string
}

// NewCmdExport makes `runbook transcript export`; runF, when not nil, runs
// instead of the command (for tests of the flags).
func NewCmdExport(f *cmdutil.Factory, runF func(*ExportOptions) error) *cobra.Command {
	opts := &ExportOptions{Factory: f}
	return &cobra.Command{
		Use:   "export ID",
		Short: "Send a recorded run to OpenTelemetry as a trace",
		Long: `Send the run ID (or a unique prefix), from --state-dir or the transcript store,
to the OpenTelemetry collector the standard environment names
(OTEL_EXPORTER_OTLP_ENDPOINT, …) as the trace it would have made live: the run,
its steps and their attempts at their recorded times, with their events. A run
that recorded a trace id keeps it; the trace id is printed.

Exit 0 when the spans were exported; 1 when the transcript does not verify or
the collector did not take them; 2 when no endpoint is set.`,
		Args:              cmdutil.UsageArgs(cobra.ExactArgs(1)),
		ValidArgsFunction: completeRunIDs(f),
		RunE: cmdutil.RunE(func(cmd *cobra.Command, args []string) error {
			opts.ID = args[0]
			return cmdutil.Run(opts, runF, func(o *ExportOptions) error { return runExport(cmd.Context(), o) })
		}),
	}
}

func runExport(ctx context.Context, opts *ExportOptions) error {
	if !telemetry.Enabled(os.Getenv) {
		return cmdutil.Exitf(exitcode.BadInput, "transcript export needs an OpenTelemetry endpoint: set OTEL_EXPORTER_OTLP_ENDPOINT (and OTEL_SDK_DISABLED is not true)")
	}
	tr, err := readVerified(ctx, opts.Factory, opts.ID)
	if err != nil {
		return err
	}
	rs, err := tr.RunStarted()
	if err != nil {
		return cmdutil.Exitf(exitcode.Failed, "%s", err)
	}
	ids := &recordedIDs{}
	if id, err := trace.TraceIDFromHex(rs.TraceID); err == nil {
		ids.trace = id
	}
	tel, err := telemetry.Setup(ctx, telemetry.Options{Getenv: os.Getenv, Version: build.Version(), IDs: ids})
	if err != nil {
		return cmdutil.Exitf(exitcode.BadInput, "%s", err)
	}
	traceID, err := engine.ExportTranscript(ctx, tel.Tracer(), tr)
	if err != nil {
		return cmdutil.Exitf(exitcode.Failed, "%s", err)
	}
	if err := tel.Shutdown(ctx); err != nil {
		return cmdutil.Exitf(exitcode.Failed, "%s", text.VisibleLine(err.Error()))
	}
	fmt.Fprintf(opts.IO.Out, "exported run %s as trace %s\n", text.VisibleLine(rs.RunID), traceID)
	return nil
}

// readVerified reads the run's transcript, local or stored, and refuses
// one whose chain does not verify: a trace says what happened, and only a
// verified record says that.
func readVerified(ctx context.Context, f *cmdutil.Factory, id string) (*transcript.Transcript, error) {
	loc, err := locate(ctx, f, id)
	if err != nil {
		return nil, err
	}
	path := loc.Path
	if path == "" {
		var cleanup func()
		if path, cleanup, err = readStored(ctx, loc.Store, loc.RunID); err != nil {
			return nil, err
		}
		defer cleanup()
	}
	report, err := transcript.Verify(path)
	if err != nil {
		return nil, err
	}
	if report.Problem != nil {
		return nil, cmdutil.Exitf(exitcode.Failed, "transcript %s fails verification: %s; not exported", text.VisibleLine(loc.RunID), report.Problem)
	}
	return transcript.Read(path)
}

// recordedIDs gives the run's root span the trace id the run recorded
// (a new one when it recorded none), and new span ids.
type recordedIDs struct {
	trace trace.TraceID
}

func (g *recordedIDs) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	tid := g.trace
	if !tid.IsValid() {
		rand.Read(tid[:])
	}
	return tid, g.NewSpanID(ctx, tid)
}

func (g *recordedIDs) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		rand.Read(sid[:])
	}
	return sid
}

var _ sdktrace.IDGenerator = (*recordedIDs)(nil)
