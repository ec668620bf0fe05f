package discordsim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"
)

// monFixture is a sim with a subscription, a durable and a consumable SKU.
type monFixture struct {
	s                   *Sim
	bot, apps           string
	sub, durable, boost SKU
	user, other         Snowflake
}

func newMonFixture(t *testing.T, set ...func(*Config)) monFixture {
	t.Helper()
	cfg := fastConfig()
	for _, f := range set {
		f(&cfg)
	}
	s := startSim(t, cfg)
	f := monFixture{s: s, bot: "Bot " + s.Token(), apps: s.APIURL(10) + "/applications/" + s.AppID().String(),
		user: s.DefaultUsers()[1], other: s.DefaultUsers()[2]}
	var err error
	for _, k := range []struct {
		dst *SKU
		o   SKUOptions
	}{{&f.sub, SKUOptions{Name: "Premium", Type: SKUSubscription}}, {&f.durable, SKUOptions{Name: "Cosmetic Pack", Type: SKUDurable}},
		{&f.boost, SKUOptions{Name: "Boost", Type: SKUConsumable}}} {
		if *k.dst, err = s.CreateSKU(k.o); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

// listEnts calls List Entitlements with query and returns the IDs.
func (f monFixture) listEnts(t *testing.T, query string) []Snowflake {
	t.Helper()
	var out []Entitlement
	if r := do(t, "GET", f.apps+"/entitlements"+query, f.bot, nil, &out); r.StatusCode != 200 {
		t.Fatalf("list entitlements%s: %d", query, r.StatusCode)
	}
	ids := []Snowflake{}
	for _, e := range out {
		ids = append(ids, e.ID)
	}
	return ids
}

// TestListSKUs: a subscription SKU is listed with its system-generated
// SUBSCRIPTION_GROUP (type 6), with the documented fields; another
// application's SKUs are refused (20012).
func TestListSKUs(t *testing.T) {
	f := newMonFixture(t)
	var skus []map[string]any
	if r := do(t, "GET", f.apps+"/skus", f.bot, nil, &skus); r.StatusCode != 200 {
		t.Fatalf("status %d", r.StatusCode)
	}
	var types []float64
	for _, k := range skus {
		types = append(types, k["type"].(float64))
		for _, field := range []string{"id", "type", "application_id", "name", "slug", "flags"} {
			if _, ok := k[field]; !ok {
				t.Fatalf("SKU %v lacks %s", k, field)
			}
		}
	}
	if !slices.Equal(types, []float64{6, 5, 2, 3}) {
		t.Fatalf("types %v, want [6 5 2 3]", types)
	}
	if skus[1]["flags"].(float64) != SKUFlagAvailable|SKUFlagUserSubscription || skus[1]["slug"] != "premium" {
		t.Fatalf("subscription SKU %v", skus[1])
	}
	var e apiErr
	if r := do(t, "GET", s(f)+"/applications/1234/skus", f.bot, nil, &e); r.StatusCode != 403 || e.Code != 20012 {
		t.Fatalf("other app: %d %+v", r.StatusCode, e)
	}
}

func s(f monFixture) string { return f.s.APIURL(10) }

// TestSubscriptionLifecycle: subscribe, cancel, lapse and renew send the
// documented events in order, on shard 0, with the documented statuses.
func TestSubscriptionLifecycle(t *testing.T) {
	f := newMonFixture(t)
	c, _, _ := identify(t, f.s, 0, 1, 0) // no intents: these events need none
	type ev struct {
		T   string
		sub Subscription
		ent map[string]any
	}
	next := func(want string) ev {
		t.Helper()
		fr := c.until(func(fr frame) bool { return fr.T != "" && fr.T != "READY" && fr.T != "GUILD_CREATE" })
		if fr.T != want {
			t.Fatalf("got %s %s, want %s", fr.T, fr.D, want)
		}
		var e ev
		e.T = fr.T
		if fr.T[0] == 'S' {
			var raw map[string]any
			_ = json.Unmarshal(fr.D, &raw)
			e.sub.Status = int(raw["status"].(float64))
			e.ent = raw
		} else {
			_ = json.Unmarshal(fr.D, &e.ent)
		}
		return e
	}
	sub, err := f.s.Subscribe(f.user, f.sub.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e := next("SUBSCRIPTION_CREATE"); e.sub.Status != SubscriptionInactive {
		t.Fatalf("create status %d, want 1 (no entitlement yet)", e.sub.Status)
	}
	e := next("ENTITLEMENT_CREATE")
	if e.ent["ends_at"] != nil || e.ent["type"].(float64) != EntitlementApplicationSubscription || e.ent["user_id"] != f.user.String() || e.ent["subscription_id"] != sub.ID.String() {
		t.Fatalf("entitlement %v", e.ent)
	}
	if e := next("SUBSCRIPTION_UPDATE"); e.sub.Status != SubscriptionActive || len(e.ent["entitlement_ids"].([]any)) != 1 {
		t.Fatalf("update %v", e.ent)
	}
	// A renewal moves the period; no entitlement event.
	f.s.AdvanceTime(f.s.Config().SubscriptionPeriod)
	if e := next("SUBSCRIPTION_UPDATE"); e.sub.Status != SubscriptionActive || e.ent["current_period_start"] == isoTimeOrNil(&sub.CurrentPeriodStart) {
		t.Fatalf("renewal %v", e.ent)
	}
	if _, err := f.s.CancelSubscription(sub.ID); err != nil {
		t.Fatal(err)
	}
	if e := next("SUBSCRIPTION_UPDATE"); e.sub.Status != SubscriptionEnding || e.ent["canceled_at"] == nil {
		t.Fatalf("cancel %v", e.ent)
	}
	if got := f.listEnts(t, "?exclude_ended=true&user_id="+f.user.String()); len(got) != 1 {
		t.Fatalf("a canceled subscription's entitlement stays until the period ends; got %v", got)
	}
	if _, err := f.s.LapseSubscription(sub.ID); err != nil {
		t.Fatal(err)
	}
	if e := next("ENTITLEMENT_UPDATE"); e.ent["ends_at"] == nil {
		t.Fatalf("lapse: entitlement %v has no ends_at", e.ent)
	}
	if e := next("SUBSCRIPTION_UPDATE"); e.sub.Status != SubscriptionInactive {
		t.Fatalf("lapse status %d", e.sub.Status)
	}
	if got := f.listEnts(t, "?exclude_ended=true&user_id="+f.user.String()); len(got) != 0 {
		t.Fatalf("ended entitlement listed with exclude_ended: %v", got)
	}
	if _, err := f.s.RenewSubscription(sub.ID); err != nil {
		t.Fatal(err)
	}
	next("ENTITLEMENT_CREATE")
	if e := next("SUBSCRIPTION_UPDATE"); e.sub.Status != SubscriptionActive {
		t.Fatalf("renew status %d", e.sub.Status)
	}
	// List SKU Subscriptions needs user_id from a bot; Get finds it.
	var apiE apiErr
	if r := do(t, "GET", s(f)+"/skus/"+f.sub.ID.String()+"/subscriptions", f.bot, nil, &apiE); r.StatusCode != 400 || apiE.Code != 50035 {
		t.Fatalf("list without user_id: %d %+v", r.StatusCode, apiE)
	}
	var subs []map[string]any
	if r := do(t, "GET", s(f)+"/skus/"+f.sub.ID.String()+"/subscriptions?user_id="+f.user.String(), f.bot, nil, &subs); r.StatusCode != 200 || len(subs) != 1 {
		t.Fatalf("list: %d %v", r.StatusCode, subs)
	}
	if r := do(t, "GET", s(f)+"/skus/"+f.sub.ID.String()+"/subscriptions/"+sub.ID.String(), f.bot, nil, nil); r.StatusCode != 200 {
		t.Fatalf("get: %d", r.StatusCode)
	}
	if r := do(t, "GET", s(f)+"/skus/"+f.durable.ID.String()+"/subscriptions/"+sub.ID.String(), f.bot, nil, nil); r.StatusCode != 404 {
		t.Fatalf("get under another SKU: %d", r.StatusCode)
	}
}

// TestInteractionEntitlements: an interaction carries the user's active
// entitlements, not another user's, not ended ones and not consumed ones.
func TestInteractionEntitlements(t *testing.T) {
	f := newMonFixture(t)
	registerCommand(t, f.s, map[string]any{"name": "ping", "description": "Ping"})
	guild := f.s.Guilds()[0].ID
	c, _, _ := identify(t, f.s, 0, 1, 0)
	ents := func(user Snowflake) []Snowflake {
		t.Helper()
		i, err := f.s.Invoke(t.Context(), Invocation{GuildID: guild, UserID: user, Command: "ping"})
		if err != nil {
			t.Fatal(err)
		}
		fr := c.until(func(fr frame) bool { return fr.T == "INTERACTION_CREATE" && json.Valid(fr.D) && containsID(fr.D, i.ID) })
		var body struct {
			Entitlements *[]Entitlement `json:"entitlements"`
		}
		_ = json.Unmarshal(fr.D, &body)
		if body.Entitlements == nil {
			t.Fatal("interaction without an entitlements array")
		}
		var ids []Snowflake
		for _, e := range *body.Entitlements {
			ids = append(ids, e.ID)
		}
		return ids
	}
	if got := ents(f.user); len(got) != 0 {
		t.Fatalf("entitlements before any purchase: %v", got)
	}
	sub, _ := f.s.Subscribe(f.user, f.sub.ID)
	boost, err := f.s.Purchase(f.user, f.boost.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got := ents(f.user); !slices.Equal(got, []Snowflake{sub.EntitlementIDs[0], boost.ID}) {
		t.Fatalf("got %v, want subscription and boost", got)
	}
	if got := ents(f.other); len(got) != 0 {
		t.Fatalf("another user sees %v", got)
	}
	if r := do(t, "POST", f.apps+"/entitlements/"+boost.ID.String()+"/consume", f.bot, nil, nil); r.StatusCode != 204 {
		t.Fatalf("consume %d", r.StatusCode)
	}
	_, _ = f.s.LapseSubscription(sub.ID)
	if got := ents(f.user); len(got) != 0 {
		t.Fatalf("after consume and lapse: %v", got)
	}
	// A guild's entitlement is on the interactions of everyone in it.
	var g Entitlement
	do(t, "POST", f.apps+"/entitlements", f.bot, map[string]any{"sku_id": f.sub.ID, "owner_id": guild, "owner_type": 1}, &g)
	if got := ents(f.other); !slices.Equal(got, []Snowflake{g.ID}) {
		t.Fatalf("in the entitled guild: %v, want %v", got, g.ID)
	}
}

func containsID(b []byte, id Snowflake) bool {
	var v struct {
		ID Snowflake `json:"id"`
	}
	return json.Unmarshal(b, &v) == nil && v.ID == id
}

// TestConsumeEntitlement: only an unconsumed entitlement to a consumable
// SKU can be consumed (204), once; a repeat is 40018 and a violation; a
// consumable cannot be bought again until consumed.
func TestConsumeEntitlement(t *testing.T) {
	f := newMonFixture(t)
	boost, _ := f.s.Purchase(f.user, f.boost.ID)
	durable, _ := f.s.Purchase(f.user, f.durable.ID)
	if boost.Consumed == nil || *boost.Consumed || durable.Consumed != nil {
		t.Fatalf("consumed field: boost %v durable %v", boost.Consumed, durable.Consumed)
	}
	if _, err := f.s.Purchase(f.user, f.boost.ID); err == nil {
		t.Fatal("bought an unconsumed consumable twice")
	}
	if _, err := f.s.Purchase(f.user, f.durable.ID); err == nil {
		t.Fatal("bought a durable twice")
	}
	cases := []struct {
		name   string
		id     string
		status int
		code   int
	}{
		{"consumable", boost.ID.String(), 204, 0},
		{"consumable again", boost.ID.String(), 400, 40018},
		{"durable", durable.ID.String(), 400, 40018},
		{"unknown", "1234", 404, 10029},
		{"not a snowflake", "x", 400, 50035},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			r := do(t, "POST", f.apps+"/entitlements/"+tc.id+"/consume", f.bot, nil, &e)
			if r.StatusCode != tc.status || e.Code != tc.code {
				t.Fatalf("got %d code %d, want %d code %d", r.StatusCode, e.Code, tc.status, tc.code)
			}
		})
	}
	if v := f.s.ViolationsOf(ViolationConsumedTwice); len(v) != 1 {
		t.Fatalf("violations %v, want one consumed_twice", v)
	}
	var got Entitlement
	do(t, "GET", f.apps+"/entitlements/"+boost.ID.String(), f.bot, nil, &got)
	if got.Consumed == nil || !*got.Consumed {
		t.Fatalf("entitlement after consume: %+v", got)
	}
	if _, err := f.s.Purchase(f.user, f.boost.ID); err != nil {
		t.Fatalf("buying again after consume: %v", err)
	}
}

// TestTestEntitlements: create answers a partial entitlement (no
// starts_at, ends_at, subscription_id) and sends ENTITLEMENT_CREATE;
// delete is for test entitlements only (40019) and sends
// ENTITLEMENT_DELETE; the body is validated.
func TestTestEntitlements(t *testing.T) {
	f := newMonFixture(t)
	c, _, _ := identify(t, f.s, 0, 1, 0)
	guild := f.s.Guilds()[0].ID
	cases := []struct {
		name   string
		body   map[string]any
		status int
		code   int
	}{
		{"user", map[string]any{"sku_id": f.sub.ID, "owner_id": f.user, "owner_type": 2}, 200, 0},
		{"user again", map[string]any{"sku_id": f.sub.ID, "owner_id": f.user, "owner_type": 2}, 400, 40074},
		{"guild", map[string]any{"sku_id": f.sub.ID, "owner_id": guild, "owner_type": 1}, 200, 0},
		{"no sku", map[string]any{"owner_id": f.user, "owner_type": 2}, 400, 50035},
		{"no owner type", map[string]any{"sku_id": f.sub.ID, "owner_id": f.user}, 400, 50035},
		{"owner type 3", map[string]any{"sku_id": f.sub.ID, "owner_id": f.user, "owner_type": 3}, 400, 50035},
		{"unknown sku", map[string]any{"sku_id": "1234", "owner_id": f.user, "owner_type": 2}, 404, 10027},
		{"unknown user", map[string]any{"sku_id": f.sub.ID, "owner_id": "1234", "owner_type": 2}, 404, 10013},
		{"unknown guild", map[string]any{"sku_id": f.sub.ID, "owner_id": "1234", "owner_type": 1}, 404, 10004},
	}
	var created []map[string]any
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var raw map[string]any
			r := do(t, "POST", f.apps+"/entitlements", f.bot, tc.body, &raw)
			code, _ := raw["code"].(float64)
			if r.StatusCode != tc.status || int(code) != tc.code {
				t.Fatalf("got %d %v, want %d code %d", r.StatusCode, raw, tc.status, tc.code)
			}
			if tc.status == 200 {
				created = append(created, raw)
			}
		})
	}
	for _, e := range created {
		for _, absent := range []string{"starts_at", "ends_at", "subscription_id"} {
			if _, ok := e[absent]; ok {
				t.Fatalf("test entitlement %v has %s", e, absent)
			}
		}
		fr := c.until(func(fr frame) bool { return fr.T == "ENTITLEMENT_CREATE" })
		if !containsID(fr.D, mustID(e["id"])) {
			t.Fatalf("ENTITLEMENT_CREATE %s, want %v", fr.D, e["id"])
		}
	}
	// Delete: a purchase is not a test entitlement.
	bought, _ := f.s.Purchase(f.other, f.durable.ID)
	var e apiErr
	if r := do(t, "DELETE", f.apps+"/entitlements/"+bought.ID.String(), f.bot, nil, &e); r.StatusCode != 400 || e.Code != 40019 {
		t.Fatalf("delete a purchase: %d %+v", r.StatusCode, e)
	}
	id := mustID(created[0]["id"])
	if r := do(t, "DELETE", f.apps+"/entitlements/"+id.String(), f.bot, nil, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	fr := c.until(func(fr frame) bool { return fr.T == "ENTITLEMENT_DELETE" })
	var del Entitlement
	_ = json.Unmarshal(fr.D, &del)
	if del.ID != id || !del.Deleted {
		t.Fatalf("ENTITLEMENT_DELETE %s", fr.D)
	}
	if r := do(t, "DELETE", f.apps+"/entitlements/"+id.String(), f.bot, nil, &e); r.StatusCode != 404 || e.Code != 10029 {
		t.Fatalf("delete twice: %d %+v", r.StatusCode, e)
	}
	// Deleted entitlements are excluded by default, included on request.
	if got := f.listEnts(t, "?user_id="+f.user.String()); len(got) != 0 {
		t.Fatalf("deleted entitlement listed by default: %v", got)
	}
	if got := f.listEnts(t, "?exclude_deleted=false&user_id="+f.user.String()); !slices.Equal(got, []Snowflake{id}) {
		t.Fatalf("exclude_deleted=false: %v", got)
	}
}

