package commands

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// etcdEpochs is a ClaimEpochs on a real etcd lease, as a cluster member's.
type etcdEpochs struct {
	cli   *clientv3.Client
	lease clientv3.LeaseID
}

func (e etcdEpochs) Epoch() (int64, bool) { return int64(e.lease), e.lease != 0 }

func (e etcdEpochs) LeaseGone(ctx context.Context, lease int64) (bool, error) {
	resp, err := e.cli.TimeToLive(ctx, clientv3.LeaseID(lease))
	if err != nil {
		return false, err
	}
	return resp.TTL < 0, nil
}

// claimWorld is two nodes' claimers on one Redis and one etcd: a, whose
// lease the test may revoke (a dies), and b, which takes over.
type claimWorld struct {
	rdb  *redis.Client
	cli  *clientv3.Client
	a, b *RedisClaimer
	la   clientv3.LeaseID
}

func newClaimWorld(t *testing.T) *claimWorld {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	cli, err := clientv3.New(clientv3.Config{Endpoints: servertest.Etcd(t), DialTimeout: 2 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	grant := func() clientv3.LeaseID {
		l, err := cli.Grant(context.Background(), 60)
		if err != nil {
			t.Fatal(err)
		}
		return l.ID
	}
	w := &claimWorld{rdb: rdb, cli: cli, a: NewRedisClaimer(rdb), b: NewRedisClaimer(rdb), la: grant()}
	w.a.Epochs = etcdEpochs{cli, w.la}
	w.b.Epochs = etcdEpochs{cli, grant()}
	return w
}

func (w *claimWorld) kill(t *testing.T) {
	t.Helper()
	if _, err := w.cli.Revoke(context.Background(), w.la); err != nil {
		t.Fatal(err)
	}
}

// TestClaimTakeOver: a claim is taken over only when it is unanswered and
// etcd no longer holds its holder's lease; then it names the taker and
// keeps its expiry.
func TestClaimTakeOver(t *testing.T) {
	t.Parallel()
	for i, tc := range []struct {
		name     string
		untagged bool // a claimed without an epoch
		answered bool // a answered before it died
		dead     bool // a's lease is revoked
		self     bool // b replays its own claim
		want     bool
	}{
		{name: "holder alive", want: false},
		{name: "holder dead, unanswered", dead: true, want: true},
		{name: "holder dead, answered", dead: true, answered: true, want: false},
		{name: "holder without an epoch", dead: true, untagged: true, want: false},
		{name: "own claim", self: true, want: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newClaimWorld(t)
			ctx := context.Background()
			id := discord.InteractionID(1000 + i)
			holder := w.a
			if tc.untagged {
				holder = NewRedisClaimer(w.rdb)
			}
			if tc.self {
				holder = w.b
			}
			if ok, err := holder.Claim(ctx, id, "a/3"); err != nil || !ok {
				t.Fatalf("first claim = %v, %v", ok, err)
			}
			if tc.answered {
				if err := holder.Answered(ctx, id); err != nil {
					t.Fatal(err)
				}
			}
			if tc.dead {
				w.kill(t)
			}
			before := w.rdb.Get(ctx, ClaimKey(id)).Val()
			if ok, err := w.b.Claim(ctx, id, "b/3"); err != nil || ok {
				t.Fatalf("replay's claim = %v, %v; want held", ok, err)
			}
			took, err := w.b.TakeOver(ctx, id, "b/3")
			if err != nil || took != tc.want {
				t.Fatalf("TakeOver = %v, %v; want %v", took, err, tc.want)
			}
			after := w.rdb.Get(ctx, ClaimKey(id)).Val()
			lb, _ := w.b.Epochs.Epoch()
			switch {
			case tc.want && after != "b/3@"+strconv.FormatInt(lb, 16):
				t.Fatalf("claim %q after the takeover, want b's", after)
			case !tc.want && after != before:
				t.Fatalf("claim %q after a refused takeover, was %q", after, before)
			}
			if ttl := w.rdb.TTL(ctx, ClaimKey(id)).Val(); ttl <= 0 || ttl > ClaimTTL {
				t.Fatalf("ttl %v after TakeOver, want the claim's own", ttl)
			}
			// A second replay finds b's live claim: once only.
			if took, err := thirdClaimer(t, w).TakeOver(ctx, id, "c/3"); err != nil || took {
				t.Fatalf("a third node's TakeOver = %v, %v; want false", took, err)
			}
		})
	}
}

// thirdClaimer returns a third node's claimer in w, on a lease of its own.
func thirdClaimer(t *testing.T, w *claimWorld) *RedisClaimer {
	t.Helper()
	l, err := w.cli.Grant(context.Background(), 60)
	if err != nil {
		t.Fatal(err)
	}
	c := NewRedisClaimer(w.rdb)
	c.Epochs = etcdEpochs{w.cli, l.ID}
	return c
}

// refusing is a Responder whose initial responses Discord refuses: the
// interaction was acknowledged already.
type refusing struct{ *recorder }

func (refusing) RespondInteraction(discord.InteractionID, string, api.InteractionResponse) error {
	return errors.New("Discord 400 error: Interaction has already been acknowledged.")
}

// TestRouterTakesOverDeadClaim: a replay (after a RESUME) of an interaction
// whose claim's holder died unanswered is run and answered by the taker,
// acknowledged first; if the dead holder had answered after all (Discord
// refuses the acknowledgement), the command does not run again.
func TestRouterTakesOverDeadClaim(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name    string
		refuse  bool
		writes  bool
		age     time.Duration // of the interaction when replayed
		wantRun int64
	}{
		{"holder died unanswered", false, true, 0, 1},
		{"holder answered before it died", true, true, 0, 0},
		// Discord takes no answer past its deadline, and the holder may
		// have answered: a read costs no call either.
		{"replayed past the deadline", false, false, 5 * time.Second, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			w := newClaimWorld(t)
			var runs atomic.Int64
			cat, err := NewCatalog([]*Command{{Name: "pay", Description: "Pay", Writes: tc.writes,
				Run: func(ctx context.Context, inv *Invocation) (Reply, error) {
					runs.Add(1)
					return Reply{Content: "paid"}, nil
				}}}, nil)
			if err != nil {
				t.Fatal(err)
			}
			rec := newRecorder()
			var resp Responder = rec
			if tc.refuse {
				resp = refusing{rec}
			}
			r, err := NewRouter(Config{Catalog: cat, Responder: resp, Claimer: w.b, NodeID: "b"})
			if err != nil {
				t.Fatal(err)
			}
			ev := commandEvent(1, "pay")
			if tc.age > 0 {
				ev = eventAt(time.Now().Add(-tc.age), 1, ev.Data)
			}
			if ok, err := w.a.Claim(context.Background(), ev.ID, "a/3"); err != nil || !ok {
				t.Fatalf("a's claim = %v, %v", ok, err)
			}
			w.kill(t)
			r.Handle(context.Background(), ev, 3)
			if n := runs.Load(); n != tc.wantRun {
				t.Fatalf("the command ran %d times on the taker, want %d", n, tc.wantRun)
			}
			if n := testutil.ToFloat64(r.metrics.takeovers); n != 1 {
				t.Fatalf("takeovers counted %v, want 1", n)
			}
			if tc.age > 0 {
				if len(rec.responses) != 0 || len(rec.edits) != 0 {
					t.Fatalf("%d responses and %d edits to an interaction past its deadline", len(rec.responses), len(rec.edits))
				}
				return
			}
			if tc.refuse {
				if len(rec.edits) != 0 {
					t.Fatalf("%d edits after a refused acknowledgement", len(rec.edits))
				}
				return
			}
			if len(rec.responses) != 1 || rec.responses[0].Type != api.DeferredMessageInteractionWithSource || len(rec.edits) != 1 {
				t.Fatalf("responses %+v, %d edits; want an acknowledgement, then the answer as an edit", rec.responses, len(rec.edits))
			}
			if v := w.rdb.Get(context.Background(), ClaimKey(ev.ID)).Val(); !strings.HasPrefix(v, "b/3@") || !strings.HasSuffix(v, answeredMark) {
				t.Fatalf("claim %q, want b's, answered", v)
			}
		})
	}
}

// TestClaimHolder: the holder a claim's value names, whatever its tags.
func TestClaimHolder(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"a/3", "a/3@7587aa01", "a/3@7587aa01;answered", "a/3;answered"} {
		if got := ClaimHolder(v); got != "a/3" {
			t.Errorf("ClaimHolder(%q) = %q, want a/3", v, got)
		}
	}
}
