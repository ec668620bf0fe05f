package discordsim

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Monetization, from resources-sku.mdx, resources-entitlement.mdx,
// resources-subscription.mdx and the monetization guides: an application's
// SKUs, the entitlements users hold to them, app subscriptions and their
// lifecycle, and the ENTITLEMENT_* and SUBSCRIPTION_* gateway events. The
// emulator keeps its own clock for this part (the real clock plus an offset
// the driver moves forward), so a test can let a month pass.

// SKU types (SKU Types).
const (
	SKUDurable           = 2
	SKUConsumable        = 3
	SKUSubscription      = 5
	SKUSubscriptionGroup = 6
)

// SKU flags (SKU Flags).
const (
	SKUFlagAvailable         = 1 << 2
	SKUFlagGuildSubscription = 1 << 7
	SKUFlagUserSubscription  = 1 << 8
)

// Entitlement types (Entitlement Types) the emulator grants.
const (
	EntitlementPurchase                = 1
	EntitlementTestModePurchase        = 4
	EntitlementApplicationSubscription = 8
)

// Subscription statuses (Subscription Statuses).
const (
	SubscriptionActive   = 0
	SubscriptionInactive = 1
	SubscriptionEnding   = 2
)

// DefaultSubscriptionPeriod is the length of one paid subscription period
// (Discord bills app subscriptions monthly).
const DefaultSubscriptionPeriod = 30 * 24 * time.Hour

// SKU is an SKU object (SKU Structure).
type SKU struct {
	ID            Snowflake `json:"id"`
	Type          int       `json:"type"`
	ApplicationID Snowflake `json:"application_id"`
	Name          string    `json:"name"`
	Slug          string    `json:"slug"`
	Flags         int       `json:"flags"`
	// DependentSKUID and the rest are in the documented example; always null or empty here.
	DependentSKUID *Snowflake `json:"dependent_sku_id"`
	AccessType     int        `json:"access_type"`
	Features       []string   `json:"features"`
	Premium        bool       `json:"premium"`
}

// Entitlement is an entitlement object (Entitlement Structure). StartsAt,
// EndsAt and SubscriptionID are absent from a test entitlement.
type Entitlement struct {
	ID             Snowflake  `json:"id"`
	SKUID          Snowflake  `json:"sku_id"`
	ApplicationID  Snowflake  `json:"application_id"`
	UserID         Snowflake  `json:"user_id,omitempty"`
	GuildID        Snowflake  `json:"guild_id,omitempty"`
	Type           int        `json:"type"`
	Deleted        bool       `json:"deleted"`
	StartsAt       *time.Time `json:"starts_at"`
	EndsAt         *time.Time `json:"ends_at"`
	Consumed       *bool      `json:"consumed,omitempty"`
	SubscriptionID Snowflake  `json:"subscription_id,omitempty"`
	// Test is true for an entitlement made by Create Test Entitlement, the
	// only kind Delete Test Entitlement may delete. Not on the wire.
	Test bool `json:"-"`
}

// activeAt reports whether e grants access at now: not deleted, not
// consumed, started and not ended.
func (e *Entitlement) activeAt(now time.Time) bool {
	return !e.Deleted && (e.Consumed == nil || !*e.Consumed) &&
		(e.StartsAt == nil || !e.StartsAt.After(now)) && (e.EndsAt == nil || e.EndsAt.After(now))
}

// endedAt reports whether e has an end date at or before now.
func (e *Entitlement) endedAt(now time.Time) bool { return e.EndsAt != nil && !e.EndsAt.After(now) }

// wire is e as Discord sends it: times in ISO 8601, test entitlements
// without starts_at, ends_at and subscription_id.
func (e *Entitlement) wire() map[string]any {
	out := map[string]any{"id": e.ID, "sku_id": e.SKUID, "application_id": e.ApplicationID, "type": e.Type,
		"deleted": e.Deleted, "promotion_id": nil, "gift_code_flags": 0}
	if e.UserID != 0 {
		out["user_id"] = e.UserID
	}
	if e.GuildID != 0 {
		out["guild_id"] = e.GuildID
	}
	if e.Consumed != nil {
		out["consumed"] = *e.Consumed
	}
	if !e.Test {
		out["starts_at"] = isoTimeOrNil(e.StartsAt)
		out["ends_at"] = isoTimeOrNil(e.EndsAt)
		if e.SubscriptionID != 0 {
			out["subscription_id"] = e.SubscriptionID
		}
	}
	return out
}

func isoTimeOrNil(t *time.Time) any {
	if t == nil {
		return nil
	}
	return t.UTC().Format("2006-01-02T15:04:05.000000+00:00")
}

// Subscription is a subscription object (Subscription Object).
type Subscription struct {
	ID                 Snowflake   `json:"id"`
	UserID             Snowflake   `json:"user_id"`
	SKUIDs             []Snowflake `json:"sku_ids"`
	EntitlementIDs     []Snowflake `json:"entitlement_ids"`
	RenewalSKUIDs      []Snowflake `json:"renewal_sku_ids"`
	CurrentPeriodStart time.Time   `json:"current_period_start"`
	CurrentPeriodEnd   time.Time   `json:"current_period_end"`
	Status             int         `json:"status"`
	CanceledAt         *time.Time  `json:"canceled_at"`
	appID              Snowflake
}

