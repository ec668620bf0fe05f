// Command battles benchmarks battle settlements against uniform economy
// transfers on the same PostgreSQL server in the same run: rounds of 1,000
// concurrent battles, each one hit from its end and played by a caller of
// its own (each settlement moves three legs: escrow to the winner, escrow
// to the house), beside 1,000 concurrent callers paying between 100,000
// accounts. Both go through a pool configured as the node configures its
// own from POSTGRES_URL (pgxpool's default size: the larger of 4 and the
// CPU count), as a node with that many battles and payers would; -pool N
// sets another size, and the results say so. The rounds
// settle on the node that saw the battles (as the node that served the
// previous turn does: one round trip per move), then -cold-rounds on a
// node new to them (it reads each battle first), after one unmeasured
// round that warms the pool's connections. The fighters' user IDs are
// spread over the accounts as the transfers' are (-adjacent: users
// 1..2×battles, neighbours in every index). It prints settlements/s,
// transfers/s, their ratio (target ≥ 0.5×), moves that did not settle,
// transactions given up, the CPU time each operation costs (this process
// and the server's, which other load on the machine does not change) and
// the audit.
//
//	go run ./bench/battles [-dsn postgres://...] [-battles 1000] [-callers 1000] [-pool 0] [-rounds 3] [-cold-rounds 1] [-duration 10s] [-adjacent] [-cpuprofile file]
//
// Without -dsn it starts a PostgreSQL server from the local binaries in a
// temporary directory and removes it afterwards.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/bench/benchdb"
	"github.com/chopsticks-bot/chopsticks/bench/cpuprofile"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/node"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/battles:", err)
		os.Exit(1)
	}
}

type config struct {
	dsn     string
	battles int
	rounds  int
	// coldRounds settle on a node that never saw the battles.
	coldRounds int
	// callers pay concurrently in the transfer phase.
	callers int
	// pool is the pool's size: 0 leaves the node's default.
	pool     int
	accounts int64
	duration time.Duration
	// stride spaces the fighters' user IDs over the accounts, as the
	// transfers draw theirs from all of them (1: users 1..2×battles).
	stride int64
}

// fighter is the user ID of the k-th fighter.
func (c config) fighter(k int64) int64 { return 1 + k*c.stride }