func mustID(v any) Snowflake {
	id, _ := ParseSnowflake(fmt.Sprint(v))
	return id
}

// TestListEntitlementsQuery: each query parameter filters or pages as
// documented, and bad values are refused with 50035.
func TestListEntitlementsQuery(t *testing.T) {
	f := newMonFixture(t)
	sub, _ := f.s.Subscribe(f.user, f.sub.ID)
	a := sub.EntitlementIDs[0]
	b, _ := f.s.Purchase(f.user, f.durable.ID)
	c, _ := f.s.Purchase(f.other, f.durable.ID)
	d, _ := f.s.Purchase(f.user, f.boost.ID)
	_, _ = f.s.LapseSubscription(sub.ID) // a has ended
	guild := f.s.Guilds()[0].ID
	resp := map[string]any{}
	do(t, "POST", f.apps+"/entitlements", f.bot, map[string]any{"sku_id": f.sub.ID, "owner_id": guild, "owner_type": 1}, &resp)
	g := mustID(resp["id"])
	cases := []struct {
		query string
		want  []Snowflake
	}{
		{"", []Snowflake{a, b.ID, c.ID, d.ID, g}},
		{"?user_id=" + f.user.String(), []Snowflake{a, b.ID, d.ID}},
		{"?guild_id=" + guild.String(), []Snowflake{g}},
		{"?sku_ids=" + f.durable.ID.String() + "," + f.boost.ID.String(), []Snowflake{b.ID, c.ID, d.ID}},
		{"?exclude_ended=true", []Snowflake{b.ID, c.ID, d.ID, g}},
		{"?exclude_ended=1&user_id=" + f.user.String(), []Snowflake{b.ID, d.ID}},
		{"?limit=2", []Snowflake{a, b.ID}},
		{"?after=" + b.ID.String() + "&limit=2", []Snowflake{c.ID, d.ID}},
		{"?before=" + d.ID.String() + "&limit=2", []Snowflake{b.ID, c.ID}},
	}
	for _, tc := range cases {
		t.Run(tc.query, func(t *testing.T) {
			if got := f.listEnts(t, tc.query); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
	for _, bad := range []string{"?limit=0", "?limit=101", "?limit=x", "?user_id=x", "?sku_ids=1,x", "?exclude_ended=maybe", "?exclude_deleted=yes"} {
		t.Run(bad, func(t *testing.T) {
			var e apiErr
			if r := do(t, "GET", f.apps+"/entitlements"+bad, f.bot, nil, &e); r.StatusCode != 400 || e.Code != 50035 {
				t.Fatalf("got %d %+v, want 400 50035", r.StatusCode, e)
			}
		})
	}
	var e apiErr
	if r := do(t, "GET", s(f)+"/applications/1234/entitlements", f.bot, nil, &e); r.StatusCode != 403 || e.Code != 20012 {
		t.Fatalf("other app: %d %+v", r.StatusCode, e)
	}
	if r := do(t, "GET", f.apps+"/entitlements", "", nil, nil); r.StatusCode != 401 {
		t.Fatalf("no token: %d", r.StatusCode)
	}
}

// TestPremiumButton: a premium button must carry sku_id and nothing of
// custom_id, label, url and emoji; an sku_id that is not a purchasable SKU
// of the app is recorded; pressing it sends no interaction but buys the SKU.
func TestPremiumButton(t *testing.T) {
	f := newMonFixture(t)
	text, _ := f.s.TextChannel(f.s.Guilds()[0].ID)
	premium := map[string]any{"type": 2, "style": 6, "sku_id": f.sub.ID}
	cases := []struct {
		name    string
		c       map[string]any
		status  int
		unknown bool
	}{
		{"premium", premium, 200, false},
		{"no sku_id", map[string]any{"type": 2, "style": 6}, 400, false},
		{"with custom_id", with(premium, "custom_id", "buy"), 400, false},
		{"with label", with(premium, "label", "Buy"), 400, false},
		{"with url", with(premium, "url", "https://example.com"), 400, false},
		{"with emoji", with(premium, "emoji", map[string]any{"name": "🙂"}), 400, false},
		{"unknown sku", with(premium, "sku_id", "1234"), 200, true},
		{"subscription group sku", with(premium, "sku_id", f.sub.ID-1), 200, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(f.s.ViolationsOf(ViolationUnknownSKU))
			var e apiErr
			r := do(t, "POST", s(f)+"/channels/"+text.String()+"/messages", f.bot,
				map[string]any{"content": "x", "components": []any{map[string]any{"type": 1, "components": []any{tc.c}}}}, &e)
			if r.StatusCode != tc.status || (tc.status == 400 && e.Code != 50035) {
				t.Fatalf("got %d %+v, want %d", r.StatusCode, e, tc.status)
			}
			if got := len(f.s.ViolationsOf(ViolationUnknownSKU)) - before; got != map[bool]int{false: 0, true: 1}[tc.unknown] {
				t.Fatalf("unknown_sku violations %d", got)
			}
		})
	}
	var m Message
	do(t, "POST", s(f)+"/channels/"+text.String()+"/messages", f.bot,
		map[string]any{"components": []any{map[string]any{"type": 1, "components": []any{premium}}}}, &m)
	before := len(f.s.Interactions())
	ents, err := f.s.ClickPremium(f.user, m.ID, f.sub.ID)
	if err != nil || len(ents) != 1 || ents[0].SKUID != f.sub.ID || ents[0].UserID != f.user {
		t.Fatalf("click premium: %v %v", ents, err)
	}
	if len(f.s.Interactions()) != before {
		t.Fatal("a premium button sent an interaction")
	}
	if _, err := f.s.ClickPremium(f.user, m.ID, f.durable.ID); err == nil {
		t.Fatal("pressed a premium button the message does not have")
	}
}

// TestMonetizationDriverHTTP: the driver API makes SKUs, subscribes,
// cancels, lapses and renews, buys, and moves the clock, as the Go API does.
func TestMonetizationDriverHTTP(t *testing.T) {
	f := newMonFixture(t)
	var sub map[string]any
	post := func(path string, body any, out any) int {
		t.Helper()
		return do(t, "POST", f.s.URL()+path, "", body, out).StatusCode
	}
	if st := post("/_sim/subscriptions", map[string]any{"user_id": f.user, "sku_id": f.sub.ID}, &sub); st != 200 || sub["status"].(float64) != 0 {
		t.Fatalf("subscribe %d %v", st, sub)
	}
	id := sub["id"].(string)
	for _, step := range []struct {
		action string
		status float64
	}{{"cancel", 2}, {"lapse", 1}, {"renew", 0}} {
		if st := post("/_sim/subscriptions/"+id+"/"+step.action, nil, &sub); st != 200 || sub["status"].(float64) != step.status {
			t.Fatalf("%s: %d %v", step.action, st, sub)
		}
	}
	if st := post("/_sim/subscriptions/"+id+"/pause", nil, nil); st != 404 {
		t.Fatalf("unknown action: %d", st)
	}
	before := f.s.Now()
	var now map[string]string
	if st := post("/_sim/time", map[string]any{"advance_ms": int64(time.Hour / time.Millisecond)}, &now); st != 200 {
		t.Fatalf("advance: %d", st)
	}
	if got, _ := time.Parse(time.RFC3339Nano, now["now"]); got.Sub(before) < time.Hour {
		t.Fatalf("clock %v, was %v", got, before)
	}
	if st := post("/_sim/time", map[string]any{"advance_ms": -1}, nil); st != 400 {
		t.Fatalf("moving back: %d", st)
	}
	var ent map[string]any
	if st := post("/_sim/purchases", map[string]any{"user_id": f.other, "sku_id": f.boost.ID}, &ent); st != 200 || ent["consumed"] != false {
		t.Fatalf("purchase %d %v", st, ent)
	}
	if st := post("/_sim/purchases", map[string]any{"user_id": f.other, "sku_id": f.sub.ID}, nil); st != 400 {
		t.Fatalf("purchase of a subscription: %d", st)
	}
	var k SKU
	if st := post("/_sim/skus", map[string]any{"name": "Gold", "type": 5}, &k); st != 200 || k.Type != 5 {
		t.Fatalf("create sku %d %+v", st, k)
	}
	if st := post("/_sim/skus", map[string]any{"name": "Bad", "type": 6}, nil); st != 400 {
		t.Fatalf("create group sku: %d", st)
	}
	var ents []map[string]any
	if r := do(t, "GET", f.s.URL()+"/_sim/entitlements", "", nil, &ents); r.StatusCode != http.StatusOK || len(ents) != 3 {
		t.Fatalf("entitlements %d %v", r.StatusCode, ents)
	}
}

// TestReplayEntitlementCreate: the fault sends ENTITLEMENT_CREATE again as
// first sent, even after the entitlement was consumed.
func TestReplayEntitlementCreate(t *testing.T) {
	f := newMonFixture(t)
	c, _, _ := identify(t, f.s, 0, 1, 0)
	boost, _ := f.s.Purchase(f.user, f.boost.ID)
	c.until(func(fr frame) bool { return fr.T == "ENTITLEMENT_CREATE" })
	if r := do(t, "POST", f.apps+"/entitlements/"+boost.ID.String()+"/consume", f.bot, nil, nil); r.StatusCode != 204 {
		t.Fatalf("consume %d", r.StatusCode)
	}
	var out map[string]int
	if r := do(t, "POST", f.s.URL()+"/_sim/entitlements/"+boost.ID.String()+"/replay", "", nil, &out); r.StatusCode != 200 || out["sessions"] != 1 {
		t.Fatalf("replay %d %v", r.StatusCode, out)
	}
	fr := c.until(func(fr frame) bool { return fr.T == "ENTITLEMENT_CREATE" })
	var e Entitlement
	_ = json.Unmarshal(fr.D, &e)
	if e.ID != boost.ID || e.Consumed == nil || *e.Consumed {
		t.Fatalf("replayed %s", fr.D)
	}
	if r := do(t, "POST", f.s.URL()+"/_sim/entitlements/1234/replay", "", nil, nil); r.StatusCode != 404 {
		t.Fatalf("unknown: %d", r.StatusCode)
	}
}

// TestEntitlementEventShards: a user's entitlement events go to shard 0; a
// guild's to the shard that owns the guild.
func TestEntitlementEventShards(t *testing.T) {
	f := newMonFixture(t, func(c *Config) { c.MaxConcurrency = 2 })
	c0, _, _ := identify(t, f.s, 0, 2, 0)
	c1, _, _ := identify(t, f.s, 1, 2, 0)
	var guild Snowflake
	for _, g := range f.s.Guilds() {
		if ShardFor(g.ID, 2) == 1 {
			guild = g.ID
		}
	}
	if guild == 0 {
		t.Fatal("no guild on shard 1")
	}
	var ge, ue Entitlement
	do(t, "POST", f.apps+"/entitlements", f.bot, map[string]any{"sku_id": f.sub.ID, "owner_id": guild, "owner_type": 1}, &ge)
	do(t, "POST", f.apps+"/entitlements", f.bot, map[string]any{"sku_id": f.sub.ID, "owner_id": f.user, "owner_type": 2}, &ue)
	if fr := c1.until(func(fr frame) bool { return fr.T == "ENTITLEMENT_CREATE" }); !containsID(fr.D, ge.ID) {
		t.Fatalf("shard 1 got %s, want the guild's entitlement", fr.D)
	}
	if fr := c0.until(func(fr frame) bool { return fr.T == "ENTITLEMENT_CREATE" }); !containsID(fr.D, ue.ID) {
		t.Fatalf("shard 0 got %s, want the user's entitlement", fr.D)
	}
}
