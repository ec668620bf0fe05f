package telemetry_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/telemetry"
)

func TestMain(m *testing.M) { servertest.Main(m) }

// recorder installs a global tracer provider recording every span, for
// the rest of the test.
func recorder(t *testing.T) *tracetest.SpanRecorder {
	t.Helper()
	rec := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(rec))
	prev := otel.GetTracerProvider()
	otel.SetTracerProvider(tp)
	t.Cleanup(func() {
		otel.SetTracerProvider(prev)
		_ = tp.Shutdown(context.Background())
	})
	return rec
}

// parent starts a span the instrumented calls must be children of.
func parent(ctx context.Context) (context.Context, trace.Span) {
	return otel.Tracer("test").Start(ctx, "parent")
}

func attr(s sdktrace.ReadOnlySpan, key string) (attribute.Value, bool) {
	for _, a := range s.Attributes() {
		if string(a.Key) == key {
			return a.Value, true
		}
	}
	return attribute.Value{}, false
}

// leaks fails if any attribute or event of spans contains one of secrets.
func leaks(t *testing.T, spans []sdktrace.ReadOnlySpan, secrets ...string) {
	t.Helper()
	for _, s := range spans {
		texts := []string{s.Name()}
		for _, a := range s.Attributes() {
			texts = append(texts, a.Value.Emit())
		}
		for _, e := range s.Events() {
			for _, a := range e.Attributes {
				texts = append(texts, a.Value.Emit())
			}
		}
		for _, txt := range texts {
			for _, sec := range secrets {
				if strings.Contains(txt, sec) {
					t.Errorf("span %q carries %q in %q", s.Name(), sec, txt)
				}
			}
		}
	}
}

func TestPgxTracer(t *testing.T) {
	rec := recorder(t)
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = telemetry.NewPgxTracer()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)

	const secret = "hunter2-secret-argument"
	pctx, root := parent(ctx)
	if _, err := pool.Exec(pctx, "CREATE TABLE t (v text)"); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(pctx, "/* note */ insert into t values ($1)", secret); err != nil {
		t.Fatal(err)
	}
	var v string
	if err := pool.QueryRow(pctx, "\n  -- read it back\n  SELECT v FROM t WHERE v = $1", secret).Scan(&v); err != nil {
		t.Fatal(err)
	}
	b := &pgx.Batch{}
	b.Queue("UPDATE t SET v = $1", secret+"2")
	b.Queue("DELETE FROM t WHERE v = $1", secret)
	if err := pool.SendBatch(pctx, b).Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(pctx, "SELECT * FROM no_such_table"); err == nil {
		t.Fatal("query of a missing table succeeded")
	}
	root.End()

	type want struct {
		name, op string
		failed   bool
	}
	wants := []want{
		{"postgresql CREATE", "CREATE", false},
		{"postgresql INSERT", "INSERT", false},
		{"postgresql SELECT", "SELECT", false},
		{"postgresql batch", "batch", false},
		{"postgresql SELECT", "SELECT", true},
	}
	var got []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Parent().SpanID() == root.SpanContext().SpanID() && strings.HasPrefix(s.Name(), "postgresql ") && s.Name() != "postgresql connect" {
			got = append(got, s)
		}
	}
	if len(got) != len(wants) {
		names := []string{}
		for _, s := range got {
			names = append(names, s.Name())
		}
		t.Fatalf("query spans under the parent: %q, want %d", names, len(wants))
	}
	for i, w := range wants {
		s := got[i]
		if s.Name() != w.name || s.SpanKind() != trace.SpanKindClient || s.SpanContext().TraceID() != root.SpanContext().TraceID() {
			t.Errorf("span %d: %q kind %v, want %q, a client span of the parent's trace", i, s.Name(), s.SpanKind(), w.name)
		}
		if sys, _ := attr(s, "db.system"); sys.AsString() != "postgresql" {
			t.Errorf("span %q: db.system %q", s.Name(), sys.AsString())
		}
		if op, _ := attr(s, "db.operation"); op.AsString() != w.op {
			t.Errorf("span %q: db.operation %q, want %q", s.Name(), op.AsString(), w.op)
		}
		if failed := s.Status().Code == codes.Error; failed != w.failed {
			t.Errorf("span %q: error status %v, want %v", s.Name(), failed, w.failed)
		}
	}
	if n := len(got[3].Events()); n != 2 {
		t.Errorf("batch span has %d query events, want 2", n)
	}
	leaks(t, rec.Ended(), secret)
}

