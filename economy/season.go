package economy

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// The seasonal events' refusals.
var (
	ErrNoEvent         = refusal.New("no_event", "No event is running right now.")
	ErrNotInEventShop  = refusal.New("not_in_event_shop", "The event shop does not sell that.")
	ErrNotEnoughTokens = refusal.New("not_enough_tokens", "You do not have enough event tokens.")
)

// Events returns the calendar the service plays by.
func (s *Service) Events() *Events { return s.events }

// Now is the time on the service's clock (Config.Now).
func (s *Service) Now() time.Time { return s.now() }

// ActiveEvent returns the event running now, or nil.
func (s *Service) ActiveEvent() *Event { return s.events.Current().Active(s.now()) }

// activeEvent is the event running at the transaction's time, or nil.
func (t *txn) activeEvent() *Event { return t.s.events.Current().Active(t.now) }

// EventGain is what one play earned in the running event, shown with the
// play's own reply.
type EventGain struct {
	Event      string `json:"event"`
	EventName  string `json:"event_name"`
	Token      string `json:"token"`
	Emoji      string `json:"emoji,omitempty"`
	Tokens     int64  `json:"tokens"`          // earned by this play
	Balance    int64  `json:"balance"`         // tokens now held
	Found      string `json:"found,omitempty"` // an event collectible's name, found by this gather
	FoundFirst bool   `json:"found_first,omitempty"`
}

