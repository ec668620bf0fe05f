package agentpool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/voice"
)

// DefaultAllocPrefix is the root of the allocation keys in etcd:
// <prefix>/agents/<agent user ID> holds the agent's {guild, channel, node}
// and <prefix>/channels/<guild>/<channel> holds the agent in that channel.
const DefaultAllocPrefix = "/chopsticks/voice"

// ErrChannelTaken means another agent already plays in the voice channel
// (sent there by another node). Allocate wraps it with voice.ErrNoAgentFree.
var ErrChannelTaken = errors.New("another music agent is already in that voice channel")

// Candidates lists the agents an Allocator may send into a guild's voice
// channel: running on this node, healthy, members of the guild and not
// known to be busy. *Runner implements it.
type Candidates interface {
	Candidates(guildID string) []string
}

// Joiner makes an agent join a voice channel (op 4), or leave the guild's
// voice when channelID is "". *Runner implements it.
type Joiner interface {
	Join(ctx context.Context, agentUserID, guildID, channelID string) error
}

// Allocation is where an agent plays.
type Allocation struct {
	Guild   string `json:"guild"`
	Channel string `json:"channel"`
	Node    string `json:"node"`
}

// AllocatorConfig configures an Allocator.
type AllocatorConfig struct {
	Client *clientv3.Client
	// Lease holds the allocation keys. Zero makes the allocator grant its
	// own lease of LeaseTTL and keep it alive until Close: when the node
	// dies its allocations vanish with the lease.
	Lease    clientv3.LeaseID
	LeaseTTL time.Duration // default 10s
	Prefix   string        // default DefaultAllocPrefix
	// Node is written into each allocation, for status and debugging.
	Node       string
	Candidates Candidates
	// Joiner, when set, is asked to send the agent after the allocation is
	// taken and to make it leave on Release.
	Joiner Joiner
	// Logger receives the allocator's logs; default none.
	Logger *slog.Logger
}

// Allocator hands agents out for voice channels with etcd transactions, so
// that no two nodes ever send two agents to one channel or one agent to two
// channels. It implements voice.Agents.
type Allocator struct {
	cfg    AllocatorConfig
	cli    *clientv3.Client
	own    bool
	log    *slog.Logger
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu    sync.Mutex
	lease clientv3.LeaseID // 0 while a lost lease is being replaced
	ready chan struct{}    // closed once lease is set
	drop  context.CancelFunc
}

var _ voice.Agents = (*Allocator)(nil)

// NewAllocator returns an allocator; Close stops it (and revokes its own
// lease, freeing its allocations).
//
// An allocator with its own lease keeps it alive until Close, and replaces
// it when it is lost (etcd unreachable for longer than LeaseTTL, or a
// process pause): the allocations under the old lease are gone then, but
// every later Allocate and Claim uses a live lease again.
func NewAllocator(ctx context.Context, cfg AllocatorConfig) (*Allocator, error) {
	if cfg.Client == nil || cfg.Candidates == nil {
		return nil, errors.New("agentpool: AllocatorConfig needs Client and Candidates")
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultAllocPrefix
	}
	cfg.Prefix = strings.TrimSuffix(cfg.Prefix, "/")
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a := &Allocator{cfg: cfg, cli: cfg.Client, lease: cfg.Lease, log: cfg.Logger, ready: make(chan struct{})}
	kctx, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	if a.lease != 0 {
		close(a.ready)
		return a, nil
	}
	a.own = true
	resp, err := cfg.Client.Grant(ctx, a.ttlSeconds())
	if err != nil {
		cancel()
		return nil, fmt.Errorf("agentpool: granting allocation lease: %w", err)
	}
	ch, err := a.keepAlive(kctx, resp.ID)
	if err != nil {
		cancel()
		return nil, fmt.Errorf("agentpool: keeping allocation lease alive: %w", err)
	}
	a.wg.Go(func() { a.keep(kctx, resp.ID, ch) })
	return a, nil
}

func (a *Allocator) ttlSeconds() int64 {
	return int64((a.cfg.LeaseTTL + time.Second - 1) / time.Second)
}

