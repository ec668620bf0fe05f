package harness

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// Invocations gives the n-th interaction of one lane of a Stream.
type Invocations func(n int) discordsim.Invocation

// Stream sends interactions at a steady rate, as users would, and keeps
// every one for the audit.
type Stream struct {
	stop context.CancelFunc
	wg   sync.WaitGroup

	mu   sync.Mutex
	its  []*discordsim.Interaction
	errs []error
}

// StartInvocations invokes, for each lane, lane(0), lane(1), ... at
// perSecond a second, every lane on its own ticker, until Halt or the end
// of the test.
func (c *Cluster) StartInvocations(perSecond int, lanes ...Invocations) *Stream {
	ctx, cancel := context.WithCancel(context.Background())
	s := &Stream{stop: cancel}
	for _, next := range lanes {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			tick := time.NewTicker(time.Second / time.Duration(perSecond))
			defer tick.Stop()
			for n := 0; ; n++ {
				select {
				case <-ctx.Done():
					return
				case <-tick.C:
				}
				it, err := c.Sim.Invoke(ctx, next(n))
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
	}
	c.T.Cleanup(s.Halt)
	return s
}

// StartPings invokes /ping across the guilds of every shard at perSecond.
func (c *Cluster) StartPings(perSecond int) *Stream {
	guilds := c.Sim.Guilds()
	users := c.Sim.DefaultUsers()
	return c.StartInvocations(perSecond, func(n int) discordsim.Invocation {
		return discordsim.Invocation{GuildID: guilds[n%len(guilds)].ID, UserID: users[n%len(users)], Command: "ping"}
	})
}

// Halt stops the stream and waits for its invocations to return.
func (s *Stream) Halt() { s.stop(); s.wg.Wait() }

// Interactions returns every interaction sent so far.
func (s *Stream) Interactions() []*discordsim.Interaction {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.its)
}

// Errors returns the invocations discordsim refused.
func (s *Stream) Errors() []error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.errs)
}

// Answered counts interactions with an initial response.
func (s *Stream) Answered() int {
	n := 0
	for _, it := range s.Interactions() {
		if it.Info().Response != nil {
			n++
		}
	}
	return n
}

// InteractionReport is the outcome of a Stream.
type InteractionReport struct {
	Total, AnsweredInTime, Failed, Late int
	FailedIDs                           []discordsim.Snowflake
	// Twice were answered more than once; Undelivered reached no session;
	// Unclaimed no node claimed in Redis (except those ClaimOptional
	// names).
	Twice, Undelivered, Unclaimed []discordsim.InteractionInfo
	// Unsettled, when not empty, describes an interaction still without
	// an outcome or a claim 15 s after the stream stopped.
	Unsettled string
	Errors    []error // invocations discordsim refused
}

// Lost counts interactions never delivered or never claimed.
func (r InteractionReport) Lost() int { return len(r.Undelivered) + len(r.Unclaimed) }

// AuditInteractions stops the stream, waits until every interaction has
// its outcome (answered, or failed at Discord's 3 s deadline) and a claim
// by a node (Redis key chopsticks:interaction:<id>), and reports what was
// answered twice, lost, or late. It judges nothing: the caller decides
// what it tolerates.
func (c *Cluster) AuditInteractions(s *Stream) InteractionReport {
	s.Halt()
	its := s.Interactions()
	claimed := func(id discordsim.Snowflake) bool {
		n, err := c.RDB.Exists(context.Background(), "chopsticks:interaction:"+id.String()).Result()
		return err == nil && n == 1
	}
	claimOK := func(in discordsim.InteractionInfo) bool {
		return (c.ClaimOptional != nil && c.ClaimOptional(in)) || claimed(in.ID)
	}
	r := InteractionReport{Total: len(its), Errors: s.Errors()}
	// The deadline is 3 s; a handler answering late still claims first.
	r.Unsettled, _ = poll.Until(15*time.Second, func() (bool, string) {
		for _, it := range its {
			in := it.Info()
			if (in.Response == nil && !in.Failed) || !claimOK(in) {
				return false, fmt.Sprintf("%+v (claimed %v)", in, claimed(in.ID))
			}
		}
		return true, ""
	})
	// Give a wrong second answer a moment to arrive.
	time.Sleep(200 * time.Millisecond)
	for _, it := range its {
		in := it.Info()
		if in.DoubleAcks > 0 || len(in.FollowupIDs) > 0 {
			r.Twice = append(r.Twice, in)
		}
		if in.Delivered == 0 {
			r.Undelivered = append(r.Undelivered, in)
		}
		if !claimOK(in) {
			r.Unclaimed = append(r.Unclaimed, in)
		}
		if in.Failed {
			r.Failed++
			r.FailedIDs = append(r.FailedIDs, in.ID)
		} else {
			r.AnsweredInTime++
		}
		r.Late += in.LateAnswers
	}
	return r
}

// DeliveryGaps checks every session of the bot for lost events: each
// connection received a contiguous run of seqs, the first starting at 1
// and each resumed connection starting no later than one after what the
// previous connections were sent; a live session was sent everything up
// to its last seq. It returns one line per gap, and the dispatches the bot
// was sent (replays excluded), by type.
func DeliveryGaps(sim *discordsim.Sim) (gaps []string, dispatches map[string]int) {
	dispatches = map[string]int{}
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
			if !d.Replay {
				dispatches[d.Type]++
			}
			if d.Conn != conn {
				if conn == 0 && d.Seq != 1 {
					gaps = append(gaps, fmt.Sprintf("session %s (shard %d): first delivery has seq %d", si.ID, si.Shard[0], d.Seq))
				}
				if conn != 0 && d.Seq > maxSent+1 {
					gaps = append(gaps, fmt.Sprintf("session %s (shard %d): connection %d starts at seq %d, previous ones were sent up to %d: seqs %d..%d lost",
						si.ID, si.Shard[0], d.Conn, d.Seq, maxSent, maxSent+1, d.Seq-1))
				}
				conn, last = d.Conn, d.Seq-1
			}
			if d.Seq != last+1 {
				gaps = append(gaps, fmt.Sprintf("session %s (shard %d) connection %d: seq %d follows %d", si.ID, si.Shard[0], d.Conn, d.Seq, last))
			}
			last = d.Seq
			maxSent = max(maxSent, d.Seq)
		}
		if si.Live && maxSent != si.Seq {
			gaps = append(gaps, fmt.Sprintf("session %s (shard %d) is live but was sent up to seq %d of %d", si.ID, si.Shard[0], maxSent, si.Seq))
		}
	}
	return gaps, dispatches
}
