package telemetry

import (
	"context"
	"strings"

	"github.com/jackc/pgx/v5"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// PgxTracer makes an OpenTelemetry client span of every PostgreSQL query,
// batch and connection attempt of a pgx connection or pool. Spans carry
// db.system=postgresql and db.operation (the statement's first word), never
// the SQL arguments. Set it as pgx.ConnConfig.Tracer (for a pool:
// pgxpool.Config.ConnConfig.Tracer). It takes its tracer from the global
// provider, so it costs next to nothing while tracing is off.
type PgxTracer struct {
	tracer trace.Tracer
}

var (
	_ pgx.QueryTracer   = (*PgxTracer)(nil)
	_ pgx.BatchTracer   = (*PgxTracer)(nil)
	_ pgx.ConnectTracer = (*PgxTracer)(nil)
)

// NewPgxTracer returns a PgxTracer using the global tracer provider.
func NewPgxTracer() *PgxTracer {
	return &PgxTracer{tracer: otel.Tracer("github.com/chopsticks-bot/chopsticks/telemetry/pgx")}
}

var pgSystem = attribute.String("db.system", "postgresql")

// TraceQueryStart starts the span of one Query, QueryRow or Exec call.
func (t *PgxTracer) TraceQueryStart(ctx context.Context, conn *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	op := sqlOperation(data.SQL)
	attrs := []attribute.KeyValue{pgSystem, attribute.String("db.operation", op)}
	if conn != nil {
		if db := conn.Config().Database; db != "" {
			attrs = append(attrs, attribute.String("db.name", db))
		}
	}
	ctx, _ = t.tracer.Start(ctx, "postgresql "+op, trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

// TraceQueryEnd ends the span TraceQueryStart started.
func (t *PgxTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	span := trace.SpanFromContext(ctx)
	if data.Err == nil {
		span.SetAttributes(attribute.Int64("db.rows_affected", data.CommandTag.RowsAffected()))
	}
	endSpan(span, data.Err)
}

// TraceBatchStart starts the span of one SendBatch call.
func (t *PgxTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	size := 0
	if data.Batch != nil {
		size = data.Batch.Len()
	}
	ctx, _ = t.tracer.Start(ctx, "postgresql batch", trace.WithSpanKind(trace.SpanKindClient),
		trace.WithAttributes(pgSystem, attribute.String("db.operation", "batch"), attribute.Int("db.batch.size", size)))
	return ctx
}

// TraceBatchQuery records one query of the batch as an event of its span.
func (t *PgxTracer) TraceBatchQuery(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchQueryData) {
	span := trace.SpanFromContext(ctx)
	attrs := []attribute.KeyValue{attribute.String("db.operation", sqlOperation(data.SQL))}
	if data.Err != nil {
		attrs = append(attrs, attribute.String("error", data.Err.Error()))
	}
	span.AddEvent("query", trace.WithAttributes(attrs...))
}

// TraceBatchEnd ends the span TraceBatchStart started.
func (t *PgxTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	endSpan(trace.SpanFromContext(ctx), data.Err)
}

// TraceConnectStart starts the span of opening a connection.
func (t *PgxTracer) TraceConnectStart(ctx context.Context, data pgx.TraceConnectStartData) context.Context {
	attrs := []attribute.KeyValue{pgSystem, attribute.String("db.operation", "connect")}
	if c := data.ConnConfig; c != nil {
		attrs = append(attrs, attribute.String("server.address", c.Host), attribute.Int("server.port", int(c.Port)))
	}
	ctx, _ = t.tracer.Start(ctx, "postgresql connect", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(attrs...))
	return ctx
}

// TraceConnectEnd ends the span TraceConnectStart started.
func (t *PgxTracer) TraceConnectEnd(ctx context.Context, data pgx.TraceConnectEndData) {
	endSpan(trace.SpanFromContext(ctx), data.Err)
}

// endSpan records err, if any, and ends span.
func endSpan(span trace.Span, err error) {
	if err != nil {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// sqlOperation is the first word of a statement in upper case ("SELECT",
// "INSERT", "BEGIN"), skipping leading comments and white space; it is
// bounded, unlike the statement, which may carry literals.
func sqlOperation(sql string) string {
	s := sql
	for {
		s = strings.TrimLeft(s, " \t\r\n(")
		switch {
		case strings.HasPrefix(s, "--"):
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				return "UNKNOWN"
			}
			s = s[i+1:]
			continue
		case strings.HasPrefix(s, "/*"):
			i := strings.Index(s, "*/")
			if i < 0 {
				return "UNKNOWN"
			}
			s = s[i+2:]
			continue
		}
		break
	}
	end := 0
	for end < len(s) && end < 32 && isWordByte(s[end]) {
		end++
	}
	if end == 0 || (end < len(s) && isWordByte(s[end])) {
		return "UNKNOWN"
	}
	return strings.ToUpper(s[:end])
}

func isWordByte(b byte) bool {
	return b >= 'a' && b <= 'z' || b >= 'A' && b <= 'Z' || b == '_'
}
