package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
)

// A Member's life: its configuration, Join, SetUnits, Drain and Close, and
// what it tells about its peers. Each lease is an epoch (epoch.go), the
// leader plans (leader.go), and every member reconciles (reconcile.go).

// StopReason tells an Owner why a unit must stop.
type StopReason string

// Reasons for Owner.Stop.
const (
	// StopHandoff: the plan moved the unit (rebalance or drain). Stop
	// resumably (checkpoint session, close with a resumable code); the next
	// owner resumes after this node releases the claim.
	StopHandoff StopReason = "handoff"
	// StopLeaseLost: this node's etcd lease may expire soon. Stop now,
	// without waiting on etcd; another node may claim the unit once the
	// lease expires. The context deadline is the earliest possible expiry.
	StopLeaseLost StopReason = "lease_lost"
	// StopShutdown: the member is closing without a drain.
	StopShutdown StopReason = "shutdown"
	// StopRetired: the shard's generation no longer serves (the cluster
	// resharded). End the session for good and save no checkpoint: no
	// shard of the new count may resume it.
	StopRetired StopReason = "retired"
	// StopPromoted: the next shard's generation now serves and this node
	// is to run it as shard/<id>. Keep the session running and serving:
	// Owner.Start of that shard adopts it.
	StopPromoted StopReason = "promoted"
	// StopAborted: the reshard of this next shard was aborted. End the
	// session for good.
	StopAborted StopReason = "aborted"
)

// Owner runs units for a Member. The node implements it (the shard runner
// and the voice agent pool).
//
// Start is called only while this node holds the unit's owner key; it must
// return once the unit runs, or promptly with an error when ctx ends. Stop
// must return only when the unit no longer runs (no more gateway traffic
// handled or sent); an error is logged and the claim is released anyway.
// Calls for one unit never overlap; calls for different units run in
// parallel.
type Owner interface {
	Start(ctx context.Context, u Unit) error
	Stop(ctx context.Context, u Unit, reason StopReason) error
}

// Config configures a Member. Client, NodeID and Owner are required.
type Config struct {
	Client *clientv3.Client
	NodeID NodeID
	Owner  Owner

	Addr   string // address shown in status (e.g. the node's HTTP address)
	Weight int    // relative capacity; 0 means 1 (use Drain to empty a node)
	Prefix string // etcd key prefix; default DefaultPrefix

	// ShardCount, when positive, is written to the unit configuration if
	// none exists yet. Changing it later is SetUnits' job.
	ShardCount int

	LeaseTTL time.Duration // default 10s; etcd's minimum is 2s
	// LeaseMargin is the time to stop everything before expiry; default 3/5
	// of LeaseTTL. The watchdog fires LeaseTTL-LeaseMargin after the last
	// successful keepalive (2 s at a 5 s TTL), and a silent peer is revoked
	// no sooner than that after etcd last renewed its lease.
	LeaseMargin time.Duration
	Parallel    int           // concurrent Start/Stop calls; default 8
	Resync      time.Duration // periodic reconcile; default 1s
	// Settle delays the very first plan of a cluster (no plan in etcd yet)
	// by this long after a leader is elected, so that nodes starting
	// together are all registered and the first plan does not pile every
	// shard on one node. Default 0.
	Settle time.Duration

	// Gossip, when set, also runs memberlist with this node's ID, address,
	// weight and load, for fast liveness in Status and Peers. Its NodeID,
	// Addr and Weight are filled in from this Config.
	Gossip *GossipConfig

	Registerer prometheus.Registerer // optional
	Logger     *slog.Logger          // optional
}

