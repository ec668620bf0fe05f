package dashboard_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"testing"

	"github.com/chopsticks-bot/chopsticks/dashboard"
)

// opRows counts the economy transactions of op that moved credits or
// items (the economy also keeps refusals, with no legs), and the audit
// outcomes of the rows whose detail names op.
func (e *env) opRows(t *testing.T, op string) (txs int, outcomes map[string]int) {
	t.Helper()
	ctx := context.Background()
	if err := e.pool.QueryRow(ctx, `SELECT count(*) FROM economy.transactions t WHERE (op_id = $2 OR op_id LIKE $1)
		AND (EXISTS (SELECT 1 FROM economy.ledger_legs l WHERE l.tx_id = t.id) OR EXISTS (SELECT 1 FROM economy.item_legs i WHERE i.tx_id = t.id))`,
		"dashboard:"+op+":%", "dashboard:"+op).Scan(&txs); err != nil {
		t.Fatal(err)
	}
	outcomes = map[string]int{}
	for _, a := range e.auditRows(t) {
		if containsWord(a.Detail, "op "+op) || containsWord(a.Detail, "op dashboard:"+op) {
			outcomes[a.Outcome]++
		}
	}
	return txs, outcomes
}

func containsWord(s, w string) bool {
	for i := 0; i+len(w) <= len(s); i++ {
		if s[i:i+len(w)] == w && (i+len(w) == len(s) || s[i+len(w)] == ' ' || s[i+len(w)] == ':') {
			return true
		}
	}
	return false
}

// TestAdminOpReplay: replaying a grant with the same op repeats its answer,
// adds no transaction and is audited as replayed, not as a second ok.
func TestAdminOpReplay(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	grant := map[string]any{"user_id": id(e.alice), "amount": 1000, "reason": "event prize", "op": "grant-0001"}
	var first, again dashboard.AccountView
	if code, body := admin.send("POST", "/api/admin/economy/credits", grant, &first); code != 200 || first.Wallet != 1000 {
		t.Fatalf("grant: %d %+v %+v", code, body, first)
	}
	for i := range 2 {
		if code, body := admin.send("POST", "/api/admin/economy/credits", grant, &again); code != 200 || again != first {
			t.Fatalf("replay %d: %d %+v %+v, want the first answer %+v", i+1, code, body, again, first)
		}
	}
	txs, outcomes := e.opRows(t, "grant-0001")
	if txs != 1 || outcomes["ok"] != 1 || outcomes["replayed"] != 2 || len(outcomes) != 2 {
		t.Errorf("after a grant and two replays: %d transactions, audit outcomes %v; want 1, {ok:1 replayed:2}", txs, outcomes)
	}
	var bal dashboard.AccountView
	if e.login(t, e.alice).get("/api/balance", &bal); bal.Wallet != 1000 {
		t.Errorf("alice's wallet = %d, want 1000", bal.Wallet)
	}

	// Items replay the same way.
	item := map[string]any{"user_id": id(e.bob), "item": firstItem(t, e), "quantity": 2, "reason": "event prize", "op": "items-0001"}
	for i := range 2 {
		if code, body := admin.send("POST", "/api/admin/economy/items", item, nil); code != 200 {
			t.Fatalf("item grant %d: %d %+v", i+1, code, body)
		}
	}
	var n int
	if err := e.pool.QueryRow(context.Background(), `SELECT count(*) FROM economy.items WHERE owner_id = $1`, int64(e.bob.ID)).Scan(&n); err != nil || n != 2 {
		t.Errorf("bob has %d items (%v), want 2", n, err)
	}
	if _, outcomes := e.opRows(t, "items-0001"); outcomes["ok"] != 1 || outcomes["replayed"] != 1 {
		t.Errorf("item op audit outcomes %v, want {ok:1 replayed:1}", outcomes)
	}
}

