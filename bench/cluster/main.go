// Command cluster measures how the Chopsticks cluster moves shards: real
// `chopsticks node` processes at their default settings (LEASE_TTL
// included) against discordsim, real etcd, Redis and PostgreSQL, under a
// stream of interactions (/ping at 50/s) and voice-state events.
//
//	go run ./bench/cluster [-runs 5] [-bin bin/chopsticks] [-cases kill,stop,drain] [-etcd-members 1,3]
//
// It prints, over -runs runs each: the time from SIGKILL of a node to
// every orphaned shard resumed elsewhere; the same for a frozen node
// (SIGSTOP: no socket closes; SIGCONT at the end of the run); the
// per-shard pause of a planned drain (old connection gone to session
// resumed); the drain time of a node holding all 16 shards (SIGTERM to
// exit); the interactions that missed Discord's 3 s deadline in the SIGKILL
// runs; and the events lost in every run (delivery sequence gaps,
// interactions never claimed), answered twice, and IDENTIFYs after a
// fault, beside their targets.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/localserver"
	"github.com/chopsticks-bot/chopsticks/poll"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench cluster:", err)
		os.Exit(1)
	}
}

type bench struct {
	bin  string
	root string
	pg   *localserver.Postgres
	dbs  int
	// etcdMembers is the size of each run's etcd: 1, or 3 member processes.
	etcdMembers int
	// verbose writes the tail of each node's log in failed runs.
	verbose bool
}