// eventPlay credits user's play of kind during ev (nil: no event, nothing
// earned): its tokens, and for a gather perhaps an event collectible. An
// event already closed for payout earns nothing, so the frozen board
// stays what was paid; under SERIALIZABLE a play racing the closing
// either lands before it (and is on the board) or sees it.
func (t *txn) eventPlay(ctx context.Context, ev *Event, user int64, kind string) (*EventGain, error) {
	if ev == nil {
		return nil, nil
	}
	// Shared with every other play, exclusive to the closing
	// (planEventPayouts): the closing waits for the plays under way and
	// none starts beside it, so it is never starved by them.
	// One round trip: the lock (in FROM, so taken first), then the closing.
	var closed bool
	if err := t.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM economy.event_closings WHERE event_key = $1)
		FROM (SELECT pg_advisory_xact_lock_shared($2)) AS close_lock`, ev.Key, eventCloseLock(ev.Key)).Scan(&closed); err != nil {
		return nil, fmt.Errorf("event play: %w", err)
	}
	if closed {
		return nil, nil
	}
	g := &EventGain{Event: ev.Key, EventName: ev.Name, Token: ev.Token.Name, Emoji: ev.Token.Emoji, Tokens: eventPlayTokens(ev, kind)}
	if g.Tokens > 0 {
		if err := t.QueryRow(ctx, `INSERT INTO economy.event_players (event_key, user_id, tokens, earned, reached_at)
			VALUES ($1, $2, $3, $3, $4)
			ON CONFLICT (event_key, user_id) DO UPDATE SET tokens = economy.event_players.tokens + EXCLUDED.tokens,
			  earned = economy.event_players.earned + EXCLUDED.earned, reached_at = EXCLUDED.reached_at
			RETURNING tokens`, ev.Key, user, g.Tokens, t.now).Scan(&g.Balance); err != nil {
			return nil, fmt.Errorf("event play: %w", err)
		}
	}
	if kind == PlayGather {
		if c, ok := eventDraw(ev, t.s.int64n); ok {
			n, err := t.eventFind(ctx, ev.Key, user, c.Key, 1)
			if err != nil {
				return nil, err
			}
			g.Found, g.FoundFirst = c.Name, n == 1
		}
	}
	if g.Tokens == 0 && g.Found == "" {
		return nil, nil
	}
	return g, nil
}

// eventFind adds qty of an event collectible to user's event collection
// and returns how many they have found in all.
func (t *txn) eventFind(ctx context.Context, event string, user int64, key string, qty int) (int, error) {
	var n int
	err := t.QueryRow(ctx, `INSERT INTO economy.event_finds (event_key, user_id, item_key, found, first_found_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (event_key, user_id, item_key) DO UPDATE SET found = economy.event_finds.found + EXCLUDED.found
		RETURNING found`, event, user, key, qty, t.now).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("event find: %w", err)
	}
	return n, nil
}

// EventFind is one event collectible in a player's event collection.
type EventFind struct {
	Key    string `json:"key"`
	Name   string `json:"name"`
	Rarity string `json:"rarity"`
	Found  int    `json:"found"` // 0: not found yet
}

// EventView is what /event shows a player: the event running now (or
// the next one), the time left, their tokens, rank and finds, and the
// top of the board.
type EventView struct {
	Now     time.Time
	Event   *Event // running now; nil when none
	Next    *Event // the next to start; nil when none
	Left    time.Duration
	Tokens  int64 // held, to spend
	Earned  int64 // in all: the board's score
	Rank    int   // 0: not on the board yet
	Players int64
	Finds   []EventFind
	Top     []EventStanding // the first EventTop ranks

	// Last is the latest event over, when none runs; LastResult is the
	// player's reward from it (nil: none, or not decided yet), LastPaid
	// reports that this reward is paid, and LastPaying that the event's
	// payout has not finished.
	Last       *Event
	LastResult *EventPayout
	LastPaid   bool
	LastPaying bool
}

// EventTop is how many ranks EventStatus lists.
const EventTop = 10

// EventStatus returns user's view of the running event.
func (s *Service) EventStatus(ctx context.Context, user int64) (EventView, error) {
	if user <= 0 {
		return EventView{}, ErrBadUser
	}
	now := s.now()
	cal := s.events.Current()
	v := EventView{Now: now, Event: cal.Active(now), Next: cal.Next(now)}
	if v.Event == nil {
		if ended := cal.Ended(now); len(ended) > 0 {
			v.Last = ended[len(ended)-1]
			return v, s.lastEventResult(ctx, user, &v)
		}
		return v, nil
	}
	ev := v.Event
	v.Left = ev.End.Sub(now)
	err := s.read(ctx, "event_status", func(ctx context.Context, tx pgx.Tx) error {
		v.Tokens, v.Earned, v.Rank, v.Finds, v.Top = 0, 0, 0, nil, nil
		var reached time.Time
		err := tx.QueryRow(ctx, `SELECT tokens, earned, reached_at FROM economy.event_players WHERE event_key = $1 AND user_id = $2`,
			ev.Key, user).Scan(&v.Tokens, &v.Earned, &reached)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("event status: %w", err)
		}
		if err == nil && v.Earned > 0 {
			// The order of rankStandings, counted by the board's index.
			if err := tx.QueryRow(ctx, `SELECT count(*) + 1 FROM economy.event_players WHERE event_key = $1 AND earned > 0
				AND (earned > $2 OR earned = $2 AND (reached_at < $3 OR reached_at = $3 AND user_id < $4))`,
				ev.Key, v.Earned, reached, user).Scan(&v.Rank); err != nil {
				return fmt.Errorf("event status: %w", err)
			}
		}
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM economy.event_players WHERE event_key = $1 AND earned > 0`, ev.Key).Scan(&v.Players); err != nil {
			return fmt.Errorf("event status: %w", err)
		}
		top, err := eventBoard(ctx, tx, ev.Key, EventTop)
		if err != nil {
			return err
		}
		v.Top = top
		found := map[string]int64{}
		rows, err := tx.Query(ctx, `SELECT item_key, found::bigint FROM economy.event_finds WHERE event_key = $1 AND user_id = $2`, ev.Key, user)
		if err != nil {
			return fmt.Errorf("event status: %w", err)
		}
		if err := collectStrings(rows, found); err != nil {
			return err
		}
		for _, c := range ev.Collectibles {
			v.Finds = append(v.Finds, EventFind{Key: c.Key, Name: c.Name, Rarity: c.Rarity, Found: int(found[c.Key])})
		}
		return nil
	})
	return v, err
}

