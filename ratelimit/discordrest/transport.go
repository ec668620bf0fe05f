// Package discordrest paces the bot's outgoing Discord REST requests for the
// whole cluster: an http.RoundTripper that honours each route's bucket
// (X-RateLimit-Bucket, -Remaining, -Reset-After), the global limit of 50
// requests per second (interaction callbacks exempt), and 429 responses
// (waiting retry_after, globally when Discord says so), with the shared state
// in Redis. It also counts invalid requests (401, 403, 429 except shared
// scope) against Discord's budget of 10,000 per 10 minutes.
package discordrest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"
)

// Config sets the limits and how the transport runs. Zero fields take the
// defaults documented on each: for the limits, Discord's documented values.
type Config struct {
	// Name identifies the bot (e.g. its application ID); nodes using the same
	// bot token must use the same Name, so they share one budget.
	Name string
	// GlobalLimit requests per GlobalPeriod (default 50 per second). The
	// transport spaces requests by GlobalPeriod/GlobalLimit plus Margin so
	// that network jitter cannot put more than GlobalLimit in one period.
	GlobalLimit  int
	GlobalPeriod time.Duration
	Margin       time.Duration // default 2% of the spacing
	// MaxRetries is how many times a 429 is waited out and retried (default 3).
	MaxRetries int
	// InvalidBudget is Discord's invalid-request limit per InvalidWindow
	// (default 10,000 per 10 minutes); a warning is logged once per window at half.
	InvalidBudget int
	InvalidWindow time.Duration
	// ProbeTimeout bounds how long requests to a bucket not seen yet wait for
	// the first response's headers (default 2 s).
	ProbeTimeout time.Duration
	// LiveNodes reports how many nodes share the global limit; while Redis
	// is unreachable each paces at its share (default: 1, the whole limit).
	LiveNodes func() int
	// Logger receives mode switches and budget warnings (default
	// slog.Default()).
	Logger *slog.Logger
	// Registerer receives the transport's metrics (default nil: none are
	// registered). Transports sharing one adopt each other's collectors.
	Registerer prometheus.Registerer
}