func run() error {
	runs := flag.Int("runs", 5, "runs of each scenario")
	bin := flag.String("bin", "", "chopsticks binary (default: $CHOPSTICKS_BIN, else built into a temporary folder)")
	verbose := flag.Bool("v", false, "print the last 200 log lines of every node of a failed run")
	cases := flag.String("cases", "kill,stop,drain", "scenarios to run: kill (SIGKILL), stop (SIGSTOP), drain (SIGTERM)")
	members := flag.String("etcd-members", "1", "comma-separated etcd sizes to run every scenario on, each 1 or 3 (member processes); with both, the 3-member figures are compared with the 1-member baseline")
	flag.Parse()
	var sizes []int
	for _, m := range strings.Split(*members, ",") {
		switch m {
		case "1":
			sizes = append(sizes, 1)
		case "3":
			sizes = append(sizes, 3)
		default:
			fmt.Fprintf(os.Stderr, "bench cluster: -etcd-members %q: want 1, 3 or 1,3\n", *members)
			os.Exit(2)
		}
	}
	if *runs < 1 {
		return errors.New("-runs must be at least 1")
	}
	root, err := os.MkdirTemp("", "bench-cluster-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(root)
	// PostgreSQL runs as its own user when we are root; it must reach its folder.
	if err := os.Chmod(root, 0o755); err != nil {
		return err
	}
	b := &bench{bin: *bin, root: root, verbose: *verbose}
	if b.bin == "" {
		b.bin = os.Getenv("CHOPSTICKS_BIN")
	}
	if b.bin == "" {
		b.bin = filepath.Join(root, "chopsticks")
		fmt.Println("building chopsticks ...")
		cmd := exec.Command("go", "build", "-o", b.bin, "./cmd/chopsticks")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("build (run from the module root): %v\n%s", err, out)
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	pgDir := filepath.Join(root, "pg")
	if b.pg, err = localserver.StartPostgres(ctx, pgDir, 0); err != nil {
		return err
	}
	defer b.pg.Stop()

	want := map[string]bool{}
	for _, c := range strings.Split(*cases, ",") {
		if c != "kill" && c != "stop" && c != "drain" {
			fmt.Fprintf(os.Stderr, "bench cluster: unknown case %q in -cases\n", c)
			os.Exit(2)
		}
		want[c] = true
	}
	medians := map[int]time.Duration{}
	for _, m := range sizes {
		b.etcdMembers = m
		var crash, freeze, drain []runResult
		for i := 0; i < *runs && want["kill"]; i++ {
			r := b.crashRun(ctx, i, syscall.SIGKILL)
			fmt.Printf("etcd x%d crash run %d: %s\n", m, i+1, r)
			crash = append(crash, r)
		}
		for i := 0; i < *runs && want["stop"]; i++ {
			r := b.crashRun(ctx, i, syscall.SIGSTOP)
			fmt.Printf("etcd x%d freeze run %d: %s\n", m, i+1, r)
			freeze = append(freeze, r)
		}
		for i := 0; i < *runs && want["drain"]; i++ {
			r := b.drainRun(ctx, i)
			fmt.Printf("etcd x%d drain run %d: %s\n", m, i+1, r)
			drain = append(drain, r)
		}
		medians[m] = report(m, crash, freeze, drain)
	}
	if one, three := medians[1], medians[3]; one > 0 && three > 0 {
		fmt.Printf("\nSIGKILL failover median: 3-member etcd %v, 1 member (baseline) %v: %.2fx\n",
			three.Round(time.Millisecond), one.Round(time.Millisecond), float64(three)/float64(one))
	}
	return nil
}

// runResult is one run of a scenario.
type runResult struct {
	err          error
	failover     time.Duration   // crash: SIGKILL to the last orphan resumed
	moved        int             // shards moved
	pauses       []time.Duration // drain: per shard, connection closed to resumed
	drainTime    time.Duration   // drain: SIGTERM to exit
	exitStatus   string
	identifies   int           // accepted IDENTIFY after the fault
	gaps         int           // delivery sequence gaps
	lostInter    int           // interactions never claimed or never delivered
	twice        int           // interactions answered twice
	missed       int           // interactions past the 3 s deadline
	inter        int           // interactions invoked
	revoked      string        // crash: why a survivor revoked the lease, from its log
	revokedAfter time.Duration // crash: signal to b's registration gone
	events       map[string]int
}

func (r runResult) lost() int { return r.gaps + r.lostInter }

func (r runResult) String() string {
	if r.err != nil {
		return "FAILED: " + r.err.Error()
	}
	s := fmt.Sprintf("%d shards moved", r.moved)
	if r.failover > 0 {
		s += fmt.Sprintf(", failover %v", r.failover.Round(time.Millisecond))
	}
	if r.revokedAfter > 0 {
		s += fmt.Sprintf(", lease gone after %v", r.revokedAfter.Round(time.Millisecond))
	}
	if r.revoked != "" {
		s += " (" + r.revoked + ")"
	}
	if r.drainTime > 0 {
		s += fmt.Sprintf(", drain %v (%s), pause max %v", r.drainTime.Round(time.Millisecond), r.exitStatus, maxOf(r.pauses).Round(time.Millisecond))
	}
	return s + fmt.Sprintf(", identifies after the fault %d, events lost %d (gaps %d, interactions unclaimed %d), answered twice %d, interactions %d (%d past the deadline), bot-visible events %v",
		r.identifies, r.lost(), r.gaps, r.lostInter, r.twice, r.inter, r.missed, r.events)
}

// runOne runs one scenario as a harness trial, then its cleanups; a
// failure of the run or of a cleanup sets the result's err. With -v the
// harness's logs (node logs of failed runs) go to stderr.
func (b *bench) runOne(scenario func(t *harness.Trial) runResult) runResult {
	var log io.Writer
	if b.verbose {
		log = os.Stderr
	}
	var res runResult
	if err := harness.RunTrial(log, func(t *harness.Trial) { res = scenario(t) }); err != nil {
		res.err = err
	}
	return res
}

func (b *bench) newCluster(ctx context.Context, t *harness.Trial, name string) *harness.Cluster {
	dir := filepath.Join(b.root, name)
	rs, err := localserver.StartRedis(ctx, filepath.Join(dir, "redis"), 0, false)
	if err != nil {
		t.Fatalf("redis: %v", err)
	}
	t.Cleanup(func() { _ = rs.Stop() })
	var endpoints []string
	if b.etcdMembers == 3 {
		etcd, err := localserver.StartEtcdCluster(ctx, b.bin, filepath.Join(dir, "etcd"), 3)
		if err != nil {
			t.Fatalf("etcd cluster: %v", err)
		}
		t.Cleanup(etcd.Stop)
		endpoints = etcd.Endpoints()
	} else {
		etcd, err := localserver.StartEtcd(ctx, filepath.Join(dir, "etcd"), 0)
		if err != nil {
			t.Fatalf("etcd: %v", err)
		}
		t.Cleanup(etcd.Stop)
		endpoints = etcd.Endpoints()
	}
	b.dbs++
	db := fmt.Sprintf("bench_%d", b.dbs)
	if err := b.pg.CreateDatabase(ctx, db); err != nil {
		t.Fatalf("postgres: %v", err)
	}
	return harness.New(t, harness.Options{
		Binary:  b.bin,
		Servers: harness.Servers{Postgres: b.pg.DSN(db), Redis: rs, Etcd: endpoints},
		// MESSAGE_CREATE and GUILD_MEMBER_UPDATE in the background; the
		// bot's intents (GUILDS, GUILD_VOICE_STATES) receive neither, so
		// the voice-state stream of the load is what loads its sessions.
		Firehose:        10 * time.Millisecond,
		SimLogger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		MonitorInterval: 5 * time.Millisecond,
	})
}

// startAnsweredLoad starts the load once every shard is checkpointed (so a
// move can RESUME) and returns it once the cluster answers it.
func startAnsweredLoad(c *harness.Cluster) *load {
	c.AwaitCheckpoints()
	l := startLoad(c)
	poll.Eventually(c.T, 10*time.Second, func() bool { return l.pings.Answered() >= 20 }, "the load to be answered")
	return l
}

// crashRun: three nodes, load, SIGKILL (or SIGSTOP) b, time until b's
// shards resumed. A frozen b gets SIGCONT at the end of the run.
func (b *bench) crashRun(ctx context.Context, i int, sig syscall.Signal) runResult {
	name := "crash"
	if sig == syscall.SIGSTOP {
		name = "freeze"
	}
	return b.runOne(func(t *harness.Trial) (r runResult) {
		c := b.newCluster(ctx, t, fmt.Sprintf("%s%d", name, i))
		for _, id := range []string{"a", "b", "c"} {
			c.Start(id, false)
		}
		c.AwaitSteady(60*time.Second, "a", "b", "c")
		l := startAnsweredLoad(c)
		orphans := harness.ShardsOf(c.Status(), "b")
		sessions := harness.SessionsOf(c.Sim)
		if sig == syscall.SIGSTOP {
			// A freeze falls at any point of the node's keepalive cycle, and
			// its failover time depends on that point (see "Fast failover" in
			// package coordinator). Without this pause the SIGSTOP landed
			// within about 50 ms after a keepalive of b in every run measured
			// (the worst case), most likely because the bench's polling timers
			// wake together with the in-process etcd's network events.
			time.Sleep(rand.N(time.Second))
		}
		// When b's registration goes (its lease revoked or expired), to split
		// the failover into detection and the move.
		revokedAt := c.RegistrationGone("b")
		nb := c.Node("b")
		killedAt := time.Now()
		_ = nb.Cmd.Process.Signal(sig)
		if sig == syscall.SIGKILL {
			<-nb.Exited
		} else {
			defer func() { _ = nb.Cmd.Process.Signal(syscall.SIGCONT) }()
		}
		r.moved = len(orphans)
		poll.Eventually(t, 30*time.Second, func() (bool, string) {
			var last time.Time
			for _, sh := range orphans {
				at, ok := c.Sim.ResumedAt(sessions[sh].ID, killedAt)
				if !ok {
					return false, fmt.Sprintf("shard %d not resumed", sh)
				}
				last = later(last, at)
			}
			r.failover = last.Sub(killedAt)
			return true, ""
		}, "b's shards to resume")
		r.revoked = revocation(c.Node("a").Logs.String() + c.Node("c").Logs.String())
		select {
		case at := <-revokedAt:
			r.revokedAfter = at.Sub(killedAt)
		case <-time.After(time.Second):
		}
		c.AwaitSteady(30*time.Second, "a", "c")
		n := l.pings.Answered()
		_, _ = poll.Until(10*time.Second, func() bool { return l.pings.Answered() >= n+20 })
		r.identifies = len(c.Sim.IdentifiesSince(killedAt))
		audit(c, l, &r)
		return r
	})
}

// revocation returns the reason and proof of the first revocation logged.
func revocation(logs string) string {
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "revoked a dead peer's lease") {
			continue
		}
		var rec struct{ Reason, Why string }
		if json.Unmarshal([]byte(line), &rec) == nil {
			return "revoked: " + rec.Reason + ": " + rec.Why
		}
		return line
	}
	return "no revocation logged"
}

