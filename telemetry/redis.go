package telemetry

import (
	"context"
	"errors"
	"net"
	"sort"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// RedisHook is a go-redis hook that makes an OpenTelemetry client span of
// every Redis command and pipeline (db.system=redis, db.operation=the
// command's name; never keys or values), and counts the calls that failed
// for a connection reason in chopsticks_redis_errors_total. One hook may be
// added to several clients: they share the counter.
type RedisHook struct {
	tracer trace.Tracer
	errors prometheus.Counter
}

var _ redis.Hook = (*RedisHook)(nil)

// NewRedisHook returns a hook whose counter is registered with reg (nil
// keeps it unregistered). A second hook on the same registry shares the
// first one's counter.
func NewRedisHook(reg prometheus.Registerer) (*RedisHook, error) {
	c := prometheus.NewCounter(prometheus.CounterOpts{
		Name: "chopsticks_redis_errors_total",
		Help: "Redis commands or pipelines that failed for a connection reason (dial, timeout, reset, pool exhausted), not for a Redis-level reply.",
	})
	if reg != nil {
		var err error
		if c, err = Register(reg, c); err != nil {
			return nil, err
		}
	}
	return &RedisHook{tracer: otel.Tracer("github.com/chopsticks-bot/chopsticks/telemetry/redis"), errors: c}, nil
}

var redisSystem = attribute.String("db.system", "redis")

// DialHook traces the opening of a connection when a traced call causes it
// (connections opened in the background start no trace of their own).
func (h *RedisHook) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if !trace.SpanFromContext(ctx).SpanContext().IsValid() {
			return next(ctx, network, addr)
		}
		ctx, span := h.tracer.Start(ctx, "redis dial", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(redisSystem, attribute.String("db.operation", "dial"), attribute.String("server.address", addr)))
		conn, err := next(ctx, network, addr)
		endSpan(span, err)
		return conn, err
	}
}

// ProcessHook traces one command.
func (h *RedisHook) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		op := commandName(cmd)
		ctx, span := h.tracer.Start(ctx, "redis "+op, trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(redisSystem, attribute.String("db.operation", op)))
		err := next(ctx, cmd)
		h.end(span, err)
		return err
	}
}

// ProcessPipelineHook traces one pipeline or MULTI/EXEC transaction as one
// span naming its distinct commands.
func (h *RedisHook) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		names := make([]string, 0, len(cmds))
		seen := make(map[string]bool, len(cmds))
		for _, c := range cmds {
			if n := commandName(c); !seen[n] {
				seen[n] = true
				names = append(names, n)
			}
		}
		sort.Strings(names)
		ctx, span := h.tracer.Start(ctx, "redis pipeline", trace.WithSpanKind(trace.SpanKindClient),
			trace.WithAttributes(redisSystem, attribute.String("db.operation", "pipeline"),
				attribute.StringSlice("db.redis.commands", names), attribute.Int("db.redis.pipeline_length", len(cmds))))
		err := next(ctx, cmds)
		h.end(span, err)
		return err
	}
}

// end records err on span, counts it if it is a connection failure, and
// ends the span. redis.Nil (no such key) is an answer, not an error.
func (h *RedisHook) end(span trace.Span, err error) {
	if err != nil && !errors.Is(err, redis.Nil) {
		if ConnectionFailure(err) {
			h.errors.Inc()
		}
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
}

// ConnectionFailure reports whether a go-redis error means Redis could not
// be reached or did not answer in time (dial and I/O errors, timeouts,
// resets, an exhausted pool), as opposed to a reply from Redis (redis.Nil,
// an error reply such as NOSCRIPT or WRONGTYPE), a closed client, or the
// caller's own cancellation.
func ConnectionFailure(err error) bool {
	var rerr redis.Error
	switch {
	case err == nil, errors.Is(err, redis.Nil), errors.Is(err, redis.ErrClosed),
		errors.Is(err, context.Canceled), errors.As(err, &rerr):
		return false
	}
	return true
}

// commandName is a command's name in lower case, without its arguments.
func commandName(cmd redis.Cmder) string {
	n := strings.ToLower(cmd.Name())
	if n == "" {
		return "unknown"
	}
	return n
}
