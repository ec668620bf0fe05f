package node_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/node"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// premiumSKUsOf lists the sku_id of each premium button of m.
func premiumSKUsOf(t *testing.T, m discordsim.Message) []string {
	t.Helper()
	var out []string
	for _, raw := range m.Components {
		var row struct {
			Components []struct {
				Style    int    `json:"style"`
				SKUID    string `json:"sku_id"`
				CustomID string `json:"custom_id"`
				Label    string `json:"label"`
			} `json:"components"`
		}
		if err := json.Unmarshal(raw, &row); err != nil {
			t.Fatal(err)
		}
		for _, b := range row.Components {
			if b.Style == 6 {
				if b.CustomID != "" || b.Label != "" {
					t.Fatalf("premium button with custom_id or label: %+v", b)
				}
				out = append(out, b.SKUID)
			}
		}
	}
	return out
}

// The check through discordsim and a real node: subscribe with
// the premium button → perks in /balance, /daily and /bank; lapse → gone;
// renew → back; a boost delivered many times is given and consumed once.
func TestPremiumThroughDiscordsim(t *testing.T) {
	s := newStack(t, 1)
	var sub, pack, boost discordsim.SKU
	for _, k := range []struct {
		dst *discordsim.SKU
		o   discordsim.SKUOptions
	}{{&sub, discordsim.SKUOptions{Name: "Premium", Type: discordsim.SKUSubscription}},
		{&pack, discordsim.SKUOptions{Name: "Cosmetic Pack", Type: discordsim.SKUDurable}},
		{&boost, discordsim.SKUOptions{Name: "Boost", Type: discordsim.SKUConsumable}}} {
		var err error
		if *k.dst, err = s.sim.CreateSKU(k.o); err != nil {
			t.Fatal(err)
		}
	}
	s.startNode(t, "n1", func(f *node.Flags) {
		f.PremiumSKUs = fmt.Sprintf("subscription=%s,pack=%s,boost=%s", sub.ID, pack.ID, boost.ID)
	})
	guild := s.sim.Guilds()[0].ID
	user := s.sim.DefaultUsers()[1]
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	pool := s.db(ctx, t)
	run := func(cmd, subcmd string, opts map[string]any) (discordsim.Message, string) {
		t.Helper()
		_, msg := invoke(t, s.sim, discordsim.Invocation{GuildID: guild, UserID: user, Command: cmd, Subcommand: subcmd, Options: opts})
		return msg, text(msg)
	}
	// recorded waits until the node recorded entitlement id from an event.
	recorded := func(id discordsim.Snowflake, cond string) {
		t.Helper()
		poll.Eventually(t, 10*time.Second, func() bool {
			var ok bool
			_ = pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM economy.entitlements WHERE id = $1 AND `+cond+`)`, int64(id)).Scan(&ok)
			return ok
		}, "entitlement %s not recorded with %s", id, cond)
	}

	msg, _ := run("premium", "", nil)
	if got := premiumSKUsOf(t, msg); len(got) == 0 || got[0] != sub.ID.String() {
		t.Fatalf("/premium offers %v, want the subscription %s first", got, sub.ID)
	}
	if _, txt := run("balance", "", nil); strings.Contains(txt, "Premium") || !strings.Contains(txt, "10,000") {
		t.Fatalf("/balance before: %s", txt)
	}
	ents, err := s.sim.ClickPremium(user, msg.ID, sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	recorded(ents[0].ID, "ends_at IS NULL") // from ENTITLEMENT_CREATE
	if _, txt := run("balance", "", nil); !strings.Contains(txt, "Premium") || !strings.Contains(txt, "20,000") {
		t.Fatalf("/balance subscribed: %s", txt)
	}
	if _, txt := run("daily", "", nil); !strings.Contains(txt, "Premium added") {
		t.Fatalf("/daily subscribed: %s", txt)
	}
	if _, txt := run("bank", "view", nil); !strings.Contains(txt, "Capacity: 20,000") {
		t.Fatalf("/bank subscribed: %s", txt)
	}
	if msg, _ := run("premium", "", nil); len(premiumSKUsOf(t, msg)) != 2 || !strings.Contains(text(msg), "active") {
		t.Fatalf("/premium subscribed: %s %v", text(msg), premiumSKUsOf(t, msg))
	}

	// Lapse: ENTITLEMENT_UPDATE with ends_at; the perks go.
	subs, _ := s.sim.Subscription(mustSub(t, ents))
	if _, err := s.sim.LapseSubscription(subs.ID); err != nil {
		t.Fatal(err)
	}
	recorded(ents[0].ID, "ends_at IS NOT NULL")
	if _, txt := run("balance", "", nil); strings.Contains(txt, "Premium") || !strings.Contains(txt, "10,000") {
		t.Fatalf("/balance lapsed: %s", txt)
	}
	if _, txt := run("bank", "view", nil); !strings.Contains(txt, "Capacity: 10,000") {
		t.Fatalf("/bank lapsed: %s", txt)
	}

	// Renew: a new entitlement; the perks are back.
	renewed, err := s.sim.RenewSubscription(subs.ID)
	if err != nil {
		t.Fatal(err)
	}
	recorded(renewed.EntitlementIDs[0], "ends_at IS NULL")
	if _, txt := run("balance", "", nil); !strings.Contains(txt, "Premium") || !strings.Contains(txt, "20,000") {
		t.Fatalf("/balance renewed: %s", txt)
	}

	// A boost: ENTITLEMENT_CREATE, replayed, and on interactions while
	// unconsumed; given once (3 coffee) and consumed once.
	b, err := s.sim.Purchase(user, boost.ID)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		if _, err := s.sim.ReplayEntitlementCreate(b.ID); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { run("balance", "", nil) })
	}
	wg.Wait()
	poll.Eventually(t, 10*time.Second, func() bool {
		for _, e := range s.sim.Entitlements() {
			if e.ID == b.ID {
				return e.Consumed != nil && *e.Consumed
			}
		}
		return false
	}, "the boost was never consumed")
	for range 2 {
		_, _ = s.sim.ReplayEntitlementCreate(b.ID)
	}
	run("balance", "", nil)
	if v := s.sim.ViolationsOf(discordsim.ViolationConsumedTwice); len(v) != 0 {
		t.Fatalf("consumed twice: %v", v)
	}
	var coffee, grants int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM economy.items WHERE owner_id = $1 AND item_key = 'coffee'`, int64(user)).Scan(&coffee); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM economy.transactions WHERE kind = 'premium_grant' AND user_id = $1`, int64(user)).Scan(&grants); err != nil {
		t.Fatal(err)
	}
	if coffee != 3 || grants != 1 {
		t.Fatalf("boost gave %d coffee in %d grants, want 3 in 1", coffee, grants)
	}
	rep, err := economy.Audit(ctx, pool)
	if err != nil || rep.Err() != nil {
		t.Fatalf("audit: %v %v", err, rep.Err())
	}
	if v := s.sim.ViolationsOf(discordsim.ViolationUnknownSKU); len(v) != 0 {
		t.Fatalf("premium buttons with unknown SKUs: %v", v)
	}
}

// mustSub returns the subscription of a subscription entitlement.
func mustSub(t *testing.T, ents []discordsim.Entitlement) discordsim.Snowflake {
	t.Helper()
	if len(ents) != 1 || ents[0].SubscriptionID == 0 {
		t.Fatalf("entitlements %+v: want one of a subscription", ents)
	}
	return ents[0].SubscriptionID
}

// A boost seen by two nodes at once, one through ENTITLEMENT_CREATE (on
// shard 0) and replays of it, the other on the interactions of a guild of
// shard 1, is given once and consumed through the API once.
func TestPremiumBoostOnceAcrossNodes(t *testing.T) {
	s := newStack(t, 2)
	boost, err := s.sim.CreateSKU(discordsim.SKUOptions{Name: "Boost", Type: discordsim.SKUConsumable})
	if err != nil {
		t.Fatal(err)
	}
	set := func(f *node.Flags) { f.PremiumSKUs = "boost=" + boost.ID.String() }
	addrs := []string{s.startNode(t, "n1", set), s.startNode(t, "n2", set)}
	guilds := map[int]discordsim.Snowflake{}
	for _, g := range s.sim.Guilds() {
		guilds[discordsim.ShardFor(g.ID, 2)] = g.ID
	}
	user := s.sim.DefaultUsers()[1]
	// Wait until the two shards run on different nodes.
	poll.Eventually(t, 30*time.Second, func() bool {
		var nodes [2]string
		for sh := range 2 {
			_, msg := invoke(t, s.sim, discordsim.Invocation{GuildID: guilds[sh], UserID: user, Command: "ping"})
			_, after, _ := strings.Cut(msg.Content, "node ")
			nodes[sh], _, _ = strings.Cut(after, ",")
		}
		return nodes[0] != "" && nodes[1] != "" && nodes[0] != nodes[1]
	}, "each node to run one shard")

	b, err := s.sim.Purchase(user, boost.ID)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _, _ = s.sim.ReplayEntitlementCreate(b.ID) })
		wg.Go(func() { invoke(t, s.sim, discordsim.Invocation{GuildID: guilds[1], UserID: user, Command: "balance"}) })
	}
	wg.Wait()
	poll.Eventually(t, 10*time.Second, func() bool {
		for _, e := range s.sim.Entitlements() {
			if e.ID == b.ID {
				return e.Consumed != nil && *e.Consumed
			}
		}
		return false
	}, "the boost was never consumed")
	ctx := context.Background()
	pool := s.db(ctx, t)
	var coffee, grants int
	if err := pool.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM economy.items WHERE owner_id = $1 AND item_key = 'coffee'),
			(SELECT count(*) FROM economy.transactions WHERE kind = 'premium_grant' AND user_id = $1)`, int64(user)).Scan(&coffee, &grants); err != nil {
		t.Fatal(err)
	}
	if coffee != 3 || grants != 1 {
		t.Fatalf("boost gave %d coffee in %d grants, want 3 in 1", coffee, grants)
	}
	if v := s.sim.ViolationsOf(discordsim.ViolationConsumedTwice); len(v) != 0 {
		t.Fatalf("consumed twice: %v", v)
	}
	if rep, err := economy.Audit(ctx, pool); err != nil || rep.Err() != nil {
		t.Fatalf("audit: %v %v", err, rep.Err())
	}
	// Which nodes tried to grant it (a replay counts): both, when the
	// race was on.
	for i, addr := range addrs {
		t.Logf("node n%d: %s", i+1, grantAttempts(t, addr))
	}
}

// grantAttempts reads a node's premium_grant transaction count from /metrics.
func grantAttempts(t *testing.T, addr string) string {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, `chopsticks_economy_transactions_total{kind="premium_grant"}`) {
			return line
		}
	}
	return "no premium_grant transactions"
}
