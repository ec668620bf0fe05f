// Package telemetry sets up what every process of Chopsticks reports about
// itself: JSON logs with log/slog, Prometheus metrics, OpenTelemetry
// tracing, and the HTTP server that serves /metrics, /health and /ready.
package telemetry

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"strings"

	"go.opentelemetry.io/otel/trace"
)

// ParseLevel turns LOG_LEVEL (debug, info, warn, error) into a slog level.
func ParseLevel(s string) (slog.Level, error) {
	var l slog.Level
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "info":
		l = slog.LevelInfo
	case "debug":
		l = slog.LevelDebug
	case "warn", "warning":
		l = slog.LevelWarn
	case "error":
		l = slog.LevelError
	default:
		return 0, fmt.Errorf("log level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger returns a JSON logger writing to w at level, adding the trace
// and span IDs of the context's span to every record logged with a context.
// An attribute repeating, with the same value, a top-level attribute the
// logger already carries (a package adding "node" to the node's logger that
// has it) is written once: keys stay unique per line.
func NewLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(traceHandler{Handler: slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

// traceHandler adds trace_id and span_id from the record's context, and
// drops attributes that repeat one of with.
type traceHandler struct {
	slog.Handler
	// with holds the top-level attributes added by WithAttrs; nil once a
	// group is open, since later attributes then live in the group.
	with    map[string]slog.Value
	grouped bool
}

func (h traceHandler) Handle(ctx context.Context, r slog.Record) error {
	if len(h.with) > 0 && r.NumAttrs() > 0 {
		r = h.withoutRepeats(r)
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

// withoutRepeats returns r without the attributes that repeat one of
// h.with; r itself when there are none.
func (h traceHandler) withoutRepeats(r slog.Record) slog.Record {
	repeats := false
	r.Attrs(func(a slog.Attr) bool {
		repeats = h.repeats(a)
		return !repeats
	})
	if !repeats {
		return r
	}
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if !h.repeats(a) {
			out.AddAttrs(a)
		}
		return true
	})
	return out
}

func (h traceHandler) repeats(a slog.Attr) bool {
	v, ok := h.with[a.Key]
	return ok && v.Equal(a.Value.Resolve())
}

func (h traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if h.grouped {
		return traceHandler{Handler: h.Handler.WithAttrs(attrs), grouped: true}
	}
	with := make(map[string]slog.Value, len(h.with)+len(attrs))
	maps.Copy(with, h.with)
	kept := make([]slog.Attr, 0, len(attrs))
	for _, a := range attrs {
		if h.repeats(a) {
			continue
		}
		with[a.Key] = a.Value.Resolve()
		kept = append(kept, a)
	}
	return traceHandler{Handler: h.Handler.WithAttrs(kept), with: with}
}

func (h traceHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	return traceHandler{Handler: h.Handler.WithGroup(name), grouped: true}
}
