package economy_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/economy/economytest"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// Environment of TestMultiProcessConservation.
const (
	// conservationWorkerEnv holds a worker's JSON configuration; set, the
	// test binary runs as one node of the test instead of the test.
	conservationWorkerEnv = "CHOPSTICKS_ECONOMY_CONSERVATION_WORKER"
	// conservationOpsEnv sets the deliveries per goroutine per node
	// (default 300; 60 with -short); each node runs 12 goroutines.
	conservationOpsEnv = "CHOPSTICKS_ECONOMY_CONSERVATION_OPS"
	// conservationKillEnv=0 keeps the third node alive (default: SIGKILL
	// it midway).
	conservationKillEnv = "CHOPSTICKS_ECONOMY_CONSERVATION_KILL"
)

// conservationNodes is the number of node processes; the last one is
// killed midway unless conservationKillEnv=0.
const conservationNodes = 3

// workerConfig is what the parent tells each node process.
type workerConfig struct {
	DSN     string `json:"dsn"`
	Node    int    `json:"node"`
	Users   int64  `json:"users"`
	Hot     int64  `json:"hot"`
	Ops     int    `json:"ops"`     // deliveries per goroutine
	Shared  int    `json:"shared"`  // goroutines on the shared workload (same ops on every node)
	Own     int    `json:"own"`     // goroutines on the node's own workload
	Answers string `json:"answers"` // file for "op\tanswer" lines, written at the end
}

// workerReport is a node's last line on stdout.
type workerReport struct {
	Node    int               `json:"node"`
	Shared  economytest.Stats `json:"shared"`
	Own     economytest.Stats `json:"own"`
	Retries float64           `json:"retries"`
	GivenUp float64           `json:"given_up"`
	Seconds float64           `json:"seconds"`
	Errors  []string          `json:"errors,omitempty"`
}

const reportPrefix = "CONSERVATION_REPORT "