func (sub *Subscription) wire() map[string]any {
	return map[string]any{"id": sub.ID, "user_id": sub.UserID, "sku_ids": sub.SKUIDs, "entitlement_ids": sub.EntitlementIDs,
		"renewal_sku_ids": sub.RenewalSKUIDs, "current_period_start": isoTimeOrNil(&sub.CurrentPeriodStart),
		"current_period_end": isoTimeOrNil(&sub.CurrentPeriodEnd), "status": sub.Status, "canceled_at": isoTimeOrNil(sub.CanceledAt)}
}

// monetization is the Sim's monetization state, guarded by Sim.mu.
type monetization struct {
	skus     map[Snowflake]*SKU
	skuOrder []Snowflake
	ents     map[Snowflake]*Entitlement
	entOrder []Snowflake
	subs     map[Snowflake]*Subscription
	subOrder []Snowflake
	offset   time.Duration // the monetization clock runs this far ahead of time.Now
}

func (m *monetization) init() {
	m.skus = map[Snowflake]*SKU{}
	m.ents = map[Snowflake]*Entitlement{}
	m.subs = map[Snowflake]*Subscription{}
}

// Now is the emulator's monetization clock: the real time moved forward by
// every AdvanceTime.
func (s *Sim) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.nowLocked()
}

func (s *Sim) nowLocked() time.Time { return time.Now().Add(s.mon.offset) }

// monEvent is a gateway event to send after the lock is released.
type monEvent struct {
	app  *app
	t    string
	body map[string]any
}

func (s *Sim) sendMonEvents(evs []monEvent) {
	for _, ev := range evs {
		// No intent gates these events. Those without a guild_id (a
		// user's entitlement, a subscription) go to shard 0; a guild's
		// entitlement to the guild's shard (events-gateway.mdx, Sharding).
		guild, _ := ev.body["guild_id"].(Snowflake)
		s.dispatchToApp(ev.app, guild, ev.t, 0, func() any { return ev.body })
	}
}

// SKUOptions describe an SKU to create.
type SKUOptions struct {
	AppID Snowflake `json:"app_id"` // default: the default application
	Name  string    `json:"name"`
	Type  int       `json:"type"`  // SKUDurable, SKUConsumable or SKUSubscription
	Flags int       `json:"flags"` // default: AVAILABLE, plus USER_SUBSCRIPTION for a subscription
}

// CreateSKU creates a published SKU, as the Developer Portal does. A
// subscription SKU comes with its system-generated SUBSCRIPTION_GROUP SKU,
// which List SKUs returns too.
func (s *Sim) CreateSKU(o SKUOptions) (SKU, error) {
	if o.Name == "" {
		return SKU{}, errors.New("discordsim: an SKU needs a name")
	}
	if o.Type != SKUDurable && o.Type != SKUConsumable && o.Type != SKUSubscription {
		return SKU{}, fmt.Errorf("discordsim: SKU type %d: want 2 (durable), 3 (consumable) or 5 (subscription)", o.Type)
	}
	if o.Flags == 0 {
		o.Flags = SKUFlagAvailable
		if o.Type == SKUSubscription {
			o.Flags |= SKUFlagUserSubscription
		}
	}
	if o.Type == SKUSubscription && o.Flags&(SKUFlagGuildSubscription|SKUFlagUserSubscription) == 0 {
		return SKU{}, errors.New("discordsim: a subscription SKU is a user or a guild subscription")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.defaultApp
	if o.AppID != 0 {
		a = s.apps[o.AppID]
	}
	if a == nil {
		return SKU{}, fmt.Errorf("discordsim: unknown application %s", o.AppID)
	}
	slug := strings.ToLower(strings.Join(strings.Fields(o.Name), "-"))
	add := func(typ int) *SKU {
		k := &SKU{ID: s.ids.next(false), Type: typ, ApplicationID: a.ID, Name: o.Name, Slug: slug, Flags: o.Flags, AccessType: 1, Features: []string{}}
		s.mon.skus[k.ID] = k
		s.mon.skuOrder = append(s.mon.skuOrder, k.ID)
		return k
	}
	if o.Type == SKUSubscription {
		add(SKUSubscriptionGroup)
	}
	return *add(o.Type), nil
}

// SKUs returns the SKUs of appID (0: the default application), oldest first.
func (s *Sim) SKUs(appID Snowflake) []SKU {
	s.mu.Lock()
	defer s.mu.Unlock()
	if appID == 0 {
		appID = s.defaultApp.ID
	}
	var out []SKU
	for _, id := range s.mon.skuOrder {
		if k := s.mon.skus[id]; k.ApplicationID == appID {
			out = append(out, *k)
		}
	}
	return out
}

// Entitlements returns every entitlement (deleted ones too), oldest first.
func (s *Sim) Entitlements() []Entitlement {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Entitlement, 0, len(s.mon.entOrder))
	for _, id := range s.mon.entOrder {
		out = append(out, *s.mon.ents[id])
	}
	return out
}