// Member is this node's part in the cluster: it registers the node, takes
// part in the leader election (planning when leader), and starts and stops
// units on its Owner as the plan says, holding an owner key for each. See
// the package documentation for the protocol.
type Member struct {
	cfg Config
	k   keys
	cli *clientv3.Client
	log *slog.Logger
	met *metrics
	gsp *Gossip // nil without Config.Gossip

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}
	jobs   sync.WaitGroup
	// campaigns are election goroutines; they end when etcd answers their
	// resignation or the client closes.
	campaigns sync.WaitGroup
	// bg is the failover goroutine (with gossip); it ends with ctx.
	bg sync.WaitGroup
	// checksRunning counts checks of suspected peers in progress.
	checksRunning atomic.Int32
	sem           chan struct{}
	kick          chan struct{}

	mu       sync.Mutex
	ep       *epoch
	slots    map[Unit]*slot
	v        *view
	synced   bool // v reflects etcd of the current epoch
	weight   int
	draining bool
	closed   bool
	// unreachable: Drain found etcd unreachable; Close waits on it only
	// briefly.
	unreachable bool
}

// Join registers the node and starts its part in the cluster. It returns once
// the node is registered; units start in the background as the plan assigns
// them. Call Drain, then Close (or just Close) to leave.
func Join(ctx context.Context, cfg Config) (*Member, error) {
	if cfg.Client == nil || cfg.NodeID == "" || cfg.Owner == nil {
		return nil, errors.New("coordinator: Config needs Client, NodeID and Owner")
	}
	if cfg.Weight < 0 || cfg.ShardCount < 0 {
		return nil, errors.New("coordinator: negative Weight or ShardCount")
	}
	if cfg.Weight == 0 {
		cfg.Weight = 1
	}
	if cfg.Prefix == "" {
		cfg.Prefix = DefaultPrefix
	}
	if cfg.LeaseTTL == 0 {
		cfg.LeaseTTL = 10 * time.Second
	}
	if cfg.LeaseMargin == 0 {
		cfg.LeaseMargin = cfg.LeaseTTL * 3 / 5
	}
	if cfg.LeaseMargin <= 0 || cfg.LeaseMargin >= cfg.LeaseTTL {
		return nil, errors.New("coordinator: LeaseMargin must be between 0 and LeaseTTL")
	}
	if cfg.Parallel <= 0 {
		cfg.Parallel = 8
	}
	if cfg.Resync <= 0 {
		cfg.Resync = time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	met, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	m := &Member{
		cfg: cfg, k: keys{cfg.Prefix}, cli: cfg.Client,
		log: cfg.Logger.With("node", string(cfg.NodeID)), met: met,
		done: make(chan struct{}), sem: make(chan struct{}, cfg.Parallel),
		kick: make(chan struct{}, 1), slots: map[Unit]*slot{}, v: newView(),
		weight: cfg.Weight,
	}
	if cfg.Registerer != nil {
		leader := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "chopsticks_cluster_leader",
			Help: "1 while this node is the cluster's leader; the sum over nodes is 1 in a healthy cluster.",
		}, func() float64 {
			if m.IsLeader() {
				return 1
			}
			return 0
		})
		if err := cfg.Registerer.Register(leader); err != nil {
			return nil, fmt.Errorf("coordinator: register metrics: %w", err)
		}
	}
	if cfg.ShardCount > 0 {
		if err := m.initUnits(ctx, cfg.ShardCount); err != nil {
			return nil, err
		}
	}
	if cfg.Gossip != nil {
		gc := *cfg.Gossip
		gc.NodeID, gc.Addr, gc.Weight = cfg.NodeID, cfg.Addr, cfg.Weight
		if gc.Logger == nil {
			gc.Logger = cfg.Logger
		}
		if m.gsp, err = StartGossip(gc); err != nil {
			return nil, err
		}
	}
	ep, err := m.newEpoch(ctx)
	if err != nil {
		if m.gsp != nil {
			_ = m.gsp.Shutdown()
		}
		return nil, err
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	if m.gsp != nil {
		m.bg.Go(m.failover)
	}
	go m.run(ep)
	return m, nil
}

// initUnits writes the unit configuration if there is none.
func (m *Member) initUnits(ctx context.Context, shards int) error {
	b, _ := json.Marshal(unitsDoc{ShardCount: shards})
	_, err := m.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(m.k.units()), "=", 0)).
		Then(clientv3.OpPut(m.k.units(), string(b))).Commit()
	if err != nil {
		return fmt.Errorf("coordinator: write unit config: %w", err)
	}
	return nil
}

