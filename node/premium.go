package node

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/diamondburned/arikawa/v3/utils/httputil"
	"github.com/diamondburned/arikawa/v3/utils/json"
	"github.com/diamondburned/arikawa/v3/utils/ws"

	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/economy"
)

// Premium on the gateway: the entitlements of every interaction and the
// ENTITLEMENT_* and SUBSCRIPTION_* events (events-gateway-events.mdx),
// which the gateway library in use does not know, decoded here and handed
// to commands.PremiumSync. Subscription events are decoded but only
// logged: Discord says not to grant perks by them.

func init() {
	gateway.OpUnmarshalers.Add(
		func() ws.Event { return new(premiumInteraction) },
		func() ws.Event { return &entitlementEvent{t: "ENTITLEMENT_CREATE"} },
		func() ws.Event { return &entitlementEvent{t: "ENTITLEMENT_UPDATE"} },
		func() ws.Event { return &entitlementEvent{t: "ENTITLEMENT_DELETE"} },
		func() ws.Event { return &subscriptionEvent{t: "SUBSCRIPTION_CREATE"} },
		func() ws.Event { return &subscriptionEvent{t: "SUBSCRIPTION_UPDATE"} },
		func() ws.Event { return &subscriptionEvent{t: "SUBSCRIPTION_DELETE"} },
	)
}

// wireEntitlement is an entitlement object as Discord sends it.
type wireEntitlement struct {
	ID       discord.Snowflake `json:"id"`
	SKUID    discord.Snowflake `json:"sku_id"`
	UserID   discord.Snowflake `json:"user_id"`
	GuildID  discord.Snowflake `json:"guild_id"`
	Type     int               `json:"type"`
	Deleted  bool              `json:"deleted"`
	StartsAt *time.Time        `json:"starts_at"`
	EndsAt   *time.Time        `json:"ends_at"`
	Consumed *bool             `json:"consumed"`
}

func (w wireEntitlement) economy() economy.Entitlement {
	return economy.Entitlement{ID: int64(w.ID), SKUID: int64(w.SKUID), UserID: int64(w.UserID), GuildID: int64(w.GuildID),
		Type: w.Type, StartsAt: w.StartsAt, EndsAt: w.EndsAt, Deleted: w.Deleted, Consumed: w.Consumed}
}

// premiumInteraction is INTERACTION_CREATE with its entitlements, which
// gateway.InteractionCreateEvent drops.
type premiumInteraction struct {
	gateway.InteractionCreateEvent
	Entitlements []wireEntitlement
}

// Op and EventType make premiumInteraction the INTERACTION_CREATE event.
func (*premiumInteraction) Op() ws.OpCode           { return 0 }
func (*premiumInteraction) EventType() ws.EventType { return "INTERACTION_CREATE" }

// UnmarshalJSON decodes the interaction as arikawa does, and its entitlements.
func (e *premiumInteraction) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &e.InteractionCreateEvent); err != nil {
		return err
	}
	var ents struct {
		Entitlements []wireEntitlement `json:"entitlements"`
	}
	if err := json.Unmarshal(b, &ents); err != nil {
		return fmt.Errorf("interaction entitlements: %w", err)
	}
	e.Entitlements = ents.Entitlements
	return nil
}

// entitlementEvent is ENTITLEMENT_CREATE, _UPDATE or _DELETE: an entitlement object.
type entitlementEvent struct {
	wireEntitlement
	t ws.EventType
}

func (*entitlementEvent) Op() ws.OpCode             { return 0 }
func (e *entitlementEvent) EventType() ws.EventType { return e.t }

// subscriptionEvent is SUBSCRIPTION_CREATE, _UPDATE or _DELETE.
type subscriptionEvent struct {
	ID     discord.Snowflake `json:"id"`
	Status int               `json:"status"`
	t      ws.EventType
}

func (*subscriptionEvent) Op() ws.OpCode             { return 0 }
func (e *subscriptionEvent) EventType() ws.EventType { return e.t }

// handlePremium handles the entitlement and subscription events init
// registers (handle takes INTERACTION_CREATE).
func (n *Node) handlePremium(ctx context.Context, ev ws.Event) {
	switch e := ev.(type) {
	case *entitlementEvent:
		n.observeEntitlements(ctx, e.wireEntitlement)
	case *subscriptionEvent:
		n.log.Debug("subscription event", "type", string(e.t), "subscription", e.ID.String(), "status", e.Status)
	}
}

// observeEntitlements records what Discord reported; most interactions
// carry none.
func (n *Node) observeEntitlements(ctx context.Context, ws ...wireEntitlement) {
	if n.premium == nil || len(ws) == 0 {
		return
	}
	ents := make([]economy.Entitlement, len(ws))
	for i, w := range ws {
		ents[i] = w.economy()
	}
	if err := n.premium.Observe(ctx, ents); err != nil {
		n.log.Warn("entitlements not recorded", "err", err)
	}
}

// restConsumer consumes entitlements through the node's Discord client.
type restConsumer struct{ n *Node }

// ConsumeEntitlement calls Consume an Entitlement (resources-entitlement.mdx).
func (c restConsumer) ConsumeEntitlement(ctx context.Context, id int64) error {
	err := c.n.discord.WithContext(ctx).FastRequest("POST",
		api.EndpointApplications+c.n.cfg.ClientID.String()+"/entitlements/"+strconv.FormatInt(id, 10)+"/consume")
	var he *httputil.HTTPError
	if errors.As(err, &he) && he.Code == 40018 {
		return commands.ErrAlreadyConsumed
	}
	return err
}

// ParsePremiumSKUs parses PREMIUM_SKUS: comma-separated role=SKU ID pairs
// with the roles subscription, pack and boost, such as
// "subscription=1088510058284990888,boost=1088510058284990999".
func ParsePremiumSKUs(s string) (economy.PremiumSKUs, error) {
	var k economy.PremiumSKUs
	seen := map[int64]bool{}
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		role, idText, ok := strings.Cut(part, "=")
		id, err := strconv.ParseInt(strings.TrimSpace(idText), 10, 64)
		if !ok || err != nil || id <= 0 {
			return economy.PremiumSKUs{}, fmt.Errorf("%q: want role=SKU ID, the ID a positive number", part)
		}
		if seen[id] {
			return economy.PremiumSKUs{}, fmt.Errorf("SKU %d named twice", id)
		}
		seen[id] = true
		var dst *int64
		switch strings.TrimSpace(role) {
		case economy.SKURoleSubscription:
			dst = &k.Subscription
		case economy.SKURolePack:
			dst = &k.Pack
		case economy.SKURoleBoost:
			dst = &k.Boost
		default:
			return economy.PremiumSKUs{}, fmt.Errorf("%q: unknown role %q (want subscription, pack or boost)", part, role)
		}
		if *dst != 0 {
			return economy.PremiumSKUs{}, fmt.Errorf("role %q named twice", role)
		}
		*dst = id
	}
	return k, nil
}