func TestPgxTracerOperationNames(t *testing.T) {
	rec := recorder(t)
	ctx := context.Background()
	cfg, err := pgx.ParseConfig(servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.Tracer = telemetry.NewPgxTracer()
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	tests := []struct{ sql, op string }{
		{"select 1", "SELECT"},
		{"  (SELECT 1)", "SELECT"},
		{"WITH x AS (SELECT 1) SELECT * FROM x", "WITH"},
		{"/* a */ /* b */ -- c\nSelect 1", "SELECT"},
		{"begin", "BEGIN"},
		{"rollback", "ROLLBACK"},
		{"-- only a comment", "UNKNOWN"},
	}
	for _, tt := range tests {
		rec.Reset()
		_, _ = conn.Exec(ctx, tt.sql)
		spans := rec.Ended()
		if len(spans) != 1 {
			t.Fatalf("%q: %d spans", tt.sql, len(spans))
		}
		if op, _ := attr(spans[0], "db.operation"); op.AsString() != tt.op {
			t.Errorf("%q: db.operation %q, want %q", tt.sql, op.AsString(), tt.op)
		}
	}
}

func TestRedisHook(t *testing.T) {
	rec := recorder(t)
	ctx := context.Background()
	srv := servertest.RedisServer(t)
	reg := prometheus.NewRegistry()
	hook, err := telemetry.NewRedisHook(reg)
	if err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	rdb.AddHook(hook)
	t.Cleanup(func() { rdb.Close() })
	// A second client on the same registry shares the counter.
	hook2, err := telemetry.NewRedisHook(reg)
	if err != nil {
		t.Fatalf("second hook on one registry: %v", err)
	}
	other := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	other.AddHook(hook2)
	t.Cleanup(func() { other.Close() })
	errorsTotal := func() float64 {
		t.Helper()
		mfs, err := reg.Gather()
		if err != nil {
			t.Fatal(err)
		}
		for _, mf := range mfs {
			if mf.GetName() == "chopsticks_redis_errors_total" {
				return mf.GetMetric()[0].GetCounter().GetValue()
			}
		}
		t.Fatal("chopsticks_redis_errors_total not registered")
		return 0
	}

	const key, value = "user:123456789012345678:secret-key", "secret-value-xyz"
	pctx, root := parent(ctx)
	if err := rdb.Set(pctx, key, value, time.Minute).Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(pctx, "missing:"+key).Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("GET of a missing key: %v", err)
	}
	if err := rdb.Incr(pctx, key).Err(); err == nil {
		t.Fatal("INCR of a non-number succeeded")
	}
	if _, err := rdb.Pipelined(pctx, func(p redis.Pipeliner) error {
		p.Get(pctx, key)
		p.Expire(pctx, key, time.Hour)
		p.Get(pctx, key)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	root.End()

	wants := []struct {
		name, op string
		failed   bool
	}{
		{"redis set", "set", false},
		{"redis get", "get", false}, // redis.Nil is an answer
		{"redis incr", "incr", true},
		{"redis pipeline", "pipeline", false},
	}
	var got []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Parent().SpanID() == root.SpanContext().SpanID() && s.Name() != "redis dial" && !strings.HasPrefix(s.Name(), "redis hello") {
			got = append(got, s)
		}
	}
	if len(got) < len(wants) {
		t.Fatalf("%d Redis spans under the parent, want %d", len(got), len(wants))
	}
	got = got[len(got)-len(wants):]
	for i, w := range wants {
		s := got[i]
		if s.Name() != w.name || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span %d: %q (%v), want client span %q", i, s.Name(), s.SpanKind(), w.name)
		}
		if sys, _ := attr(s, "db.system"); sys.AsString() != "redis" {
			t.Errorf("span %q: db.system %q", s.Name(), sys.AsString())
		}
		if op, _ := attr(s, "db.operation"); op.AsString() != w.op {
			t.Errorf("span %q: db.operation %q, want %q", s.Name(), op.AsString(), w.op)
		}
		if failed := s.Status().Code == codes.Error; failed != w.failed {
			t.Errorf("span %q: error status %v, want %v", s.Name(), failed, w.failed)
		}
	}
	if cmds, _ := attr(got[3], "db.redis.commands"); strings.Join(cmds.AsStringSlice(), ",") != "expire,get" {
		t.Errorf("pipeline commands %q, want [expire get]", cmds.AsStringSlice())
	}
	leaks(t, rec.Ended(), "secret", "123456789012345678")
	if n := errorsTotal(); n != 0 {
		t.Fatalf("redis errors %v after a missing key and an error reply, want 0", n)
	}

	// Connection failures count, through either client: nothing listens,
	// and then the server is killed under a working client.
	if err := other.Get(ctx, "k").Err(); err == nil {
		t.Fatal("GET against a closed port succeeded")
	}
	if _, err := other.Pipelined(ctx, func(p redis.Pipeliner) error { p.Get(ctx, "k"); return nil }); err == nil {
		t.Fatal("pipeline against a closed port succeeded")
	}
	if n := errorsTotal(); n != 2 {
		t.Fatalf("redis errors %v after a failed command and a failed pipeline, want 2", n)
	}
	if err := srv.Kill(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Get(ctx, key).Err(); err == nil {
		t.Fatal("GET after the server was killed succeeded")
	}
	if n := errorsTotal(); n != 3 {
		t.Fatalf("redis errors %v after the server died, want 3", n)
	}
	// A closed client is our doing, not Redis's.
	rdb.Close()
	_ = rdb.Get(ctx, key).Err()
	if n := errorsTotal(); n != 3 {
		t.Fatalf("redis errors %v after using a closed client, want 3", n)
	}
}

func TestConnectionFailure(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"nil", nil, false},
		{"missing key", redis.Nil, false},
		{"closed client", redis.ErrClosed, false},
		{"caller cancelled", context.Canceled, false},
		{"pool timeout", redis.ErrPoolTimeout, true},
		{"deadline", context.DeadlineExceeded, true},
		{"other", errors.New("read tcp: connection reset by peer"), true},
	}
	for _, tt := range tests {
		if got := telemetry.ConnectionFailure(tt.err); got != tt.want {
			t.Errorf("%s: ConnectionFailure(%v) = %v, want %v", tt.name, tt.err, got, tt.want)
		}
	}
}