// keepAlive starts keeping id alive and makes it the current lease; the
// channel closes when the lease is lost, ctx ends or dropLease drops it.
func (a *Allocator) keepAlive(ctx context.Context, id clientv3.LeaseID) (<-chan *clientv3.LeaseKeepAliveResponse, error) {
	lctx, drop := context.WithCancel(ctx)
	ch, err := a.cli.KeepAlive(lctx, id)
	if err != nil {
		drop()
		return nil, err
	}
	a.mu.Lock()
	if a.drop != nil {
		a.drop() // the lost lease's keepalive context
	}
	a.lease, a.drop = id, drop
	select {
	case <-a.ready:
	default:
		close(a.ready)
	}
	a.mu.Unlock()
	return ch, nil
}

// keep watches the current lease and, when it is lost, takes it up again if
// etcd still has it (an outage during which etcd itself was down), or
// grants a new one, retrying until ctx ends.
func (a *Allocator) keep(ctx context.Context, id clientv3.LeaseID, ch <-chan *clientv3.LeaseKeepAliveResponse) {
	for {
		for range ch {
		}
		if ctx.Err() != nil {
			return
		}
		a.mu.Lock()
		if a.lease == id {
			a.lease, a.ready = 0, make(chan struct{})
		}
		a.mu.Unlock()
		a.log.Error("allocation lease lost; taking it up again or granting a new one", "lease", fmt.Sprintf("%x", int64(id)))
		backoff := 100 * time.Millisecond
		for {
			var err error
			if id, ch, err = a.recover(ctx, id); err == nil {
				break
			}
			a.log.Warn("allocation lease not renewed yet; retrying", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 2*time.Second)
		}
	}
}

// recover renews the lost lease id if etcd still has it, and otherwise
// grants a new one; either becomes the current lease.
func (a *Allocator) recover(ctx context.Context, id clientv3.LeaseID) (clientv3.LeaseID, <-chan *clientv3.LeaseKeepAliveResponse, error) {
	rctx, cancel := context.WithTimeout(ctx, a.cfg.LeaseTTL)
	defer cancel()
	if resp, err := a.cli.KeepAliveOnce(rctx, id); err == nil && resp.TTL > 0 {
		ch, err := a.keepAlive(ctx, id)
		if err == nil {
			a.log.Info("allocation lease taken up again; allocations kept", "lease", fmt.Sprintf("%x", int64(id)))
		}
		return id, ch, err
	} else if err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return 0, nil, err
	}
	resp, err := a.cli.Grant(rctx, a.ttlSeconds())
	if err != nil {
		return 0, nil, err
	}
	ch, err := a.keepAlive(ctx, resp.ID)
	if err != nil {
		return 0, nil, err
	}
	a.log.Warn("new allocation lease granted; allocations under the old one are gone", "lease", fmt.Sprintf("%x", int64(resp.ID)))
	return resp.ID, ch, nil
}

// currentLease returns the live lease, waiting while a lost one is being
// replaced (for as long as ctx allows).
func (a *Allocator) currentLease(ctx context.Context) (clientv3.LeaseID, error) {
	for {
		a.mu.Lock()
		id, ready := a.lease, a.ready
		a.mu.Unlock()
		if id != 0 {
			return id, nil
		}
		select {
		case <-ready:
		case <-ctx.Done():
			return 0, fmt.Errorf("agentpool: no allocation lease (etcd unreachable?): %w", ctx.Err())
		}
	}
}

// dropLease makes the keeper replace id after etcd said it is gone (the
// keepalive stream may take a while to tell).
func (a *Allocator) dropLease(id clientv3.LeaseID) {
	if !a.own {
		return
	}
	a.mu.Lock()
	if a.lease == id {
		a.drop()
	}
	a.mu.Unlock()
}

// withLease runs op with the current lease and, when etcd answers that the
// lease is gone, once more with its replacement.
func (a *Allocator) withLease(ctx context.Context, op func(clientv3.LeaseID) error) error {
	for attempt := 0; ; attempt++ {
		id, err := a.currentLease(ctx)
		if err != nil {
			return err
		}
		err = op(id)
		if attempt > 0 || !a.own || !errors.Is(err, rpctypes.ErrLeaseNotFound) {
			return err
		}
		a.dropLease(id)
	}
}

// Close stops keeping the lease alive and revokes it when it is the
// allocator's own.
func (a *Allocator) Close() {
	a.cancel()
	a.wg.Wait()
	a.mu.Lock()
	id := a.lease
	a.mu.Unlock()
	if a.own && id != 0 {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_, _ = a.cli.Revoke(ctx, id)
		cancel()
	}
}