// TestMultiProcessConservation is the conservation test of the economy:
// three node processes (this test binary, re-executed) against one
// PostgreSQL run thousands of concurrent random operations: pays in cycles
// and among a few hot accounts, deposits, withdrawals, buys, sells,
// dailies, work, gathering, uses, market listings, purchases and
// cancellations (buyers colliding on the same listings) and whole trades.
// Every node delivers the same shared
// workload (the same operation IDs: duplicated interaction deliveries
// across nodes) plus its own; the last node is SIGKILLed midway. Afterwards
// the audit must hold: sum(wallet + bank) + sum(system legs) = 0, no
// negative balance, every ledger transaction balanced, no operation
// applied twice (and every delivered one stored once), item rows equal to
// the item ledger and to the purchases and finds, and every node got the
// same answer for every operation.
func TestMultiProcessConservation(t *testing.T) {
	if cfg := os.Getenv(conservationWorkerEnv); cfg != "" {
		runConservationWorker(t, cfg)
		return
	}
	ops := 300
	if testing.Short() {
		ops = 60
	}
	if v := os.Getenv(conservationOpsEnv); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			t.Fatalf("%s=%q: want a positive number", conservationOpsEnv, v)
		}
		ops = n
	}
	kill := os.Getenv(conservationKillEnv) != "0"
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	dsn := servertest.Postgres(t)
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if err := economy.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	const users, hot, funds = 40, 3, 20000
	if err := economytest.Fund(ctx, pool, users, funds); err != nil {
		t.Fatal(err)
	}

	dir := t.TempDir()
	type node struct {
		cfg    workerConfig
		cmd    *exec.Cmd
		report chan *workerReport
		killed bool
	}
	var nodes []*node
	start := time.Now()
	for i := 0; i < conservationNodes; i++ {
		cfg := workerConfig{DSN: dsn, Node: i, Users: users, Hot: hot, Ops: ops, Shared: 8, Own: 4,
			Answers: filepath.Join(dir, fmt.Sprintf("answers-%d", i))}
		b, _ := json.Marshal(cfg)
		cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestMultiProcessConservation$")
		cmd.Env = append(os.Environ(), conservationWorkerEnv+"="+string(b))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		n := &node{cfg: cfg, cmd: cmd, report: make(chan *workerReport, 1)}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		go func() {
			// Owned by the test: it ends when the child's stdout closes.
			var rep *workerReport
			sc := bufio.NewScanner(out)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				if rest, ok := strings.CutPrefix(sc.Text(), reportPrefix); ok {
					rep = new(workerReport)
					if err := json.Unmarshal([]byte(rest), rep); err != nil {
						rep = &workerReport{Node: -1, Errors: []string{err.Error()}}
					}
				}
			}
			n.report <- rep
		}()
		nodes = append(nodes, n)
	}

	if kill {
		// Kill the last node once a quarter of the shared operations (and
		// so of its own share of them) is stored: it is then mid-run, with
		// transactions in flight.
		victim := nodes[len(nodes)-1]
		threshold := int64(users + victim.cfg.Shared*ops/4)
		poll.Eventually(t, 2*time.Minute, func() bool {
			var n int64
			err := pool.QueryRow(ctx, `SELECT count(*) FROM economy.transactions`).Scan(&n)
			return err == nil && n >= threshold
		}, "a quarter of the operations")
		if err := victim.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatalf("SIGKILL node %d: %v (had it already finished?)", victim.cfg.Node, err)
		}
		victim.killed = true
		t.Logf("node %d SIGKILLed after %.1fs", victim.cfg.Node, time.Since(start).Seconds())
	}

	var reports []*workerReport
	for _, n := range nodes {
		rep := <-n.report
		err := n.cmd.Wait()
		switch {
		case n.killed:
			if rep != nil {
				t.Errorf("node %d finished before it was killed: raise %s", n.cfg.Node, conservationOpsEnv)
			}
			continue
		case err != nil:
			t.Errorf("node %d: %v", n.cfg.Node, err)
		case rep == nil:
			t.Errorf("node %d reported nothing", n.cfg.Node)
			continue
		}
		for _, e := range rep.Errors {
			t.Errorf("node %d: %s", n.cfg.Node, e)
		}
		reports = append(reports, rep)
		t.Logf("node %d: %.1fs, shared %+v, own %+v, %v retries, %v given up",
			rep.Node, rep.Seconds, rep.Shared, rep.Own, rep.Retries, rep.GivenUp)
	}
	elapsed := time.Since(start)
	if t.Failed() {
		t.FailNow()
	}

	// Every node answered every operation alike.
	answers := map[string]string{}
	deliveries := 0
	for _, rep := range reports {
		b, err := os.ReadFile(nodes[rep.Node].cfg.Answers)
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			o, a, _ := strings.Cut(line, "\t")
			deliveries++
			if prev, ok := answers[o]; ok && prev != a {
				t.Errorf("operation %s answered %q and %q", o, prev, a)
			} else if !ok {
				answers[o] = a
			}
		}
	}

	rep, err := economy.Audit(ctx, pool)
	if err != nil {
		t.Fatal(err)
	}
	if err := rep.Err(); err != nil {
		t.Fatalf("%v (%+v)", err, rep)
	}
	// Exactly once: each surviving node's workloads are stored once per
	// distinct operation, no more, no fewer.
	stored := func(prefix string) int {
		var n int
		if err := pool.QueryRow(ctx, `SELECT count(*) FROM economy.transactions WHERE starts_with(op_id, $1)`,
			prefix).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if got, want := stored("shared-"), reports[0].Shared.Operations; got != want {
		t.Errorf("%d shared operations stored, want %d", got, want)
	}
	for _, r := range reports {
		if got, want := stored(fmt.Sprintf("node%d-", r.Node)), r.Own.Operations; got != want {
			t.Errorf("node %d: %d own operations stored, want %d", r.Node, got, want)
		}
	}
	// Item rows match the purchases and finds (and sales, uses, breaks) in
	// the operations' own results, and the coins moved match them too.
	var mismatch []string
	if err := pool.QueryRow(ctx, `
		WITH t AS (SELECT id, kind, result FROM economy.transactions WHERE NOT result ? 'err'),
		l AS (SELECT reason, sum(delta) AS n FROM economy.item_legs GROUP BY reason),
		want AS (
			SELECT 'buy' AS reason, coalesce(sum((result->>'quantity')::int), 0) AS n FROM t WHERE kind = 'buy'
			UNION ALL SELECT 'sell', -coalesce(sum((result->>'quantity')::int), 0) FROM t WHERE kind = 'sell'
			UNION ALL SELECT 'find', count(*) FROM t WHERE kind = 'gather'
			UNION ALL SELECT 'break', -count(*) FILTER (WHERE (result->>'broke')::bool) FROM t WHERE kind = 'gather'
			UNION ALL SELECT 'use', -count(*) FROM t WHERE kind = 'use'
			UNION ALL SELECT 'rows', (SELECT count(*) FROM economy.item_places)
		)
		SELECT coalesce(array_agg(w.reason || ': ' || w.n || ' in results, ' || coalesce(l.n, 0) || ' in the item ledger')
			FILTER (WHERE w.n <> coalesce(l.n, 0)), '{}')
		FROM want w LEFT JOIN (SELECT * FROM l UNION ALL SELECT 'rows', sum(n) FROM l) l ON l.reason = w.reason`).Scan(&mismatch); err != nil {
		t.Fatal(err)
	}
	var sinkLegs, buyTotals string
	if err := pool.QueryRow(ctx, `SELECT
		(SELECT coalesce(sum(amount), 0) FROM economy.ledger_legs WHERE account_id = -2)::text,
		((SELECT coalesce(sum((result->>'total')::bigint), 0) FROM economy.transactions WHERE kind = 'buy' AND NOT result ? 'err')
		 + (SELECT coalesce(sum(fee), 0) FROM economy.market_sales))::text`).
		Scan(&sinkLegs, &buyTotals); err != nil {
		t.Fatal(err)
	}
	if sinkLegs != buyTotals {
		mismatch = append(mismatch, fmt.Sprintf("sink legs %s, shop purchases and market fees %s", sinkLegs, buyTotals))
	}
	for _, m := range mismatch {
		t.Error(m)
	}
	checkAchievementsExactlyOnce(t, pool, users)
	if kill {
		victim := nodes[len(nodes)-1].cfg.Node
		t.Logf("killed node %d had %d of its own operations stored", victim, stored(fmt.Sprintf("node%d-", victim)))
	}
	var kinds string
	_ = pool.QueryRow(ctx, `SELECT string_agg(kind || '=' || n || '/' || ok, ' ' ORDER BY kind) FROM (
		SELECT kind, count(*) AS n, count(*) FILTER (WHERE NOT result ? 'err') AS ok FROM economy.transactions GROUP BY kind) k`).Scan(&kinds)
	t.Logf("%d nodes (%d killed), %d deliveries answered by survivors, %d distinct operations stored in %.1fs; by kind (stored/applied): %s",
		conservationNodes, map[bool]int{true: 1}[kill], deliveries, rep.Transactions-users, elapsed.Seconds(), kinds)
	t.Logf("audit: %d accounts hold %s, system legs %s, %d item mismatches, %d negative, %d unbalanced, %d duplicate operations",
		rep.Accounts, rep.Held, rep.SystemLegs, rep.ItemMismatches, rep.Negative, rep.Unbalanced, rep.DuplicateOps)
}

