// Command leaderboard benchmarks the leaderboards at scale: 1,000,000
// accounts, 1,000 balance changes per second (economy transfers, open
// loop), first alone and then while readers fetch random pages with the
// caller's rank. It prints the transfers' latency in both phases and
// their ratio (the readers' cost to writers), the page-and-rank latency
// beside a baseline read in the same run (every other read fetches the
// same kind of page in two round trips, as Page did before its script),
// and how long a change takes to show on the board.
//
//	go run ./bench/leaderboard [-accounts 1000000] [-rate 1000] [-duration 20s] [-readers 8] [-read-rate 500] [-cpuprofile file]
//
// It starts PostgreSQL and Redis from the local binaries in a temporary
// directory and removes them afterwards.
package main

import (
	"context"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/bench/cpuprofile"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/leaderboard:", err)
		os.Exit(1)
	}
}

type config struct {
	accounts int64
	rate     int
	duration time.Duration
	readers  int
	readRate int
}

func run() error {
	var cfg config
	flag.Int64Var(&cfg.accounts, "accounts", 1_000_000, "accounts on the boards")
	flag.IntVar(&cfg.rate, "rate", 1000, "balance changes (transfers) per second")
	flag.DurationVar(&cfg.duration, "duration", 20*time.Second, "duration of each phase")
	flag.IntVar(&cfg.readers, "readers", 8, "concurrent board readers in the second phase")
	flag.IntVar(&cfg.readRate, "read-rate", 500, "page-and-rank reads per second over all readers (0: as fast as they go)")
	cpuProfile := flag.String("cpuprofile", "", "write the bench process's CPU profile of the second phase to this file")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()

	dir, err := os.MkdirTemp("", "chopsticks-bench-lb-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	pg, err := localserver.StartPostgres(ctx, dir+"/pg", 0)
	if err != nil {
		return err
	}
	defer pg.Stop()
	rs, err := localserver.StartRedis(ctx, dir+"/redis", 0, false)
	if err != nil {
		return err
	}
	defer rs.Stop()
	pcfg, err := pgxpool.ParseConfig(pg.DSN("postgres"))
	if err != nil {
		return err
	}
	pcfg.MaxConns = 48
	pool, err := pgxpool.NewWithConfig(ctx, pcfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr(), PoolSize: 64})
	defer rdb.Close()
	if err := economy.Migrate(ctx, pool); err != nil {
		return err
	}
	svc, err := economy.New(pool, economy.Config{})
	if err != nil {
		return err
	}
	boards := economy.NewLeaderboards(svc, rdb)

	fmt.Printf("creating %d accounts ...\n", cfg.accounts)
	if err := seed(ctx, pool, cfg.accounts); err != nil {
		return err
	}
	start := time.Now()
	if err := boards.Rebuild(ctx); err != nil {
		return err
	}
	fmt.Printf("rebuild of the boards from PostgreSQL: %s\n", time.Since(start).Round(time.Millisecond))
	if n, err := rdb.ZCard(ctx, economy.BoardKeyPrefix+"wealth").Result(); err != nil || n != cfg.accounts {
		return fmt.Errorf("wealth board holds %d accounts (%v), want %d", n, err, cfg.accounts)
	}

	procCtx, stopProc := context.WithCancel(ctx)
	var procWG sync.WaitGroup
	procWG.Add(1)
	go func() {
		defer procWG.Done()
		boards.Run(procCtx, func(err error) { fmt.Fprintln(os.Stderr, "processor:", err) })
	}()
	defer func() { stopProc(); procWG.Wait() }()

	var opSeq atomic.Int64
	transfer := func(ctx context.Context, r *rand.Rand) (time.Duration, error) {
		from := r.Int64N(cfg.accounts) + 1
		to := r.Int64N(cfg.accounts) + 1
		if to == from {
			to = from%cfg.accounts + 1
		}
		t0 := time.Now()
		_, err := svc.Pay(ctx, economy.PayRequest{Op: economy.Op("lb-bench-" + strconv.FormatInt(opSeq.Add(1), 10)),
			From: from, To: to, Amount: economy.Amount{Value: r.Int64N(100) + 1}})
		return time.Since(t0), err
	}

	fmt.Printf("phase 1: %d transfers/s for %s, no readers ...\n", cfg.rate, cfg.duration)
	alone, err := writers(ctx, cfg, transfer)
	if err != nil {
		return err
	}
	fmt.Printf("phase 2: %d transfers/s for %s, %d readers ...\n", cfg.rate, cfg.duration, cfg.readers)
	stopProfile, err := cpuprofile.Start(*cpuProfile)
	if err != nil {
		return err
	}
	defer stopProfile()
	readCtx, stopReaders := context.WithCancel(ctx)
	var pages, twoTrips, vis []time.Duration
	var rmu sync.Mutex
	var rwg sync.WaitGroup
	var readErrs atomic.Int64
	for i := 0; i < cfg.readers; i++ {
		rwg.Add(1)
		go func() {
			defer rwg.Done()
			r := rand.New(rand.NewPCG(uint64(i), 7))
			maxPage := int(cfg.accounts / economy.BoardPageSize)
			var tick <-chan time.Time
			if cfg.readRate > 0 {
				t := time.NewTicker(time.Second * time.Duration(cfg.readers) / time.Duration(cfg.readRate))
				defer t.Stop()
				tick = t.C
			}
			for n := 0; readCtx.Err() == nil; n++ {
				if tick != nil {
					select {
					case <-tick:
					case <-readCtx.Done():
						return
					}
				}
				// Every other read is the baseline: the same page read in
				// two round trips, as Page did before its script.
				read, into := boards.Page, &pages
				if n%2 == 1 {
					read, into = func(ctx context.Context, b economy.Board, guild int64, page int, caller int64) (economy.BoardPage, error) {
						return twoTripPage(ctx, rdb, page, caller)
					}, &twoTrips
				}
				t0 := time.Now()
				_, err := read(readCtx, economy.BoardWealth, 0, r.IntN(maxPage), r.Int64N(cfg.accounts)+1)
				d := time.Since(t0)
				if err != nil {
					if readCtx.Err() == nil {
						readErrs.Add(1)
					}
					continue
				}
				rmu.Lock()
				*into = append(*into, d)
				rmu.Unlock()
			}
		}()
	}
	// Visibility probe: a transfer to a random account, then the board
	// is polled until it shows the account's new net worth.
	rwg.Add(1)
	go func() {
		defer rwg.Done()
		r := rand.New(rand.NewPCG(99, 1))
		for readCtx.Err() == nil {
			to := r.Int64N(cfg.accounts) + 1
			from := to%cfg.accounts + 1
			p, err := svc.Pay(readCtx, economy.PayRequest{Op: economy.Op("lb-probe-" + strconv.FormatInt(opSeq.Add(1), 10)),
				From: from, To: to, Amount: economy.Amount{Value: 1}})
			if err != nil {
				continue
			}
			done := time.Now()
			a, err := svc.Balance(readCtx, to)
			if err != nil {
				continue
			}
			_ = p
			for readCtx.Err() == nil {
				s, err := rdb.ZScore(readCtx, economy.BoardKeyPrefix+"wealth", strconv.FormatInt(to, 10)).Result()
				if err == nil && int64(s) >= a.NetWorth() {
					rmu.Lock()
					vis = append(vis, time.Since(done))
					rmu.Unlock()
					break
				}
				time.Sleep(5 * time.Millisecond)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}()
	loaded, err := writers(ctx, cfg, transfer)
	stopReaders()
	rwg.Wait()
	if err != nil {
		return err
	}

	fmt.Printf("\ntransfers alone:        %s\n", alone)
	fmt.Printf("transfers with readers: %s\n", loaded)
	fmt.Printf("transfer p99 with/without readers: %.2f (target <= 1.10)\n", float64(loaded.p99)/float64(alone.p99))
	fmt.Printf("transfer p50 with/without readers: %.2f\n", float64(loaded.p50)/float64(alone.p50))
	p50, p99 := pct(pages, 50), pct(pages, 99)
	fmt.Printf("page + caller's rank (%d reads, %d errors, %.0f/s): p50 %s, p99 %s (target p99 <= 20ms)\n",
		len(pages)+len(twoTrips), readErrs.Load(), float64(len(pages)+len(twoTrips))/cfg.duration.Seconds(), p50, p99)
	fmt.Printf("baseline, the same reads in two round trips (%d reads): p50 %s, p99 %s; page p99 / baseline p99: %.2f\n",
		len(twoTrips), pct(twoTrips, 50), pct(twoTrips, 99), float64(p99)/float64(max(pct(twoTrips, 99), 1)))
	fmt.Printf("change visible on the board (%d probes): p50 %s, p99 %s, max %s (target <= 1s)\n",
		len(vis), pct(vis, 50), pct(vis, 99), pct(vis, 100))
	return nil
}

type phase struct {
	done, failed, late int
	rate               float64
	p50, p99           time.Duration
}

func (p phase) String() string {
	return fmt.Sprintf("%d done (%.0f/s), %d failed, %d started late; latency p50 %s, p99 %s",
		p.done, p.rate, p.failed, p.late, p.p50, p.p99)
}

// writers runs transfers at cfg.rate per second, open loop, for
// cfg.duration and measures them.
func writers(ctx context.Context, cfg config, transfer func(context.Context, *rand.Rand) (time.Duration, error)) (phase, error) {
	const workers = 32
	jobs := make(chan struct{}, cfg.rate)
	var mu sync.Mutex
	var lat []time.Duration
	var failed int
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), uint64(time.Now().UnixNano())))
			for range jobs {
				d, err := transfer(ctx, r)
				mu.Lock()
				if err != nil {
					failed++
				} else {
					lat = append(lat, d)
				}
				mu.Unlock()
			}
		}()
	}
	interval := time.Second / time.Duration(cfg.rate)
	start := time.Now()
	late := 0
	for i := 0; ; i++ {
		at := start.Add(time.Duration(i) * interval)
		if at.Sub(start) >= cfg.duration || ctx.Err() != nil {
			break
		}
		if d := time.Until(at); d > 0 {
			time.Sleep(d)
		}
		select {
		case jobs <- struct{}{}:
		default:
			late++ // every worker busy and the queue full: the writers cannot keep up
		}
	}
	close(jobs)
	wg.Wait()
	el := time.Since(start)
	return phase{done: len(lat), failed: failed, late: late, rate: float64(len(lat)) / el.Seconds(),
		p50: pct(lat, 50), p99: pct(lat, 99)}, ctx.Err()
}