// lastEventResult fills v's result of the event v.Last for user.
func (s *Service) lastEventResult(ctx context.Context, user int64, v *EventView) error {
	return s.read(ctx, "event_status", func(ctx context.Context, tx pgx.Tx) error {
		v.LastResult, v.LastPaid, v.LastPaying = nil, false, true
		var closed *time.Time
		err := tx.QueryRow(ctx, `SELECT closed_at FROM economy.event_closings WHERE event_key = $1`, v.Last.Key).Scan(&closed)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("event status: %w", err)
		}
		if errors.Is(err, pgx.ErrNoRows) {
			return nil // not planned yet: nobody knows their reward
		}
		v.LastPaying = closed == nil
		p := EventPayout{User: user}
		var paid *time.Time
		err = tx.QueryRow(ctx, `SELECT rank, earned, credits, items, paid_at FROM economy.event_payouts WHERE event_key = $1 AND user_id = $2`,
			v.Last.Key, user).Scan(&p.Rank, &p.Earned, &p.Credits, &p.Items, &paid)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("event status: %w", err)
		}
		v.LastResult, v.LastPaid = &p, paid != nil
		return nil
	})
}

// eventBoard reads the first limit ranks of event's board.
func eventBoard(ctx context.Context, q querier, event string, limit int) ([]EventStanding, error) {
	rows, err := q.Query(ctx, `SELECT user_id, earned, reached_at FROM economy.event_players
		WHERE event_key = $1 AND earned > 0 ORDER BY earned DESC, reached_at, user_id LIMIT $2`, event, limit)
	if err != nil {
		return nil, fmt.Errorf("event board: %w", err)
	}
	top, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventStanding, error) {
		var st EventStanding
		return st, r.Scan(&st.User, &st.Earned, &st.Reached)
	})
	if err != nil {
		return nil, fmt.Errorf("event board: %w", err)
	}
	return rankStandings(top), nil
}

// EventPurchase is the outcome of EventBuy.
type EventPurchase struct {
	Event    string `json:"event"`
	Item     string `json:"item"`
	ItemName string `json:"item_name"`
	Quantity int    `json:"quantity"`
	Cost     int64  `json:"cost"`   // tokens spent
	Tokens   int64  `json:"tokens"` // tokens left
	Token    string `json:"token"`
}

// EventBuy spends user's tokens of the running event on qty of a line of
// its shop: a catalogue item joins the inventory (on the item ledger), an
// event collectible the event collection. Spending does not lower the
// board's score, which counts tokens earned.
func (s *Service) EventBuy(ctx context.Context, op Op, user int64, item string, qty int) (EventPurchase, error) {
	if qty < 1 || qty > MaxQuantity {
		return EventPurchase{}, ErrBadQuantity
	}
	var r EventPurchase
	_, err := s.mutate(ctx, "event_buy", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		ev := t.activeEvent()
		if ev == nil {
			return nil, ErrNoEvent
		}
		o, ok := ev.Offer(item)
		if !ok {
			return nil, ErrNotInEventShop
		}
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		var have int64
		err := t.QueryRow(ctx, `SELECT tokens FROM economy.event_players WHERE event_key = $1 AND user_id = $2 FOR UPDATE`,
			ev.Key, user).Scan(&have)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("event buy: %w", err)
		}
		cost, err := eventShopCost(o, qty, have)
		if err != nil {
			return nil, err
		}
		res := EventPurchase{Event: ev.Key, Item: o.Item, Quantity: qty, Cost: cost, Tokens: have - cost, Token: ev.Token.Name}
		if _, err := t.Exec(ctx, `UPDATE economy.event_players SET tokens = tokens - $3 WHERE event_key = $1 AND user_id = $2`,
			ev.Key, user, cost); err != nil {
			return nil, fmt.Errorf("event buy: %w", err)
		}
		if c, ok := ev.Collectible(o.Item); ok {
			res.ItemName = c.Name
			if _, err := t.eventFind(ctx, ev.Key, user, c.Key, qty); err != nil {
				return nil, err
			}
		} else {
			it, ok := s.cat.Item(o.Item)
			if !ok || it.Type == TypeTool {
				// ParseCalendar refuses these against the node's catalogue;
				// a calendar checked against another one is refused here.
				return nil, ErrNotInEventShop
			}
			res.ItemName = it.Name
			if _, err := t.Exec(ctx, `INSERT INTO economy.items (owner_id, item_key, acquired_at)
				SELECT $1, $2, $3 FROM generate_series(1, $4)`, user, it.Key, t.now, qty); err != nil {
				return nil, fmt.Errorf("event buy: %w", err)
			}
			t.items(user, it.Key, qty, "event_shop")
		}
		t.memo = fmt.Sprintf("%d× %s for %d %s", qty, res.ItemName, cost, ev.Token.Name)
		return res, nil
	})
	return r, err
}

