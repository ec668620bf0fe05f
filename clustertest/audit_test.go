package clustertest

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// stream invokes /ping across the guilds of every shard at a steady rate,
// as users would, and keeps every interaction for the audit.
type stream struct {
	stop context.CancelFunc
	done chan struct{}

	mu   sync.Mutex
	its  []*discordsim.Interaction
	errs []error
}

func (c *cluster) startStream(perSecond int) *stream {
	guilds := c.sim.Guilds()
	users := c.sim.DefaultUsers()
	return c.startInvocations(perSecond, func(n int) discordsim.Invocation {
		return discordsim.Invocation{GuildID: guilds[n%len(guilds)].ID, UserID: users[n%len(users)], Command: "ping"}
	})
}

// startInvocations invokes next(0), next(1), ... at a steady rate and
// keeps every interaction for the audit.
func (c *cluster) startInvocations(perSecond int, next func(n int) discordsim.Invocation) *stream {
	ctx, cancel := context.WithCancel(context.Background())
	s := &stream{stop: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		tick := time.NewTicker(time.Second / time.Duration(perSecond))
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			it, err := c.sim.Invoke(ctx, next(n))
			s.mu.Lock()
			if err != nil {
				if ctx.Err() == nil {
					s.errs = append(s.errs, err)
				}
			} else {
				s.its = append(s.its, it)
			}
			s.mu.Unlock()
		}
	}()
	c.t.Cleanup(s.halt)
	return s
}

func (s *stream) halt() { s.stop(); <-s.done }

func (s *stream) interactions() []*discordsim.Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*discordsim.Interaction(nil), s.its...)
}

// answered counts interactions with an initial response.
func (s *stream) answered() int {
	n := 0
	for _, it := range s.interactions() {
		if it.Info().Response != nil {
			n++
		}
	}
	return n
}

// interactionReport is the outcome of a stream.
type interactionReport struct {
	total, answeredInTime, failed, late int
	failedIDs                           []discordsim.Snowflake
}

// auditStream stops the stream, waits until every interaction has its
// outcome, and checks that none was answered twice and none was lost:
// each reached a session and was claimed by a node (Redis key
// chopsticks:interaction:<id>). Interactions that missed the deadline are
// counted, not failed here; the caller decides what it tolerates.
func (c *cluster) auditStream(s *stream) interactionReport {
	t := c.t
	t.Helper()
	s.halt()
	s.mu.Lock()
	errs := s.errs
	s.mu.Unlock()
	for _, err := range errs {
		t.Errorf("invoke: %v", err)
	}
	its := s.interactions()
	if len(its) == 0 {
		t.Fatal("the stream invoked nothing")
	}
	claimed := func(it *discordsim.Interaction) bool {
		n, err := c.rdb.Exists(context.Background(), "chopsticks:interaction:"+it.Info().ID.String()).Result()
		return err == nil && n == 1
	}
	// The deadline is 3 s; a handler answering late still claims first.
	var pending string
	await(t, 15*time.Second, func() bool {
		for _, it := range its {
			in := it.Info()
			unclaimedOK := c.claimOptional != nil && c.claimOptional(in)
			if (in.Response == nil && !in.Failed) || (!unclaimedOK && !claimed(it)) {
				pending = fmt.Sprintf("%+v (claimed %v)", in, claimed(it))
				return false
			}
		}
		return true
	}, "every interaction to be answered or failed, and claimed (last pending: %s)", &pending)
	// Give a wrong second answer a moment to arrive.
	time.Sleep(200 * time.Millisecond)
	var r interactionReport
	r.total = len(its)
	for _, it := range its {
		in := it.Info()
		switch {
		case in.DoubleAcks > 0 || len(in.FollowupIDs) > 0:
			t.Errorf("interaction %s answered more than once: %+v", in.ID, in)
		case in.Delivered == 0:
			t.Errorf("interaction %s reached no session: %+v", in.ID, in)
		}
		if in.Failed {
			r.failed++
			r.failedIDs = append(r.failedIDs, in.ID)
		} else {
			r.answeredInTime++
		}
		r.late += in.LateAnswers
	}
	t.Logf("interactions: %d invoked, %d answered in time, %d missed the deadline (%d answered late), 0 twice",
		r.total, r.answeredInTime, r.failed, r.late)
	return r
}