// SetUnits replaces the work the cluster places: shard count and agent IDs.
// Changing the shard count moves every shard's meaning; the node must stop
// the old shards first (see the package documentation).
func (m *Member) SetUnits(ctx context.Context, shardCount int, agents []int) error {
	if shardCount < 0 {
		return errors.New("coordinator: negative shard count")
	}
	for _, a := range agents {
		if a < 0 {
			return fmt.Errorf("coordinator: negative agent ID %d", a)
		}
	}
	agents = slices.Clone(agents)
	slices.Sort(agents)
	b, _ := json.Marshal(unitsDoc{ShardCount: shardCount, Agents: slices.Compact(agents)})
	if _, err := m.cli.Put(ctx, m.k.units(), string(b)); err != nil {
		return fmt.Errorf("coordinator: write unit config: %w", err)
	}
	return nil
}

// SetAgents replaces the agent units and keeps the shard count, which only
// a reshard (or a cold SetShardCount) changes.
func (m *Member) SetAgents(ctx context.Context, agents []int) error {
	for _, a := range agents {
		if a < 0 {
			return fmt.Errorf("coordinator: negative agent ID %d", a)
		}
	}
	agents = slices.Compact(slices.Sorted(slices.Values(agents)))
	for {
		resp, err := m.cli.Get(ctx, m.k.units())
		if err != nil {
			return fmt.Errorf("coordinator: read unit config: %w", err)
		}
		var doc unitsDoc
		var rev int64
		if len(resp.Kvs) == 1 {
			if err := json.Unmarshal(resp.Kvs[0].Value, &doc); err != nil {
				return fmt.Errorf("coordinator: unit config: %w", err)
			}
			rev = resp.Kvs[0].ModRevision
		}
		doc.Agents = agents
		b, _ := json.Marshal(doc)
		put, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.ModRevision(m.k.units()), "=", rev)).
			Then(clientv3.OpPut(m.k.units(), string(b))).Commit()
		if err != nil {
			return fmt.Errorf("coordinator: write unit config: %w", err)
		}
		if put.Succeeded {
			return nil
		}
	}
}

// ShardCount is the serving generation's shard count by this member's view
// of etcd (0 before it has read it).
func (m *Member) ShardCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.v.units.ShardCount
}

// Peers returns the live members as gossip sees them (nil without gossip).
// Use it for liveness and load; ownership is only ever what etcd says.
func (m *Member) Peers() []Peer {
	if m.gsp == nil {
		return nil
	}
	return m.gsp.Peers()
}

// GossipAddress is the host:port other nodes can use as a gossip seed, or ""
// without gossip.
func (m *Member) GossipAddress() string {
	if m.gsp == nil {
		return ""
	}
	return m.gsp.Address()
}

// MismatchedPeers returns the live peers that gossip settings other than
// GossipConfig.Settings, sorted (nil without gossip).
func (m *Member) MismatchedPeers() []NodeID {
	if m.gsp == nil {
		return nil
	}
	return m.gsp.MismatchedPeers()
}

// drainEtcdWait bounds how long Drain waits for etcd to take the node's
// weight 0 before it concludes that etcd is unreachable.
const drainEtcdWait = time.Second

// ErrEtcdUnreachable is wrapped by Drain when etcd could not be reached:
// the units were stopped resumably on the spot (checkpointed, closed with a
// resumable code) for a later owner to resume, instead of handed off
// through the plan.
var ErrEtcdUnreachable = errors.New("coordinator: etcd unreachable")