// runConservationWorker is one node of TestMultiProcessConservation: it
// runs the shared workload and its own at once, then reports on stdout.
func runConservationWorker(t *testing.T, raw string) {
	var cfg workerConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	pool, err := pgxpool.New(ctx, cfg.DSN)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	reg := prometheus.NewRegistry()
	svc, err := economy.New(pool, economy.Config{Registerer: reg, Rand: rand.NewPCG(uint64(cfg.Node), 11)})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu      sync.Mutex
		answers strings.Builder
		wg      sync.WaitGroup
		rep     = workerReport{Node: cfg.Node}
	)
	record := func(o economy.Op, a string) {
		mu.Lock()
		fmt.Fprintf(&answers, "%s\t%s\n", o, strings.ReplaceAll(a, "\n", " "))
		mu.Unlock()
	}
	start := time.Now()
	// The node's achievement sweep runs throughout, as on a node: the
	// SIGKILL can land between an action and its award, or mid-award.
	sweepCtx, stopSweep := context.WithCancel(ctx)
	swept := make(chan struct{})
	go func() {
		defer close(swept)
		svc.RunAchievementSweeper(sweepCtx, 20*time.Millisecond, 0, func(err error) {
			mu.Lock()
			defer mu.Unlock()
			rep.Errors = append(rep.Errors, "achievements sweep: "+err.Error())
		})
	}()
	for _, w := range []struct {
		cfg   economytest.Config
		stats *economytest.Stats
	}{
		{economytest.Config{Prefix: "shared", Seed: 42, Workers: cfg.Shared, Market: true}, &rep.Shared},
		{economytest.Config{Prefix: fmt.Sprintf("node%d", cfg.Node), Seed: 100 + uint64(cfg.Node), Workers: cfg.Own, Market: true}, &rep.Own},
	} {
		w.cfg.Ops, w.cfg.Users, w.cfg.Hot, w.cfg.OnAnswer = cfg.Ops, cfg.Users, cfg.Hot, record
		wg.Add(1)
		go func() {
			defer wg.Done()
			st, err := economytest.Run(ctx, svc, w.cfg)
			mu.Lock()
			defer mu.Unlock()
			*w.stats = st
			if err != nil {
				rep.Errors = append(rep.Errors, err.Error())
			}
		}()
	}
	wg.Wait()
	stopSweep()
	<-swept
	rep.Seconds = time.Since(start).Seconds()
	rep.Retries = counterSum(t, reg, "chopsticks_economy_retries_total")
	rep.GivenUp = counterSum(t, reg, "chopsticks_economy_given_up_total")
	if err := os.WriteFile(cfg.Answers, []byte(answers.String()), 0o600); err != nil {
		rep.Errors = append(rep.Errors, err.Error())
	}
	b, _ := json.Marshal(rep)
	fmt.Printf("%s%s\n", reportPrefix, b)
}

