package dashboard_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/dashboard"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
)

// checkHeaders asserts the security headers every response must carry.
func checkHeaders(t *testing.T, what string, resp *http.Response, secure bool) {
	t.Helper()
	h := resp.Header
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'none'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", what, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("%s: CSP allows inline or eval: %q", what, csp)
	}
	for k, v := range map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "DENY", "Referrer-Policy": "same-origin"} {
		if got := h.Get(k); got != v {
			t.Errorf("%s: %s = %q, want %q", what, k, got, v)
		}
	}
	if got := h.Get("Strict-Transport-Security"); (got != "") != secure {
		t.Errorf("%s: Strict-Transport-Security = %q with secure=%v", what, got, secure)
	}
}

func TestLoginSessionLogout(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.login(t, e.alice)

	var me struct {
		UserID   string                `json:"user_id"`
		Username string                `json:"username"`
		Admin    bool                  `json:"admin"`
		Account  dashboard.AccountView `json:"account"`
	}
	if code := c.get("/api/me", &me); code != 200 || me.UserID != id(e.alice) || me.Username != "alice" || me.Admin {
		t.Fatalf("/api/me = %d %+v", code, me)
	}
	if me.Account.Wallet != 0 || me.Account.BankCapacity <= 0 {
		t.Errorf("new user's account = %+v", me.Account)
	}

	// The session cookie: HttpOnly, SameSite=Lax, not Secure (not configured), signed.
	u := mustURL(t, e.srv.URL)
	var sess *http.Cookie
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "chopsticks_session" {
			sess = ck
		}
	}
	if sess == nil {
		t.Fatal("no session cookie")
	}
	loginResp := loginSetCookie(t, e, e.bob.ID)
	if !strings.Contains(loginResp, "HttpOnly") || !strings.Contains(loginResp, "SameSite=Lax") || strings.Contains(loginResp, "Secure") ||
		!strings.Contains(loginResp, "Path=/") {
		t.Errorf("session Set-Cookie = %q", loginResp)
	}

	// A tampered cookie is no session.
	bad := e.anon(t)
	bad.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "chopsticks_session", Value: sess.Value[:len(sess.Value)-2] + "AA"}})
	if code := bad.get("/api/me", nil); code != 401 {
		t.Errorf("tampered cookie: %d, want 401", code)
	}

	// Logging in again rotates the session: the old cookie stops working.
	old := sess.Value
	c.loginAs(e.alice)
	var rotated string
	for _, ck := range c.hc.Jar.Cookies(u) {
		if ck.Name == "chopsticks_session" {
			rotated = ck.Value
		}
	}
	if rotated == old || rotated == "" {
		t.Fatal("the session was not rotated on login")
	}
	stale := e.anon(t)
	stale.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "chopsticks_session", Value: old}})
	if code := stale.get("/api/me", nil); code != 401 {
		t.Errorf("pre-rotation session: %d, want 401", code)
	}

	// Logout needs the CSRF token.
	resp := c.do("POST", "/auth/logout", strings.NewReader("csrf_token=wrong"), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != 403 {
		t.Errorf("logout with a wrong CSRF token: %d, want 403", resp.StatusCode)
	}
	if code := c.get("/api/me", nil); code != 200 {
		t.Fatalf("session gone after a refused logout: %d", code)
	}
	resp = c.do("POST", "/auth/logout", strings.NewReader("csrf_token="+c.csrf), map[string]string{"Content-Type": "application/x-www-form-urlencoded"})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("logout: %d", resp.StatusCode)
	}
	// Destroyed in Redis, not only in the browser: replaying the cookie fails.
	replay := e.anon(t)
	replay.hc.Jar.SetCookies(u, []*http.Cookie{{Name: "chopsticks_session", Value: rotated}})
	if code := replay.get("/api/me", nil); code != 401 {
		t.Errorf("session after logout: %d, want 401", code)
	}
	if n, _ := e.rdb.Keys(context.Background(), "chopsticks:dashboard:session:*").Result(); len(n) != 1 {
		// Bob's session remains; alice's two were rotated and ended.
		t.Errorf("sessions left in Redis: %d, want 1", len(n))
	}
}

// loginSetCookie logs user in and returns the session's Set-Cookie header.
func loginSetCookie(t *testing.T, e *env, user interface{ String() string }) string {
	t.Helper()
	c := e.anon(t)
	resp := c.do("GET", "/auth/login", nil, nil)
	loc := mustURL(t, resp.Header.Get("Location"))
	q := loc.Query()
	q.Set("sim_user", user.String())
	loc.RawQuery = q.Encode()
	r2, err := c.hc.Get(loc.String())
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	cb := mustURL(t, r2.Header.Get("Location"))
	r3 := c.do("GET", cb.RequestURI(), nil, nil)
	for _, sc := range r3.Header.Values("Set-Cookie") {
		if strings.HasPrefix(sc, "chopsticks_session=") && !strings.Contains(sc, "Max-Age=0") {
			return sc
		}
	}
	t.Fatalf("callback set no session cookie: %v", r3.Header.Values("Set-Cookie"))
	return ""
}

