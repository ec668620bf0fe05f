package discordrest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
)

func TestMain(m *testing.M) { servertest.Main(m) }

func TestClassify(t *testing.T) {
	cases := []struct {
		method, path string
		want         route
	}{
		{"POST", "/api/v10/channels/123/messages", route{key: "POST /channels/:major/messages", major: "channels/123"}},
		{"PATCH", "/api/v10/channels/123/messages/456", route{key: "PATCH /channels/:major/messages/:id", major: "channels/123"}},
		{"PUT", "/api/v10/channels/1/messages/2/reactions/%F0%9F%91%8D/@me", route{key: "PUT /channels/:major/messages/:id/reactions/:emoji/@me", major: "channels/1"}},
		{"GET", "/api/v9/guilds/77/members/5", route{key: "GET /guilds/:major/members/:id", major: "guilds/77"}},
		{"POST", "/webhooks/9/tok-en", route{key: "POST /webhooks/:major/:token", major: "webhooks/9/tok-en", exempt: true}},
		{"PATCH", "/api/v10/webhooks/9/tok/messages/@original", route{key: "PATCH /webhooks/:major/:token/messages/@original", major: "webhooks/9/tok", exempt: true}},
		{"GET", "/api/v10/webhooks/9", route{key: "GET /webhooks/:major", major: "webhooks/9"}},
		{"POST", "/api/v10/interactions/55/aW50ZXJhY3Rpb24/callback", route{key: "POST /interactions/:major/:token/callback", major: "interactions/55", exempt: true}},
		{"GET", "/api/v10/users/@me", route{key: "GET /users/@me"}},
		{"GET", "/api/v10/gateway/bot", route{key: "GET /gateway/bot"}},
	}
	for _, c := range cases {
		if got := classify(c.method, c.path); got != c.want {
			t.Errorf("classify(%s %s) = %+v, want %+v", c.method, c.path, got, c.want)
		}
	}
}

// fakeDiscord is a tiny Discord REST: one fixed-window bucket per route and
// channel (starting at its first request, as Discord's do), a global limit,
// scripted responses, and a log of arrivals.
type fakeDiscord struct {
	mu       sync.Mutex
	limit    int
	window   time.Duration
	global   int // per second, fixed windows; 0: none
	buckets  map[string]*fixedWindow
	gwin     fixedWindow
	arrivals []arrival
	served   map[int]int
	// script, if set, answers instead of the limits (return 0 to fall through).
	script func(w http.ResponseWriter, r *http.Request, n int) int
	n      int
}

type fixedWindow struct {
	count int
	reset time.Time
}

type arrival struct {
	at          time.Time
	interaction bool
}

func newFake(t *testing.T, limit int, window time.Duration, global int) (*fakeDiscord, *httptest.Server) {
	f := &fakeDiscord{limit: limit, window: window, global: global, buckets: map[string]*fixedWindow{}, served: map[int]int{}}
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	return f, srv
}

func (f *fakeDiscord) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	f.n++
	// Discord exempts the interaction endpoints from the global limit: the
	// callback and the interaction's token webhook (its original response
	// and follow-ups).
	inter := strings.HasPrefix(r.URL.Path, "/interactions/") || strings.HasPrefix(r.URL.Path, "/webhooks/1/")
	f.arrivals = append(f.arrivals, arrival{now, inter})
	status := f.answer(w, r, now, inter)
	f.served[status]++
}