// auditDeliveries checks every session of the bot for sequence gaps: each
// connection received a contiguous run of seqs, the first starting at 1
// and each resumed connection starting no later than one after what the
// previous connection was sent; a live session was sent everything up to
// its last seq. It returns the number of problems found.
func auditDeliveries(t testing.TB, sim *discordsim.Sim) int {
	t.Helper()
	problems := 0
	bad := func(format string, args ...any) {
		problems++
		if problems <= 20 {
			t.Errorf(format, args...)
		}
	}
	app := sim.AppID()
	for _, si := range sim.Sessions() {
		if si.AppID != app {
			continue
		}
		dels := sim.Deliveries(si.ID)
		if len(dels) == 0 {
			continue
		}
		var maxSent int64
		conn, last := 0, int64(0)
		for _, d := range dels {
			if d.Conn != conn {
				if conn == 0 && d.Seq != 1 {
					bad("session %s (shard %d): first delivery has seq %d", si.ID, si.Shard[0], d.Seq)
				}
				if conn != 0 && d.Seq > maxSent+1 {
					bad("session %s (shard %d): connection %d starts at seq %d, previous ones were sent up to %d: seqs %d..%d lost",
						si.ID, si.Shard[0], d.Conn, d.Seq, maxSent, maxSent+1, d.Seq-1)
				}
				conn, last = d.Conn, d.Seq-1
			}
			if d.Seq != last+1 {
				bad("session %s (shard %d) connection %d: seq %d follows %d", si.ID, si.Shard[0], d.Conn, d.Seq, last)
			}
			last = d.Seq
			maxSent = max(maxSent, d.Seq)
		}
		if si.Live && maxSent != si.Seq {
			bad("session %s (shard %d) is live but was sent up to seq %d of %d", si.ID, si.Shard[0], maxSent, si.Seq)
		}
	}
	return problems
}

// sessionsOf returns the live session of each shard of the default app.
func sessionsOf(sim *discordsim.Sim) map[int]discordsim.SessionInfo {
	out := map[int]discordsim.SessionInfo{}
	for sh := 0; sh < shardCount; sh++ {
		if l := sim.LiveSessions(sh); len(l) == 1 {
			out[sh] = l[0]
		}
	}
	return out
}

// identifyViolations returns the violations of identify rules.
func identifyViolations(sim *discordsim.Sim) []discordsim.Violation {
	return append(sim.ViolationsOf(discordsim.ViolationIdentifyRateLimited), sim.ViolationsOf(discordsim.ViolationSessionStartLimit)...)
}

// awaitCheckpoints waits until every shard's live session is checkpointed
// in Redis (the state a node is in one CHECKPOINT_INTERVAL after its
// shards connected), so that a crash is recovered by RESUME.
func (c *cluster) awaitCheckpoints() {
	c.t.Helper()
	var why string
	await(c.t, 10*time.Second, func() bool {
		live := sessionsOf(c.sim)
		for sh := 0; sh < shardCount; sh++ {
			m, err := c.rdb.HGetAll(context.Background(), fmt.Sprintf("chopsticks:shard:{%d}:checkpoint", sh)).Result()
			if err != nil || m["session"] != live[sh].ID || m["seq"] == "" || m["seq"] == "0" {
				why = fmt.Sprintf("shard %d: checkpoint %v, live session %q", sh, m, live[sh].ID)
				return false
			}
		}
		return true
	}, "every shard to be checkpointed (last: %s)", &why)
}