func (a *Allocator) agentKey(agent string) string { return a.cfg.Prefix + "/agents/" + agent }
func (a *Allocator) channelKey(guild, channel string) string {
	return a.cfg.Prefix + "/channels/" + guild + "/" + channel
}

func validID(s string) bool {
	if s == "" || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// Allocate takes a free agent for the voice channel and, with a Joiner,
// sends it there. It returns an error wrapping voice.ErrNoAgentFree when no
// candidate is free, or when another agent already plays in the channel
// (then also wrapping ErrChannelTaken).
func (a *Allocator) Allocate(ctx context.Context, guildID, channelID string) (string, error) {
	if !validID(guildID) || !validID(channelID) {
		return "", voice.ErrBadArgument.With("The guild and channel must be Discord IDs.")
	}
	cands := a.cfg.Candidates.Candidates(guildID)
	rand.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
	val, _ := json.Marshal(Allocation{Guild: guildID, Channel: channelID, Node: a.cfg.Node})
	ck := a.channelKey(guildID, channelID)
	for _, agent := range cands {
		ak := a.agentKey(agent)
		var resp *clientv3.TxnResponse
		err := a.withLease(ctx, func(lease clientv3.LeaseID) (err error) {
			resp, err = a.cli.Txn(ctx).
				If(clientv3.Compare(clientv3.CreateRevision(ak), "=", 0), clientv3.Compare(clientv3.CreateRevision(ck), "=", 0)).
				Then(clientv3.OpPut(ak, string(val), clientv3.WithLease(lease)), clientv3.OpPut(ck, agent, clientv3.WithLease(lease))).
				Else(clientv3.OpGet(ck)).
				Commit()
			return err
		})
		if err != nil {
			return "", fmt.Errorf("agentpool: allocating an agent: %w", err)
		}
		if !resp.Succeeded {
			if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
				return "", fmt.Errorf("%w (%w)", voice.ErrNoAgentFree, ErrChannelTaken)
			}
			continue // this agent is busy elsewhere: try the next
		}
		if a.cfg.Joiner != nil {
			if err := a.cfg.Joiner.Join(ctx, agent, guildID, channelID); err != nil {
				a.free(context.WithoutCancel(ctx), guildID, channelID, agent)
				return "", fmt.Errorf("agentpool: sending agent %s to the channel: %w", agent, err)
			}
		}
		return agent, nil
	}
	return "", fmt.Errorf("guild %s: %w", guildID, voice.ErrNoAgentFree)
}

// Release makes the agent leave (with a Joiner) and frees its allocation.
// Releasing an allocation that is not (or no longer) the agent's is a no-op.
func (a *Allocator) Release(ctx context.Context, guildID, channelID, agentUserID string) error {
	var err error
	if a.cfg.Joiner != nil {
		err = a.cfg.Joiner.Join(ctx, agentUserID, guildID, "")
	}
	return errors.Join(err, a.free(ctx, guildID, channelID, agentUserID))
}

// free deletes both keys of an allocation if they are still the agent's.
func (a *Allocator) free(ctx context.Context, guildID, channelID, agent string) error {
	ak, ck := a.agentKey(agent), a.channelKey(guildID, channelID)
	_, err := a.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.Value(ck), "=", agent)).
		Then(clientv3.OpDelete(ak), clientv3.OpDelete(ck)).
		Commit()
	if err != nil {
		return fmt.Errorf("agentpool: releasing agent: %w", err)
	}
	return nil
}

