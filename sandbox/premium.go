package sandbox

import (
	"fmt"
	"net/http"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// Premium in the sandbox: discordsim sells a subscription, a cosmetic pack
// and a boost (the nodes get them in PREMIUM_SKUS), and the playground's
// premium buttons and subscription controls drive the purchase flow.

// premiumSKUs are the sandbox's SKUs.
type premiumSKUs struct {
	Subscription, Pack, Boost discordsim.SKU
}

// setupPremium creates the SKUs in discordsim.
func (s *Sandbox) setupPremium() error {
	for _, k := range []struct {
		dst *discordsim.SKU
		o   discordsim.SKUOptions
	}{
		{&s.premium.Subscription, discordsim.SKUOptions{Name: "Chopsticks Premium", Type: discordsim.SKUSubscription}},
		{&s.premium.Pack, discordsim.SKUOptions{Name: "Cosmetic Pack", Type: discordsim.SKUDurable}},
		{&s.premium.Boost, discordsim.SKUOptions{Name: "Coffee Boost", Type: discordsim.SKUConsumable}},
	} {
		var err error
		if *k.dst, err = s.sim.CreateSKU(k.o); err != nil {
			return fmt.Errorf("premium SKUs: %w", err)
		}
	}
	return nil
}

// premiumEnv is the nodes' PREMIUM_SKUS setting.
func (s *Sandbox) premiumEnv() string {
	return fmt.Sprintf("PREMIUM_SKUS=subscription=%s,pack=%s,boost=%s", s.premium.Subscription.ID, s.premium.Pack.ID, s.premium.Boost.ID)
}

// premiumRequest is the body of the playground's premium calls.
type premiumRequest struct {
	actor
	MessageID string `json:"message_id"` // premium-click
	SKUID     string `json:"sku_id"`     // premium-click
	Action    string `json:"action"`     // subscription
}

// decodePremium decodes a premium call and returns it with the user it
// acts for, or answers 400.
func (s *Sandbox) decodePremium(w http.ResponseWriter, r *http.Request) (premiumRequest, discordsim.Snowflake, bool) {
	var req premiumRequest
	user, _, ok := s.decodeActing(w, r, &req)
	return req, user, ok
}

// handlePremiumClick presses a premium button of a reply: POST
// /api/premium-click {user_id, message_id, sku_id}.
func (s *Sandbox) handlePremiumClick(w http.ResponseWriter, r *http.Request) {
	req, user, ok := s.decodePremium(w, r)
	if !ok {
		return
	}
	msg, err1 := discordsim.ParseSnowflake(req.MessageID)
	sku, err2 := discordsim.ParseSnowflake(req.SKUID)
	if err1 != nil || err2 != nil {
		writeJSON(w, http.StatusBadRequest, apiError{"message_id and sku_id are required"})
		return
	}
	ents, err := s.sim.ClickPremium(user, msg, sku)
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"bought": s.skuName(sku), "entitlements": len(ents)})
}

// handleSubscription drives the selected user's subscription: POST
// /api/subscription {user_id, action: subscribe|renew|cancel|lapse}.
func (s *Sandbox) handleSubscription(w http.ResponseWriter, r *http.Request) {
	req, user, ok := s.decodePremium(w, r)
	if !ok {
		return
	}
	var sub discordsim.Subscription
	var err error
	if req.Action == "subscribe" {
		sub, err = s.sim.Subscribe(user, s.premium.Subscription.ID)
	} else {
		act := map[string]func(discordsim.Snowflake) (discordsim.Subscription, error){
			"renew": s.sim.RenewSubscription, "cancel": s.sim.CancelSubscription, "lapse": s.sim.LapseSubscription,
		}[req.Action]
		if act == nil {
			writeJSON(w, http.StatusBadRequest, apiError{"action must be subscribe, renew, cancel or lapse"})
			return
		}
		id, ok := s.subscriptionOf(user)
		if !ok {
			writeJSON(w, http.StatusBadRequest, apiError{"this user has no subscription; subscribe first"})
			return
		}
		sub, err = act(id)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	status := map[int]string{discordsim.SubscriptionActive: "active", discordsim.SubscriptionInactive: "inactive", discordsim.SubscriptionEnding: "ending"}[sub.Status]
	writeJSON(w, http.StatusOK, map[string]any{"status": status, "period_end": sub.CurrentPeriodEnd.UTC().Format(time.RFC3339)})
}

// subscriptionOf finds user's subscription to the sandbox's premium SKU,
// through its entitlements.
func (s *Sandbox) subscriptionOf(user discordsim.Snowflake) (discordsim.Snowflake, bool) {
	var id discordsim.Snowflake
	for _, e := range s.sim.Entitlements() {
		if e.UserID == user && e.SKUID == s.premium.Subscription.ID && e.SubscriptionID != 0 {
			id = e.SubscriptionID
		}
	}
	return id, id != 0
}

// handlePremiumSKUs answers GET /api/premium: the names of the SKUs, by ID.
func (s *Sandbox) handlePremiumSKUs(w http.ResponseWriter, r *http.Request) {
	names := map[string]string{}
	for _, k := range []discordsim.SKU{s.premium.Subscription, s.premium.Pack, s.premium.Boost} {
		names[k.ID.String()] = k.Name
	}
	writeJSON(w, http.StatusOK, map[string]any{"skus": names})
}

func (s *Sandbox) skuName(id discordsim.Snowflake) string {
	for _, k := range []discordsim.SKU{s.premium.Subscription, s.premium.Pack, s.premium.Boost} {
		if k.ID == id {
			return k.Name
		}
	}
	return id.String()
}