func (f *fakeDiscord) answer(w http.ResponseWriter, r *http.Request, now time.Time, inter bool) int {
	if f.script != nil {
		if s := f.script(w, r, f.n); s != 0 {
			return s
		}
	}
	if f.global > 0 && !inter {
		if !now.Before(f.gwin.reset) {
			f.gwin = fixedWindow{reset: now.Add(time.Second)}
		}
		if f.gwin.count >= f.global {
			return write429(w, f.gwin.reset.Sub(now), true, "global")
		}
		f.gwin.count++
	}
	key := r.Method + " " + r.URL.Path
	b := f.buckets[key]
	if b == nil || !now.Before(b.reset) {
		b = &fixedWindow{reset: now.Add(f.window)}
		f.buckets[key] = b
	}
	h := w.Header()
	h.Set("X-RateLimit-Bucket", fmt.Sprintf("b%x", len(r.Method)))
	h.Set("X-RateLimit-Limit", strconv.Itoa(f.limit))
	if b.count >= f.limit {
		h.Set("X-RateLimit-Remaining", "0")
		h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(b.reset.Sub(now).Seconds(), 'f', 3, 64))
		return write429(w, b.reset.Sub(now), false, "user")
	}
	b.count++
	h.Set("X-RateLimit-Remaining", strconv.Itoa(f.limit-b.count))
	h.Set("X-RateLimit-Reset-After", strconv.FormatFloat(b.reset.Sub(now).Seconds(), 'f', 3, 64))
	w.WriteHeader(200)
	_, _ = io.WriteString(w, "{}")
	return 200
}

func write429(w http.ResponseWriter, retry time.Duration, global bool, scope string) int {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("X-RateLimit-Scope", scope)
	if global {
		h.Set("X-RateLimit-Global", "true")
	}
	h.Set("Retry-After", strconv.Itoa(int(retry.Seconds())+1))
	w.WriteHeader(429)
	_ = json.NewEncoder(w).Encode(map[string]any{"message": "You are being rate limited.",
		"retry_after": float64(retry.Milliseconds()+1) / 1000, "global": global})
	return 429
}

type node struct {
	tr     *Transport
	client *http.Client
	reg    *prometheus.Registry
}