// Subscription returns the subscription id.
func (s *Sim) Subscription(id Snowflake) (Subscription, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub := s.mon.subs[id]
	if sub == nil {
		return Subscription{}, false
	}
	return *sub, true
}

// purchasableLocked returns the SKU id if it is an available SKU a user
// can buy (not a subscription group).
func (s *Sim) purchasableLocked(id Snowflake) (*SKU, error) {
	k := s.mon.skus[id]
	switch {
	case k == nil:
		return nil, fmt.Errorf("discordsim: unknown SKU %s", id)
	case k.Type == SKUSubscriptionGroup:
		return nil, fmt.Errorf("discordsim: SKU %s is a subscription group, not purchasable", id)
	case k.Flags&SKUFlagAvailable == 0:
		return nil, fmt.Errorf("discordsim: SKU %s is not available for purchase", id)
	}
	return k, nil
}

func (s *Sim) newEntitlementLocked(k *SKU, typ int, userID, guildID Snowflake) *Entitlement {
	e := &Entitlement{ID: s.ids.next(false), SKUID: k.ID, ApplicationID: k.ApplicationID, UserID: userID, GuildID: guildID, Type: typ}
	if k.Type == SKUConsumable {
		f := false
		e.Consumed = &f
	}
	s.mon.ents[e.ID] = e
	s.mon.entOrder = append(s.mon.entOrder, e.ID)
	return e
}

// Purchase makes userID buy the one-time SKU skuID (durable or consumable)
// and sends ENTITLEMENT_CREATE. A user holding an unconsumed entitlement to
// a consumable SKU cannot buy it again until the app consumes it
// (monetization-implementing-one-time-purchases.mdx); a durable SKU is
// bought once.
func (s *Sim) Purchase(userID, skuID Snowflake) (Entitlement, error) {
	s.mu.Lock()
	k, err := s.purchasableLocked(skuID)
	if err == nil && k.Type == SKUSubscription {
		err = fmt.Errorf("discordsim: SKU %s is a subscription; use Subscribe", skuID)
	}
	if err == nil && s.users[userID] == nil {
		err = fmt.Errorf("discordsim: unknown user %s", userID)
	}
	if err != nil {
		s.mu.Unlock()
		return Entitlement{}, err
	}
	now := s.nowLocked()
	for _, e := range s.mon.ents {
		if e.SKUID == skuID && e.UserID == userID && e.activeAt(now) {
			s.mu.Unlock()
			return Entitlement{}, fmt.Errorf("discordsim: user %s already holds entitlement %s to SKU %s", userID, e.ID, skuID)
		}
	}
	e := s.newEntitlementLocked(k, EntitlementPurchase, userID, 0)
	start := now
	e.StartsAt = &start
	out, body, a := *e, e.wire(), s.apps[k.ApplicationID]
	s.mu.Unlock()
	s.sendMonEvents([]monEvent{{a, "ENTITLEMENT_CREATE", body}})
	return out, nil
}

// Subscribe makes userID subscribe to the subscription SKU skuID: as
// "Starting a new subscription" describes, SUBSCRIPTION_CREATE (inactive),
// ENTITLEMENT_CREATE (ends_at null), then SUBSCRIPTION_UPDATE (active). The
// current period is Period long (DefaultSubscriptionPeriod by default).
func (s *Sim) Subscribe(userID, skuID Snowflake) (Subscription, error) {
	s.mu.Lock()
	k, err := s.purchasableLocked(skuID)
	if err == nil && k.Type != SKUSubscription {
		err = fmt.Errorf("discordsim: SKU %s is not a subscription; use Purchase", skuID)
	}
	if err == nil && s.users[userID] == nil {
		err = fmt.Errorf("discordsim: unknown user %s", userID)
	}
	if err == nil {
		for _, sub := range s.mon.subs {
			if sub.UserID == userID && slices.Contains(sub.SKUIDs, skuID) && sub.Status != SubscriptionInactive {
				err = fmt.Errorf("discordsim: user %s already has subscription %s to SKU %s", userID, sub.ID, skuID)
			}
		}
	}
	if err != nil {
		s.mu.Unlock()
		return Subscription{}, err
	}
	now := s.nowLocked()
	a := s.apps[k.ApplicationID]
	sub := &Subscription{ID: s.ids.next(false), UserID: userID, SKUIDs: []Snowflake{skuID}, EntitlementIDs: []Snowflake{},
		CurrentPeriodStart: now, CurrentPeriodEnd: now.Add(s.cfg.SubscriptionPeriod), Status: SubscriptionInactive, appID: a.ID}
	s.mon.subs[sub.ID] = sub
	s.mon.subOrder = append(s.mon.subOrder, sub.ID)
	evs := []monEvent{{a, "SUBSCRIPTION_CREATE", sub.wire()}}
	evs = append(evs, s.grantSubscriptionLocked(a, sub, k, now)...)
	out := *sub
	s.mu.Unlock()
	s.sendMonEvents(evs)
	return out, nil
}