// EventReward is the outcome of one end-of-event payment.
type EventReward struct {
	Event   string   `json:"event"`
	Rank    int      `json:"rank"`
	Credits int64    `json:"credits"`
	Items   []string `json:"items,omitempty"`
	Wallet  int64    `json:"wallet"`
}

// eventLock is the advisory lock of event's payout: one node pays at a
// time, and a node that dies releases it with its connection.
func eventLock(event string) int64 {
	h := fnv.New64a()
	h.Write([]byte("chopsticks:event-payout:" + event))
	return int64(h.Sum64())
}

// PayEndedEvents pays the rewards of every event of the calendar that has
// ended and is not yet paid in full, and reports how many payments it
// made. Any number of nodes may call it at once: per event one holds the
// advisory lock and the others skip it. Exactly once:
//
//   - the board is frozen into one event_payouts row per winner, keyed
//     (event, user), in the SERIALIZABLE transaction that writes the
//     event's closing row; plays after it earn nothing (eventPlay);
//   - each winner is paid in one SERIALIZABLE transaction that locks the
//     row, posts the ledger legs (and item legs), and marks it paid, as
//     the operation event_reward:<event>:<user>, so a retry replays;
//   - a node that dies midway drops its connection, which releases the
//     lock; the next caller pays the rows still unpaid.
//
// worker names the caller in the closing row (the node ID).
func (s *Service) PayEndedEvents(ctx context.Context, worker string) (int, error) {
	return s.payEnded(ctx, worker, map[string]bool{})
}

// payEnded is PayEndedEvents skipping the events in closed, which it
// extends with each event it finds or makes paid in full, so that a loop
// stops asking the database about them.
func (s *Service) payEnded(ctx context.Context, worker string, closed map[string]bool) (int, error) {
	var ended []*Event
	for _, ev := range s.events.Current().Ended(s.now()) {
		if !closed[ev.Key] {
			ended = append(ended, ev)
		}
	}
	if len(ended) == 0 {
		return 0, nil
	}
	keys := make([]string, len(ended))
	for i, e := range ended {
		keys[i] = e.Key
	}
	rows, err := s.pool.Query(ctx, `SELECT event_key FROM economy.event_closings WHERE closed_at IS NOT NULL AND event_key = ANY($1)`, keys)
	if err != nil {
		return 0, fmt.Errorf("event payout: %w", err)
	}
	done, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, fmt.Errorf("event payout: %w", err)
	}
	for _, k := range done {
		closed[k] = true
	}
	paid := 0
	for _, ev := range ended {
		if closed[ev.Key] {
			continue
		}
		n, finished, err := s.payEvent(ctx, ev, worker)
		paid += n
		if err != nil {
			return paid, err
		}
		closed[ev.Key] = finished
	}
	return paid, nil
}

// payEvent pays ev's rewards under its advisory lock, or does nothing
// when another node holds it; finished reports that it closed the event.
func (s *Service) payEvent(ctx context.Context, ev *Event, worker string) (paid int, finished bool, err error) {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return 0, false, fmt.Errorf("event payout: %w", err)
	}
	defer conn.Release()
	lock := eventLock(ev.Key)
	var got bool
	if err := conn.QueryRow(ctx, `SELECT pg_try_advisory_lock($1)`, lock).Scan(&got); err != nil {
		return 0, false, fmt.Errorf("event payout: lock: %w", err)
	}
	if !got {
		return 0, false, nil
	}
	defer func() {
		// A failed unlock would leave the lock on the pooled session: drop
		// the connection instead, which releases it.
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lock); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	if err := s.planEventPayouts(ctx, ev, worker); err != nil {
		return 0, false, err
	}
	afterRank := 0
	for {
		rows, err := s.pool.Query(ctx, `SELECT user_id, rank FROM economy.event_payouts
			WHERE event_key = $1 AND paid_at IS NULL AND rank > $2 ORDER BY rank LIMIT 200`, ev.Key, afterRank)
		if err != nil {
			return paid, false, fmt.Errorf("event payout: %w", err)
		}
		type due struct{ user, rank int64 }
		batch, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (due, error) {
			var d due
			return d, r.Scan(&d.user, &d.rank)
		})
		if err != nil {
			return paid, false, fmt.Errorf("event payout: %w", err)
		}
		if len(batch) == 0 {
			break
		}
		for _, d := range batch {
			_, err := s.payEventReward(ctx, ev, d.user)
			switch {
			case isRefusal(err):
				// Stored with the operation (a wallet at its limit): the
				// row stays unpaid and the pass moves on, never looping.
			case err != nil:
				return paid, false, err
			default:
				paid++
			}
			afterRank = int(d.rank)
		}
	}
	if _, err := s.pool.Exec(ctx, `UPDATE economy.event_closings SET closed_at = $2 WHERE event_key = $1 AND closed_at IS NULL`,
		ev.Key, s.now()); err != nil {
		return paid, false, fmt.Errorf("event payout: close: %w", err)
	}
	return paid, true, nil
}

