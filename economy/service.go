// Package economy is the Chopsticks economy: accounts, a double-entry
// ledger, items and the game rules, stored in PostgreSQL.
//
// Every mutating call is one SERIALIZABLE transaction keyed by an operation
// ID (the interaction ID, or a button's operation ID). The operation row is
// written in the same transaction with the first result, so a retry, a
// replay after failover or a double click returns that result and changes
// nothing. Transactions are retried on serialization failures (40001) and
// deadlocks (40P01) with jittered exponential backoff, up to a bound.
// Credits move only as ledger legs that sum to zero per transaction; the
// system accounts Mint (rewards) and Sink (purchases) exist only as legs.
//
// The game's rules (streaks, pay, odds, prices, bank capacity, cooldowns)
// are pure functions in rules.go: a transaction reads the state, asks a rule
// and writes what it decided. A request the rules refuse returns one of the
// Err refusals (package refusal) and changes nothing.
package economy

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// System accounts: they appear only as ledger legs, never as rows.
const (
	Mint int64 = -1 // source of rewards (daily, work, sales)
	Sink int64 = -2 // destination of purchases
)

// Config configures a Service. The zero value works: each field's comment
// gives the default its zero value stands for, filled in by withDefaults.
type Config struct {
	// Catalog is the game data; nil means DefaultCatalog().
	Catalog *Catalog
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// Rand is the source of randomness (pay, drops, flavour, jitter);
	// nil seeds one from the clock. Tests pass a fixed seed.
	Rand rand.Source
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// MaxAttempts bounds the tries of one transaction; 0 means
	// DefaultMaxAttempts.
	MaxAttempts int
	// Cooldowns, when set, answers "not yet" for daily, work and gather
	// without a transaction (for example cooldowncache.Redis); nil asks
	// the database every time.
	Cooldowns CooldownCache
	// Reads, when set, chooses the pool of the reads that tolerate lag
	// (Leaderboard, CurrencyLog, Collection), such as a readreplica.Router;
	// nil reads everything from the service's pool. Writes and the reads
	// that follow them (balances, inventory, vault, buffs) always use the
	// service's pool.
	Reads ReadRouter
	// Premium names the Discord SKUs of the premium offerings; zero IDs
	// sell nothing, and nobody has premium perks.
	Premium PremiumSKUs
	// Events is the calendar of seasonal events (season.go); nil runs
	// none.
	Events *Events
}

// ReadRouter runs a read that tolerates lag on the pool it picks (a
// replica, or the primary when the replica is behind or down).
type ReadRouter interface {
	Read(ctx context.Context, read func(ctx context.Context, pool *pgxpool.Pool) error) error
}

// DefaultMaxAttempts is how many times a transaction is tried when
// Config.MaxAttempts is 0.
const DefaultMaxAttempts = 40

// withDefaults returns c with each zero field set to its default.
func (c Config) withDefaults() Config {
	if c.Catalog == nil {
		c.Catalog = DefaultCatalog()
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = DefaultMaxAttempts
	}
	if c.Rand == nil {
		c.Rand = rand.NewPCG(uint64(time.Now().UnixNano()), 0x63686f70)
	}
	return c
}