// twoTripPage is the baseline of Leaderboards.Page: one page of the
// global wealth board and the caller's rank in a pipeline, then the names
// in a second round trip.
func twoTripPage(ctx context.Context, rdb *redis.Client, page int, caller int64) (economy.BoardPage, error) {
	key, member := economy.BoardKeyPrefix+"wealth", strconv.FormatInt(caller, 10)
	start := int64(page) * economy.BoardPageSize
	pipe := rdb.Pipeline()
	card := pipe.ZCard(ctx, key)
	rng := pipe.ZRevRangeWithScores(ctx, key, start, start+economy.BoardPageSize-1)
	pipe.ZRevRank(ctx, key, member)
	pipe.ZScore(ctx, key, member)
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return economy.BoardPage{}, err
	}
	out := economy.BoardPage{Total: card.Val()}
	fields := []string{member}
	for i, z := range rng.Val() {
		id, _ := strconv.ParseInt(z.Member.(string), 10, 64)
		out.Rows = append(out.Rows, economy.BoardEntry{Rank: start + int64(i) + 1, UserID: id, Value: int64(z.Score)})
		fields = append(fields, z.Member.(string))
	}
	if err := rdb.HMGet(ctx, economy.BoardKeyPrefix+"names", fields...).Err(); err != nil {
		return economy.BoardPage{}, err
	}
	return out, nil
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)].Round(10 * time.Microsecond)
}

// seed creates n accounts with varied balances through the ledger, and
// clears the board outbox: the rebuild puts them on the boards.
func seed(ctx context.Context, pool *pgxpool.Pool, n int64) error {
	return pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		var id int64
		if err := tx.QueryRow(ctx, `INSERT INTO economy.transactions (op_id, user_id, kind, result)
			VALUES ('lb-bench-seed', 1, 'grant', '{}') RETURNING id`).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO economy.accounts (user_id, wallet, bank_capacity)
			SELECT g, 1000 + (g * 7919) % 1000000, 10000 FROM generate_series(1, $1::bigint) g`, n); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO economy.ledger_legs (account_id, tx_id, amount)
			SELECT user_id, $1::bigint, wallet FROM economy.accounts
			UNION ALL SELECT -1, $1::bigint, -sum(wallet)::bigint FROM economy.accounts`, id); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `TRUNCATE economy.board_outbox, economy.achievement_outbox`)
		return err
	})
}