// eventCloseLock is the advisory lock plays of event hold shared and its
// closing holds exclusive.
func eventCloseLock(event string) int64 {
	h := fnv.New64a()
	h.Write([]byte("chopsticks:event-close:" + event))
	return int64(h.Sum64())
}

// planEventPayouts freezes ev's board into its payout rows, once: the
// closing row and the payout rows are written in one SERIALIZABLE
// transaction, or, when the closing exists, only the worker is updated.
// The transaction begins once the close lock is held, so that its snapshot
// sees every play that can count and no play runs beside it: under
// constant play traffic the closing would otherwise keep failing to
// serialize against the plays it reads.
func (s *Service) planEventPayouts(ctx context.Context, ev *Event, worker string) error {
	conn, err := s.pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("event plan: %w", err)
	}
	defer conn.Release()
	lock := eventCloseLock(ev.Key)
	if _, err := conn.Exec(ctx, `SELECT pg_advisory_lock($1)`, lock); err != nil {
		return fmt.Errorf("event plan: close lock: %w", err)
	}
	defer func() {
		if _, err := conn.Exec(context.WithoutCancel(ctx), `SELECT pg_advisory_unlock($1)`, lock); err != nil {
			// A lock that cannot be released goes with the connection.
			conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	return s.retry(ctx, "event_plan", func(ctx context.Context) error {
		tx, err := conn.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
		if err != nil {
			return fmt.Errorf("event plan: begin: %w", err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		tag, err := tx.Exec(ctx, `UPDATE economy.event_closings SET worker = $2 WHERE event_key = $1`, ev.Key, worker)
		if err != nil {
			return fmt.Errorf("event plan: %w", err)
		}
		if tag.RowsAffected() == 0 {
			rows, err := tx.Query(ctx, `SELECT user_id, earned, reached_at FROM economy.event_players WHERE event_key = $1 AND earned > 0`, ev.Key)
			if err != nil {
				return fmt.Errorf("event plan: %w", err)
			}
			board, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (EventStanding, error) {
				var st EventStanding
				return st, r.Scan(&st.User, &st.Earned, &st.Reached)
			})
			if err != nil {
				return fmt.Errorf("event plan: %w", err)
			}
			payouts := eventPayouts(ev, rankStandings(board))
			if _, err := tx.Exec(ctx, `INSERT INTO economy.event_closings (event_key, planned_at, winners, worker) VALUES ($1, $2, $3, $4)`,
				ev.Key, s.now(), len(payouts), worker); err != nil {
				return fmt.Errorf("event plan: %w", err)
			}
			src := make([][]any, len(payouts))
			for i, p := range payouts {
				items := p.Items
				if items == nil {
					items = []string{}
				}
				src[i] = []any{ev.Key, p.User, int32(p.Rank), p.Earned, p.Credits, items}
			}
			if _, err := tx.CopyFrom(ctx, pgx.Identifier{"economy", "event_payouts"},
				[]string{"event_key", "user_id", "rank", "earned", "credits", "items"}, pgx.CopyFromRows(src)); err != nil {
				return fmt.Errorf("event plan: %w", err)
			}
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("event plan: commit: %w", err)
		}
		return nil
	})
}

// payEventReward pays user's row of ev's payout and marks it paid, in one
// transaction, as a replayable operation.
func (s *Service) payEventReward(ctx context.Context, ev *Event, user int64) (EventReward, error) {
	var r EventReward
	op := Op(fmt.Sprintf("event_reward:%s:%d", ev.Key, user))
	_, err := s.mutate(ctx, "event_reward", op, user, &r, func(ctx context.Context, t *txn) (any, error) {
		if _, err := t.lockAccount(ctx, user); err != nil {
			return nil, err
		}
		res := EventReward{Event: ev.Key}
		var paid *time.Time
		if err := t.QueryRow(ctx, `SELECT rank, credits, items, paid_at FROM economy.event_payouts
			WHERE event_key = $1 AND user_id = $2 FOR UPDATE`, ev.Key, user).Scan(&res.Rank, &res.Credits, &res.Items, &paid); err != nil {
			return nil, fmt.Errorf("event reward: %w", err)
		}
		if paid != nil {
			// Paid under this very operation ID, which mutate would have
			// replayed: the books and the rows disagree.
			return nil, fmt.Errorf("event reward %s for %d: marked paid without its operation", ev.Key, user)
		}
		w, err := t.credit(ctx, user, Mint, res.Credits)
		if err != nil {
			return nil, err
		}
		res.Wallet = w
		for _, key := range res.Items {
			if err := t.giveItem(ctx, user, key, "event_reward"); err != nil {
				return nil, err
			}
		}
		if _, err := t.Exec(ctx, `UPDATE economy.event_payouts SET paid_at = $3 WHERE event_key = $1 AND user_id = $2`,
			ev.Key, user, t.now); err != nil {
			return nil, fmt.Errorf("event reward: %w", err)
		}
		t.memo = fmt.Sprintf("%s: rank %d", ev.Name, res.Rank)
		return res, nil
	})
	return r, err
}

// RunEventPayouts calls PayEndedEvents every period until ctx ends,
// reporting each payment round to paid and each failure to fail.
func (s *Service) RunEventPayouts(ctx context.Context, worker string, period time.Duration, paid func(int), fail func(error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	closed := map[string]bool{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n, err := s.payEnded(ctx, worker, closed)
		if n > 0 && paid != nil {
			paid(n)
		}
		if err != nil && ctx.Err() == nil && fail != nil {
			fail(err)
		}
	}
}

// EventSummary is one event of the calendar with its state in the
// database, for the dashboard's admin page.
type EventSummary struct {
	Event   Event
	State   string // "upcoming", "running", "paying" or "paid"
	Players int64
	Winners int64
	Paid    int64
	Credits int64 // paid out in all
	Worker  string
}

// EventSummaries lists the calendar in use with each event's players and
// payout progress.
func (s *Service) EventSummaries(ctx context.Context) ([]EventSummary, error) {
	now := s.now()
	cal := s.events.Current()
	var out []EventSummary
	err := s.read(ctx, "event_summaries", func(ctx context.Context, tx pgx.Tx) error {
		out = nil
		for _, ev := range cal.Events {
			sum := EventSummary{Event: ev, State: "upcoming"}
			switch {
			case !now.Before(ev.End):
				sum.State = "paying"
			case !now.Before(ev.Start):
				sum.State = "running"
			}
			var closed *time.Time
			var worker *string
			if err := tx.QueryRow(ctx, `SELECT
				(SELECT count(*) FROM economy.event_players WHERE event_key = $1 AND earned > 0),
				(SELECT count(*) FROM economy.event_payouts WHERE event_key = $1),
				(SELECT count(*) FROM economy.event_payouts WHERE event_key = $1 AND paid_at IS NOT NULL),
				(SELECT coalesce(sum(credits), 0)::bigint FROM economy.event_payouts WHERE event_key = $1 AND paid_at IS NOT NULL),
				(SELECT closed_at FROM economy.event_closings WHERE event_key = $1),
				(SELECT worker FROM economy.event_closings WHERE event_key = $1)`, ev.Key).
				Scan(&sum.Players, &sum.Winners, &sum.Paid, &sum.Credits, &closed, &worker); err != nil {
				return fmt.Errorf("event summaries: %w", err)
			}
			if closed != nil {
				sum.State = "paid"
			}
			if worker != nil {
				sum.Worker = *worker
			}
			out = append(out, sum)
		}
		return nil
	})
	return out, err
}