func newNode(t *testing.T, addr string, cfg Config) *node {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	reg := prometheus.NewRegistry()
	if cfg.Name == "" {
		cfg.Name = "app1"
	}
	if cfg.Registerer == nil {
		cfg.Registerer = reg
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	tr, err := New(&http.Transport{MaxIdleConnsPerHost: 64}, rdb, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return &node{tr: tr, client: &http.Client{Transport: tr}, reg: reg}
}

func (n *node) do(t *testing.T, method, url string) int {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Error(err)
		return 0
	}
	resp, err := n.client.Do(req)
	if err != nil {
		t.Error(err)
		return 0
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

func TestBucketSharedByThreeNodes(t *testing.T) {
	addr := servertest.Redis(t)
	fake, srv := newFake(t, 5, 150*time.Millisecond, 0)
	var nodes []*node
	for range 3 {
		nodes = append(nodes, newNode(t, addr, Config{}))
	}
	var wg sync.WaitGroup
	for _, n := range nodes {
		for range 3 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for range 4 {
					if code := n.do(t, "POST", srv.URL+"/api/v10/channels/1/messages"); code != 200 {
						t.Errorf("status %d", code)
					}
				}
			}()
		}
	}
	wg.Wait()
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.served[429] != 0 || fake.served[200] != 36 {
		t.Fatalf("server answered %v, want 36 x 200 and no 429", fake.served)
	}
}

func TestGlobal429IsSharedAndRetried(t *testing.T) {
	addr := servertest.Redis(t)
	fake, srv := newFake(t, 100, time.Second, 0)
	const block = 300 * time.Millisecond
	var blockedUntil time.Time
	fake.script = func(w http.ResponseWriter, r *http.Request, n int) int {
		if n == 1 {
			blockedUntil = time.Now().Add(block)
			return write429(w, block, true, "global")
		}
		return 0
	}
	a, b := newNode(t, addr, Config{}), newNode(t, addr, Config{})
	start := time.Now()
	if code := a.do(t, "GET", srv.URL+"/api/v10/guilds/1"); code != 200 {
		t.Fatalf("a: status %d after retry", code)
	}
	if el := time.Since(start); el < block {
		t.Fatalf("a retried after %v, before retry_after %v", el, block)
	}
	// b, another node, learned the global block through Redis: a request
	// it makes now (another route) must not arrive before the block ends.
	fake.mu.Lock()
	fake.script = func(w http.ResponseWriter, r *http.Request, n int) int {
		if time.Now().Before(blockedUntil) {
			t.Errorf("request from b arrived %v before the global block ended", time.Until(blockedUntil))
		}
		return 0
	}
	fake.mu.Unlock()
	if code := b.do(t, "GET", srv.URL+"/api/v10/channels/9"); code != 200 {
		t.Fatalf("b: status %d", code)
	}
	if got := testutil.ToFloat64(a.tr.tooMany.WithLabelValues("global")); got != 1 {
		t.Fatalf("429_total{scope=global} = %v, want 1", got)
	}
	if got := testutil.ToFloat64(a.tr.invalid); got != 1 {
		t.Fatalf("invalid gauge = %v, want 1", got)
	}
}

func TestBlockedNodeWaitsOtherNodes429(t *testing.T) {
	addr := servertest.Redis(t)
	fake, srv := newFake(t, 100, time.Second, 0)
	const block = 250 * time.Millisecond
	var blockedUntil time.Time
	fake.script = func(w http.ResponseWriter, r *http.Request, n int) int {
		switch {
		case n == 1:
			blockedUntil = time.Now().Add(block)
			return write429(w, block, true, "global")
		case n == 2:
			if time.Now().Before(blockedUntil) {
				t.Errorf("second request arrived during the global block")
			}
		}
		return 0
	}
	a, b := newNode(t, addr, Config{}), newNode(t, addr, Config{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.do(t, "GET", srv.URL+"/api/v10/guilds/1")
	}()
	// Wait for a's 429 to be recorded in Redis, then send from b.
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { _ = rdb.Close() })
	poll.Eventually(t, 2*time.Second, func() bool {
		return rdb.Exists(context.Background(), "drl:{app1}:gb").Val() == 1
	}, "the global block to reach Redis")
	b.do(t, "GET", srv.URL+"/api/v10/guilds/2")
	wg.Wait()
}

func TestInvalidRequestsCounted(t *testing.T) {
	addr := servertest.Redis(t)
	fake, srv := newFake(t, 100, time.Second, 0)
	fake.script = func(w http.ResponseWriter, r *http.Request, n int) int {
		switch n {
		case 1:
			w.WriteHeader(401)
			return 401
		case 2:
			w.WriteHeader(403)
			return 403
		case 3:
			return write429(w, 20*time.Millisecond, false, "shared") // not counted by Discord
		}
		return 0
	}
	n := newNode(t, addr, Config{InvalidBudget: 4})
	for _, want := range []int{401, 403, 200} {
		if code := n.do(t, "GET", srv.URL+"/api/v10/users/@me"); code != want {
			t.Fatalf("status %d, want %d", code, want)
		}
	}
	if got := testutil.ToFloat64(n.tr.invalid); got != 2 {
		t.Fatalf("invalid gauge %v, want 2 (shared 429 not counted)", got)
	}
	if got := testutil.ToFloat64(n.tr.tooMany.WithLabelValues("shared")); got != 1 {
		t.Fatalf("429{shared} = %v", got)
	}
	for _, code := range []string{"401", "403"} {
		if got := testutil.ToFloat64(n.tr.requests.WithLabelValues("GET /users/@me", code)); got != 1 {
			t.Fatalf("requests{route=GET /users/@me,status=%s} = %v, want 1", code, got)
		}
	}
}

// maxInWindow is the most arrivals (not interactions) in any window of d.
func maxInWindow(arr []arrival, d time.Duration) int {
	var ts []time.Time
	for _, a := range arr {
		if !a.interaction {
			ts = append(ts, a.at)
		}
	}
	best, j := 0, 0
	for i := range ts {
		for ts[i].Sub(ts[j]) >= d {
			j++
		}
		best = max(best, i-j+1)
	}
	return best
}

func TestGlobalLimitAcrossThreeNodes(t *testing.T) {
	addr := servertest.Redis(t)
	fake, srv := newFake(t, 1000, time.Second, 50)
	var nodes []*node
	for range 3 {
		nodes = append(nodes, newNode(t, addr, Config{}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 1300*time.Millisecond)
	defer cancel()
	var wg sync.WaitGroup
	for ni, n := range nodes {
		for g := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil; i++ {
					req, _ := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v10/channels/%d", srv.URL, ni*1000+g*100+i), nil)
					if resp, err := n.client.Do(req); err == nil {
						resp.Body.Close()
					}
				}
			}()
		}
	}
	// Interaction callbacks and edits of the original response are exempt:
	// they must not be paced.
	interactions := 0
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ctx.Err() == nil; i++ {
			req, _ := http.NewRequestWithContext(ctx, "POST", fmt.Sprintf("%s/interactions/%d/tok/callback", srv.URL, i), nil)
			if i%2 == 1 {
				req, _ = http.NewRequestWithContext(ctx, "PATCH", fmt.Sprintf("%s/webhooks/1/tok%d/messages/@original", srv.URL, i), nil)
			}
			if resp, err := nodes[0].client.Do(req); err == nil {
				resp.Body.Close()
				interactions++
			}
		}
	}()
	wg.Wait()
	fake.mu.Lock()
	defer fake.mu.Unlock()
	peak := maxInWindow(fake.arrivals, time.Second)
	total := 0
	for _, a := range fake.arrivals {
		if !a.interaction {
			total++
		}
	}
	if peak > 50 || fake.served[429] != 0 {
		t.Fatalf("peak %d requests in one second (limit 50), %d 429s", peak, fake.served[429])
	}
	if total < 35 { // 49/s would give ~63; a loaded machine gives less
		t.Fatalf("only %d requests in 1.3s: over-throttled", total)
	}
	if interactions < 100 {
		t.Fatalf("only %d interaction callbacks in 1.3s: they were paced", interactions)
	}
	t.Logf("3 nodes: %d requests in 1.3s, peak %d per second; %d interaction callbacks", total, peak, interactions)
}