// Claim takes over an allocation an agent already has (after this node
// adopted the agent from a node that stopped or died): both keys are put
// under this allocator's lease. It fails with ErrChannelTaken when the
// channel is another agent's, and when the agent is allocated elsewhere.
func (a *Allocator) Claim(ctx context.Context, guildID, channelID, agentUserID string) error {
	ak, ck := a.agentKey(agentUserID), a.channelKey(guildID, channelID)
	val, _ := json.Marshal(Allocation{Guild: guildID, Channel: channelID, Node: a.cfg.Node})
	lease, err := a.currentLease(ctx)
	if err != nil {
		return err
	}
	puts := []clientv3.Op{clientv3.OpPut(ak, string(val), clientv3.WithLease(lease)), clientv3.OpPut(ck, agentUserID, clientv3.WithLease(lease))}
	for range 3 {
		resp, err := a.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.Value(ck), "=", agentUserID)).Then(puts...).
			Else(clientv3.OpGet(ak)).Commit()
		if err != nil {
			if errors.Is(err, rpctypes.ErrLeaseNotFound) {
				a.dropLease(lease) // the next Claim uses its replacement
			}
			return fmt.Errorf("agentpool: claiming allocation: %w", err)
		}
		if resp.Succeeded {
			return nil
		}
		if kvs := resp.Responses[0].GetResponseRange().Kvs; len(kvs) > 0 {
			var al Allocation
			if json.Unmarshal(kvs[0].Value, &al) == nil && (al.Guild != guildID || al.Channel != channelID) {
				return fmt.Errorf("agentpool: agent %s is allocated to another channel: %w", agentUserID, ErrChannelTaken)
			}
		}
		resp, err = a.cli.Txn(ctx).
			If(clientv3.Compare(clientv3.CreateRevision(ak), "=", 0), clientv3.Compare(clientv3.CreateRevision(ck), "=", 0)).
			Then(puts...).Commit()
		if err != nil {
			return fmt.Errorf("agentpool: claiming allocation: %w", err)
		}
		if resp.Succeeded {
			return nil
		}
	}
	return fmt.Errorf("agentpool: claiming %s/%s: %w", guildID, channelID, ErrChannelTaken)
}

// Of returns the allocation of an agent, if it has one.
func (a *Allocator) Of(ctx context.Context, agentUserID string) (Allocation, bool, error) {
	resp, err := a.cli.Get(ctx, a.agentKey(agentUserID))
	if err != nil {
		return Allocation{}, false, fmt.Errorf("agentpool: reading allocation: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return Allocation{}, false, nil
	}
	var al Allocation
	if err := json.Unmarshal(resp.Kvs[0].Value, &al); err != nil {
		return Allocation{}, false, fmt.Errorf("agentpool: bad allocation of %s: %w", agentUserID, err)
	}
	return al, true, nil
}

// Snapshot reads every allocation: agents (agent -> allocation) and
// channels ("guild/channel" -> agent), for status pages and invariant checks.
func (a *Allocator) Snapshot(ctx context.Context) (agents map[string]Allocation, channels map[string]string, err error) {
	resp, err := a.cli.Get(ctx, a.cfg.Prefix+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, nil, fmt.Errorf("agentpool: reading allocations: %w", err)
	}
	agents, channels = map[string]Allocation{}, map[string]string{}
	for _, kv := range resp.Kvs {
		k := strings.TrimPrefix(string(kv.Key), a.cfg.Prefix+"/")
		if id, ok := strings.CutPrefix(k, "agents/"); ok {
			var al Allocation
			if err := json.Unmarshal(kv.Value, &al); err != nil {
				return nil, nil, fmt.Errorf("agentpool: bad allocation of %s: %w", id, err)
			}
			agents[id] = al
		} else if gc, ok := strings.CutPrefix(k, "channels/"); ok {
			channels[gc] = string(kv.Value)
		}
	}
	return agents, channels, nil
}

// Locate tells who plays in a voice channel: the agent allocated to it and
// the node holding its music session (the node that allocated or adopted
// it). found is false when no agent is allocated there. It implements
// voice.Locator, so that any node can route a music command to the node
// playing.
func (a *Allocator) Locate(ctx context.Context, guildID, channelID string) (agentUserID, node string, found bool, err error) {
	if !validID(guildID) || !validID(channelID) {
		return "", "", false, voice.ErrBadArgument.With("The guild and channel must be Discord IDs.")
	}
	resp, err := a.cli.Get(ctx, a.channelKey(guildID, channelID))
	if err != nil {
		return "", "", false, fmt.Errorf("agentpool: reading channel allocation: %w", err)
	}
	if len(resp.Kvs) == 0 {
		return "", "", false, nil
	}
	agent := string(resp.Kvs[0].Value)
	al, ok, err := a.Of(ctx, agent)
	if err != nil || !ok {
		return "", "", false, err // being released: nobody plays
	}
	if al.Guild != guildID || al.Channel != channelID {
		return "", "", false, nil // a stale channel key; the agent is elsewhere
	}
	return agent, al.Node, true, nil
}