// withDefaults fills zero fields with their defaults: the one place they
// are filled.
func (c Config) withDefaults() Config {
	if c.GlobalLimit == 0 {
		c.GlobalLimit = 50
	}
	if c.GlobalPeriod == 0 {
		c.GlobalPeriod = time.Second
	}
	if c.Margin == 0 {
		c.Margin = c.GlobalPeriod / time.Duration(c.GlobalLimit) / 50
	}
	if c.MaxRetries == 0 {
		c.MaxRetries = 3
	}
	if c.InvalidBudget == 0 {
		c.InvalidBudget = 10_000
	}
	if c.InvalidWindow == 0 {
		c.InvalidWindow = 10 * time.Minute
	}
	if c.ProbeTimeout == 0 {
		c.ProbeTimeout = 2 * time.Second
	}
	if c.LiveNodes == nil {
		c.LiveNodes = func() int { return 1 }
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	return c
}

// Transport is the cluster-wide Discord REST limiter. It is safe for
// concurrent use.
type Transport struct {
	base   http.RoundTripper
	rdb    redis.UniversalClient
	cfg    Config // defaults filled in
	prefix string // "drl:{name}:"; one hash tag, so all keys share a slot

	spacing time.Duration

	bucketsMu sync.RWMutex
	buckets   map[string]string // route key -> Discord bucket, learned from responses

	// Fallback while Redis is unreachable: per-node pacing at the node's
	// share of the global limit and a local global block.
	fallback    atomic.Bool
	lastTry     atomic.Int64 // unix nanos of the last Redis attempt in fallback
	localMu     sync.Mutex
	localNext   time.Time
	localGlobal time.Time

	warnedWindow atomic.Int64

	requests *prometheus.CounterVec
	tooMany  *prometheus.CounterVec
	invalid  prometheus.Gauge
	waits    prometheus.Histogram
	fbGauge  prometheus.Gauge
}

// New returns a Transport sending through base (http.DefaultTransport if
// nil) with cfg; Config.Name is required.
func New(base http.RoundTripper, rdb redis.UniversalClient, cfg Config) (*Transport, error) {
	if rdb == nil {
		return nil, errors.New("discordrest: nil Redis client")
	}
	cfg = cfg.withDefaults()
	if cfg.Name == "" {
		return nil, errors.New("discordrest: Config.Name is required")
	}
	if cfg.GlobalLimit < 1 || cfg.GlobalPeriod <= 0 || cfg.MaxRetries < 0 || cfg.InvalidBudget < 1 ||
		cfg.InvalidWindow <= 0 || cfg.ProbeTimeout <= 0 || cfg.Margin < 0 {
		return nil, fmt.Errorf("discordrest: unusable config: GlobalLimit %d per %v, Margin %v, MaxRetries %d, InvalidBudget %d per %v, ProbeTimeout %v",
			cfg.GlobalLimit, cfg.GlobalPeriod, cfg.Margin, cfg.MaxRetries, cfg.InvalidBudget, cfg.InvalidWindow, cfg.ProbeTimeout)
	}
	if base == nil {
		base = http.DefaultTransport
	}
	t := &Transport{
		base: base, rdb: rdb, cfg: cfg,
		prefix:  "drl:{" + cfg.Name + "}:",
		spacing: cfg.GlobalPeriod/time.Duration(cfg.GlobalLimit) + cfg.Margin,
		buckets: make(map[string]string),
	}
	if err := t.initMetrics(); err != nil {
		return nil, err
	}
	return t, nil
}

// RoundTrip sends req once its route bucket and the global limit allow,
// retrying after a 429 (up to MaxRetries times when the body can be
// replayed). Waiting ends with the request's context.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	r := classify(req.Method, req.URL.Path)
	for attempt := 0; ; attempt++ {
		stateKey, bucket, err := t.acquire(ctx, r)
		if err != nil {
			return nil, err
		}
		out := req
		if attempt > 0 {
			out = req.Clone(ctx)
			if req.Body != nil && req.Body != http.NoBody {
				body, err := req.GetBody()
				if err != nil {
					return nil, fmt.Errorf("discordrest: replaying body: %w", err)
				}
				out.Body = body
			}
		}
		resp, err := t.base.RoundTrip(out)
		if err != nil {
			t.requests.WithLabelValues(r.key, "error").Inc()
			return nil, err
		}
		t.requests.WithLabelValues(r.key, statusLabel(resp.StatusCode)).Inc()
		retry, err := t.observe(ctx, r, stateKey, bucket, resp)
		if err != nil {
			return nil, err
		}
		replayable := req.Body == nil || req.Body == http.NoBody || req.GetBody != nil
		if resp.StatusCode != http.StatusTooManyRequests || attempt >= t.cfg.MaxRetries || !replayable {
			return resp, nil
		}
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		if err := sleep(ctx, retry); err != nil {
			return nil, err
		}
	}
}

// stateKey is the Redis key of the bucket state for r: by Discord's bucket
// once a response named it, by route until then.
func (t *Transport) stateKey(r route) (key, bucket string) {
	t.bucketsMu.RLock()
	bucket = t.buckets[r.key]
	t.bucketsMu.RUnlock()
	id := "r:" + r.key
	if bucket != "" {
		id = "b:" + bucket
	}
	return t.prefix + "s:" + id + "|" + r.major, bucket
}

func (t *Transport) keys() (tat, globalBlock, invalid string) {
	return t.prefix + "g", t.prefix + "gb", t.prefix + "inv"
}

