// Package loadgen drives a Chopsticks cluster through discordsim the way a
// crowd of players would: many users with a Zipf popularity, the same user
// in several guilds, and a mix of commands at a steady rate. It reports the
// latency Discord would see (from the dispatch of INTERACTION_CREATE to the
// first response), errors by kind, interactions past the 3 s deadline, and
// what each interaction costs the nodes, PostgreSQL and Redis.
package loadgen

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// Member is a user and the guilds it is a member of.
type Member struct {
	User   discordsim.Snowflake
	Guilds []discordsim.Snowflake
}

// Target is the cluster under load.
type Target struct {
	Sim *discordsim.Sim
	// Members are the users who play; each must be a member of its guilds.
	Members []Member
	// Nodes maps each node's ID to its HTTP address, for its /metrics.
	Nodes map[string]string
	// PostgresURL and RedisAddr, when set, let the report count database
	// transactions and Redis commands per interaction.
	PostgresURL string
	RedisAddr   string
}

// Config shapes one run.
type Config struct {
	// Rate is interactions per second.
	Rate float64
	// Duration is how long interactions are sent.
	Duration time.Duration
	// Mix is the command mix (nil: DefaultMix).
	Mix []Step
	// Zipf is the exponent of user popularity, above 1 (default 1.1).
	Zipf float64
	// UserGap is the least time between two commands of one user (default
	// 1 s): popular users play more often, but no faster than a person
	// types, so the run measures the cluster rather than the rate limiter.
	UserGap time.Duration
	// Seed makes the run repeatable (0: from the clock).
	Seed int64
	// Progress receives a line a second; nil for none.
	Progress io.Writer
}

// Deadline is Discord's time for the first response to an interaction.
const Deadline = 3 * time.Second

// outcome kinds, as the report counts them.
const (
	kindOK          = "ok"           // a reply, or a deferral to be edited
	kindRefused     = "refused"      // a private refusal: a cooldown, not enough credits
	kindRateLimited = "rate_limited" // the limiter's private notice
	kindError       = "error"        // "Something went wrong on our side"
	kindNoResponse  = "no_response"  // nothing within the deadline
	kindInvoke      = "invoke"       // discordsim refused to create it
)

// sample is one interaction's outcome.
type sample struct {
	step    int
	kind    string
	latency time.Duration
}

// Run sends cfg.Rate interactions a second at t for cfg.Duration, waits for
// each outcome, and reports.
func Run(ctx context.Context, t Target, cfg Config) (*Report, error) {
	if cfg.Rate <= 0 || cfg.Duration <= 0 {
		return nil, errors.New("loadgen: rate and duration must be positive")
	}
	if len(t.Members) == 0 {
		return nil, errors.New("loadgen: no members to play")
	}
	mix := cfg.Mix
	if mix == nil {
		mix = DefaultMix
	}
	pk, err := newPicker(mix)
	if err != nil {
		return nil, err
	}
	if cfg.Zipf <= 1 {
		cfg.Zipf = 1.1
	}
	if cfg.UserGap <= 0 {
		cfg.UserGap = time.Second
	}
	if cfg.Seed == 0 {
		cfg.Seed = time.Now().UnixNano()
	}
	r := rand.New(rand.NewSource(cfg.Seed))
	zipf := rand.NewZipf(r, cfg.Zipf, 1, uint64(len(t.Members)-1))
	// Users are shuffled so that popularity does not follow creation order
	// (and so guild or shard).
	order := r.Perm(len(t.Members))
	lastSent := make([]time.Time, len(t.Members))
	byGuild := map[discordsim.Snowflake][]discordsim.Snowflake{}
	for _, m := range t.Members {
		for _, g := range m.Guilds {
			byGuild[g] = append(byGuild[g], m.User)
		}
	}
	ch := readChoices(t.Sim)

	before, err := readCosts(ctx, t)
	if err != nil {
		return nil, err
	}
	col := &collector{mix: mix}
	var wg sync.WaitGroup
	start := time.Now()
	stopProgress := col.progress(cfg.Progress, start)
	interval := time.Duration(float64(time.Second) / cfg.Rate)
	total := int(cfg.Rate * cfg.Duration.Seconds())
	for n := 0; n < total; n++ {
		if d := time.Until(start.Add(time.Duration(n) * interval)); d > 0 {
			select {
			case <-ctx.Done():
				n = total
				continue
			case <-time.After(d):
			}
		}
		now := time.Now()
		mi := order[zipf.Uint64()]
		// A user still within UserGap of its last command is busy: draw
		// again by popularity a few times, then take anyone free. With
		// too few users for the rate, a busy one plays anyway.
		for try := 0; try < 8 && now.Sub(lastSent[mi]) < cfg.UserGap; try++ {
			mi = order[zipf.Uint64()]
		}
		for try := 0; try < 32 && now.Sub(lastSent[mi]) < cfg.UserGap; try++ {
			mi = r.Intn(len(t.Members))
		}
		lastSent[mi] = now
		m := t.Members[mi]
		g := m.Guilds[r.Intn(len(m.Guilds))]
		var other discordsim.Snowflake
		if peers := byGuild[g]; len(peers) > 1 {
			for other = m.User; other == m.User; {
				other = peers[r.Intn(len(peers))]
			}
		}
		step := pk.pick(r)
		inv, err := mix[step].invocation(r, ch, g, m.User, other)
		if errors.Is(err, errNoOther) {
			// A guild of one cannot host a payment: send a read instead.
			step, inv = 0, discordsim.Invocation{GuildID: g, UserID: m.User, Command: mix[0].Command}
		} else if err != nil {
			stopProgress()
			return nil, err
		}
		col.sent()
		it, err := t.Sim.Invoke(ctx, inv)
		if err != nil {
			col.add(sample{step: step, kind: kindInvoke})
			col.invokeError(err)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			col.add(await(ctx, step, it))
		}()
	}
	sendTime := time.Since(start)
	wg.Wait()
	stopProgress()
	// PostgreSQL publishes its counters within a second of a commit.
	time.Sleep(1100 * time.Millisecond)
	after, err := readCosts(ctx, t)
	if err != nil {
		return nil, err
	}
	rep := col.report(cfg, sendTime)
	rep.costs(before, after)
	return rep, nil
}