func TestRouteTemplate(t *testing.T) {
	tests := []struct{ path, want string }{
		{"/api/v10/interactions/1234567890123456789/aW50ZXJhY3Rpb246MTIzNDU2Nzg5MDpzZWNyZXQ/callback", "/api/v10/interactions/{id}/{token}/callback"},
		{"/api/v10/webhooks/987654321098765432/aW50ZXJhY3Rpb24tdG9rZW4/messages/@original", "/api/v10/webhooks/{id}/{token}/messages/@original"},
		{"/api/v10/webhooks/987654321098765432/tok/messages/123456789012345678", "/api/v10/webhooks/{id}/{token}/messages/{id}"},
		{"/api/v10/channels/123456789012345678/messages/223456789012345678/reactions/%F0%9F%91%8D/@me", "/api/v10/channels/{id}/messages/{id}/reactions/{emoji}/@me"},
		{"/api/v10/applications/123456789012345678/guilds/223456789012345678/commands", "/api/v10/applications/{id}/guilds/{id}/commands"},
		{"/api/v10/users/@me", "/api/v10/users/@me"},
		{"/api/gateway/bot", "/api/gateway/bot"},
		{"/", "/"},
	}
	for _, tt := range tests {
		if got := telemetry.RouteTemplate(tt.path); got != tt.want {
			t.Errorf("RouteTemplate(%q) = %q, want %q", tt.path, got, tt.want)
		}
	}
}