// TestAdminOpBoundToParameters: an op that succeeded, used again with any
// other parameter, is refused with 409 and changes nothing.
func TestAdminOpBoundToParameters(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	base := map[string]any{"user_id": id(e.alice), "amount": 1000, "reason": "event prize", "op": "bound-0001"}
	if code, body := admin.send("POST", "/api/admin/economy/credits", base, nil); code != 200 {
		t.Fatalf("grant: %d %+v", code, body)
	}
	with := func(k string, v any) map[string]any {
		m := map[string]any{}
		for kk, vv := range base {
			m[kk] = vv
		}
		m[k] = v
		return m
	}
	for _, tt := range []struct {
		name string
		path string
		req  map[string]any
	}{
		{"another amount", "/api/admin/economy/credits", with("amount", 2000)},
		{"another user", "/api/admin/economy/credits", with("user_id", id(e.bob))},
		{"another reason", "/api/admin/economy/credits", with("reason", "other prize")},
		{"a removal", "/api/admin/economy/credits", with("amount", -1000)},
		{"items", "/api/admin/economy/items", map[string]any{"user_id": id(e.alice), "item": firstItem(t, e), "quantity": 1, "reason": "event prize", "op": "bound-0001"}},
	} {
		code, body := admin.send("POST", tt.path, tt.req, nil)
		if code != 409 || body.Error.Code != "op_conflict" {
			t.Errorf("%s with the same op: %d %+v, want 409 op_conflict", tt.name, code, body)
		}
	}
	ctx := context.Background()
	var txs, items int
	var wallets int64
	if err := e.pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM economy.transactions),
		(SELECT count(*) FROM economy.items), (SELECT coalesce(sum(wallet), 0) FROM economy.accounts WHERE user_id > 0)`).
		Scan(&txs, &items, &wallets); err != nil {
		t.Fatal(err)
	}
	if txs != 1 || items != 0 {
		t.Errorf("after the conflicts: %d transactions, %d items; want the one grant and no items", txs, items)
	}
	rows := e.auditRows(t)
	ok := 0
	for _, a := range rows {
		if a.Outcome == "ok" {
			ok++
		}
	}
	if ok != 1 {
		t.Errorf("%d audit rows say ok, want 1: %+v", ok, rows)
	}
	if a := rows[len(rows)-1]; a.Outcome != "refused" || !containsWord(a.Detail, "op bound-0001") {
		t.Errorf("last audit row = %+v, want the refused conflict", a)
	}
}

// TestAdminOpRefusalNotSticky: a refused op keeps nothing: corrected, or
// retried once it can succeed, it runs.
func TestAdminOpRefusalNotSticky(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	send := func(amount int, op string) (int, apiErr, dashboard.AccountView) {
		t.Helper()
		var a dashboard.AccountView
		code, body := admin.send("POST", "/api/admin/economy/credits",
			map[string]any{"user_id": id(e.alice), "amount": amount, "reason": "correction", "op": op}, &a)
		return code, body, a
	}
	if code, body, _ := send(-500, "fix-0001"); code != 409 || body.Error.Code != "insufficient_funds" {
		t.Fatalf("removal from an empty wallet: %d %+v, want 409 insufficient_funds", code, body)
	}
	// The admin corrects the amount; the API takes the same op (the page
	// sends a fresh one after a refusal).
	if code, body, a := send(700, "fix-0001"); code != 200 || a.Wallet != 700 {
		t.Fatalf("corrected request with the refused op: %d %+v %+v, want 200 and 700", code, body, a)
	}
	// A refusal retried unchanged runs again once it can succeed.
	if code, _, _ := send(-1000, "fix-0002"); code != 409 {
		t.Fatalf("over-removal: %d, want 409", code)
	}
	if code, body, _ := send(500, "fix-0003"); code != 200 {
		t.Fatalf("grant: %d %+v", code, body)
	}
	if code, body, a := send(-1000, "fix-0002"); code != 200 || a.Wallet != 200 {
		t.Errorf("retried refused op: %d %+v %+v, want 200 and 200", code, body, a)
	}
	if code, _, a := send(-1000, "fix-0002"); code != 200 || a.Wallet != 200 {
		t.Errorf("replay of the retried op: %d, wallet %d, want 200", code, a.Wallet)
	}
	txs, outcomes := e.opRows(t, "fix-0002")
	if txs != 1 || outcomes["refused"] != 1 || outcomes["ok"] != 1 || outcomes["replayed"] != 1 {
		t.Errorf("fix-0002: %d applied transactions, audit %v; want 1, {refused:1 ok:1 replayed:1}", txs, outcomes)
	}
}

// TestAdminOpConcurrent: the same op sent many times at once (a double
// click, a retrying proxy) applies once; the others repeat its success or
// are told it is running.
func TestAdminOpConcurrent(t *testing.T) {
	e := newEnv(t, envOptions{})
	admin := e.login(t, e.admin)
	grant := map[string]any{"user_id": id(e.alice), "amount": 250, "reason": "double click", "op": "click-0001"}
	codes := make(chan string, 8)
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, _ := json.Marshal(grant)
			req, _ := http.NewRequest("POST", e.srv.URL+"/api/admin/economy/credits", bytes.NewReader(b))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("X-CSRF-Token", admin.csrf)
			resp, err := admin.hc.Do(req)
			if err != nil {
				codes <- err.Error()
				return
			}
			defer resp.Body.Close()
			var a apiErr
			_ = json.NewDecoder(resp.Body).Decode(&a)
			codes <- strconv.Itoa(resp.StatusCode) + " " + a.Error.Code
		}()
	}
	wg.Wait()
	close(codes)
	for c := range codes {
		if c != "200 " && c != "409 op_in_progress" {
			t.Errorf("concurrent request answered %q", c)
		}
	}
	txs, outcomes := e.opRows(t, "click-0001")
	if txs != 1 || outcomes["ok"] != 1 {
		t.Errorf("8 concurrent requests: %d transactions, audit %v; want 1 and one ok", txs, outcomes)
	}
	var bal dashboard.AccountView
	if e.login(t, e.alice).get("/api/balance", &bal); bal.Wallet != 250 {
		t.Errorf("alice's wallet = %d, want 250", bal.Wallet)
	}
}