// drainRun: node a (WEIGHT 1000) holds all 16 shards, node b (WEIGHT 1)
// none; SIGTERM a: it hands everything to b.
func (b *bench) drainRun(ctx context.Context, i int) runResult {
	return b.runOne(func(t *harness.Trial) (r runResult) {
		c := b.newCluster(ctx, t, fmt.Sprintf("drain%d", i))
		c.Start("a", false, "WEIGHT=1000")
		c.AwaitSteady(60*time.Second, "a")
		c.Start("b", false, "WEIGHT=1")
		poll.Eventually(t, 30*time.Second, func() bool { return len(c.Status().Nodes) == 2 }, "b to register")
		c.AwaitSteadyWithin(10*time.Second, 0, harness.Shards, "a", "b")
		l := startAnsweredLoad(c)
		moving := harness.ShardsOf(c.Status(), "a")
		sessions := harness.SessionsOf(c.Sim)
		r.moved = len(moving)
		a := c.Node("a")
		termAt := a.Stop(t, syscall.SIGTERM, 30*time.Second)
		r.drainTime = time.Since(termAt)
		r.exitStatus = a.State.String()
		poll.Eventually(t, 10*time.Second, func() (bool, string) {
			r.pauses = r.pauses[:0]
			for _, sh := range moving {
				up, ok := c.Sim.ResumedAt(sessions[sh].ID, termAt)
				if !ok {
					return false, fmt.Sprintf("shard %d not resumed", sh)
				}
				down, ok := c.Mon.FirstDown(sessions[sh].ID, termAt)
				if !ok || down.After(up) {
					// The resume took the connection over before a poll saw it down.
					down = up
				}
				r.pauses = append(r.pauses, up.Sub(down))
			}
			return true, ""
		}, "a's shards to resume")
		c.AwaitSteady(30*time.Second, "b")
		n := l.pings.Answered()
		_, _ = poll.Until(10*time.Second, func() bool { return l.pings.Answered() >= n+20 })
		r.identifies = len(c.Sim.IdentifiesSince(termAt))
		audit(c, l, &r)
		return r
	})
}