// grantSubscriptionLocked creates sub's entitlement and makes sub active.
func (s *Sim) grantSubscriptionLocked(a *app, sub *Subscription, k *SKU, now time.Time) []monEvent {
	e := s.newEntitlementLocked(k, EntitlementApplicationSubscription, sub.UserID, 0)
	start := now
	e.StartsAt = &start
	e.SubscriptionID = sub.ID
	sub.EntitlementIDs = []Snowflake{e.ID}
	sub.RenewalSKUIDs = []Snowflake{k.ID}
	sub.Status = SubscriptionActive
	sub.CanceledAt = nil
	return []monEvent{{a, "ENTITLEMENT_CREATE", e.wire()}, {a, "SUBSCRIPTION_UPDATE", sub.wire()}}
}

// RenewSubscription renews subscription id. An active or ending one starts
// its next period now (the user paid again, or resumed a cancellation):
// SUBSCRIPTION_UPDATE with the new period and status active. An inactive
// one (it lapsed) is bought again: a new entitlement (ENTITLEMENT_CREATE)
// and SUBSCRIPTION_UPDATE.
func (s *Sim) RenewSubscription(id Snowflake) (Subscription, error) {
	s.mu.Lock()
	sub := s.mon.subs[id]
	if sub == nil {
		s.mu.Unlock()
		return Subscription{}, fmt.Errorf("discordsim: unknown subscription %s", id)
	}
	now := s.nowLocked()
	a := s.apps[sub.appID]
	var evs []monEvent
	sub.CurrentPeriodStart, sub.CurrentPeriodEnd = now, now.Add(s.cfg.SubscriptionPeriod)
	if sub.Status == SubscriptionInactive {
		evs = s.grantSubscriptionLocked(a, sub, s.mon.skus[sub.SKUIDs[0]], now)
	} else {
		sub.Status, sub.CanceledAt, sub.RenewalSKUIDs = SubscriptionActive, nil, sub.SKUIDs
		evs = []monEvent{{a, "SUBSCRIPTION_UPDATE", sub.wire()}}
	}
	out := *sub
	s.mu.Unlock()
	s.sendMonEvents(evs)
	return out, nil
}

// CancelSubscription cancels subscription id: it stays active until its
// current period ends, then ends ("Cancelling an existing subscription").
// Only SUBSCRIPTION_UPDATE (status ending, canceled_at set) is sent.
func (s *Sim) CancelSubscription(id Snowflake) (Subscription, error) {
	s.mu.Lock()
	sub := s.mon.subs[id]
	if sub == nil || sub.Status != SubscriptionActive {
		s.mu.Unlock()
		return Subscription{}, fmt.Errorf("discordsim: subscription %s is not active", id)
	}
	now := s.nowLocked()
	sub.Status, sub.CanceledAt, sub.RenewalSKUIDs = SubscriptionEnding, &now, nil
	out, ev := *sub, monEvent{s.apps[sub.appID], "SUBSCRIPTION_UPDATE", sub.wire()}
	s.mu.Unlock()
	s.sendMonEvents([]monEvent{ev})
	return out, nil
}

// LapseSubscription lets subscription id run out now: it is canceled if
// it was not, and its current period ends at the emulator's present (as
// when the period ran out, or Discord gave up on a failed payment), so its
// entitlement ends (ENTITLEMENT_UPDATE with ends_at) and it becomes
// inactive (SUBSCRIPTION_UPDATE). The clock does not move: use AdvanceTime
// to let periods pass.
func (s *Sim) LapseSubscription(id Snowflake) (Subscription, error) {
	s.mu.Lock()
	sub := s.mon.subs[id]
	if sub == nil || sub.Status == SubscriptionInactive {
		s.mu.Unlock()
		return Subscription{}, fmt.Errorf("discordsim: subscription %s is not active", id)
	}
	a := s.apps[sub.appID]
	now := s.nowLocked()
	var evs []monEvent
	if sub.Status == SubscriptionActive {
		sub.Status, sub.CanceledAt, sub.RenewalSKUIDs = SubscriptionEnding, &now, nil
		evs = append(evs, monEvent{a, "SUBSCRIPTION_UPDATE", sub.wire()})
	}
	sub.CurrentPeriodEnd = now
	evs = append(evs, s.settleSubscriptionsLocked(now)...)
	out := *sub
	s.mu.Unlock()
	s.sendMonEvents(evs)
	return out, nil
}