func TestHTTPTransport(t *testing.T) {
	rec := recorder(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("traceparent") != "" {
			t.Errorf("trace header sent to Discord: %q", r.Header.Get("traceparent"))
		}
		if strings.HasSuffix(r.URL.Path, "/callback") {
			w.WriteHeader(http.StatusNoContent)
			return
		}
		w.WriteHeader(http.StatusTooManyRequests)
	}))
	t.Cleanup(srv.Close)
	client := &http.Client{Transport: telemetry.NewHTTPTransport(nil)}
	const token = "aW50ZXJhY3Rpb246c2VjcmV0LXRva2Vu"
	pctx, root := parent(context.Background())
	for _, p := range []string{"/api/v10/interactions/1234567890123456789/" + token + "/callback", "/api/v10/channels/123456789012345678/messages"} {
		req, _ := http.NewRequestWithContext(pctx, http.MethodPost, srv.URL+p, nil)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	root.End()
	wants := []struct {
		name, route string
		status      int64
		failed      bool
	}{
		{"POST /api/v10/interactions/{id}/{token}/callback", "/api/v10/interactions/{id}/{token}/callback", 204, false},
		{"POST /api/v10/channels/{id}/messages", "/api/v10/channels/{id}/messages", 429, true},
	}
	var got []sdktrace.ReadOnlySpan
	for _, s := range rec.Ended() {
		if s.Parent().SpanID() == root.SpanContext().SpanID() {
			got = append(got, s)
		}
	}
	if len(got) != len(wants) {
		t.Fatalf("%d spans under the parent, want %d", len(got), len(wants))
	}
	for i, w := range wants {
		s := got[i]
		if s.Name() != w.name || s.SpanKind() != trace.SpanKindClient {
			t.Errorf("span %d: %q (%v), want client span %q", i, s.Name(), s.SpanKind(), w.name)
		}
		if r, _ := attr(s, "url.template"); r.AsString() != w.route {
			t.Errorf("span %q: url.template %q", s.Name(), r.AsString())
		}
		if m, _ := attr(s, "http.request.method"); m.AsString() != "POST" {
			t.Errorf("span %q: method %q", s.Name(), m.AsString())
		}
		if c, _ := attr(s, "http.response.status_code"); c.AsInt64() != w.status {
			t.Errorf("span %q: status %d, want %d", s.Name(), c.AsInt64(), w.status)
		}
		if failed := s.Status().Code == codes.Error; failed != w.failed {
			t.Errorf("span %q: error status %v, want %v", s.Name(), failed, w.failed)
		}
	}
	leaks(t, rec.Ended(), token, "1234567890123456789")
}

func TestPoolCollector(t *testing.T) {
	ctx := context.Background()
	cfg, err := pgxpool.ParseConfig(servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	cfg.MaxConns = 7
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	reg := prometheus.NewRegistry()
	reg.MustRegister(telemetry.NewPoolCollector(pool))
	c1, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c2, err := pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	check := func(acquired float64) {
		t.Helper()
		want := map[string]float64{
			"chopsticks_db_pool_acquired_conns": acquired,
			"chopsticks_db_pool_max_conns":      7,
			"chopsticks_db_pool_total_conns":    2,
			"chopsticks_db_pool_idle_conns":     2 - acquired,
		}
		for name, v := range want {
			mfs, err := reg.Gather()
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, mf := range mfs {
				if mf.GetName() == name {
					found = true
					if got := mf.GetMetric()[0].GetGauge().GetValue(); got != v {
						t.Errorf("%s = %v, want %v", name, got, v)
					}
				}
			}
			if !found {
				t.Errorf("%s not exported", name)
			}
		}
	}
	check(2)
	c1.Release()
	c2.Release()
	check(0) // read at scrape time, not at registration
	if n, err := testutil.GatherAndCount(reg); err != nil || n != 7 {
		t.Errorf("%d series (%v), want 7", n, err)
	}
	if problems, err := testutil.GatherAndLint(reg); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
}

func TestSetupTracingWithProcessor(t *testing.T) {
	res := tracedResource(t, "chopsticks-test", "n1")
	if res["service.name"] != "chopsticks-test" || res["service.instance.id"] != "n1" {
		t.Errorf("resource %v lacks the service name and node ID", res)
	}
}
