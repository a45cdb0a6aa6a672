package index

import (
	"context"

	"github.com/exaring/otelpgx"
	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// pgTracer makes each statement the postgres backend runs under a recording
// span (the action's attempt) a client span under it, named after the
// statement's operation (SELECT, INSERT, …), with db.system.name and
// db.operation.name and the server's address. Neither a statement's text
// nor its arguments are recorded: arguments hold what the runbook passes,
// and some statements carry literal text (a COMMENT's). Without a recording
// span in the context it makes nothing.
type pgTracer struct {
	// Tracer traces queries, preparations, COPYs and connections; the
	// pool's acquisitions are left out.
	*otelpgx.Tracer
}

func newPGTracer() *pgTracer {
	return &pgTracer{Tracer: otelpgx.NewTracer(
		otelpgx.WithDisableSQLStatementInAttributes(),
		otelpgx.WithDisableAcquireTracer(),
	)}
}

// TraceQueryStart implements pgx.QueryTracer: otelpgx's span, with the
// operation's name as an attribute, which otelpgx records only along with
// the statement's text.
func (t *pgTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	parent := trace.SpanContextFromContext(ctx)
	ctx = t.Tracer.TraceQueryStart(ctx, conn, data)
	if span := trace.SpanFromContext(ctx); span.IsRecording() && span.SpanContext().SpanID() != parent.SpanID() {
		span.SetAttributes(attribute.String("db.operation.name", otelpgx.SQLOperationName(ctx, data.SQL)))
	}
	return ctx
}