// ReplayEntitlementCreate sends ENTITLEMENT_CREATE for entitlement id
// again, as first sent (not consumed), as an at-least-once delivery may
// (after a RESUME, say): a fault for testing that purchases are fulfilled
// once. It returns how many sessions it reached.
func (s *Sim) ReplayEntitlementCreate(id Snowflake) (int, error) {
	s.mu.Lock()
	e := s.mon.ents[id]
	if e == nil {
		s.mu.Unlock()
		return 0, fmt.Errorf("discordsim: unknown entitlement %s", id)
	}
	first := *e
	first.Deleted, first.EndsAt = false, nil
	if first.Consumed != nil {
		f := false
		first.Consumed = &f
	}
	a, body := s.apps[e.ApplicationID], first.wire()
	s.mu.Unlock()
	return s.dispatchToApp(a, e.GuildID, "ENTITLEMENT_CREATE", 0, func() any { return body }), nil
}

// AdvanceTime moves the monetization clock forward by d (not back) and
// settles every subscription whose period ended: an active one renews
// (SUBSCRIPTION_UPDATE with the next period); an ending one ends
// (ENTITLEMENT_UPDATE with ends_at, then SUBSCRIPTION_UPDATE inactive).
// The janitor settles them as real time passes too.
func (s *Sim) AdvanceTime(d time.Duration) time.Time {
	s.mu.Lock()
	if d > 0 {
		s.mon.offset += d
	}
	now := s.nowLocked()
	evs := s.settleSubscriptionsLocked(now)
	s.mu.Unlock()
	s.sendMonEvents(evs)
	return now
}

func (s *Sim) settleSubscriptionsLocked(now time.Time) []monEvent {
	var evs []monEvent
	for _, id := range s.mon.subOrder {
		sub := s.mon.subs[id]
		if sub.CurrentPeriodEnd.After(now) {
			continue
		}
		a := s.apps[sub.appID]
		switch sub.Status {
		case SubscriptionActive:
			for !sub.CurrentPeriodEnd.After(now) {
				sub.CurrentPeriodStart, sub.CurrentPeriodEnd = sub.CurrentPeriodEnd, sub.CurrentPeriodEnd.Add(s.cfg.SubscriptionPeriod)
			}
			evs = append(evs, monEvent{a, "SUBSCRIPTION_UPDATE", sub.wire()})
		case SubscriptionEnding:
			end := sub.CurrentPeriodEnd
			for _, eid := range sub.EntitlementIDs {
				if e := s.mon.ents[eid]; e != nil && e.EndsAt == nil {
					e.EndsAt = &end
					evs = append(evs, monEvent{a, "ENTITLEMENT_UPDATE", e.wire()})
				}
			}
			sub.Status = SubscriptionInactive
			evs = append(evs, monEvent{a, "SUBSCRIPTION_UPDATE", sub.wire()})
		}
	}
	return evs
}

// interactionEntitlementsLocked is the entitlements field of an
// interaction from userID in guildID for a: the active entitlements of the
// user, and of the guild (guild subscriptions).
func (s *Sim) interactionEntitlementsLocked(a *app, userID, guildID Snowflake) []any {
	now := s.nowLocked()
	out := []any{}
	for _, id := range s.mon.entOrder {
		e := s.mon.ents[id]
		if e.ApplicationID != a.ID || !e.activeAt(now) {
			continue
		}
		if (e.UserID != 0 && e.UserID == userID) || (e.GuildID != 0 && e.GuildID == guildID) {
			out = append(out, e.wire())
		}
	}
	return out
}

// premiumButtonViolationsLocked returns a ViolationUnknownSKU for every
// premium button sku_id in skuIDs is not a purchasable SKU of the app that sent
// it: the components reference calls sku_id the "identifier for a
// purchasable SKU". The structure rules are in validate_components.go.
func (s *Sim) premiumButtonViolationsLocked(appID Snowflake, skuIDs []Snowflake) []Violation {
	var out []Violation
	for _, id := range skuIDs {
		k, err := s.purchasableLocked(id)
		if err == nil && k.ApplicationID != appID {
			err = fmt.Errorf("discordsim: SKU %s belongs to another application", id)
		}
		if err != nil {
			out = append(out, Violation{Time: time.Now(), Kind: ViolationUnknownSKU, AppID: appID, Detail: "premium button: " + err.Error()})
		}
	}
	return out
}

// REST: the SKU, entitlement and subscription routes.

func (s *Sim) monetizationRoutes(api func(method, path string, o routeOpts, h restHandler)) {
	bot := routeOpts{auth: authBot}
	api("GET", "/applications/{app}/skus", bot, s.listSKUs)
	api("GET", "/applications/{app}/entitlements", bot, s.listEntitlements)
	api("GET", "/applications/{app}/entitlements/{entitlement}", bot, s.getEntitlement)
	api("POST", "/applications/{app}/entitlements/{entitlement}/consume", bot, s.consumeEntitlement)
	api("POST", "/applications/{app}/entitlements", bot, s.createTestEntitlement)
	api("DELETE", "/applications/{app}/entitlements/{entitlement}", bot, s.deleteTestEntitlement)
	api("GET", "/skus/{sku}/subscriptions", bot, s.listSKUSubscriptions)
	api("GET", "/skus/{sku}/subscriptions/{subscription}", bot, s.getSKUSubscription)
}