// TestRedisDownPacesLocally kills Redis: requests still go out, paced at the
// node's share of the global limit, and a global 429 is still honoured.
func TestRedisDownPacesLocally(t *testing.T) {
	srvRedis := servertest.RedisServer(t)
	fake, srv := newFake(t, 1000, time.Second, 0)
	rdb := redis.NewClient(&redis.Options{Addr: srvRedis.Addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond})
	t.Cleanup(func() { _ = rdb.Close() })
	tr, err := New(nil, rdb, Config{Name: "app1", GlobalLimit: 20, LiveNodes: func() int { return 2 },
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	n := &node{tr: tr, client: &http.Client{Transport: tr}}
	if code := n.do(t, "GET", srv.URL+"/api/v10/guilds/1"); code != 200 {
		t.Fatalf("status %d", code)
	}
	if err := srvRedis.Kill(); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	for i := range 6 {
		if code := n.do(t, "GET", fmt.Sprintf("%s/api/v10/guilds/%d", srv.URL, 10+i)); code != 200 {
			t.Fatalf("status %d with Redis down", code)
		}
	}
	// 20/s shared by 2 nodes: one request per ~100 ms on this node.
	if el := time.Since(start); el < 400*time.Millisecond {
		t.Fatalf("6 requests in %v with Redis down: not paced at the node's share", el)
	}
	if got := testutil.ToFloat64(tr.fbGauge); got != 1 {
		t.Fatalf("fallback gauge %v", got)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	if fake.served[200] != 7 {
		t.Fatalf("served %v", fake.served)
	}
}
