// Command economy benchmarks economy transfers against pgbench's TPC-B on
// the same PostgreSQL server in the same run: 32 concurrent clients over
// 100,000 accounts (uniform), then over 10 hot accounts, each for a fixed
// duration, printing transfers/s, p50/p99 latency, transactions given up
// and the ratio to pgbench's tps.
//
//	go run ./bench/economy [-dsn postgres://...] [-duration 20s]
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
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/bench/benchdb"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/refusal"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/economy:", err)
		os.Exit(1)
	}
}

type config struct {
	dsn      string
	duration time.Duration
	clients  int
	accounts int64
	hot      int64
	scale    int
	jobs     int
}

func run() error {
	var cfg config
	flag.StringVar(&cfg.dsn, "dsn", "", "PostgreSQL server URL (superuser); empty starts a local server")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "duration of each measured phase")
	flag.IntVar(&cfg.clients, "clients", 32, "concurrent clients")
	flag.Int64Var(&cfg.accounts, "accounts", 100_000, "accounts for the uniform phase")
	flag.Int64Var(&cfg.hot, "hot", 10, "accounts for the hot phase")
	flag.IntVar(&cfg.scale, "scale", 10, "pgbench scale factor")
	flag.IntVar(&cfg.jobs, "jobs", 2, "pgbench worker threads (-j)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	server, stopServer, err := benchdb.Server(ctx, cfg.dsn)
	if err != nil {
		return err
	}
	defer stopServer()
	econDSN, err := benchdb.Fresh(ctx, server, "economy_bench")
	if err != nil {
		return err
	}
	benchDSN, err := benchdb.Fresh(ctx, server, "pgbench_bench")
	if err != nil {
		return err
	}

	// pgbench TPC-B first, on its own database of the same server.
	fmt.Printf("pgbench -i -s %d ...\n", cfg.scale)
	if out, err := pgbench(ctx, benchDSN, "-i", "-q", "-s", strconv.Itoa(cfg.scale)); err != nil {
		return fmt.Errorf("pgbench init: %w\n%s", err, out)
	}
	pcfg, err := pgxpool.ParseConfig(econDSN)
	if err != nil {
		return err
	}
	pcfg.MaxConns = int32(cfg.clients)
	pcfg.MinConns = int32(cfg.clients)
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := economy.Migrate(ctx, pool); err != nil {
		return err
	}
	fmt.Printf("creating %d accounts ...\n", cfg.accounts)
	if err := seed(ctx, pool, cfg.accounts); err != nil {
		return err
	}
	if _, err := pool.Exec(ctx, "VACUUM ANALYZE economy.accounts"); err != nil {
		return err
	}

	secs := strconv.Itoa(int(cfg.duration.Seconds()))
	runPgbench := func() (float64, error) {
		fmt.Printf("pgbench -c %d -j %d -T %s ...\n", cfg.clients, cfg.jobs, secs)
		out, err := pgbench(ctx, benchDSN, "-c", strconv.Itoa(cfg.clients), "-j", strconv.Itoa(cfg.jobs), "-T", secs)
		if err != nil {
			return 0, fmt.Errorf("pgbench: %w\n%s", err, out)
		}
		m := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`).FindSubmatch(out)
		if m == nil {
			return 0, fmt.Errorf("pgbench output without tps:\n%s", out)
		}
		tps, _ := strconv.ParseFloat(string(m[1]), 64)
		lat := regexp.MustCompile(`latency average = ([0-9.]+ ms)`).FindSubmatch(out)
		latency := "?"
		if lat != nil {
			latency = string(lat[1])
		}
		fmt.Printf("pgbench TPC-B: %.0f tps (latency average %s)\n", tps, latency)
		return tps, nil
	}
	// pgbench runs before and after the uniform phase; the ratio uses the
	// mean, so that load from elsewhere on the machine weighs on both sides.
	pgBefore, err := runPgbench()
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	svc, err := economy.New(pool, economy.Config{MaxAttempts: 100, Registerer: reg})
	if err != nil {
		return err
	}
	uniform := transfers(ctx, svc, cfg, "u", func(r *rand.Rand) (int64, int64) {
		a := 1 + r.Int64N(cfg.accounts)
		b := 1 + r.Int64N(cfg.accounts-1)
		if b >= a {
			b++
		}
		return a, b
	})
	uniform.retries = counter(reg, "chopsticks_economy_retries_total")
	uniform.print("uniform", cfg.accounts)
	pgAfter, err := runPgbench()
	if err != nil {
		return err
	}
	pgTPS := (pgBefore + pgAfter) / 2
	hot := transfers(ctx, svc, cfg, "h", func(r *rand.Rand) (int64, int64) {
		a := 1 + r.Int64N(cfg.hot)
		b := 1 + r.Int64N(cfg.hot-1)
		if b >= a {
			b++
		}
		return a, b
	})
	hot.retries = counter(reg, "chopsticks_economy_retries_total") - uniform.retries
	hot.print("hot", cfg.hot)

	rep, err := economy.Audit(ctx, pool)
	if err != nil {
		return err
	}
	fmt.Printf("\nresults (%d clients, %s per phase, %d CPUs)\n", cfg.clients, cfg.duration, numCPU())
	fmt.Printf("  pgbench TPC-B (scale %d):  %8.0f tps  (mean of %.0f before and %.0f after the uniform phase)\n", cfg.scale, pgTPS, pgBefore, pgAfter)
	fmt.Printf("  uniform transfers:        %8.0f /s  ratio %.2fx pgbench  p50 %s  p99 %s  given up %d\n",
		uniform.rate(), uniform.rate()/pgTPS, uniform.pct(50), uniform.pct(99), uniform.gaveUp)
	fmt.Printf("  hot (%d accounts):        %8.0f /s  p50 %s  p99 %s  given up %d\n",
		cfg.hot, hot.rate(), hot.pct(50), hot.pct(99), hot.gaveUp)
	fmt.Printf("  audit: %v\n", okText(rep.Err()))
	return nil
}

func okText(err error) string {
	if err == nil {
		return "ok (sum(wallet+bank) + sum(system legs) = 0, no negative balance, every transaction balanced)"
	}
	return err.Error()
}

func numCPU() int { return runtime.NumCPU() }

type result struct {
	n, rejected, gaveUp int64
	retries             float64
	elapsed             time.Duration
	lat                 []time.Duration
}

func (r *result) rate() float64 { return float64(r.n) / r.elapsed.Seconds() }

func (r *result) pct(p int) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := (len(r.lat)*p + 99) / 100
	return r.lat[min(len(r.lat)-1, max(0, i-1))].Round(10 * time.Microsecond)
}

func (r *result) print(name string, accounts int64) {
	fmt.Printf("%s (%d accounts): %d transfers in %s = %.0f/s, p50 %s, p99 %s, rejected %d, retries %.0f, given up %d\n",
		name, accounts, r.n, r.elapsed.Round(time.Millisecond), r.rate(), r.pct(50), r.pct(99), r.rejected, r.retries, r.gaveUp)
}

// transfers runs cfg.clients goroutines paying between the accounts pair
// picks, for cfg.duration.
func transfers(ctx context.Context, svc *economy.Service, cfg config, tag string, pair func(*rand.Rand) (int64, int64)) *result {
	ctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		res    = &result{}
		n, rej atomic.Int64
		gaveUp atomic.Int64
		start  = time.Now()
	)
	for c := 0; c < cfg.clients; c++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(c), uint64(time.Now().UnixNano())))
			var lat []time.Duration
			for i := 0; ctx.Err() == nil; i++ {
				from, to := pair(r)
				t0 := time.Now()
				_, err := svc.Pay(ctx, economy.PayRequest{
					Op:   economy.Op(fmt.Sprintf("%s-%d-%d", tag, c, i)),
					From: from, To: to, Amount: economy.Exact(1 + r.Int64N(100)),
				})
				switch {
				case err == nil:
					n.Add(1)
					lat = append(lat, time.Since(t0))
				case ctx.Err() != nil:
				case errors.Is(err, economy.ErrRetriesExhausted):
					gaveUp.Add(1)
				case errors.As(err, new(*refusal.Error)):
					rej.Add(1)
				default:
					fmt.Fprintln(os.Stderr, "transfer:", err)
				}
			}
			mu.Lock()
			res.lat = append(res.lat, lat...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	res.elapsed = time.Since(start)
	res.n, res.rejected, res.gaveUp = n.Load(), rej.Load(), gaveUp.Load()
	slices.Sort(res.lat)
	return res
}

// counter sums a counter's values over its labels.
func counter(g prometheus.Gatherer, name string) float64 {
	mfs, err := g.Gather()
	if err != nil {
		return 0
	}
	var sum float64
	for _, mf := range mfs {
		if mf.GetName() == name {
			for _, m := range mf.GetMetric() {
				sum += m.GetCounter().GetValue()
			}
		}
	}
	return sum
}

// seed creates accounts 1..n with 1,000,000 credits each, minted in one
// balanced ledger transaction.
func seed(ctx context.Context, pool *pgxpool.Pool, n int64) error {
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
		_, err := tx.Exec(ctx, `INSERT INTO economy.ledger_legs (account_id, tx_id, amount)
			SELECT g, $2::bigint, $3::bigint FROM generate_series(1, $1::bigint) g
			UNION ALL SELECT -1, $2::bigint, -$1::bigint * $3::bigint`, n, id, each)
		return err
	})
}

// pgbench runs the pgbench binary against dsn.
func pgbench(ctx context.Context, dsn string, args ...string) ([]byte, error) {
	path, err := exec.LookPath("pgbench")
	if err != nil {
		return nil, fmt.Errorf("pgbench is not installed (apt-get install -y postgresql-contrib): %w", err)
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return nil, err
	}
	full := append([]string{"-h", u.Hostname(), "-p", u.Port(), "-U", u.User.Username()}, args...)
	full = append(full, u.Path[1:])
	return exec.CommandContext(ctx, path, full...).CombinedOutput()
}