// audit stops the load and counts what was lost or doubled.
func audit(c *harness.Cluster, l *load, r *runResult) {
	l.halt()
	ir := c.AuditInteractions(l.pings)
	r.inter = ir.Total
	r.lostInter = ir.Lost()
	r.twice = len(ir.Twice)
	r.missed = ir.Failed
	gaps, events := harness.DeliveryGaps(c.Sim)
	r.gaps, r.events = len(gaps), events
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// load is what users do meanwhile: /ping at 50/s over every guild, and
// voice joins and leaves at 100/s (VOICE_STATE_UPDATE reaches the bot).
type load struct {
	pings *harness.Stream
	stop  context.CancelFunc
	done  chan struct{}
}

func startLoad(c *harness.Cluster) *load {
	ctx, cancel := context.WithCancel(context.Background())
	l := &load{pings: c.StartPings(50), stop: cancel, done: make(chan struct{})}
	guilds := c.Sim.Guilds()
	users := c.Sim.DefaultUsers()
	go func() {
		defer close(l.done)
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			g := guilds[n%len(guilds)]
			u := users[(n/len(guilds))%len(users)]
			if ch, ok := c.Sim.VoiceChannel(g.ID); ok && (n/len(guilds))%2 == 0 {
				_ = c.Sim.JoinVoice(g.ID, u, ch)
			} else {
				_ = c.Sim.LeaveVoice(g.ID, u)
			}
		}
	}()
	c.T.Cleanup(l.halt)
	return l
}

// halt stops both streams; it may be called more than once.
func (l *load) halt() { l.stop(); <-l.done; l.pings.Halt() }

func maxOf(ds []time.Duration) time.Duration {
	var m time.Duration
	for _, d := range ds {
		m = max(m, d)
	}
	return m
}