func TestCallbackRefusesBadState(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.anon(t)
	resp := c.do("GET", "/auth/login", nil, nil)
	authz := mustURL(t, resp.Header.Get("Location"))
	state := authz.Query().Get("state")
	q := authz.Query()
	q.Set("sim_user", id(e.alice))
	authz.RawQuery = q.Encode()
	r2, err := c.hc.Get(authz.String())
	if err != nil {
		t.Fatal(err)
	}
	r2.Body.Close()
	cb := mustURL(t, r2.Header.Get("Location"))
	code := cb.Query().Get("code")

	other := e.anon(t) // no login cookie: a login CSRF attempt
	tests := []struct {
		name string
		c    *client
		path string
	}{
		{"no login cookie", other, "/auth/callback?code=" + code + "&state=" + state},
		{"wrong state", c, "/auth/callback?code=" + code + "&state=" + strings.Repeat("A", 43)},
		{"missing code", c, "/auth/callback?state=" + state},
		{"denied", c, "/auth/callback?error=access_denied&state=" + state},
	}
	for _, tt := range tests {
		resp := tt.c.do("GET", tt.path, nil, nil)
		if resp.StatusCode != 400 {
			t.Errorf("%s: %d, want 400", tt.name, resp.StatusCode)
		}
		checkHeaders(t, tt.name, resp, false)
	}
	// The login cookie was cleared by the refused attempts: even the right
	// state and code no longer log in.
	resp = c.do("GET", cb.RequestURI(), nil, nil)
	if resp.StatusCode != 400 {
		t.Errorf("callback after the login cookie was cleared: %d, want 400", resp.StatusCode)
	}
	if code := c.get("/api/me", nil); code != 401 {
		t.Errorf("/api/me: %d, want 401", code)
	}
}

func TestUnauthenticated(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.anon(t)
	for _, p := range []string{"/api/me", "/api/balance", "/api/inventory", "/api/collection", "/api/vault", "/api/transactions", "/api/leaderboard"} {
		resp := c.do("GET", p, nil, nil)
		code, body := decodeAnswer(t, resp, nil)
		if code != 401 || body.Error.Code != "unauthenticated" {
			t.Errorf("GET %s: %d %+v, want 401", p, code, body)
		}
		checkHeaders(t, p, resp, false)
	}
	for _, p := range []string{"/leaderboard", "/transactions"} {
		resp := c.do("GET", p, nil, nil)
		if resp.StatusCode != 302 || !strings.HasPrefix(resp.Header.Get("Location"), "/auth/login?next=") {
			t.Errorf("GET %s: %d → %q, want a redirect to log in", p, resp.StatusCode, resp.Header.Get("Location"))
		}
	}
	resp := c.do("GET", "/", nil, nil)
	if b := body(resp); resp.StatusCode != 200 || !strings.Contains(b, `href="/auth/login"`) {
		t.Errorf("GET / logged out: %d, no login link", resp.StatusCode)
	}
	before := len(e.auditRows(t))
	for _, r := range adminRoutes {
		resp := c.do(r.method, r.path, strings.NewReader(`{}`), map[string]string{"Content-Type": "application/json"})
		if r.page {
			if resp.StatusCode != 302 {
				t.Errorf("%s %s: %d, want 302 to log in", r.method, r.path, resp.StatusCode)
			}
			continue
		}
		if code, _ := decodeAnswer(t, resp, nil); code != 401 {
			t.Errorf("%s %s: %d, want 401", r.method, r.path, code)
		}
	}
	rows := e.auditRows(t)[before:]
	if len(rows) != len(adminRoutes) {
		t.Fatalf("%d audit entries for %d anonymous admin attempts", len(rows), len(adminRoutes))
	}
	for _, a := range rows {
		if a.ActorID != 0 || a.Outcome != "refused" || a.Detail != "unauthenticated" || a.IP != "127.0.0.1" {
			t.Errorf("audit entry %+v", a)
		}
	}
}

var adminRoutes = []struct {
	method, path string
	page         bool
}{
	{"GET", "/admin", true},
	{"GET", "/admin/agents", true},
	{"GET", "/admin/economy", true},
	{"GET", "/admin/audit", true},
	{"GET", "/api/admin/cluster", false},
	{"GET", "/api/admin/agents", false},
	{"GET", "/api/admin/audit", false},
	{"POST", "/api/admin/agents", false},
	{"POST", "/api/admin/agents/1/enable", false},
	{"POST", "/api/admin/agents/1/disable", false},
	{"DELETE", "/api/admin/agents/1", false},
	{"POST", "/api/admin/economy/credits", false},
	{"POST", "/api/admin/economy/items", false},
}