var (
	errUnknownSKU          = errStatus(404, 10027, "Unknown SKU")
	errUnknownEntitlement  = errStatus(404, 10029, "Unknown entitlement")
	errUnknownSubscription = errNotFound // the docs list no "Unknown Subscription" code
	errOnlyConsumable      = errStatus(400, 40018, "Only consumable SKUs can be consumed")
	errOnlySandboxDelete   = errStatus(400, 40019, "You can only delete sandbox entitlements.")
	errAlreadyGranted      = errStatus(400, 40074, "An entitlement has already been granted for this resource")
)

// ownApp checks that the {app} path value is the caller's application.
func ownApp(r *http.Request, rc *reqCtx) *APIError {
	id, err := ParseSnowflake(r.PathValue("app"))
	if err != nil || id != rc.app.ID {
		return errNotAuthorizedApp
	}
	return nil
}

func (s *Sim) listSKUs(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	if e := ownApp(r, rc); e != nil {
		return e
	}
	out := s.SKUs(rc.app.ID)
	if out == nil {
		out = []SKU{}
	}
	writeJSON(w, 200, out)
	return nil
}

// queryParams checks a query string against List Entitlements' (or List
// SKU Subscriptions') parameters.
type listQuery struct {
	userID, guildID, before, after Snowflake
	skuIDs                         []Snowflake
	limit                          int
	excludeEnded, excludeDeleted   bool
}

func snowflakeParam(q url.Values, name string) (Snowflake, *APIError) {
	v := q.Get(name)
	if v == "" {
		return 0, nil
	}
	id, err := ParseSnowflake(v)
	if err != nil {
		return 0, formError([]string{name}, "NUMBER_TYPE_COERCE", "Value \""+v+"\" is not snowflake.")
	}
	return id, nil
}

// boolParam reads a boolean query string (reference.mdx, Boolean Query
// Strings: True, true or 1; False, false or 0).
func boolParam(q url.Values, name string, def bool) (bool, *APIError) {
	switch v := q.Get(name); v {
	case "":
		return def, nil
	case "True", "true", "1":
		return true, nil
	case "False", "false", "0":
		return false, nil
	default:
		return false, formError([]string{name}, "BOOLEAN_TYPE_CONVERT", "Value \""+v+"\" is not a valid boolean.")
	}
}

func parseListQuery(q url.Values, defLimit int) (listQuery, *APIError) {
	var lq listQuery
	var e *APIError
	for name, dst := range map[string]*Snowflake{"user_id": &lq.userID, "guild_id": &lq.guildID, "before": &lq.before, "after": &lq.after} {
		if *dst, e = snowflakeParam(q, name); e != nil {
			return lq, e
		}
	}
	if v := q.Get("sku_ids"); v != "" {
		for _, part := range strings.Split(v, ",") {
			id, err := ParseSnowflake(part)
			if err != nil {
				return lq, formError([]string{"sku_ids"}, "NUMBER_TYPE_COERCE", "Value \""+part+"\" is not snowflake.")
			}
			lq.skuIDs = append(lq.skuIDs, id)
		}
	}
	lq.limit = defLimit
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return lq, formError([]string{"limit"}, "NUMBER_TYPE_COERCE", "Value \""+v+"\" is not int.")
		}
		if n < 1 || n > 100 {
			return lq, formError([]string{"limit"}, "NUMBER_TYPE_MIN", "int value should be between 1 and 100.")
		}
		lq.limit = n
	}
	if lq.excludeEnded, e = boolParam(q, "exclude_ended", false); e != nil {
		return lq, e
	}
	if lq.excludeDeleted, e = boolParam(q, "exclude_deleted", true); e != nil {
		return lq, e
	}
	return lq, nil
}

// page applies before, after and limit to ids sorted ascending: after
// takes the first limit IDs above it; before (alone) the last limit below it.
func (lq listQuery) page(ids []Snowflake) []Snowflake {
	var in []Snowflake
	for _, id := range ids {
		if (lq.after == 0 || id > lq.after) && (lq.before == 0 || id < lq.before) {
			in = append(in, id)
		}
	}
	slices.Sort(in)
	if lq.before != 0 && lq.after == 0 && len(in) > lq.limit {
		return in[len(in)-lq.limit:]
	}
	if len(in) > lq.limit {
		in = in[:lq.limit]
	}
	return in
}

func (s *Sim) listEntitlements(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	if e := ownApp(r, rc); e != nil {
		return e
	}
	lq, e := parseListQuery(r.URL.Query(), 100)
	if e != nil {
		return e
	}
	s.mu.Lock()
	now := s.nowLocked()
	var ids []Snowflake
	for _, id := range s.mon.entOrder {
		en := s.mon.ents[id]
		switch {
		case en.ApplicationID != rc.app.ID,
			lq.userID != 0 && en.UserID != lq.userID,
			lq.guildID != 0 && en.GuildID != lq.guildID,
			len(lq.skuIDs) > 0 && !slices.Contains(lq.skuIDs, en.SKUID),
			lq.excludeEnded && en.endedAt(now),
			lq.excludeDeleted && en.Deleted:
			continue
		}
		ids = append(ids, id)
	}
	out := []any{}
	for _, id := range lq.page(ids) {
		out = append(out, s.mon.ents[id].wire())
	}
	s.mu.Unlock()
	writeJSON(w, 200, out)
	return nil
}