// Service is the economy domain on a PostgreSQL pool. It is safe for
// concurrent use by many goroutines and by many nodes on one database.
type Service struct {
	pool        *pgxpool.Pool
	cat         *Catalog
	now         func() time.Time
	maxAttempts int
	tracer      trace.Tracer
	cooldowns   CooldownCache
	reads       ReadRouter
	skus        PremiumSKUs
	events      *Events
	battles     battleCache

	randMu sync.Mutex
	rand   *rand.Rand

	txTotal  *prometheus.CounterVec
	retries  *prometheus.CounterVec
	giveUps  *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// New returns a Service on pool. Run Migrate first.
func New(pool *pgxpool.Pool, cfg Config) (*Service, error) {
	cfg = cfg.withDefaults()
	s := &Service{pool: pool, cat: cfg.Catalog, now: cfg.Now, maxAttempts: cfg.MaxAttempts,
		cooldowns: cfg.Cooldowns, reads: cfg.Reads, skus: cfg.Premium, events: cfg.Events, rand: rand.New(cfg.Rand),
		tracer: otel.Tracer("github.com/chopsticks-bot/chopsticks/economy")}
	s.txTotal = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chopsticks_economy_transactions_total",
		Help: "Economy operations committed, by kind (replays and rejections included).",
	}, []string{"kind"})
	s.retries = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chopsticks_economy_retries_total",
		Help: "Economy transaction attempts retried after a serialization failure or deadlock, by kind.",
	}, []string{"kind"})
	s.giveUps = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "chopsticks_economy_given_up_total",
		Help: "Economy transactions given up after the retry bound, by kind.",
	}, []string{"kind"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "chopsticks_db_query_duration_seconds",
		Help:    "Duration of one economy database transaction attempt, by operation.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
	}, []string{"op"})
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{s.txTotal, s.retries, s.giveUps, s.duration} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("economy metrics: %w", err)
			}
		}
	}
	return s, nil
}

// Catalog returns the game data the service plays by.
func (s *Service) Catalog() *Catalog { return s.cat }

// intn returns a random int in [0, n).
func (s *Service) int64n(n int64) int64 {
	s.randMu.Lock()
	defer s.randMu.Unlock()
	return s.rand.Int64N(n)
}

// Op identifies one mutating request: its interaction ID, or the operation
// ID carried in a button's custom_id.
type Op string

func (o Op) valid() bool { return len(o) > 0 && len(o) <= 200 }

// retryable reports whether err is a serialization failure or deadlock,
// or two transactions racing to create the same new account (the loser
// retries and finds the row).
func retryable(err error) bool {
	if errors.Is(err, errBattleMoved) {
		return true
	}
	var pgErr *pgconn.PgError
	if !errors.As(err, &pgErr) {
		return false
	}
	return pgErr.Code == "40001" || pgErr.Code == "40P01" ||
		pgErr.Code == "23505" && pgErr.ConstraintName == "accounts_pkey"
}