// learnBucket asks Redis whether another node already learned r's bucket, so
// that this node does not send an unaccounted probe.
func (t *Transport) learnBucket(ctx context.Context, r route) error {
	b, err := t.rdb.HGet(ctx, t.prefix+"map", r.key).Result()
	if errors.Is(err, redis.Nil) {
		return nil
	}
	if err != nil {
		return err
	}
	if b != "" {
		t.bucketsMu.Lock()
		t.buckets[r.key] = b
		t.bucketsMu.Unlock()
	}
	return nil
}

// acquire waits until the request may be sent and returns the bucket
// state key it was admitted under.
func (t *Transport) acquire(ctx context.Context, r route) (stateKey, bucket string, err error) {
	start := time.Now()
	defer func() { t.waits.Observe(time.Since(start).Seconds()) }()
	tat, gb, _ := t.keys()
	exempt := "0"
	if r.exempt {
		exempt = "1"
	}
	for {
		stateKey, bucket = t.stateKey(r)
		if t.useLocal() {
			return stateKey, bucket, t.acquireLocal(ctx, r)
		}
		if bucket == "" {
			if err := t.learnBucket(ctx, r); err != nil {
				if ctx.Err() != nil {
					return "", "", ctx.Err()
				}
				t.enterFallback(err)
				continue
			}
			stateKey, bucket = t.stateKey(r)
		}
		res, err := acquireScript.Run(ctx, t.rdb, []string{tat, gb, stateKey},
			exempt, t.spacing.Microseconds(), t.cfg.ProbeTimeout.Microseconds(), stateMemory.Milliseconds()).Int64Slice()
		if err != nil {
			if ctx.Err() != nil {
				return "", "", ctx.Err()
			}
			t.enterFallback(err)
			continue
		}
		t.leaveFallback()
		if len(res) != 3 {
			return "", "", fmt.Errorf("discordrest: acquire reply %v", res)
		}
		if res[0] == 1 {
			return stateKey, bucket, nil
		}
		wait := time.Duration(res[1]) * time.Microsecond
		if res[2] == 1 {
			// Waiting on a probe: its response may come any moment.
			wait = min(wait, 10*time.Millisecond)
		}
		if err := sleep(ctx, wait); err != nil {
			return "", "", err
		}
	}
}

// stateMemory is how long a bucket's learned limit and window are kept.
const stateMemory = 10 * time.Minute

// observe records the response's rate-limit headers and, for a 429, the
// wait; it returns that wait.
func (t *Transport) observe(ctx context.Context, r route, stateKey, bucket string, resp *http.Response) (time.Duration, error) {
	h := resp.Header
	hasHeaders := "0"
	remaining, _ := strconv.Atoi(h.Get("X-RateLimit-Remaining"))
	limit, _ := strconv.Atoi(h.Get("X-RateLimit-Limit"))
	resetAfter, _ := strconv.ParseFloat(h.Get("X-RateLimit-Reset-After"), 64)
	newBucket := h.Get("X-RateLimit-Bucket")
	if newBucket != "" && len(newBucket) <= 128 && h.Get("X-RateLimit-Remaining") != "" {
		hasHeaders = "1"
		if newBucket != bucket {
			t.bucketsMu.Lock()
			t.buckets[r.key] = newBucket
			t.bucketsMu.Unlock()
		}
	}
	bucketKey := stateKey
	if hasHeaders == "1" {
		bucketKey = t.prefix + "s:b:" + newBucket + "|" + r.major
	}
	var retry time.Duration
	global := false
	scope := h.Get("X-RateLimit-Scope")
	if resp.StatusCode == http.StatusTooManyRequests {
		retry, global = retryAfter(resp)
		if scope == "" {
			scope = "user"
			if global {
				scope = "global"
			}
		}
		if scope != "global" && scope != "user" && scope != "shared" {
			scope = "other"
		}
		t.tooMany.WithLabelValues(scope).Inc()
	}
	invalid := resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden ||
		(resp.StatusCode == http.StatusTooManyRequests && scope != "shared")
	if t.useLocal() {
		if global && retry > 0 {
			t.localMu.Lock()
			if until := time.Now().Add(retry); until.After(t.localGlobal) {
				t.localGlobal = until
			}
			t.localMu.Unlock()
		}
		return retry, nil
	}
	_, gb, inv := t.keys()
	n, err := observeScript.Run(ctx, t.rdb, []string{stateKey, bucketKey, gb, inv, t.prefix + "map"},
		hasHeaders, remaining, limit, int64(resetAfter*1e6), retry.Microseconds(), b2s(global), b2s(invalid),
		t.cfg.InvalidWindow.Microseconds(), stateMemory.Milliseconds(), r.key, newBucket).Int64()
	if err != nil {
		if ctx.Err() != nil {
			return retry, ctx.Err()
		}
		t.enterFallback(err)
		return retry, nil
	}
	t.invalid.Set(float64(n))
	if n >= int64(t.cfg.InvalidBudget/2) {
		w := time.Now().UnixNano() / int64(t.cfg.InvalidWindow)
		if t.warnedWindow.Swap(w) != w {
			t.cfg.Logger.Warn("discordrest: invalid requests at half of Discord's budget",
				"invalid", n, "budget", t.cfg.InvalidBudget, "window", t.cfg.InvalidWindow)
		}
	}
	return retry, nil
}