// quantile returns the q-quantile (nearest rank) of ds.
func quantile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(q*float64(len(s))+0.999999) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// report prints the figures of the runs on an etcd of members and returns
// the median SIGKILL failover (0 without such runs).
func report(members int, crash, freeze, drain []runResult) time.Duration {
	ok := func(rs []runResult) []runResult {
		var out []runResult
		for _, r := range rs {
			if r.err == nil {
				out = append(out, r)
			}
		}
		return out
	}
	failovers := func(rs []runResult) []time.Duration {
		var out []time.Duration
		for _, r := range ok(rs) {
			out = append(out, r.failover)
		}
		return out
	}
	var pauses, drains []time.Duration
	for _, r := range ok(drain) {
		pauses = append(pauses, r.pauses...)
		drains = append(drains, r.drainTime)
	}
	type tally struct{ lost, twice, idents, missed, inter, failed int }
	count := func(rs []runResult) tally {
		var t tally
		for _, r := range rs {
			if r.err != nil {
				t.failed++
				continue
			}
			t.lost += r.lost()
			t.twice += r.twice
			t.idents += r.identifies
			t.missed += r.missed
			t.inter += r.inter
		}
		return t
	}
	kill, stop, dr := count(crash), count(freeze), count(drain)
	kf, sf := failovers(crash), failovers(freeze)
	ms := func(d time.Duration) string { return d.Round(time.Millisecond).String() }
	verdict := func(ok bool) string {
		if ok {
			return "ok"
		}
		return "MISSED"
	}
	row := func(figure, measured, target, v string) {
		fmt.Printf("%-46s %-36s %-26s %s\n", figure, measured, target, v)
	}
	fmt.Printf("\ncluster benchmark: 16 shards, 3 nodes at the node's defaults (LEASE_TTL 5s), CHECKPOINT_INTERVAL 1s, discordsim heartbeat 1s, /ping at 50/s, etcd of %d member(s)\n", members)
	row("figure", "measured", "target", "")
	if len(crash) > 0 {
		row(fmt.Sprintf("SIGKILL to all shards resumed (n=%d)", len(kf)),
			fmt.Sprintf("median %s, max %s", ms(quantile(kf, 0.5)), ms(maxOf(kf))), "median <= 1s, max <= 1.5s",
			verdict(len(kf) > 0 && quantile(kf, 0.5) <= time.Second && maxOf(kf) <= 1500*time.Millisecond))
		row("SIGKILL: interactions past the 3 s deadline", fmt.Sprintf("%d of %d", kill.missed, kill.inter), "0", verdict(kill.missed == 0 && kill.inter > 0))
	}
	if len(freeze) > 0 {
		row(fmt.Sprintf("SIGSTOP to all shards resumed (n=%d)", len(sf)),
			fmt.Sprintf("median %s, max %s", ms(quantile(sf, 0.5)), ms(maxOf(sf))), "median <= 2.5s",
			verdict(len(sf) > 0 && quantile(sf, 0.5) <= 2500*time.Millisecond))
		row("SIGSTOP: interactions past the 3 s deadline", fmt.Sprintf("%d of %d", stop.missed, stop.inter), "(informational)", "")
	}
	if len(drain) > 0 {
		row(fmt.Sprintf("planned-move pause per shard (n=%d)", len(pauses)),
			fmt.Sprintf("p50 %s, p99 %s, max %s", ms(quantile(pauses, 0.5)), ms(quantile(pauses, 0.99)), ms(maxOf(pauses))), "p99 <= 1s",
			verdict(len(pauses) > 0 && quantile(pauses, 0.99) <= time.Second))
		row(fmt.Sprintf("16-shard drain, SIGTERM to exit (n=%d)", len(drains)),
			fmt.Sprintf("median %s, max %s", ms(quantile(drains, 0.5)), ms(maxOf(drains))), "<= 5s",
			verdict(len(drains) > 0 && maxOf(drains) <= 5*time.Second))
	}
	for _, c := range []struct {
		name string
		runs int
		t    tally
	}{{"SIGKILL", len(crash), kill}, {"SIGSTOP", len(freeze), stop}, {"drain", len(drain), dr}} {
		if c.runs == 0 {
			continue
		}
		row(c.name+": events lost", fmt.Sprint(c.t.lost), "0", verdict(c.t.lost == 0))
		row(c.name+": interactions answered twice", fmt.Sprint(c.t.twice), "0", verdict(c.t.twice == 0))
		row(c.name+": IDENTIFY after the fault", fmt.Sprint(c.t.idents), "0", verdict(c.t.idents == 0))
	}
	failed := kill.failed + stop.failed + dr.failed
	row("failed runs", fmt.Sprint(failed), "0", verdict(failed == 0))
	if len(kf) == 0 {
		return 0
	}
	return quantile(kf, 0.5)
}