// Drain gives the node weight 0 so that the plan moves every unit away, and
// waits until the node runs and holds nothing. Close it afterwards.
//
// When etcd cannot be reached (the weight is not written within about a
// second, or the lease is lost during the drain), no plan can move
// anything: Drain stops every unit resumably at once and returns, wrapping
// ErrEtcdUnreachable in the first case. The owner keys stay until the lease
// ends (Close revokes it if etcd is back; peers revoke it once this process
// is gone; otherwise it expires), and the next owners resume from the
// checkpoints.
func (m *Member) Drain(ctx context.Context) error {
	m.mu.Lock()
	m.draining = true
	ep := m.ep
	m.mu.Unlock()
	if ep != nil && ep.ctx.Err() == nil {
		wait := min(time.Until(ep.lease.deadline()), drainEtcdWait)
		rctx, cancel := context.WithTimeout(ctx, max(wait, 0))
		err := m.register(rctx, ep)
		cancel()
		if err != nil && ctx.Err() == nil {
			m.handOffLocally(ep)
			return fmt.Errorf("coordinator: drain: %w; units stopped for their next owners to resume (%w)", ErrEtcdUnreachable, err)
		}
		if err != nil {
			return err
		}
	}
	for {
		m.mu.Lock()
		idle := true
		for _, s := range m.slots {
			idle = idle && s.state == StateIdle && !s.busy
		}
		empty := idle && m.synced && m.ep != nil
		if empty {
			for _, o := range m.v.owners {
				empty = empty && o.Lease != m.ep.lease.id
			}
			for _, n := range m.v.planAssign {
				empty = empty && n != m.cfg.NodeID
			}
			r, ok := m.v.nodes[m.cfg.NodeID]
			empty = empty && ok && r.Weight == 0
		}
		// Lost the lease meanwhile: the watchdog stopped every unit and
		// the keys go with the lease; there is nothing left to hand off.
		lost := m.ep != nil && m.ep.ctx.Err() != nil
		m.mu.Unlock()
		if empty || (lost && idle) {
			return nil
		}
		if err := sleepCtx(ctx, 20*time.Millisecond); err != nil {
			return fmt.Errorf("coordinator: drain: %w", err)
		}
	}
}

// handOffLocally stops every unit of ep resumably (StopHandoff) without
// etcd, for Drain when etcd is unreachable. Claims stay with the lease.
func (m *Member) handOffLocally(ep *epoch) {
	m.mu.Lock()
	m.unreachable = true
	var us []Unit
	var ss []*slot
	for u, s := range m.slots {
		if s.ep == ep {
			us, ss = append(us, u), append(ss, s)
		}
	}
	m.mu.Unlock()
	m.log.Warn("coordinator: etcd unreachable while draining; stopping every unit for its next owner to resume", "units", len(us))
	ctx, cancel := context.WithDeadline(context.Background(), ep.lease.deadline().Add(ep.lease.margin))
	defer cancel()
	m.stopAll(ctx, ep, us, ss, StopHandoff)
}

// Close stops every unit still running (StopShutdown), then revokes the
// lease, which deletes the registration, the remaining claims and the leader
// key at once, and leaves the gossip. Drain first for a handoff without a
// gap.
func (m *Member) Close() error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		<-m.done
		return nil
	}
	m.closed = true
	m.mu.Unlock()
	m.cancel()
	<-m.done
	m.jobs.Wait()
	m.bg.Wait()
	m.mu.Lock()
	ep := m.ep
	var us []Unit
	var ss []*slot
	for u, s := range m.slots {
		if ep != nil && s.ep == ep {
			us, ss = append(us, u), append(ss, s)
		}
	}
	// Without etcd, waiting on it only delays the exit: the lease ends
	// anyway (peers revoke it once this process is gone, or it expires).
	etcdWait := 2 * time.Second
	if m.unreachable {
		etcdWait = 200 * time.Millisecond
	}
	m.mu.Unlock()
	var err error
	if ep != nil {
		ctx, cancel := context.WithTimeout(context.Background(), m.cfg.LeaseMargin)
		m.stopAll(ctx, ep, us, ss, StopShutdown)
		cancel()
		if rerr := ep.lease.revoke(etcdWait); rerr != nil {
			err = fmt.Errorf("coordinator: revoke lease: %w", rerr)
		}
	}
	if m.gsp != nil {
		_ = m.gsp.Leave(time.Second)
	}
	waited := make(chan struct{})
	go func() { m.campaigns.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(etcdWait):
	}
	return err
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