func sqlState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// backoff sleeps before attempt n (n >= 1): full jitter on an exponential
// ceiling from 1 ms to 50 ms.
func (s *Service) backoff(ctx context.Context, n int) error {
	ceil := time.Millisecond << min(n-1, 6)
	if ceil > 50*time.Millisecond {
		ceil = 50 * time.Millisecond
	}
	d := time.Duration(s.int64n(int64(ceil)) + 1)
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// retry runs attempt until it succeeds, fails with a non-retryable error,
// or the bound is reached. It records the span, retries and duration.
func (s *Service) retry(ctx context.Context, kind string, attempt func(ctx context.Context) error) error {
	ctx, span := s.tracer.Start(ctx, "economy."+kind, trace.WithSpanKind(trace.SpanKindInternal))
	defer span.End()
	var err error
	n := 0
	for n = 0; n < s.maxAttempts; n++ {
		if n > 0 {
			s.retries.WithLabelValues(kind).Inc()
			if berr := s.backoff(ctx, n); berr != nil {
				err = fmt.Errorf("economy %s: %w (last attempt: %w)", kind, berr, err)
				break
			}
		}
		start := time.Now()
		err = attempt(ctx)
		s.duration.WithLabelValues(kind).Observe(time.Since(start).Seconds())
		if err == nil || !retryable(err) {
			break
		}
	}
	span.SetAttributes(attribute.Int("economy.retries", min(n, s.maxAttempts-1)), attribute.String("economy.kind", kind))
	if err != nil && retryable(err) && ctx.Err() == nil {
		s.giveUps.WithLabelValues(kind).Inc()
		err = fmt.Errorf("%w: %s after %d attempts: %w", ErrRetriesExhausted, kind, n, err)
	}
	if err != nil && !isRefusal(err) {
		span.RecordError(err)
		span.SetStatus(codes.Error, err.Error())
	}
	if err == nil || isRefusal(err) {
		s.txTotal.WithLabelValues(kind).Inc()
	}
	return err
}

// txn is one attempt of a mutating operation: the transaction plus the
// ledger legs and item legs it will post with the operation row.
type txn struct {
	pgx.Tx
	s        *Service
	user     int64
	now      time.Time
	memo     string
	hdr      header
	legs     map[int64]int64
	itemLegs []itemLeg
}

type itemLeg struct {
	owner  int64
	key    string
	delta  int
	reason string
}

// header is what an operation row records besides its result: for admin
// adjustments, who made it and why.
type header struct {
	admin  int64
	reason string
	memo   string // the operation's memo unless fn sets another
}

// move records that account receives amount (negative: pays) in this
// transaction's ledger; post writes the legs.
func (t *txn) move(account, amount int64) { t.legs[account] += amount }

// items records a change in the count of an owner's items.
func (t *txn) items(owner int64, key string, delta int, reason string) {
	t.itemLegs = append(t.itemLegs, itemLeg{owner, key, delta, reason})
}

// mutate runs fn as operation op of user in a SERIALIZABLE transaction,
// retried; it stores fn's result (or refusal) with the operation and
// posts the legs fn recorded. When op was already applied it returns the
// stored result in out and changes nothing; replayed reports that.
func (s *Service) mutate(ctx context.Context, kind string, op Op, user int64, out any,
	fn func(ctx context.Context, t *txn) (any, error)) (replayed bool, err error) {
	return s.mutateAs(ctx, kind, op, user, header{}, out, fn)
}

// mutateAs is mutate with hdr recorded on the operation row, success or
// refusal alike.
func (s *Service) mutateAs(ctx context.Context, kind string, op Op, user int64, hdr header, out any,
	fn func(ctx context.Context, t *txn) (any, error)) (replayed bool, err error) {
	if !op.valid() {
		return false, ErrBadOperation
	}
	if user <= 0 {
		return false, ErrBadUser
	}
	var stored []byte
	err = s.retry(ctx, kind, func(ctx context.Context) error {
		stored, replayed = nil, false
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
		if err != nil {
			return fmt.Errorf("economy %s: begin: %w", kind, err)
		}
		defer tx.Rollback(context.WithoutCancel(ctx))
		t := &txn{Tx: tx, s: s, user: user, now: s.now(), memo: hdr.memo, hdr: hdr, legs: map[int64]int64{}}
		res, ferr := fn(ctx, t)
		if ferr != nil && !isRefusal(ferr) {
			return ferr
		}
		if ferr != nil {
			// A refusal: drop whatever fn did, keep only the refusal.
			if err := tx.Rollback(ctx); err != nil {
				return err
			}
			se, _ := encodeRefusal(ferr)
			b, _ := json.Marshal(se)
			stored = b
			tx, err = s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.Serializable})
			if err != nil {
				return fmt.Errorf("economy %s: begin: %w", kind, err)
			}
			defer tx.Rollback(context.WithoutCancel(ctx))
			t = &txn{Tx: tx, s: s, user: user, memo: hdr.memo, hdr: hdr, legs: map[int64]int64{}}
		} else {
			b, err := json.Marshal(res)
			if err != nil {
				return fmt.Errorf("economy %s: encode result: %w", kind, err)
			}
			stored = b
		}
		var id int64
		var admin *int64
		var reason *string
		if t.hdr.admin != 0 {
			admin, reason = &t.hdr.admin, &t.hdr.reason
		}
		err = tx.QueryRow(ctx, `INSERT INTO economy.transactions (op_id, user_id, kind, memo, result, admin_id, reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (op_id) DO NOTHING RETURNING id`,
			string(op), user, kind, t.memo, stored, admin, reason).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			replayed = true
			return tx.Rollback(ctx)
		}
		if err != nil {
			return fmt.Errorf("economy %s: store operation: %w", kind, err)
		}
		if err := t.post(ctx, id); err != nil {
			return fmt.Errorf("economy %s: %w", kind, err)
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("economy %s: commit: %w", kind, err)
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	if replayed {
		if err := s.pool.QueryRow(ctx, `SELECT result FROM economy.transactions WHERE op_id = $1`, string(op)).Scan(&stored); err != nil {
			return false, fmt.Errorf("economy %s: read stored result: %w", kind, err)
		}
	}
	return replayed, decodeResult(stored, out)
}

// decodeResult turns a stored result into out, or into its refusal.
func decodeResult(stored []byte, out any) error {
	var se storedError
	if err := json.Unmarshal(stored, &se); err == nil && se.Err != "" {
		return se.decode()
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(stored, out); err != nil {
		return fmt.Errorf("economy: decode stored result: %w", err)
	}
	return nil
}

// post writes the recorded ledger legs and item legs under transaction id.
func (t *txn) post(ctx context.Context, id int64) error {
	var accts, amts []int64
	for a, v := range t.legs {
		if v != 0 {
			accts = append(accts, a)
			amts = append(amts, v)
		}
	}
	if len(accts) > 0 {
		if _, err := t.Exec(ctx, `INSERT INTO economy.ledger_legs (account_id, tx_id, amount)
			SELECT a, $1, v FROM unnest($2::bigint[], $3::bigint[]) AS l(a, v)`, id, accts, amts); err != nil {
			return fmt.Errorf("post legs: %w", err)
		}
	}
	if len(t.itemLegs) > 0 {
		owners := make([]int64, len(t.itemLegs))
		keys := make([]string, len(t.itemLegs))
		deltas := make([]int32, len(t.itemLegs))
		reasons := make([]string, len(t.itemLegs))
		for i, l := range t.itemLegs {
			owners[i], keys[i], deltas[i], reasons[i] = l.owner, l.key, int32(l.delta), l.reason
		}
		if _, err := t.Exec(ctx, `INSERT INTO economy.item_legs (tx_id, owner_id, item_key, delta, reason)
			SELECT $1, o, k, d, r FROM unnest($2::bigint[], $3::text[], $4::int[], $5::text[]) AS l(o, k, d, r)`,
			id, owners, keys, deltas, reasons); err != nil {
			return fmt.Errorf("post item legs: %w", err)
		}
	}
	return nil
}

// read runs fn in a read-only REPEATABLE READ transaction (a consistent
// snapshot), retried like writes.
func (s *Service) read(ctx context.Context, kind string, fn func(ctx context.Context, tx pgx.Tx) error) error {
	return s.retry(ctx, kind, func(ctx context.Context) error { return readOn(ctx, s.pool, kind, fn) })
}

// readLagging is read for the views that tolerate lag: it runs on the
// pool Config.Reads picks.
func (s *Service) readLagging(ctx context.Context, kind string, fn func(ctx context.Context, tx pgx.Tx) error) error {
	if s.reads == nil {
		return s.read(ctx, kind, fn)
	}
	return s.retry(ctx, kind, func(ctx context.Context) error {
		return s.reads.Read(ctx, func(ctx context.Context, pool *pgxpool.Pool) error { return readOn(ctx, pool, kind, fn) })
	})
}

// readOn runs fn in a read-only REPEATABLE READ transaction on pool.
func readOn(ctx context.Context, pool *pgxpool.Pool, kind string, fn func(ctx context.Context, tx pgx.Tx) error) error {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return fmt.Errorf("economy %s: begin: %w", kind, err)
	}
	defer tx.Rollback(context.WithoutCancel(ctx))
	if err := fn(ctx, tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}