func TestNonAdminRefusedAndAudited(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.login(t, e.alice)
	before := len(e.auditRows(t))
	for _, r := range adminRoutes {
		if r.page {
			if resp := c.do(r.method, r.path, nil, nil); resp.StatusCode != 403 || !strings.Contains(body(resp), "for dashboard admins") {
				t.Errorf("%s %s as a non-admin: %d, want a 403 page", r.method, r.path, resp.StatusCode)
			}
			continue
		}
		code, body := c.send(r.method, r.path, map[string]any{"user_id": id(e.alice), "amount": 1000000, "reason": "free money"}, nil)
		if code != 403 {
			t.Errorf("%s %s as a non-admin: %d, want 403", r.method, r.path, code)
		}
		if body.Error.Code != "forbidden" {
			t.Errorf("%s %s: error %+v", r.method, r.path, body)
		}
	}
	rows := e.auditRows(t)[before:]
	if len(rows) != len(adminRoutes) {
		t.Fatalf("%d audit entries for %d refused admin attempts", len(rows), len(adminRoutes))
	}
	for i, a := range rows {
		if a.ActorID != int64(e.alice.ID) || a.ActorName != "alice" || a.Outcome != "refused" || a.Detail != "forbidden" ||
			a.Target != adminRoutes[i].method+" "+adminRoutes[i].path || a.IP != "127.0.0.1" {
			t.Errorf("audit entry %d: %+v", i, a)
		}
	}
	if n := e.metric(t, "chopsticks_dashboard_admin_refused_total", map[string]string{"reason": "forbidden"}); n != float64(len(adminRoutes)) {
		t.Errorf("admin_refused_total{reason=forbidden} = %v, want %d", n, len(adminRoutes))
	}
	if n := e.metric(t, "chopsticks_dashboard_requests_total", map[string]string{"route": "POST /api/admin/economy/credits", "code": "403"}); n != 1 {
		t.Errorf("requests_total for the refused grant = %v, want 1", n)
	}
	// Nothing changed.
	if a, _ := e.econ.Balance(context.Background(), int64(e.alice.ID)); a.Wallet != 0 {
		t.Errorf("alice's wallet = %d after refused grants", a.Wallet)
	}
}

func TestCSRF(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	payload := `{"user_id":"` + id(e.alice) + `","amount":5,"reason":"csrf test"}`
	tests := []struct {
		name string
		hdr  map[string]string
	}{
		{"missing", map[string]string{"Content-Type": "application/json"}},
		{"wrong", map[string]string{"Content-Type": "application/json", "X-CSRF-Token": "not-the-token"}},
		{"another session's", map[string]string{"Content-Type": "application/json", "X-CSRF-Token": e.login(t, e.admin).csrf}},
	}
	before := len(e.auditRows(t))
	for _, tt := range tests {
		resp := admin.do("POST", "/api/admin/economy/credits", strings.NewReader(payload), tt.hdr)
		if code, body := decodeAnswer(t, resp, nil); code != 403 || body.Error.Code != "csrf" {
			t.Errorf("%s token: %d %+v, want 403 csrf", tt.name, code, body)
		}
	}
	if n := len(e.auditRows(t)) - before; n != len(tests) {
		t.Errorf("%d audit entries for %d CSRF refusals", n, len(tests))
	}
	if a, _ := e.econ.Balance(context.Background(), int64(e.alice.ID)); a.Wallet != 0 {
		t.Errorf("wallet = %d after refused requests", a.Wallet)
	}
	// The right token works.
	if code, _ := admin.send("POST", "/api/admin/economy/credits", map[string]any{"user_id": id(e.alice), "amount": 5, "reason": "csrf test"}, nil); code != 200 {
		t.Errorf("with the token: %d", code)
	}
}