// checkAchievementsExactlyOnce settles what the outbox still holds (the
// killed node's share), then checks that no award was lost (a check of
// every player awards nothing more) and none paid twice (each player's
// achievement rewards on the ledger are their achievements' rewards).
func checkAchievementsExactlyOnce(t *testing.T, pool *pgxpool.Pool, users int64) {
	t.Helper()
	ctx := context.Background()
	svc, err := economy.New(pool, economy.Config{})
	if err != nil {
		t.Fatal(err)
	}
	for {
		n, _, err := svc.SweepAchievements(ctx, 0, 100)
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			break
		}
	}
	var left int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM economy.achievement_outbox`).Scan(&left); err != nil || left != 0 {
		t.Fatalf("%d rows left in the achievement outbox (%v)", left, err)
	}
	for u := int64(1); u <= users; u++ {
		if e, err := svc.CheckAchievements(ctx, economy.Op(fmt.Sprintf("lost-check-%d", u)), u); err != nil || len(e.New) > 0 {
			t.Errorf("user %d: a check after the sweep awarded %+v (%v): the outbox lost them", u, e.New, err)
		}
	}
	reward := map[string]int64{}
	for _, a := range svc.Achievements() {
		reward[a.Key] = a.Reward
	}
	want := map[int64]int64{}
	rows, err := pool.Query(ctx, `SELECT user_id, key FROM economy.achievements`)
	if err != nil {
		t.Fatal(err)
	}
	awarded := 0
	for rows.Next() {
		var u int64
		var k string
		if err := rows.Scan(&u, &k); err != nil {
			t.Fatal(err)
		}
		want[u] += reward[k]
		awarded++
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	got := map[int64]int64{}
	rows, err = pool.Query(ctx, `SELECT l.account_id, sum(l.amount)::bigint FROM economy.ledger_legs l
		JOIN economy.transactions x ON x.id = l.tx_id WHERE x.kind = 'achievements' AND l.account_id > 0 GROUP BY l.account_id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var u, v int64
		if err := rows.Scan(&u, &v); err != nil {
			t.Fatal(err)
		}
		got[u] = v
	}
	if rows.Err() != nil {
		t.Fatal(rows.Err())
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("achievement rewards on the ledger %v, want those of the achievements held %v", got, want)
	}
	t.Logf("achievements: %d awarded, each paid once", awarded)
}

func counterSum(t *testing.T, reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
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