// retryAfter reads a 429's wait from the JSON body (retry_after, global),
// falling back to the Retry-After header; the body is kept readable.
func retryAfter(resp *http.Response) (time.Duration, bool) {
	var body struct {
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	_ = json.Unmarshal(data, &body)
	global := body.Global || resp.Header.Get("X-RateLimit-Global") == "true" || resp.Header.Get("X-RateLimit-Scope") == "global"
	wait := time.Duration(body.RetryAfter * float64(time.Second))
	if wait <= 0 {
		if s, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil {
			wait = time.Duration(s * float64(time.Second))
		}
	}
	if wait <= 0 {
		wait = time.Second
	}
	return min(wait, time.Hour), global
}

// useLocal tells whether to limit locally: in fallback, except that one
// caller per second tries Redis again.
func (t *Transport) useLocal() bool {
	if !t.fallback.Load() {
		return false
	}
	now := time.Now().UnixNano()
	last := t.lastTry.Load()
	if now-last > int64(time.Second) && t.lastTry.CompareAndSwap(last, now) {
		return false
	}
	return true
}

func (t *Transport) enterFallback(err error) {
	t.lastTry.Store(time.Now().UnixNano())
	if t.fallback.CompareAndSwap(false, true) {
		t.fbGauge.Set(1)
		t.cfg.Logger.Warn("discordrest: Redis unreachable, pacing REST per node", "err", err, "live_nodes", t.cfg.LiveNodes())
	}
}

func (t *Transport) leaveFallback() {
	if t.fallback.CompareAndSwap(true, false) {
		t.fbGauge.Set(0)
		t.cfg.Logger.Info("discordrest: Redis is back, pacing REST cluster-wide")
	}
}

// acquireLocal paces this node at its share of the global limit.
func (t *Transport) acquireLocal(ctx context.Context, r route) error {
	if r.exempt {
		return nil
	}
	n := max(1, t.cfg.LiveNodes())
	for {
		t.localMu.Lock()
		now := time.Now()
		next := t.localNext
		if t.localGlobal.After(next) {
			next = t.localGlobal
		}
		if !next.After(now) {
			t.localNext = now.Add(t.spacing * time.Duration(n))
			t.localMu.Unlock()
			return nil
		}
		t.localMu.Unlock()
		if err := sleep(ctx, next.Sub(now)); err != nil {
			return err
		}
	}
}

func b2s(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// statusLabel is the status code as a label value: HTTP has few codes, so
// the set stays bounded, and alerts can pick out 401, 403 and 429.
func statusLabel(code int) string {
	if code >= 100 && code < 600 {
		return strconv.Itoa(code)
	}
	return "other"
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	tm := time.NewTimer(d)
	defer tm.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-tm.C:
		return nil
	}
}
