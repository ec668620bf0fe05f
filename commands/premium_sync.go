package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/chopsticks-bot/chopsticks/economy"
)

// PremiumSync keeps the economy's entitlements current from what Discord
// reports (the entitlements of every interaction, and the ENTITLEMENT_*
// events) and fulfils one-time purchases: the cosmetic pack and the boost
// are given once per entitlement, and a boost is consumed through the API
// exactly once, whichever node sees it and however often it is reported.
type PremiumSync struct {
	svc      *economy.Service
	consumer Consumer
	log      *slog.Logger

	mu    sync.Mutex
	known map[int64]economy.Entitlement // as last recorded by this node
	done  map[int64]bool                // purchases fulfilled (or settled) here
	busy  map[int64]bool                // purchases being fulfilled now

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Consumer consumes a consumable entitlement through Discord's API (POST
// /applications/{app}/entitlements/{id}/consume).
type Consumer interface {
	ConsumeEntitlement(ctx context.Context, entitlementID int64) error
}

// ErrAlreadyConsumed is what a Consumer returns when Discord says the
// entitlement cannot be consumed (40018): it was consumed already.
var ErrAlreadyConsumed = errors.New("entitlement already consumed")

// RecordTimeout bounds the recording of an interaction's entitlements,
// which runs before the interaction is dispatched: a slow database must not
// stall the shard.
const RecordTimeout = 500 * time.Millisecond

// staleKnown bounds the node's memory of recorded entitlements.
const staleKnown = 100000

// NewPremiumSync returns a PremiumSync; Close stops its fulfilments.
func NewPremiumSync(svc *economy.Service, c Consumer, log *slog.Logger) *PremiumSync {
	ctx, cancel := context.WithCancel(context.Background())
	return &PremiumSync{svc: svc, consumer: c, log: log, known: map[int64]economy.Entitlement{},
		done: map[int64]bool{}, busy: map[int64]bool{}, ctx: ctx, cancel: cancel}
}

// Close stops the fulfilments in flight and waits for them. A purchase
// left unfulfilled is fulfilled at its next report.
func (p *PremiumSync) Close() {
	if p == nil {
		return
	}
	p.cancel()
	p.wg.Wait()
}

// Observe records ents (an interaction's entitlements, or one event's)
// and starts the fulfilment of the one-time purchases among them. It
// returns when the entitlements are recorded, so that a command handled
// next sees its perks; it records only what this node has not recorded
// already in that state.
func (p *PremiumSync) Observe(ctx context.Context, ents []economy.Entitlement) error {
	skus := p.svc.PremiumSKUs()
	var fresh []economy.Entitlement
	p.mu.Lock()
	for _, e := range ents {
		if skus.Role(e.SKUID) == "" {
			continue
		}
		if old, ok := p.known[e.ID]; !ok || !sameEntitlement(old, e) {
			fresh = append(fresh, e)
		}
	}
	p.mu.Unlock()
	if len(fresh) > 0 {
		ctx, cancel := context.WithTimeout(ctx, RecordTimeout)
		defer cancel()
		if err := p.svc.RecordEntitlements(ctx, fresh); err != nil {
			return fmt.Errorf("premium: %w", err)
		}
		p.mu.Lock()
		if len(p.known) > staleKnown {
			clear(p.known)
		}
		for _, e := range fresh {
			p.known[e.ID] = e
		}
		p.mu.Unlock()
	}
	for _, e := range ents {
		role := skus.Role(e.SKUID)
		if (role != economy.SKURolePack && role != economy.SKURoleBoost) || e.UserID <= 0 || e.Deleted {
			continue
		}
		if role == economy.SKURoleBoost && (e.Consumed == nil || *e.Consumed) {
			continue // consumed: given when it was consumed, by whoever consumed it
		}
		p.mu.Lock()
		skip := p.done[e.ID] || p.busy[e.ID]
		if !skip {
			p.busy[e.ID] = true
		}
		p.mu.Unlock()
		if skip {
			continue
		}
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			err := p.fulfil(p.ctx, e, role)
			p.mu.Lock()
			delete(p.busy, e.ID)
			if err == nil {
				p.done[e.ID] = true
			}
			p.mu.Unlock()
			if err != nil {
				p.log.Warn("premium purchase not fulfilled; retried at its next report", "entitlement", e.ID, "err", err)
			}
		}()
	}
	return nil
}

// sameEntitlement reports whether a and b are the same report.
func sameEntitlement(a, b economy.Entitlement) bool {
	eqTime := func(x, y *time.Time) bool { return (x == nil) == (y == nil) && (x == nil || x.Equal(*y)) }
	eqBool := func(x, y *bool) bool { return (x == nil) == (y == nil) && (x == nil || *x == *y) }
	return a.SKUID == b.SKUID && a.UserID == b.UserID && a.GuildID == b.GuildID && a.Type == b.Type &&
		a.Deleted == b.Deleted && eqTime(a.StartsAt, b.StartsAt) && eqTime(a.EndsAt, b.EndsAt) && eqBool(a.Consumed, b.Consumed)
}

// fulfil gives what purchase e pays for (once, by its entitlement ID) and,
// for a boost, consumes it through the API if this caller wins the claim.
func (p *PremiumSync) fulfil(ctx context.Context, e economy.Entitlement, role string) error {
	if _, err := p.svc.GrantPurchase(ctx, e); err != nil {
		return err
	}
	if role != economy.SKURoleBoost {
		return nil
	}
	won, err := p.svc.ClaimConsume(ctx, e.ID)
	if err != nil || !won {
		return err
	}
	switch err := p.consumer.ConsumeEntitlement(ctx, e.ID); {
	case err == nil, errors.Is(err, ErrAlreadyConsumed):
		return p.svc.MarkConsumed(context.WithoutCancel(ctx), e.ID)
	default:
		if rerr := p.svc.ReleaseConsume(context.WithoutCancel(ctx), e.ID); rerr != nil {
			return errors.Join(err, rerr)
		}
		return fmt.Errorf("consume entitlement %d: %w", e.ID, err)
	}
}