// entitlementLocked returns the {entitlement} of the caller's app.
func (s *Sim) entitlementLocked(r *http.Request, rc *reqCtx) (*Entitlement, *APIError) {
	if e := ownApp(r, rc); e != nil {
		return nil, e
	}
	v := r.PathValue("entitlement")
	id, err := ParseSnowflake(v)
	if err != nil {
		return nil, formError([]string{"entitlement_id"}, "NUMBER_TYPE_COERCE", "Value \""+v+"\" is not snowflake.")
	}
	en := s.mon.ents[id]
	if en == nil || en.ApplicationID != rc.app.ID {
		return nil, errUnknownEntitlement
	}
	return en, nil
}

func (s *Sim) getEntitlement(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	en, e := s.entitlementLocked(r, rc)
	var body map[string]any
	if e == nil {
		body = en.wire()
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	writeJSON(w, 200, body)
	return nil
}

// consumeEntitlement answers Consume an Entitlement: 204 for an unconsumed
// entitlement to a consumable SKU. Anything else is refused with 40018
// ("Only consumable SKUs can be consumed"); the docs name no other error,
// so a second consume of the same entitlement gets it too, and is recorded
// as ViolationConsumedTwice, since an app that consumes twice counts one
// purchase twice.
func (s *Sim) consumeEntitlement(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	en, e := s.entitlementLocked(r, rc)
	twice := false
	switch {
	case e != nil:
	case en.Consumed == nil || en.Deleted:
		e = errOnlyConsumable
	case *en.Consumed:
		e, twice = errOnlyConsumable, true
	default:
		t := true
		en.Consumed = &t
	}
	s.mu.Unlock()
	if twice {
		s.recordViolation(Violation{Kind: ViolationConsumedTwice, AppID: rc.app.ID, Code: 40018, Detail: "entitlement " + en.ID.String() + " consumed again"})
	}
	if e != nil {
		return e
	}
	w.WriteHeader(204)
	return nil
}

// createTestEntitlement answers Create Test Entitlement: a partial
// entitlement (no starts_at, ends_at or subscription_id), valid until
// deleted, and ENTITLEMENT_CREATE.
func (s *Sim) createTestEntitlement(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	if e := ownApp(r, rc); e != nil {
		return e
	}
	var in struct {
		SKUID     *Snowflake `json:"sku_id"`
		OwnerID   *Snowflake `json:"owner_id"`
		OwnerType *int       `json:"owner_type"`
	}
	if e := decodeBody(r, &in); e != nil {
		return e
	}
	switch {
	case in.SKUID == nil || *in.SKUID == 0:
		return requiredField([]string{"sku_id"})
	case in.OwnerID == nil || *in.OwnerID == 0:
		return requiredField([]string{"owner_id"})
	case in.OwnerType == nil:
		return requiredField([]string{"owner_type"})
	case *in.OwnerType != 1 && *in.OwnerType != 2:
		return formError([]string{"owner_type"}, "BASE_TYPE_CHOICES", "Value must be one of {1, 2}.")
	}
	s.mu.Lock()
	k := s.mon.skus[*in.SKUID]
	var e *APIError
	var userID, guildID Snowflake
	switch {
	case k == nil || k.ApplicationID != rc.app.ID:
		e = errUnknownSKU
	case *in.OwnerType == 1:
		guildID = *in.OwnerID
		if s.guilds[guildID] == nil {
			e = errUnknownGuild
		}
	default:
		userID = *in.OwnerID
		if s.users[userID] == nil {
			e = errUnknownUser
		}
	}
	now := s.nowLocked()
	if e == nil {
		for _, en := range s.mon.ents {
			if en.SKUID == k.ID && en.UserID == userID && en.GuildID == guildID && en.activeAt(now) {
				e = errAlreadyGranted
				break
			}
		}
	}
	if e != nil {
		s.mu.Unlock()
		return e
	}
	en := s.newEntitlementLocked(k, EntitlementTestModePurchase, userID, guildID)
	en.Test = true
	body := en.wire()
	s.mu.Unlock()
	s.sendMonEvents([]monEvent{{rc.app, "ENTITLEMENT_CREATE", body}})
	writeJSON(w, 200, body)
	return nil
}

// deleteTestEntitlement answers Delete Test Entitlement: 204 and
// ENTITLEMENT_DELETE for a test entitlement; 40019 for any other.
func (s *Sim) deleteTestEntitlement(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	en, e := s.entitlementLocked(r, rc)
	switch {
	case e != nil:
	case en.Deleted:
		e = errUnknownEntitlement
	case !en.Test:
		e = errOnlySandboxDelete
	}
	if e != nil {
		s.mu.Unlock()
		return e
	}
	en.Deleted = true
	body := en.wire()
	s.mu.Unlock()
	s.sendMonEvents([]monEvent{{rc.app, "ENTITLEMENT_DELETE", body}})
	w.WriteHeader(204)
	return nil
}

// skuLocked returns the {sku} of the caller's app.
func (s *Sim) skuLocked(r *http.Request, rc *reqCtx) (*SKU, *APIError) {
	v := r.PathValue("sku")
	id, err := ParseSnowflake(v)
	if err != nil {
		return nil, formError([]string{"sku_id"}, "NUMBER_TYPE_COERCE", "Value \""+v+"\" is not snowflake.")
	}
	k := s.mon.skus[id]
	if k == nil || k.ApplicationID != rc.app.ID {
		return nil, errUnknownSKU
	}
	return k, nil
}

// listSKUSubscriptions answers List SKU Subscriptions; a bot must give
// user_id ("Required except for OAuth queries").
func (s *Sim) listSKUSubscriptions(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	lq, e := parseListQuery(r.URL.Query(), 50)
	if e != nil {
		return e
	}
	if lq.userID == 0 {
		return requiredField([]string{"user_id"})
	}
	s.mu.Lock()
	k, e := s.skuLocked(r, rc)
	if e != nil {
		s.mu.Unlock()
		return e
	}
	var ids []Snowflake
	for _, id := range s.mon.subOrder {
		if sub := s.mon.subs[id]; sub.UserID == lq.userID && slices.Contains(sub.SKUIDs, k.ID) {
			ids = append(ids, id)
		}
	}
	out := []any{}
	for _, id := range lq.page(ids) {
		out = append(out, s.mon.subs[id].wire())
	}
	s.mu.Unlock()
	writeJSON(w, 200, out)
	return nil
}

func (s *Sim) getSKUSubscription(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	k, e := s.skuLocked(r, rc)
	var body map[string]any
	if e == nil {
		v := r.PathValue("subscription")
		id, err := ParseSnowflake(v)
		sub := s.mon.subs[id]
		switch {
		case err != nil:
			e = formError([]string{"subscription_id"}, "NUMBER_TYPE_COERCE", "Value \""+v+"\" is not snowflake.")
		case sub == nil || !slices.Contains(sub.SKUIDs, k.ID):
			e = errUnknownSubscription
		default:
			body = sub.wire()
		}
	}
	s.mu.Unlock()
	if e != nil {
		return e
	}
	writeJSON(w, 200, body)
	return nil
}

// premiumSKUs returns the sku_id of every premium button (style 6) in comps,
// looking inside action rows, sections and containers.
func premiumSKUs(comps []json.RawMessage) []Snowflake {
	var out []Snowflake
	for _, raw := range comps {
		var c component
		if json.Unmarshal(raw, &c) != nil || c.Type == nil {
			continue
		}
		if *c.Type == 2 && c.Style == 6 && c.SKUID != nil {
			out = append(out, *c.SKUID)
		}
		out = append(out, premiumSKUs(c.children())...)
	}
	return out
}

// ClickPremium makes userID press the premium button for skuID on message
// messageID, which the app sent. A premium button sends no interaction
// (components-reference.mdx); it opens Discord's purchase flow, which the
// emulator completes at once: Subscribe for a subscription SKU, Purchase
// for a one-time one. It returns the entitlements the purchase granted.
func (s *Sim) ClickPremium(userID, messageID, skuID Snowflake) ([]Entitlement, error) {
	s.mu.Lock()
	m := s.messages[messageID]
	var err error
	switch {
	case m == nil || m.Deleted:
		err = fmt.Errorf("discordsim: unknown message %s", messageID)
	case !slices.Contains(premiumSKUs(m.Components), skuID):
		err = fmt.Errorf("discordsim: message %s has no premium button for SKU %s", messageID, skuID)
	case m.Ephemeral():
		if orig := s.interactions[m.InteractionID]; orig == nil || orig.UserID != userID {
			err = fmt.Errorf("discordsim: user %s cannot see ephemeral message %s", userID, messageID)
		}
	}
	var typ int
	if k := s.mon.skus[skuID]; k != nil {
		typ = k.Type
	}
	s.mu.Unlock()
	if err != nil {
		return nil, err
	}
	if typ == SKUSubscription {
		sub, err := s.Subscribe(userID, skuID)
		if err != nil {
			return nil, err
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		var out []Entitlement
		for _, id := range sub.EntitlementIDs {
			out = append(out, *s.mon.ents[id])
		}
		return out, nil
	}
	e, err := s.Purchase(userID, skuID)
	if err != nil {
		return nil, err
	}
	return []Entitlement{e}, nil
}

// appsByBotLocked returns the application whose bot user is botUserID, or nil.
func (s *Sim) appsByBotLocked(botUserID Snowflake) *app {
	for _, a := range s.apps {
		if a.BotUserID == botUserID {
			return a
		}
	}
	return nil
}
