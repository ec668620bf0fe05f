package dashboard_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/dashboard"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
)

func TestMain(m *testing.M) { servertest.Main(m) }

// env is a dashboard served by a real HTTP server, with discordsim as
// Discord, real PostgreSQL (economy, audit log, agent registry) and Redis
// (sessions, rate limits).
type env struct {
	sim               *discordsim.Sim
	srv               *httptest.Server
	dash              *dashboard.Server
	pool              *pgxpool.Pool
	rdb               *redis.Client
	econ              *economy.Service
	boards            *economy.Leaderboards
	admin, alice, bob discordsim.User
	cfg               dashboard.Config
	reg               *prometheus.Registry
}

type envOptions struct {
	limits  ratelimit.Config // zero HTTP, Sensitive, Admin: generous, so tests are not limited by accident
	origins []string
	// wrap, when set, wraps the limiter the dashboard is given.
	wrap func(dashboard.Limiter) dashboard.Limiter
}

func newEnv(t testing.TB, o envOptions) *env {
	t.Helper()
	ctx := context.Background()
	e := &env{}
	var err error
	e.sim, err = discordsim.New(discordsim.Config{})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.sim.Close() })
	for _, u := range []struct {
		p    *discordsim.User
		name string
	}{{&e.admin, "admin"}, {&e.alice, "alice"}, {&e.bob, "bob"}} {
		if *u.p, err = e.sim.CreateUser(discordsim.UserOptions{Username: u.name}); err != nil {
			t.Fatal(err)
		}
	}

	e.pool, err = pgxpool.New(ctx, servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.pool.Close)
	for _, m := range []func(context.Context, *pgxpool.Pool) error{economy.Migrate, dashboard.Migrate, agentpool.Migrate} {
		if err := m(ctx, e.pool); err != nil {
			t.Fatal(err)
		}
	}
	e.econ, err = economy.New(e.pool, economy.Config{Premium: premiumSKUs, Events: testEvents(t)})
	if err != nil {
		t.Fatal(err)
	}
	e.rdb = redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { _ = e.rdb.Close() })
	limits := o.limits
	if limits.HTTP.Limit == 0 {
		limits.HTTP = ratelimit.Rule{Limit: 10000, Period: time.Second}
	}
	if limits.Sensitive.Limit == 0 {
		limits.Sensitive = ratelimit.Rule{Limit: 1000, Period: time.Second}
	}
	if limits.Admin.Limit == 0 {
		limits.Admin = ratelimit.Rule{Limit: 10000, Period: time.Second}
	}
	limiter, err := ratelimit.New(e.rdb, limits)
	if err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	agentKey, err := agentpool.ParseKey(hex.EncodeToString(key))
	if err != nil {
		t.Fatal(err)
	}
	checker, err := agentpool.NewTokenChecker(e.sim.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}

	var h http.Handler = http.NotFoundHandler()
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { h.ServeHTTP(w, r) }))
	t.Cleanup(e.srv.Close)
	redirect := e.srv.URL + "/auth/callback"
	app := e.sim.DefaultApp()
	if err := e.sim.SetRedirectURIs(app.ID, []string{redirect}); err != nil {
		t.Fatal(err)
	}
	e.reg = prometheus.NewRegistry()
	e.cfg = dashboard.Config{Registerer: e.reg,
		ClientID: app.ID.String(), ClientSecret: app.ClientSecret, RedirectURI: redirect, DiscordURL: e.sim.URL(),
		SessionSecret: []byte("0123456789abcdef0123456789abcdef-test"), AdminIDs: []int64{int64(e.admin.ID)},
		AllowedOrigins: o.origins, MaxBodyBytes: 4096,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	var lim dashboard.Limiter = limiter
	if o.wrap != nil {
		lim = o.wrap(limiter)
	}
	e.boards = economy.NewLeaderboards(e.econ, e.rdb)
	e.dash, err = dashboard.New(e.cfg, dashboard.Deps{
		Redis: e.rdb, Pool: e.pool, Limiter: lim, Economy: e.econ,
		Leaderboard: e.boards, Ledger: e.econ,
		Cluster: staticCluster{}, Agents: agentpool.NewRegistry(e.pool, agentKey, checker), Events: e.econ,
	})
	if err != nil {
		t.Fatal(err)
	}
	h = e.dash
	return e
}

// client is a browser-like HTTP client with a cookie jar that does not
// follow redirects (tests look at them).
type client struct {
	t    testing.TB
	e    *env
	hc   *http.Client
	csrf string
}