func TestBadInput(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	alice := id(e.alice)
	tests := []struct {
		name, method, path, ctype, body string
		want                            int
		code                            string
	}{
		{"oversized body", "POST", "/api/admin/economy/credits", "application/json", `{"reason":"` + strings.Repeat("x", 5000) + `"}`, 413, "too_large"},
		{"bad JSON", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":`, 400, "bad_json"},
		{"not an object", "POST", "/api/admin/economy/credits", "application/json", `[1,2]`, 400, "bad_json"},
		{"two objects", "POST", "/api/admin/economy/credits", "application/json", `{} {}`, 400, "bad_json"},
		{"empty body", "POST", "/api/admin/economy/credits", "application/json", ``, 400, "bad_json"},
		{"unknown field", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":"` + alice + `","amount":5,"reason":"abc","bonus":1}`, 400, "bad_json"},
		{"wrong type", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":"` + alice + `","amount":"5","reason":"abc"}`, 400, "bad_json"},
		{"form instead of JSON", "POST", "/api/admin/economy/credits", "application/x-www-form-urlencoded", `user_id=1`, 415, "unsupported_media_type"},
		{"bad user ID", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":"12ab","amount":5,"reason":"abc"}`, 400, "bad_user_id"},
		{"negative user ID", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":"-5","amount":5,"reason":"abc"}`, 400, "bad_user_id"},
		{"huge user ID", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":"99999999999999999999","amount":5,"reason":"abc"}`, 400, "bad_user_id"},
		{"zero amount", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":"` + alice + `","amount":0,"reason":"abc"}`, 400, "bad_amount"},
		{"amount too large", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":"` + alice + `","amount":1000000000001,"reason":"abc"}`, 400, "bad_amount"},
		{"no reason", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":"` + alice + `","amount":5}`, 400, "bad_reason"},
		{"bad op", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":"` + alice + `","amount":5,"reason":"abc","op":"x y"}`, 400, "bad_op"},
		{"remove more than the wallet", "POST", "/api/admin/economy/credits", "application/json", `{"user_id":"` + alice + `","amount":-5,"reason":"abc"}`, 409, "insufficient_funds"},
		{"bad item", "POST", "/api/admin/economy/items", "application/json", `{"user_id":"` + alice + `","item":"DROP TABLE","quantity":1,"reason":"abc"}`, 400, "bad_item"},
		{"unknown item", "POST", "/api/admin/economy/items", "application/json", `{"user_id":"` + alice + `","item":"no_such_item","quantity":1,"reason":"abc"}`, 400, "unknown_item"},
		{"bad quantity", "POST", "/api/admin/economy/items", "application/json", `{"user_id":"` + alice + `","item":"no_such_item","quantity":101,"reason":"abc"}`, 400, "bad_quantity"},
		{"bad agent ID", "POST", "/api/admin/agents/abc/enable", "application/json", `{}`, 400, "bad_id"},
		{"zero agent ID", "DELETE", "/api/admin/agents/0", "application/json", ``, 400, "bad_id"},
		{"unknown agent", "POST", "/api/admin/agents/999/disable", "application/json", `{}`, 404, "not_found"},
		{"agent without token", "POST", "/api/admin/agents", "application/json", `{"name":"a1"}`, 400, "bad_token"},
		{"agent with a bad token", "POST", "/api/admin/agents", "application/json", `{"name":"a1","token":"not-a-real-token"}`, 400, "bad_token"},
		{"bad page", "GET", "/api/transactions?page=-1", "", ``, 400, "bad_page"},
		{"page not a number", "GET", "/api/inventory?page=x", "", ``, 400, "bad_page"},
		{"page past the end", "GET", "/api/transactions?page=5", "", ``, 400, "bad_page"},
		{"bad limit", "GET", "/api/leaderboard?limit=1000", "", ``, 400, "bad_limit"},
		{"bad filter", "GET", "/api/collection?filter=Rare%21", "", ``, 400, "bad_filter"},
		{"bad user_id parameter", "GET", "/api/balance?user_id=x", "", ``, 400, "bad_user_id"},
		{"bad audit cursor", "GET", "/api/admin/audit?before=x", "", ``, 400, "bad_before"},
		{"unknown endpoint", "GET", "/api/nope", "", ``, 404, "not_found"},
	}
	for _, tt := range tests {
		hdr := map[string]string{"X-CSRF-Token": admin.csrf}
		if tt.ctype != "" {
			hdr["Content-Type"] = tt.ctype
		}
		resp := admin.do(tt.method, tt.path, strings.NewReader(tt.body), hdr)
		code, body := decodeAnswer(t, resp, nil)
		if code != tt.want || body.Error.Code != tt.code {
			t.Errorf("%s: %d %+v, want %d %s", tt.name, code, body, tt.want, tt.code)
		}
		checkHeaders(t, tt.name, resp, false)
	}
	if a, _ := e.econ.Balance(context.Background(), int64(e.alice.ID)); a.Wallet != 0 {
		t.Errorf("wallet = %d after bad requests", a.Wallet)
	}
}

func TestWrongUser(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	if code, _ := admin.send("POST", "/api/admin/economy/credits", map[string]any{"user_id": id(e.bob), "amount": 77, "reason": "bob's prize"}, nil); code != 200 {
		t.Fatalf("grant: %d", code)
	}
	alice := e.login(t, e.alice)
	for _, p := range []string{"/api/balance", "/api/transactions", "/api/inventory", "/api/collection"} {
		resp := alice.do("GET", p+"?user_id="+id(e.bob), nil, nil)
		if code, body := decodeAnswer(t, resp, nil); code != 403 || body.Error.Code != "wrong_user" {
			t.Errorf("alice reading bob's %s: %d %+v, want 403", p, code, body)
		}
	}
	var own dashboard.AccountView
	if alice.get("/api/balance", &own); own.UserID != id(e.alice) || own.Wallet != 0 {
		t.Errorf("alice's own balance = %+v", own)
	}
	var bobs dashboard.AccountView
	if code := admin.get("/api/balance?user_id="+id(e.bob), &bobs); code != 200 || bobs.Wallet != 77 {
		t.Errorf("admin reading bob's balance: %d %+v", code, bobs)
	}
	var vault []economy.VaultEntry
	if code := alice.get("/api/vault?user_id="+id(e.bob), &vault); code != 200 {
		t.Errorf("vaults are on show: %d", code)
	}
}

func TestAdminAdjustmentsThroughLedger(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	alice := e.login(t, e.alice)
	req := map[string]any{"user_id": id(e.alice), "amount": 1500, "reason": "tournament prize", "op": "prize-0001"}
	var acct dashboard.AccountView
	if code, body := admin.send("POST", "/api/admin/economy/credits", req, &acct); code != 200 || acct.Wallet != 1500 {
		t.Fatalf("grant: %d %+v %+v", code, body, acct)
	}
	// The same op again changes nothing (a double click).
	if code, _ := admin.send("POST", "/api/admin/economy/credits", req, &acct); code != 200 || acct.Wallet != 1500 {
		t.Errorf("replayed grant: %d, wallet %d, want 1500", code, acct.Wallet)
	}
	if code, _ := admin.send("POST", "/api/admin/economy/credits", map[string]any{"user_id": id(e.alice), "amount": -500, "reason": "correction"}, &acct); code != 200 || acct.Wallet != 1000 {
		t.Errorf("removal: %d, wallet %d, want 1000", code, acct.Wallet)
	}
	if code, body := admin.send("POST", "/api/admin/economy/items", map[string]any{"user_id": id(e.alice), "item": firstItem(t, e), "quantity": 2, "reason": "event reward"}, nil); code != 200 {
		t.Errorf("item grant: %d %+v", code, body)
	}

	// Alice sees it through the real economy views.
	var bal dashboard.AccountView
	alice.get("/api/balance", &bal)
	if bal.Wallet != 1000 {
		t.Errorf("alice's wallet = %d, want 1000", bal.Wallet)
	}
	var log dashboard.PageView[dashboard.LogView]
	alice.get("/api/transactions", &log)
	if log.Total != 2 || log.Rows[0].Amount != -500 || log.Rows[1].Amount != 1500 || !strings.Contains(log.Rows[1].Memo, "tournament prize") {
		t.Errorf("alice's transactions = %+v", log)
	}
	var inv dashboard.PageView[dashboard.StackView]
	alice.get("/api/inventory", &inv)
	if inv.Total != 1 || inv.Rows[0].Count != 2 {
		t.Errorf("alice's inventory = %+v", inv)
	}
	rep, err := economy.Audit(context.Background(), e.pool)
	if err != nil || !rep.OK() {
		t.Errorf("economy audit after adjustments: %v %+v", err, rep)
	}
	e.drainBoards(t)
	var board []dashboard.RankView
	if alice.get("/api/leaderboard", &board); len(board) != 1 || board[0].UserID != id(e.alice) {
		t.Errorf("leaderboard = %+v", board)
	}

	// The audit log has every action with who, what, when and where.
	var entries []dashboard.AuditEntry
	if code := admin.get("/api/admin/audit", &entries); code != 200 || len(entries) != 4 {
		t.Fatalf("audit: %d, %d entries, want 4", code, len(entries))
	}
	last := entries[len(entries)-1] // oldest first grant
	if last.ActorID != int64(e.admin.ID) || last.Action != "credits_adjust" || last.Outcome != "ok" || last.Target != "user "+id(e.alice) ||
		!strings.Contains(last.Detail, "+1500") || !strings.Contains(last.Detail, "tournament prize") || last.IP != "127.0.0.1" ||
		time.Since(last.At) > time.Minute {
		t.Errorf("audit entry = %+v", last)
	}
	// A refused adjustment is audited as refused.
	if code, _ := admin.send("POST", "/api/admin/economy/credits", map[string]any{"user_id": id(e.alice), "amount": -5000, "reason": "too much"}, nil); code != 409 {
		t.Errorf("over-removal: %d, want 409", code)
	}
	rows := e.auditRows(t)
	if a := rows[len(rows)-1]; a.Outcome != "refused" || !strings.Contains(a.Detail, "insufficient_funds") {
		t.Errorf("refused adjustment audited as %+v", a)
	}
}

func firstItem(t *testing.T, e *env) string {
	t.Helper()
	for _, it := range e.econ.Catalog().Shop() {
		return it.Key
	}
	t.Fatal("the catalogue sells nothing")
	return ""
}

func TestAgentPool(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	app, err := e.sim.CreateApplication(discordSimApp("agent-one"))
	if err != nil {
		t.Fatal(err)
	}
	var a dashboard.AgentView
	resp := admin.do("POST", "/api/admin/agents", strings.NewReader(`{"name":"one","token":"`+app.Token+`"}`),
		map[string]string{"Content-Type": "application/json", "X-CSRF-Token": admin.csrf})
	raw := body(resp)
	if resp.StatusCode != 201 || strings.Contains(raw, app.Token) {
		t.Fatalf("add agent: %d %s", resp.StatusCode, raw)
	}
	if code, _ := admin.send("GET", "/api/admin/agents", nil, nil); code != 200 {
		t.Fatal(code)
	}
	var list []dashboard.AgentView
	admin.get("/api/admin/agents", &list)
	if len(list) != 1 || list[0].Name != "one" || !list[0].Enabled || list[0].BotUserID != app.BotUserID.String() {
		t.Fatalf("agents = %+v", list)
	}
	a = list[0]
	if code, _ := admin.send("POST", "/api/admin/agents/"+a.ID+"/disable", nil, nil); code != 200 {
		t.Errorf("disable: %d", code)
	}
	admin.get("/api/admin/agents", &list)
	if list[0].Enabled {
		t.Error("agent still enabled")
	}
	if code, _ := admin.send("POST", "/api/admin/agents/"+a.ID+"/enable", nil, nil); code != 200 {
		t.Errorf("enable: %d", code)
	}
	if code, _ := admin.send("POST", "/api/admin/agents", map[string]string{"name": "one", "token": app.Token}, nil); code != 409 {
		t.Errorf("duplicate agent: %d, want 409", code)
	}
	page := body(admin.do("GET", "/admin/agents", nil, nil))
	if !strings.Contains(page, "one") || strings.Contains(page, app.Token) {
		t.Error("agents page lacks the agent or shows its token")
	}
	if code, _ := admin.send("DELETE", "/api/admin/agents/"+a.ID, nil, nil); code != 200 {
		t.Errorf("remove: %d", code)
	}
	admin.get("/api/admin/agents", &list)
	if len(list) != 0 {
		t.Errorf("agents after remove = %+v", list)
	}
	var actions []string
	for _, r := range e.auditRows(t) {
		if strings.Contains(r.Detail, app.Token) {
			t.Errorf("audit entry holds the token: %+v", r)
		}
		actions = append(actions, r.Action+"/"+r.Outcome)
	}
	want := "agent_add/ok agent_disable/ok agent_enable/ok agent_add/refused agent_remove/ok"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("audit actions = %s, want %s", got, want)
	}
}

func TestAuditLogIsAppendOnly(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.login(t, e.alice)
	c.get("/api/admin/cluster", nil) // a refused attempt: one entry
	ctx := context.Background()
	for _, stmt := range []string{
		`UPDATE dashboard.audit_log SET outcome = 'ok'`,
		`DELETE FROM dashboard.audit_log`,
		`TRUNCATE dashboard.audit_log`,
	} {
		if _, err := e.pool.Exec(ctx, stmt); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: %v, want an append-only error", stmt, err)
		}
	}
	if rows := e.auditRows(t); len(rows) != 1 || rows[0].Outcome != "refused" {
		t.Errorf("audit log = %+v", rows)
	}
	// Migrate is idempotent.
	if err := dashboard.Migrate(ctx, e.pool); err != nil {
		t.Fatal(err)
	}
}

func TestHeadersOnEveryResponse(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.login(t, e.alice)
	for _, tt := range []struct {
		method, path string
		want         int
	}{
		{"GET", "/", 200}, {"GET", "/leaderboard", 200}, {"GET", "/transactions", 200},
		{"GET", "/static/app.css", 200}, {"GET", "/static/app.js", 200}, {"GET", "/static/nope.js", 404},
		{"GET", "/api/me", 200}, {"GET", "/nope", 404}, {"GET", "/admin", 403}, {"PUT", "/api/me", 404}, {"PUT", "/leaderboard", 404},
	} {
		resp := c.do(tt.method, tt.path, nil, nil)
		if resp.StatusCode != tt.want {
			t.Errorf("%s %s: %d, want %d", tt.method, tt.path, resp.StatusCode, tt.want)
		}
		checkHeaders(t, tt.path, resp, false)
	}
	// Secure cookies: HSTS and the __Host- cookie prefix.
	cfg := e.cfg
	cfg.CookieSecure, cfg.Registerer = true, nil
	cfg.RedirectURI = "https://dash.example/auth/callback"
	s, err := dashboard.New(cfg, dashboard.Deps{Redis: e.rdb, Pool: e.pool, Limiter: allowAll{}, Economy: e.econ})
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest("GET", "https://dash.example/auth/login", nil)
	req.RemoteAddr = "127.0.0.1:5555"
	s.ServeHTTP(rec, req)
	checkHeaders(t, "secure login", rec.Result(), true)
	if sc := rec.Header().Get("Set-Cookie"); !strings.HasPrefix(sc, "__Host-") || !strings.Contains(sc, "Secure") || !strings.Contains(sc, "HttpOnly") {
		t.Errorf("secure login cookie = %q", sc)
	}
}

type allowAll struct{}

func (allowAll) AllowHTTP(context.Context, string) (ratelimit.Decision, error) {
	return ratelimit.Decision{Allowed: true}, nil
}
func (allowAll) AllowAdmin(context.Context, uint64) (ratelimit.Decision, error) {
	return ratelimit.Decision{Allowed: true}, nil
}
func (allowAll) SensitiveBlocked(context.Context, string, uint64, string) (ratelimit.Decision, error) {
	return ratelimit.Decision{Allowed: true}, nil
}
func (allowAll) FailSensitive(context.Context, string, uint64, string) (ratelimit.Decision, error) {
	return ratelimit.Decision{Allowed: true}, nil
}

func TestCORS(t *testing.T) {
	e := newEnv(t, envOptions{origins: []string{"https://ok.example"}})
	c := e.login(t, e.admin)
	preflight := func(origin string) *http.Response {
		return c.do("OPTIONS", "/api/admin/economy/credits", nil, map[string]string{"Origin": origin,
			"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type, x-csrf-token"})
	}
	resp := preflight("https://evil.example")
	if resp.StatusCode != 403 || resp.Header.Get("Access-Control-Allow-Origin") != "" {
		t.Errorf("preflight from another origin: %d, ACAO %q", resp.StatusCode, resp.Header.Get("Access-Control-Allow-Origin"))
	}
	checkHeaders(t, "refused preflight", resp, false)
	resp = c.do("GET", "/api/me", nil, map[string]string{"Origin": "https://evil.example"})
	if resp.Header.Get("Access-Control-Allow-Origin") != "" || resp.Header.Get("Access-Control-Allow-Credentials") != "" {
		t.Errorf("GET from another origin got CORS headers: %v", resp.Header)
	}
	resp = c.do("POST", "/api/admin/economy/credits", strings.NewReader(`{"user_id":"`+id(e.alice)+`","amount":5,"reason":"cors"}`),
		map[string]string{"Origin": "https://evil.example", "Content-Type": "application/json", "X-CSRF-Token": c.csrf})
	if code, body := decodeAnswer(t, resp, nil); code != 403 || body.Error.Code != "origin_refused" {
		t.Errorf("POST from another origin: %d %+v", code, body)
	}
	resp = preflight("https://ok.example")
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "https://ok.example" ||
		resp.Header.Get("Access-Control-Allow-Credentials") != "true" || !strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "X-CSRF-Token") {
		t.Errorf("preflight from an allowed origin: %d %v", resp.StatusCode, resp.Header)
	}
	resp = c.do("POST", "/api/admin/economy/credits", strings.NewReader(`{"user_id":"`+id(e.alice)+`","amount":5,"reason":"cors"}`),
		map[string]string{"Origin": e.srv.URL, "Content-Type": "application/json", "X-CSRF-Token": c.csrf})
	if resp.StatusCode != 200 {
		t.Errorf("same-origin POST: %d %s", resp.StatusCode, body(resp))
	}
}

func TestRateLimits(t *testing.T) {
	// Per-IP request limit.
	e3 := newEnv(t, envOptions{limits: ratelimit.Config{HTTP: ratelimit.Rule{Limit: 5, Period: time.Hour}}})
	c := e3.anon(t)
	var codes []int
	for range 7 {
		resp := c.do("GET", "/api/me", nil, nil)
		codes = append(codes, resp.StatusCode)
		checkHeaders(t, "limited", resp, false)
	}
	if codes[4] != 401 || codes[5] != 429 || codes[6] != 429 {
		t.Errorf("request statuses = %v, want five 401 then 429", codes)
	}
	// Static files are not counted.
	if resp := c.do("GET", "/static/app.css", nil, nil); resp.StatusCode != 200 {
		t.Errorf("static while limited: %d", resp.StatusCode)
	}
}

func TestCompression(t *testing.T) {
	e := newEnv(t, envOptions{})
	c := e.anon(t)
	for _, p := range []string{"/static/app.css", "/", "/api/me"} {
		req, _ := http.NewRequest("GET", e.srv.URL+p, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Accept-Encoding") {
			t.Errorf("%s: Content-Encoding %q, Vary %q", p, resp.Header.Get("Content-Encoding"), resp.Header.Get("Vary"))
			continue
		}
		zr, err := gzip.NewReader(resp.Body)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		b, err := io.ReadAll(zr)
		if err != nil || len(b) == 0 {
			t.Errorf("%s: gunzip: %v (%d bytes)", p, err, len(b))
		}
		checkHeaders(t, p, resp, false)
	}
	_ = c
	// Without Accept-Encoding: plain.
	req, _ := http.NewRequest("GET", e.srv.URL+"/static/app.css", nil)
	resp, err := (&http.Transport{DisableCompression: true}).RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.Header.Get("Content-Encoding") != "" || !bytes.Contains(b, []byte(":root")) {
		t.Errorf("uncompressed CSS: encoding %q", resp.Header.Get("Content-Encoding"))
	}
}

func TestPages(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	if code, _ := admin.send("POST", "/api/admin/economy/credits", map[string]any{"user_id": id(e.alice), "amount": 4321, "reason": "page test"}, nil); code != 200 {
		t.Fatal(code)
	}
	alice := e.login(t, e.alice)
	e.drainBoards(t)
	for _, tt := range []struct {
		c    *client
		path string
		want []string
	}{
		{alice, "/", []string{`id="wallet">4,321<`, "Inventory", "Collection", "Vault", "alice"}},
		{alice, "/leaderboard", []string{`id="leaderboard"`, "4,321", "you"}},
		{alice, "/transactions", []string{`id="transactions"`, "&#43;4,321</td>", "page test"}},
		{admin, "/admin", []string{`id="nodes"`, "node-a", "leader", "moving"}},
		{admin, "/admin/agents", []string{"Add an agent", `type="password"`}},
		{admin, "/admin/economy", []string{`id="credits-form"`, `id="items-form"`}},
		{admin, "/admin/audit", []string{`id="audit"`, "credits_adjust", "page test"}},
	} {
		resp := tt.c.do("GET", tt.path, nil, nil)
		b := body(resp)
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/html; charset=utf-8" {
			t.Errorf("GET %s: %d %s", tt.path, resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		for _, w := range tt.want {
			if !strings.Contains(b, w) {
				t.Errorf("GET %s: page lacks %q in\n%s", tt.path, w, b)
			}
		}
		for _, bad := range []string{"<script>", " style=", "<style"} {
			if strings.Contains(b, bad) {
				t.Errorf("GET %s: inline %q", tt.path, bad)
			}
		}
	}
	// Admin links only for admins.
	if b := body(alice.do("GET", "/", nil, nil)); strings.Contains(b, `href="/admin"`) {
		t.Error("non-admin sees admin links")
	}
}

func TestNewValidatesConfig(t *testing.T) {
	e := newEnv(t, envOptions{})
	deps := dashboard.Deps{Redis: e.rdb, Pool: e.pool, Limiter: allowAll{}, Economy: e.econ}
	for _, tt := range []struct {
		name string
		mod  func(*dashboard.Config)
		deps dashboard.Deps
	}{
		{"short secret", func(c *dashboard.Config) { c.SessionSecret = []byte("short") }, deps},
		{"no client secret", func(c *dashboard.Config) { c.ClientSecret = "" }, deps},
		{"relative redirect", func(c *dashboard.Config) { c.RedirectURI = "/auth/callback" }, deps},
		{"wrong redirect path", func(c *dashboard.Config) { c.RedirectURI = "http://127.0.0.1/cb" }, deps},
		{"secure over http", func(c *dashboard.Config) { c.CookieSecure = true }, deps},
		{"bad origin", func(c *dashboard.Config) { c.AllowedOrigins = []string{"ok.example"} }, deps},
		{"bad admin", func(c *dashboard.Config) { c.AdminIDs = []int64{-1} }, deps},
		{"no redis", func(*dashboard.Config) {}, dashboard.Deps{Pool: e.pool, Limiter: allowAll{}, Economy: e.econ}},
	} {
		cfg := e.cfg
		cfg.Registerer = nil
		tt.mod(&cfg)
		if _, err := dashboard.New(cfg, tt.deps); err == nil {
			t.Errorf("%s: New accepted it", tt.name)
		}
	}
}
