// Command reshard measures online resharding: three `chopsticks node`
// processes against discordsim, real etcd, Redis and PostgreSQL, under
// /ping and /balance at -rate a second, reshard from -from to -to shards for
// each max_concurrency of -mc.
//
//	go run ./bench/reshard [-from 16] [-to 24] [-mc 1,16] [-bin bin/chopsticks]
//
// For each max_concurrency it prints the time from `reshard` to the new
// generation serving alone, the identifies it spent, beside the baseline a
// cold restart would take (every new shard identifying, max_concurrency
// per 5 s window, while its guilds are offline); and the interaction p99
// in the 10 s before the reshard, beside the p99 from its start to 5 s
// after the switch, with what was lost, answered twice or late.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// identifyWindow is Discord's: max_concurrency identifies per 5 s.
const identifyWindow = 5 * time.Second

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench reshard:", err)
		os.Exit(1)
	}
}

func run() error {
	from := flag.Int("from", 16, "shards before")
	to := flag.Int("to", 24, "shards after")
	mcs := flag.String("mc", "1,16", "comma-separated max_concurrency values, one run each")
	rate := flag.Int("rate", 50, "interactions a second (/ping and /balance)")
	bin := flag.String("bin", os.Getenv("CHOPSTICKS_BIN"), "chopsticks binary (default: $CHOPSTICKS_BIN, else built)")
	flag.Parse()
	var concs []int
	for _, f := range strings.Split(*mcs, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fmt.Fprintf(os.Stderr, "bench reshard: -mc %q: want numbers of at least 1\n", *mcs)
			os.Exit(2)
		}
		concs = append(concs, n)
	}
	if *from < 1 || *to < 1 || *from == *to || *rate < 2 {
		fmt.Fprintln(os.Stderr, "bench reshard: -from and -to must differ and be at least 1, -rate at least 2")
		os.Exit(2)
	}
	root, err := os.MkdirTemp("", "bench-reshard-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	if err := os.Chmod(root, 0o755); err != nil { // PostgreSQL runs as its own user under root
		return err
	}
	if *bin == "" {
		*bin = filepath.Join(root, "chopsticks")
		if out, err := exec.Command("go", "build", "-o", *bin, "./cmd/chopsticks").CombinedOutput(); err != nil {
			return fmt.Errorf("build (run from the module root): %v\n%s", err, out)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pg, err := localserver.StartPostgres(ctx, filepath.Join(root, "pg"), 0)
	if err != nil {
		return err
	}
	defer pg.Stop()
	for i, mc := range concs {
		r := runOne(func(t *harness.Trial) result {
			return measure(ctx, t, pg, filepath.Join(root, strconv.Itoa(i)), *bin, *from, *to, mc, *rate)
		})
		fmt.Println(r.String(*from, *to, mc))
	}
	return nil
}

// result is one reshard.
type result struct {
	err                 error
	took                time.Duration
	identifies          int
	p99Before, p99After time.Duration
	total, lost, twice  int
	late                int
}

func (r result) String(from, to, mc int) string {
	if r.err != nil {
		return fmt.Sprintf("%d -> %d shards, max_concurrency %d: FAILED: %v", from, to, mc, r.err)
	}
	cold := coldRestart(to, mc)
	return fmt.Sprintf("%d -> %d shards, max_concurrency %d: online %v (%d identifies, every guild served throughout) vs cold restart %v of identifies (guilds offline in turn), ratio %.2f; "+
		"interaction p99 %v before, %v during the reshard (ratio %.2f); %d interactions, %d lost, %d answered twice, %d past the deadline",
		from, to, mc, r.took.Round(100*time.Millisecond), r.identifies, cold, float64(r.took)/float64(cold),
		r.p99Before.Round(time.Millisecond), r.p99After.Round(time.Millisecond), float64(r.p99After)/float64(max(r.p99Before, time.Millisecond)),
		r.total, r.lost, r.twice, r.late)
}

// coldRestart is the identify time of a cold start of count shards:
// max_concurrency identifies per window, the first at once.
func coldRestart(count, mc int) time.Duration {
	return time.Duration((count+mc-1)/mc-1) * identifyWindow
}

func measure(ctx context.Context, t *harness.Trial, pg *localserver.Postgres, dir, bin string, from, to, mc, rate int) (r result) {
	rs, err := localserver.StartRedis(ctx, filepath.Join(dir, "redis"), 0, false)
	if err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(func() { _ = rs.Stop() })
	etcd, err := localserver.StartEtcd(ctx, filepath.Join(dir, "etcd"), 0)
	if err != nil {
		t.Fatalf("etcd: %v", err)
	}
	t.Cleanup(etcd.Stop)
	db := "bench_reshard_" + filepath.Base(dir)
	if err := pg.CreateDatabase(ctx, db); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	c := harness.New(t, harness.Options{
		Binary: bin, Shards: from, MaxConcurrency: mc,
		Servers:   harness.Servers{Postgres: pg.DSN(db), Redis: rs, Etcd: etcd.Endpoints()},
		SimLogger: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	for _, id := range []string{"a", "b", "c"} {
		c.Start(id, false)
	}
	cold := coldRestart(from, mc) + 60*time.Second
	poll.Eventually(t, cold, func() (bool, string) { return c.ServesGeneration(from) }, "%d shards to serve", from)

	guilds, users := c.Sim.Guilds(), c.Sim.DefaultUsers()
	s := c.StartInvocations(rate/2, func(n int) discordsim.Invocation {
		return discordsim.Invocation{GuildID: guilds[n%len(guilds)].ID, UserID: users[n%len(users)], Command: "ping"}
	}, func(n int) discordsim.Invocation {
		return discordsim.Invocation{GuildID: guilds[(n*3+1)%len(guilds)].ID, UserID: users[(n+5)%len(users)], Command: "balance"}
	})
	time.Sleep(10 * time.Second)
	begin := time.Now()
	if err := coordinator.StartReshard(ctx, c.EtcdClient, "", to, "operator"); err != nil {
		t.Fatalf("reshard: %v", err)
	}
	poll.Eventually(t, coldRestart(to, mc)+60*time.Second, func() (bool, string) { return c.ServesGeneration(to) }, "%d shards to serve alone", to)
	r.took = time.Since(begin)
	r.identifies = len(c.Sim.IdentifiesSince(begin))
	time.Sleep(5 * time.Second)
	rep := c.AuditInteractions(s)
	if rep.Unsettled != "" {
		t.Fatalf("interactions unsettled: %s", rep.Unsettled)
	}
	var before, during []time.Duration
	for _, it := range s.Interactions() {
		in := it.Info()
		if in.Response == nil {
			continue
		}
		if in.Created.Before(begin) {
			before = append(before, in.Response.Latency)
		} else {
			during = append(during, in.Response.Latency)
		}
	}
	r.p99Before, r.p99After = p99(before), p99(during)
	r.total, r.lost, r.twice, r.late = rep.Total, rep.Lost(), len(rep.Twice), rep.Failed
	return r
}

func p99(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, len(ds)*99/100)]
}

// runOne runs a measurement as a harness trial, then its cleanups; a
// failure sets the result's err.
func runOne(f func(t *harness.Trial) result) result {
	var res result
	if err := harness.RunTrial(nil, func(t *harness.Trial) { res = f(t) }); err != nil {
		res.err = err
	}
	return res
}