func (e *env) anon(t testing.TB) *client {
	jar, _ := cookiejar.New(nil)
	return &client{t: t, e: e, hc: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// login runs the whole OAuth flow for user on a fresh client.
func (e *env) login(t testing.TB, user discordsim.User) *client {
	t.Helper()
	c := e.anon(t)
	c.loginAs(user)
	return c
}

// loginAs runs the OAuth flow: /auth/login, Discord's consent (as user),
// /auth/callback; then reads the CSRF token from the profile page.
func (c *client) loginAs(user discordsim.User) {
	t := c.t
	t.Helper()
	resp := c.do("GET", "/auth/login", nil, nil)
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("GET /auth/login: %d %s", resp.StatusCode, body(resp))
	}
	authz, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	q := authz.Query()
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" || q.Get("state") == "" ||
		q.Get("scope") != "identify guilds" {
		t.Fatalf("authorize URL lacks PKCE, state or scopes: %s", authz)
	}
	q.Set("sim_user", user.ID.String())
	authz.RawQuery = q.Encode()
	resp, err = c.hc.Get(authz.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("discordsim authorize: %d", resp.StatusCode)
	}
	cb, _ := url.Parse(resp.Header.Get("Location"))
	resp = c.do("GET", cb.RequestURI(), nil, nil)
	if resp.StatusCode != http.StatusFound || resp.Header.Get("Location") != "/" {
		t.Fatalf("callback: %d %q %s", resp.StatusCode, resp.Header.Get("Location"), body(resp))
	}
	c.csrf = c.csrfFromPage()
}

var csrfRE = regexp.MustCompile(`<meta name="csrf-token" content="([^"]+)">`)

func (c *client) csrfFromPage() string {
	c.t.Helper()
	resp := c.do("GET", "/", nil, nil)
	b := body(resp)
	m := csrfRE.FindStringSubmatch(b)
	if resp.StatusCode != 200 || m == nil {
		c.t.Fatalf("GET / after login: %d, no CSRF token in\n%s", resp.StatusCode, b)
	}
	return m[1]
}

// do sends a request to the dashboard; hdr may set headers (a nil value
// means none).
func (c *client) do(method, path string, payload io.Reader, hdr map[string]string) *http.Response {
	c.t.Helper()
	req, err := http.NewRequest(method, c.e.srv.URL+path, payload)
	if err != nil {
		c.t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// get sends a GET and decodes a JSON answer into v (when v is not nil).
func (c *client) get(path string, v any) int {
	c.t.Helper()
	resp := c.do("GET", path, nil, nil)
	if v != nil && resp.StatusCode == 200 {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			c.t.Fatalf("GET %s: %v", path, err)
		}
	}
	return resp.StatusCode
}

// send sends JSON with the CSRF token and decodes the answer into v.
func (c *client) send(method, path string, payload any, v any) (int, apiErr) {
	c.t.Helper()
	b, _ := json.Marshal(payload)
	resp := c.do(method, path, bytes.NewReader(b), map[string]string{"Content-Type": "application/json", "X-CSRF-Token": c.csrf})
	return decodeAnswer(c.t, resp, v)
}

type apiErr struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decodeAnswer(t testing.TB, resp *http.Response, v any) (int, apiErr) {
	t.Helper()
	b, _ := io.ReadAll(resp.Body)
	var e apiErr
	if resp.StatusCode >= 400 {
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" || e.Error.Message == "" {
			t.Fatalf("%s %s: %d with a body that is not a JSON error: %q", resp.Request.Method, resp.Request.URL.Path, resp.StatusCode, b)
		}
	} else if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("%s %s: %v in %q", resp.Request.Method, resp.Request.URL.Path, err, b)
		}
	}
	return resp.StatusCode, e
}

func body(resp *http.Response) string {
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// auditRows returns the audit log, oldest first.
func (e *env) auditRows(t testing.TB) []dashboard.AuditEntry {
	t.Helper()
	rows, err := e.pool.Query(context.Background(), `SELECT id, actor_id, actor_name, action, target, outcome, detail, ip
		FROM dashboard.audit_log ORDER BY id`)
	if err != nil {
		t.Fatal(err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (dashboard.AuditEntry, error) {
		var a dashboard.AuditEntry
		err := r.Scan(&a.ID, &a.ActorID, &a.ActorName, &a.Action, &a.Target, &a.Outcome, &a.Detail, &a.IP)
		return a, err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// staticCluster is an in-memory dashboard.Cluster: a fixed two-node
// cluster, standing in for coordinator.Member (which needs a running etcd
// cluster of nodes) in the dashboard's tests.
type staticCluster struct{}

func (staticCluster) Status(context.Context) (coordinator.Status, error) {
	return coordinator.Status{Revision: 42, Leader: "node-a", PlanVersion: 3, ShardCount: 2,
		Nodes: []coordinator.NodeStatus{{ID: "node-a", Addr: "127.0.0.1:7001", Weight: 1, Owned: 2},
			{ID: "node-b", Addr: "127.0.0.1:7002", Weight: 1, Owned: 1}},
		Units: []coordinator.UnitStatus{
			{Kind: coordinator.KindShard, ID: 0, Planned: "node-a", Owner: "node-a", State: "running"},
			{Kind: coordinator.KindShard, ID: 1, Planned: "node-b", Owner: "node-a", State: "moving"},
			{Kind: coordinator.KindAgent, ID: 1, Planned: "node-b", Owner: "node-b", State: "running"},
		}}, nil
}

func id(u discordsim.User) string { return u.ID.String() }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }

var _ = strings.Contains

func mustURL(t testing.TB, s string) *url.URL {
	t.Helper()
	u, err := url.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func urlEscape(s string) string { return url.QueryEscape(s) }

func discordSimApp(name string) discordsim.AppOptions { return discordsim.AppOptions{Name: name} }

// The real services satisfy the dashboard's interfaces.
var (
	_ dashboard.Economy = (*economy.Service)(nil)
	_ dashboard.Limiter = (*ratelimit.Limiter)(nil)
	_ dashboard.Agents  = (*agentpool.Registry)(nil)
	_ dashboard.Cluster = (*coordinator.Member)(nil)
)

// metric sums the samples of a counter whose labels include want.
func (e *env) metric(t testing.TB, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := e.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	next:
		for _, m := range mf.GetMetric() {
			for k, v := range want {
				found := false
				for _, l := range m.GetLabel() {
					if l.GetName() == k && l.GetValue() == v {
						found = true
					}
				}
				if !found {
					continue next
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}