func run() error {
	var cfg config
	flag.StringVar(&cfg.dsn, "dsn", "", "PostgreSQL server URL (superuser); empty starts a local server")
	flag.IntVar(&cfg.battles, "battles", 1000, "concurrent battles per round")
	flag.IntVar(&cfg.rounds, "rounds", 3, "rounds of battles settled on the node that saw them")
	flag.IntVar(&cfg.coldRounds, "cold-rounds", 1, "rounds of battles settled on a node new to them")
	flag.IntVar(&cfg.callers, "callers", 1000, "concurrent callers of the transfer phase (each battle has a caller of its own)")
	flag.IntVar(&cfg.pool, "pool", 0, "PostgreSQL pool size; 0 is the node's default for POSTGRES_URL")
	flag.Int64Var(&cfg.accounts, "accounts", 100_000, "accounts for the transfers")
	flag.DurationVar(&cfg.duration, "duration", 10*time.Second, "duration of the transfer phase")
	cpuProfile := flag.String("cpuprofile", "", "write this process's CPU profile of the measured settlement rounds to `file`")
	adjacent := flag.Bool("adjacent", false, "fighters are users 1..2×battles, neighbours in every index, instead of spread over the accounts")
	flag.Parse()
	if cfg.accounts < int64(2*cfg.battles) {
		return errors.New("-accounts must be at least twice -battles")
	}
	cfg.stride = cfg.accounts / int64(2*cfg.battles)
	if *adjacent {
		cfg.stride = 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	server, stopServer, err := benchdb.Server(ctx, cfg.dsn)
	if err != nil {
		return err
	}
	defer stopServer()
	dsn, err := benchdb.Fresh(ctx, server, "battles_bench")
	if err != nil {
		return err
	}
	// The node's own parsing of POSTGRES_URL, so the pool is the one a
	// node would have.
	pcfg, err := node.ParsePostgresURL(dsn)
	if err != nil {
		return err
	}
	poolNote := "the node's default"
	if cfg.pool > 0 {
		pcfg.MaxConns = int32(cfg.pool)
		poolNote = "NOT the node's default, set with -pool"
	}
	conns := int(pcfg.MaxConns)
	fmt.Printf("pool: %d connections (%s)\n", conns, poolNote)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := economy.Migrate(ctx, pool); err != nil {
		return err
	}
	fmt.Printf("creating %d accounts and %d companions ...\n", cfg.accounts, 2*cfg.battles)
	if err := seed(ctx, pool, cfg, int64(2*cfg.battles)); err != nil {
		return err
	}
	reg := prometheus.NewRegistry()
	svc, err := economy.New(pool, economy.Config{MaxAttempts: 100, Registerer: reg})
	if err != nil {
		return err
	}

	// Every pooled connection open, so the meter sees all the server's
	// processes.
	var held []*pgxpool.Conn
	for range conns {
		c, err := pool.Acquire(ctx)
		if err != nil {
			return err
		}
		held = append(held, c)
	}
	for _, c := range held {
		c.Release()
	}
	meter, metered := newCPUMeter(ctx, pool)
	// cpuPhase starts measuring a phase's CPU time; the function it
	// returns stops. A phase the meter cannot read turns the figure off.
	cpuPhase := func() (stop func() time.Duration) {
		var a cpuMark
		var err error
		if metered {
			a, err = meter.mark(ctx)
		}
		return func() time.Duration {
			if !metered {
				return 0
			}
			var d time.Duration
			if err == nil {
				d, err = meter.since(a)
			}
			if err != nil {
				fmt.Fprintln(os.Stderr, "bench/battles: CPU time not shown:", err)
				metered = false
			}
			return d
		}
	}

	stopCPU := cpuPhase()
	tr := transfers(ctx, svc, cfg)
	tr.cpu = stopCPU()
	fmt.Printf("uniform transfers: %d in %s = %.0f/s, given up %d\n", tr.n, tr.elapsed.Round(time.Millisecond), tr.rate(), tr.gaveUp)

	// A node that served a battle's previous turn (or showed it) settles
	// it in one round trip; one seeing the battle first reads it first.
	// The warm rounds settle on the node that saw the battles, the cold
	// ones on a second service that never saw them.
	regCold := prometheus.NewRegistry()
	svcCold, err := economy.New(pool, economy.Config{MaxAttempts: 100, Registerer: regCold})
	if err != nil {
		return err
	}
	// Unmeasured, as the transfers amortise theirs over the whole phase:
	// every pooled connection runs the battle path once, as a node's
	// long-lived connections have (PostgreSQL compiles a plpgsql function
	// and plans its statements on a connection's first call).
	ids, err := openBattles(ctx, svc, pool, cfg, -1, false)
	if err != nil {
		return err
	}
	r, _ := settle(ctx, svc, ids)
	fmt.Printf("warm-up round (not counted): %d settlements in %s = %.0f/s\n", r.n, r.elapsed.Round(time.Millisecond), r.rate())

	stopProfile, err := cpuprofile.Start(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	var warm, cold phase
	for round := 0; round < cfg.rounds+cfg.coldRounds; round++ {
		p, on, g, name := &warm, svc, prometheus.Gatherer(reg), "round"
		if round >= cfg.rounds {
			p, on, g, name = &cold, svcCold, regCold, "cold round"
		}
		ids, err := openBattles(ctx, svc, pool, cfg, round, p == &warm)
		if err != nil {
			return err
		}
		before := retries(g)
		stopCPU := cpuPhase()
		r, m := settle(ctx, on, ids)
		r.cpu = stopCPU()
		fmt.Printf("%s %d: %d settlements in %s = %.0f/s (%d moves), retries %.0f, given up %d\n",
			name, round+1, r.n, r.elapsed.Round(time.Millisecond), r.rate(), m, retries(g)-before, r.gaveUp)
		p.add(r, m, int64(len(ids)))
	}
	rep, err := economy.Audit(ctx, pool)
	if err != nil {
		return err
	}
	audit := "ok"
	if err := rep.Err(); err != nil {
		audit = err.Error()
	}
	fmt.Printf("\nresults (pool of %d connections, %s; %d callers; %d CPUs)\n", conns, poolNote, cfg.callers, runtime.NumCPU())
	fmt.Printf("  uniform transfers:    %8.0f /s  given up %d\n", tr.rate(), tr.gaveUp)
	fmt.Printf("  battle settlements:   %8.0f /s  ratio %.2fx transfers (target >= 0.50x)  %d battles x %d rounds, %d moves, unsettled %d, given up %d\n",
		warm.rate(), warm.rate()/tr.rate(), cfg.battles, cfg.rounds, warm.moves, warm.unsettled, warm.gaveUp)
	if cfg.coldRounds > 0 {
		fmt.Printf("    on a node new to the battles (reads each first): %.0f /s  ratio %.2fx  %d rounds, %d moves, unsettled %d, given up %d\n",
			cold.rate(), cold.rate()/tr.rate(), cfg.coldRounds, cold.moves, cold.unsettled, cold.gaveUp)
	}
	if metered {
		// CPU per operation (this process and the server's) does not
		// depend on what else the machine runs: on a machine of its own
		// the bench is CPU-bound, and the ratio of the costs is the
		// throughput ratio there.
		fmt.Printf("  CPU per operation:    transfer %s, settlement %s (bench and server): ratio %.2fx on an otherwise idle machine\n",
			tr.perOp().Round(time.Microsecond), warm.perOp().Round(time.Microsecond), float64(tr.perOp())/float64(warm.perOp()))
	}
	fmt.Printf("  audit: %s\n", audit)
	return nil
}

type result struct {
	n, gaveUp int64
	elapsed   time.Duration
	cpu       time.Duration // CPU time used, when metered
}

// phase sums the rounds of one kind.
type phase struct {
	result
	moves, unsettled int64
}

func (p *phase) add(r result, moves, battles int64) {
	p.n += r.n
	p.gaveUp += r.gaveUp
	p.elapsed += r.elapsed
	p.cpu += r.cpu
	p.moves += moves
	p.unsettled += battles - r.n
}

func (r result) perOp() time.Duration { return r.cpu / time.Duration(max(1, r.n)) }

func (r result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

// transfers pays between uniform random accounts for cfg.duration: no
// caller starts a payment after it, and each finishes the one it started
// (a cancelled query would cost the pool its connection).
func transfers(ctx context.Context, svc *economy.Service, cfg config) result {
	var n, gaveUp atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(cfg.duration)
	for c := 0; c < cfg.callers; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), 1))
			for i := 0; ctx.Err() == nil && time.Now().Before(end); i++ {
				a := 1 + r.Int64N(cfg.accounts)
				b := 1 + r.Int64N(cfg.accounts-1)
				if b >= a {
					b++
				}
				_, err := svc.Pay(ctx, economy.PayRequest{Op: economy.Op(fmt.Sprintf("t-%d-%d", c, i)), From: a, To: b, Amount: economy.Exact(1 + r.Int64N(100))})
				switch {
				case err == nil:
					n.Add(1)
				case errors.Is(err, economy.ErrRetriesExhausted):
					gaveUp.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return result{n: n.Load(), gaveUp: gaveUp.Load(), elapsed: time.Since(start)}
}

// setupWorkers open the battles, unmeasured.
const setupWorkers = 64

// openBattles challenges and accepts cfg.battles battles (users 2i+1 vs
// 2i+2) and leaves each one hit from its end: both sides at 1 HP. With
// show, svc then reads each battle, as a node does that shows it or served
// its previous turn. This setup is not measured.
func openBattles(ctx context.Context, svc *economy.Service, pool *pgxpool.Pool, cfg config, round int, show bool) ([]economy.Battle, error) {
	if _, err := pool.Exec(ctx, `UPDATE economy.companions SET charge = 100, charge_at = now()`); err != nil {
		return nil, err
	}
	ids := make([]int64, cfg.battles)
	battles := make([]economy.Battle, cfg.battles)
	errs := make(chan error, setupWorkers)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range setupWorkers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= cfg.battles {
					return
				}
				a, b := cfg.fighter(int64(2*i)), cfg.fighter(int64(2*i+1))
				bt, err := svc.Challenge(ctx, economy.ChallengeRequest{Op: economy.Op(fmt.Sprintf("c-%d-%d", round, i)), Challenger: a, Challenged: b, Wager: 100})
				if err == nil {
					bt, err = svc.AcceptBattle(ctx, economy.Op(fmt.Sprintf("a-%d-%d", round, i)), bt.ID, b, "")
				}
				if err != nil {
					errs <- fmt.Errorf("battle %d: %w", i, err)
					return
				}
				ids[i], battles[i] = bt.ID, bt
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	if _, err := pool.Exec(ctx, `UPDATE economy.battles SET battle = jsonb_set(battle, '{play,hp}', '[1, 1]') WHERE id = ANY($1)`, ids); err != nil {
		return nil, err
	}
	// Fresh statistics, as autovacuum keeps them on a live database: the
	// planner then reads single rows by index, and SERIALIZABLE locks
	// those rows rather than whole tables.
	if _, err := pool.Exec(ctx, `ANALYZE economy.battles, economy.companions, economy.accounts, economy.transactions`); err != nil {
		return nil, err
	}
	for i := range battles {
		if !show {
			break
		}
		b, err := svc.GetBattle(ctx, battles[i].ID)
		if err != nil {
			return nil, err
		}
		battles[i] = b
	}
	return battles, nil
}

// settle plays every battle in battles to its end with the basic move,
// each battle by a caller of its own, all at once, and counts the
// settlements. Like a button, each move names its turn and presser: the
// client knows them from the last reply.
func settle(ctx context.Context, svc *economy.Service, battles []economy.Battle) (result, int64) {
	var n, gaveUp, moves atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for _, b := range battles {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			for k := 0; err == nil && b.State == economy.BattleActive; k++ {
				b, err = svc.MoveBattle(ctx, economy.Op(fmt.Sprintf("m-%d-%d", b.ID, k)), b.ID, b.Player(b.Play.Side), b.Play.Turn, 0)
				moves.Add(1)
			}
			switch {
			case err == nil:
				n.Add(1)
			case errors.Is(err, economy.ErrRetriesExhausted):
				gaveUp.Add(1)
			default:
				fmt.Fprintln(os.Stderr, "settle:", err)
			}
		}()
	}
	wg.Wait()
	return result{n: n.Load(), gaveUp: gaveUp.Load(), elapsed: time.Since(start)}, moves.Load()
}

// seed creates accounts 1..cfg.accounts with 1,000,000 credits each (one
// balanced ledger transaction) and a companion for each fighter.
func seed(ctx context.Context, pool *pgxpool.Pool, cfg config, fighters int64) error {
	n := cfg.accounts
	const each = 1_000_000
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO economy.transactions (op_id, user_id, kind, result)
			VALUES ('bench-seed', 1, 'grant', '{}') RETURNING id`).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO economy.accounts (user_id, wallet, bank_capacity)
			SELECT g, $2, 10000 FROM generate_series(1, $1::bigint) g`, n, each); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO economy.ledger_legs (account_id, tx_id, amount)
			SELECT g, $2::bigint, $3::bigint FROM generate_series(1, $1::bigint) g
			UNION ALL SELECT -1, $2::bigint, -$1::bigint * $3::bigint`, n, id, each); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `INSERT INTO economy.companions (owner_id, model, name, power, speed, focus, charm,
				charge, charge_at, mood, mood_at, created_at)
			SELECT 1 + g * $2::bigint, 'worker', 'Worker Bot', 7, 4, 6, 3, 100, now(), 80, now(), now()
			FROM generate_series(0, $1::bigint - 1) g`, fighters, cfg.stride)
		return err
	})
}

// retries sums the economy's retried attempts so far.
func retries(g prometheus.Gatherer) float64 {
	mfs, err := g.Gather()
	if err != nil {
		return 0
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == "chopsticks_economy_retries_total" {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}
