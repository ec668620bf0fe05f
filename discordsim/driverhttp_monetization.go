package discordsim

import (
	"errors"
	"net/http"
	"time"
)

// The driver API's monetization routes (README.md, Driver API): SKUs,
// purchases, subscriptions and their lifecycle, and the monetization clock.

// driverSKUs answers GET /_sim/skus: the default application's SKUs.
func (s *Sim) driverSKUs(w http.ResponseWriter, r *http.Request) {
	out := s.SKUs(0)
	if out == nil {
		out = []SKU{}
	}
	writeJSON(w, 200, out)
}

// driverCreateSKU answers POST /_sim/skus (CreateSKU).
func (s *Sim) driverCreateSKU(w http.ResponseWriter, r *http.Request) {
	var in SKUOptions
	if !decodeDriver(w, r, &in) {
		return
	}
	k, err := s.CreateSKU(in)
	driverReply(w, 400, k, err)
}

// driverEntitlements answers GET /_sim/entitlements: every entitlement,
// deleted ones too, in their wire form plus "test".
func (s *Sim) driverEntitlements(w http.ResponseWriter, r *http.Request) {
	out := []map[string]any{}
	for _, e := range s.Entitlements() {
		j := e.wire()
		j["test"] = e.Test
		out = append(out, j)
	}
	writeJSON(w, 200, out)
}

// driverReplayEntitlement answers POST /_sim/entitlements/{entitlement}/replay
// (ReplayEntitlementCreate) with {"sessions": n}.
func (s *Sim) driverReplayEntitlement(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "entitlement")
	if !ok {
		return
	}
	n, err := s.ReplayEntitlementCreate(id)
	driverReply(w, 404, map[string]int{"sessions": n}, err)
}

type userSKU struct {
	UserID    Snowflake `json:"user_id"`
	SKUID     Snowflake `json:"sku_id"`
	MessageID Snowflake `json:"message_id"`
}

// driverPurchase answers POST /_sim/purchases {user_id, sku_id} (Purchase).
func (s *Sim) driverPurchase(w http.ResponseWriter, r *http.Request) {
	var in userSKU
	if !decodeDriver(w, r, &in) {
		return
	}
	e, err := s.Purchase(in.UserID, in.SKUID)
	var out map[string]any
	if err == nil {
		out = e.wire()
	}
	driverReply(w, 400, out, err)
}

// driverClickPremium answers POST /_sim/premium-click {user_id,
// message_id, sku_id} (ClickPremium).
func (s *Sim) driverClickPremium(w http.ResponseWriter, r *http.Request) {
	var in userSKU
	if !decodeDriver(w, r, &in) {
		return
	}
	ents, err := s.ClickPremium(in.UserID, in.MessageID, in.SKUID)
	out := []map[string]any{}
	for _, e := range ents {
		out = append(out, e.wire())
	}
	driverReply(w, 400, out, err)
}

// driverSubscribe answers POST /_sim/subscriptions {user_id, sku_id} (Subscribe).
func (s *Sim) driverSubscribe(w http.ResponseWriter, r *http.Request) {
	var in userSKU
	if !decodeDriver(w, r, &in) {
		return
	}
	sub, err := s.Subscribe(in.UserID, in.SKUID)
	driverReply(w, 400, subWire(sub, err), err)
}

func subWire(sub Subscription, err error) any {
	if err != nil {
		return nil
	}
	return sub.wire()
}

// driverSubscription answers GET /_sim/subscriptions/{subscription}.
func (s *Sim) driverSubscription(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "subscription")
	if !ok {
		return
	}
	sub, found := s.Subscription(id)
	if !found {
		driverErr(w, 404, errors.New("unknown subscription"))
		return
	}
	writeJSON(w, 200, sub.wire())
}

// driverSubscriptionAction answers POST
// /_sim/subscriptions/{subscription}/renew, /cancel and /lapse.
func (s *Sim) driverSubscriptionAction(w http.ResponseWriter, r *http.Request) {
	id, ok := pathID(w, r, "subscription")
	if !ok {
		return
	}
	act := map[string]func(Snowflake) (Subscription, error){
		"renew": s.RenewSubscription, "cancel": s.CancelSubscription, "lapse": s.LapseSubscription,
	}[r.PathValue("action")]
	if act == nil {
		driverErr(w, 404, errors.New("unknown action "+r.PathValue("action")+": want renew, cancel or lapse"))
		return
	}
	sub, err := act(id)
	driverReply(w, 400, subWire(sub, err), err)
}

// driverTime answers GET /_sim/time: the monetization clock.
func (s *Sim) driverTime(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, 200, map[string]any{"now": s.Now().UTC().Format(time.RFC3339Nano)})
}

// driverAdvanceTime answers POST /_sim/time {"advance_ms": n} (AdvanceTime).
func (s *Sim) driverAdvanceTime(w http.ResponseWriter, r *http.Request) {
	var in struct {
		AdvanceMS int64 `json:"advance_ms"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	if in.AdvanceMS <= 0 {
		driverErr(w, 400, errors.New("advance_ms must be positive: the clock only moves forward"))
		return
	}
	now := s.AdvanceTime(time.Duration(in.AdvanceMS) * time.Millisecond)
	writeJSON(w, 200, map[string]any{"now": now.UTC().Format(time.RFC3339Nano)})
}