var errNoOther = errors.New("loadgen: no other member in the guild")

// await waits for the interaction's first response or its failure, and
// classifies it.
func await(ctx context.Context, step int, it *discordsim.Interaction) sample {
	wctx, cancel := context.WithTimeout(ctx, Deadline+2*time.Second)
	defer cancel()
	resp, err := it.Wait(wctx)
	s := sample{step: step}
	in := it.Info()
	switch {
	case err != nil || in.Failed || in.Response == nil:
		s.kind = kindNoResponse
		return s
	}
	s.latency = resp.Latency
	s.kind = classify(resp)
	return s
}

// classify reads a first response as a player would.
func classify(resp discordsim.Response) string {
	var data struct {
		Content string `json:"content"`
		Flags   int    `json:"flags"`
	}
	_ = json.Unmarshal(resp.Data, &data)
	const ephemeral = 1 << 6
	switch {
	case strings.Contains(data.Content, "Something went wrong"):
		return kindError
	case strings.Contains(data.Content, "going too fast"):
		return kindRateLimited
	case data.Flags&ephemeral != 0 && resp.Type == 4:
		return kindRefused
	}
	return kindOK
}

// collector gathers samples as they come.
type collector struct {
	mix []Step

	mu        sync.Mutex
	nSent     int
	samples   []sample
	invokeErr map[string]int
}

func (c *collector) sent() {
	c.mu.Lock()
	c.nSent++
	c.mu.Unlock()
}

func (c *collector) add(s sample) {
	c.mu.Lock()
	c.samples = append(c.samples, s)
	c.mu.Unlock()
}

func (c *collector) invokeError(err error) {
	c.mu.Lock()
	if c.invokeErr == nil {
		c.invokeErr = map[string]int{}
	}
	c.invokeErr[err.Error()]++
	c.mu.Unlock()
}

// progress prints a line a second until the returned function is called.
func (c *collector) progress(w io.Writer, start time.Time) func() {
	if w == nil {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			c.mu.Lock()
			sent, n := c.nSent, len(c.samples)
			var lat []time.Duration
			errs := 0
			for _, s := range c.samples {
				if s.kind == kindOK || s.kind == kindRefused || s.kind == kindRateLimited {
					lat = append(lat, s.latency)
				} else {
					errs++
				}
			}
			c.mu.Unlock()
			el := time.Since(start).Seconds()
			fmt.Fprintf(w, "%5.0fs  sent %d (%.0f/s)  answered %d  errors %d  p99 so far %s\n",
				el, sent, float64(sent)/el, n-errs, errs, ms(percentile(lat, 0.99)))
		}
	}()
	return func() { close(done); wg.Wait() }
}

// percentile returns the q-quantile of ds (nearest rank), 0 when empty. It
// sorts ds.
func percentile(ds []time.Duration, q float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
	i := int(q*float64(len(ds))+0.999999) - 1
	return ds[min(max(i, 0), len(ds)-1)]
}

func ms(d time.Duration) string { return fmt.Sprintf("%.1fms", float64(d)/float64(time.Millisecond)) }
