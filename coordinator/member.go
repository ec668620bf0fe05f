package coordinator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

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

// UnitState is the local state of a unit on a node.
type UnitState string

// Local unit states.
const (
	StateIdle     UnitState = "idle"
	StateStarting UnitState = "starting"
	StateRunning  UnitState = "running"
	StateStopping UnitState = "stopping"
)

// slot is the local bookkeeping of one unit.
type slot struct {
	op sync.Mutex // held across Owner calls: one operation per unit at a time

	// Guarded by Member.mu.
	state    UnitState
	busy     bool      // a job is queued or running
	ep       *epoch    // epoch whose lease holds the claim while starting/running
	claimRev int64     // revision of our claim, to ignore stale views
	fails    int       // consecutive failed starts
	retryAt  time.Time // no new start before this (backoff after failures)
}

// epoch is one lease of this member: registration, claims and election all
// hang off it, and all end together when it is lost.
type epoch struct {
	lease  *lease
	ctx    context.Context
	cancel context.CancelFunc

	mu          sync.Mutex
	session     *concurrency.Session
	election    *concurrency.Election
	leaderSince time.Time
	leader      atomic.Bool
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
		if cfg.Registerer != nil {
			mismatch := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
				Name: "chopsticks_cluster_settings_mismatched_peers",
				Help: "Live peers whose shared settings (RATE_LIMITS) differ from this node's; 0 in a consistent cluster.",
			}, func() float64 { return float64(len(m.gsp.MismatchedPeers())) })
			if err := cfg.Registerer.Register(mismatch); err != nil {
				_ = m.gsp.Shutdown()
				return nil, fmt.Errorf("coordinator: register metrics: %w", err)
			}
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

// newEpoch grants a lease and registers the node under it.
func (m *Member) newEpoch(ctx context.Context) (*epoch, error) {
	ep := &epoch{}
	l, err := grantLease(ctx, m.cli, m.cfg.LeaseTTL, m.cfg.LeaseMargin, func() { m.leaseLost(ep) })
	if err != nil {
		return nil, err
	}
	ep.lease = l
	ep.ctx, ep.cancel = context.WithCancel(context.Background())
	if err := m.register(ctx, ep); err != nil {
		ep.cancel()
		_ = l.revoke(time.Second)
		return nil, err
	}
	return ep, nil
}

// register writes the node's registration under the epoch's lease.
func (m *Member) register(ctx context.Context, ep *epoch) error {
	m.mu.Lock()
	w := m.weight
	if m.draining {
		w = 0
	}
	m.mu.Unlock()
	reg := registration{ID: m.cfg.NodeID, Addr: m.cfg.Addr, Weight: w,
		WatchdogMS: (ep.lease.ttl - ep.lease.margin).Milliseconds()}
	if m.gsp != nil {
		reg.Gossip = m.gsp.Address()
	}
	b, _ := json.Marshal(reg)
	if _, err := m.cli.Put(ctx, m.k.node(m.cfg.NodeID), string(b), clientv3.WithLease(ep.lease.id)); err != nil {
		return fmt.Errorf("coordinator: register node: %w", err)
	}
	return nil
}

// run runs epochs one after another until the member closes.
func (m *Member) run(ep *epoch) {
	defer close(m.done)
	backoff := 100 * time.Millisecond
	for {
		if ep != nil {
			m.runEpoch(ep)
			backoff = 100 * time.Millisecond
		}
		if m.ctx.Err() != nil {
			return
		}
		ctx, cancel := context.WithTimeout(m.ctx, m.cfg.LeaseTTL)
		var err error
		ep, err = m.newEpoch(ctx)
		cancel()
		if err != nil {
			m.log.Warn("coordinator: new lease failed", "err", err)
			select {
			case <-m.ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 2*time.Second)
		}
	}
}

// runEpoch runs the lease keeper, the election, the watch and the reconcile
// loop for one lease, until the lease is lost or the member closes.
func (m *Member) runEpoch(ep *epoch) {
	m.mu.Lock()
	m.ep, m.synced = ep, false
	m.mu.Unlock()
	var wg sync.WaitGroup
	wg.Go(func() { ep.lease.keepAlive(ep.ctx) })
	// Campaign resigns on cancellation with the client's own context, which
	// waits for etcd; it must not hold up the end of an epoch.
	m.campaigns.Go(func() { m.campaign(ep) })
	wg.Go(func() { m.watch(ep) })
	wg.Go(func() { m.loop(ep) })
	select {
	case <-ep.lease.lost():
		m.log.Warn("coordinator: lease lost; all units stopped")
	case <-m.ctx.Done():
	}
	ep.cancel()
	wg.Wait()
	ep.mu.Lock()
	if ep.session != nil {
		ep.session.Orphan()
	}
	ep.mu.Unlock()
	if m.ctx.Err() == nil {
		// Lost: free what the old lease still holds, if etcd is back.
		_ = ep.lease.revoke(time.Second)
	}
}

// campaign takes part in the election for the epoch's lease.
func (m *Member) campaign(ep *epoch) {
	s, err := concurrency.NewSession(m.cli, concurrency.WithLease(ep.lease.id), concurrency.WithContext(ep.ctx))
	if err != nil {
		return
	}
	el := concurrency.NewElection(s, m.k.leader())
	ep.mu.Lock()
	ep.session, ep.election = s, el
	ep.mu.Unlock()
	if err := el.Campaign(ep.ctx, string(m.cfg.NodeID)); err != nil {
		return
	}
	ep.mu.Lock()
	ep.leaderSince = time.Now()
	ep.mu.Unlock()
	ep.leader.Store(true)
	m.met.leaderChanges.Inc()
	m.log.Info("coordinator: became leader")
	m.poke()
}

// poke asks the reconcile loop to run soon.
func (m *Member) poke() {
	select {
	case m.kick <- struct{}{}:
	default:
	}
}

// watch keeps m.v in step with etcd: a full read, then a watch from the next
// revision; on any watch failure it starts over.
func (m *Member) watch(ep *epoch) {
	for ep.ctx.Err() == nil {
		resp, err := m.cli.Get(ep.ctx, m.k.prefix+"/", clientv3.WithPrefix())
		if err != nil {
			sleepCtx(ep.ctx, 100*time.Millisecond)
			continue
		}
		v := newView()
		v.rev = resp.Header.Revision
		for _, kv := range resp.Kvs {
			if err := v.apply(m.k, kv, false); err != nil {
				m.log.Warn("coordinator: bad key", "err", err)
			}
		}
		m.setView(v)
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ep.ctx))
		wch := m.cli.Watch(wctx, m.k.prefix+"/", clientv3.WithPrefix(), clientv3.WithRev(v.rev+1))
	events:
		for {
			// Select on ctx too: a watch channel may stay open for a while
			// after cancellation when etcd is unreachable, and an epoch must
			// end without waiting on etcd.
			var wr clientv3.WatchResponse
			var ok bool
			select {
			case <-ep.ctx.Done():
				cancel()
				return
			case wr, ok = <-wch:
			}
			if !ok || wr.Err() != nil {
				break events
			}
			m.mu.Lock()
			revoked := false
			for _, e := range wr.Events {
				deleted := e.Type == clientv3.EventTypeDelete
				if err := m.v.apply(m.k, e.Kv, deleted); err != nil {
					m.log.Warn("coordinator: bad key", "err", err)
				}
				// Our registration lives exactly as long as our lease: its
				// deletion means the lease was revoked (a peer took us for
				// dead) or expired. Stop everything now rather than at the
				// next keepalive.
				revoked = revoked || (deleted && string(e.Kv.Key) == m.k.node(m.cfg.NodeID))
			}
			m.v.rev = wr.Header.Revision
			m.mu.Unlock()
			if revoked {
				cancel()
				m.log.Warn("coordinator: our registration vanished: the lease was revoked or expired")
				ep.lease.declareLost()
				return
			}
			m.poke()
		}
		cancel()
	}
}

func (m *Member) setView(v *view) {
	m.mu.Lock()
	m.v, m.synced = v, true
	m.mu.Unlock()
	m.poke()
}

// loop reconciles on every change and every Resync.
func (m *Member) loop(ep *epoch) {
	t := time.NewTicker(m.cfg.Resync)
	defer t.Stop()
	for {
		select {
		case <-ep.ctx.Done():
			return
		case <-m.kick:
			// Let a burst of changes settle into one pass.
			sleepCtx(ep.ctx, 20*time.Millisecond)
		case <-t.C:
		}
		if ep.leader.Load() {
			if err := m.lead(ep); err != nil && ep.ctx.Err() == nil {
				m.log.Warn("coordinator: planning failed", "err", err)
			}
		}
		m.reconcile(ep)
		m.publishLoad()
		m.meetPeers()
	}
}

// meetPeers tells the gossip which peers etcd lists, so that it keeps
// joining them until it has met them all.
func (m *Member) meetPeers() {
	if m.gsp == nil {
		return
	}
	m.mu.Lock()
	if !m.synced {
		m.mu.Unlock()
		return
	}
	want := make(map[NodeID]string, len(m.v.nodes))
	for id, r := range m.v.nodes {
		if id != m.cfg.NodeID {
			want[id] = r.Gossip
		}
	}
	m.mu.Unlock()
	m.gsp.Want(want)
}

// Serving reports whether this node may still act for the units it runs:
// its lease has not been declared lost and the watchdog's deadline (last
// successful keepalive plus TTL minus margin) has not passed. It reads the
// clock itself, so a node that was frozen past its deadline sees false on
// its first instruction after thawing, before its watchdog goroutine runs.
// Use it to fence work that must not happen on a node whose units may
// already run elsewhere.
func (m *Member) Serving() bool {
	m.mu.Lock()
	ep := m.ep
	m.mu.Unlock()
	if ep == nil || ep.ctx.Err() != nil {
		return false
	}
	select {
	case <-ep.lease.lost():
		return false
	default:
	}
	return time.Now().Before(ep.lease.deadline())
}

// publishLoad shares the number of running units and the weight by gossip.
func (m *Member) publishLoad() {
	if m.gsp == nil {
		return
	}
	m.mu.Lock()
	load, w := 0, m.weight
	for _, s := range m.slots {
		if s.state == StateRunning {
			load++
		}
	}
	if m.draining {
		w = 0
	}
	m.mu.Unlock()
	if err := m.gsp.SetLoad(load, w); err != nil {
		m.log.Debug("coordinator: gossip update failed", "err", err)
	}
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

// lead computes the plan from the live registrations and the current plan
// (or the owner keys for units the plan does not mention) and writes it if it
// changed, fenced on still being the leader.
func (m *Member) lead(ep *epoch) error {
	m.mu.Lock()
	if !m.synced {
		m.mu.Unlock()
		return nil
	}
	v := m.v.clone()
	m.mu.Unlock()
	ep.mu.Lock()
	el, since := ep.election, ep.leaderSince
	ep.mu.Unlock()
	if v.planRev == 0 && time.Since(since) < m.cfg.Settle {
		return nil // the Resync tick comes back
	}
	units := v.units.list()
	current := make(map[Unit]NodeID, len(units))
	for _, u := range units {
		if n, ok := v.planAssign[u]; ok {
			current[u] = n
		} else if o, ok := v.owners[u]; ok {
			current[u] = o.Node
		}
	}
	next := Plan(v.liveNodes(), units, current)
	if maps.Equal(next, v.planAssign) && v.planRev != 0 {
		return nil
	}
	doc := planDoc{Version: v.plan.Version + 1, Leader: m.cfg.NodeID, Assign: make(map[string]NodeID, len(next))}
	for u, n := range next {
		doc.Assign[u.String()] = n
	}
	b, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	defer cancel()
	resp, err := m.cli.Txn(ctx).If(
		clientv3.Compare(clientv3.CreateRevision(el.Key()), "=", el.Rev()),
		clientv3.Compare(clientv3.ModRevision(m.k.plan()), "=", v.planRev),
	).Then(clientv3.OpPut(m.k.plan(), string(b))).Commit()
	if err != nil {
		return fmt.Errorf("coordinator: write plan: %w", err)
	}
	if !resp.Succeeded {
		return nil // a newer view will come; or we are no longer leader
	}
	for u, n := range next {
		old, had := current[u]
		if had && old == n {
			continue
		}
		reason := "initial"
		if had {
			r, alive := v.nodes[old]
			switch {
			case !alive:
				reason = "failover"
			case r.Weight == 0:
				reason = "drain"
			default:
				reason = "rebalance"
			}
		}
		m.met.moves(u.Kind).WithLabelValues(reason).Inc()
	}
	m.log.Info("coordinator: plan written", "version", doc.Version, "units", len(next))
	return nil
}

// reconcile compares the plan, the owner keys and the local slots, and
// schedules claims, starts, handoffs and releases.
func (m *Member) reconcile(ep *epoch) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.synced || m.ep != ep || ep.ctx.Err() != nil || m.closed {
		return
	}
	v := m.v
	me := m.cfg.NodeID
	m.met.nodes.Set(float64(len(v.nodes)))
	all := map[Unit]bool{}
	for u := range v.planAssign {
		all[u] = true
	}
	for u := range v.owners {
		all[u] = true
	}
	for u := range m.slots {
		all[u] = true
	}
	for u := range all {
		s := m.slots[u]
		if s == nil {
			s = &slot{state: StateIdle}
			m.slots[u] = s
		}
		if s.busy {
			continue
		}
		o, present := v.owners[u]
		ours := present && o.Lease == ep.lease.id
		planned := v.planAssign[u] == me
		running := s.state == StateRunning && s.ep == ep
		switch {
		case planned && !running && (!present || ours):
			if m.draining || time.Now().Before(s.retryAt) {
				// A draining node starts nothing: the plan is about to
				// move the unit elsewhere.
				continue
			}
			m.schedule(u, s, ep, m.startJob)
		case running && !planned:
			m.schedule(u, s, ep, m.handoffJob)
		case running && !ours && v.rev >= s.claimRev:
			// Our claim vanished (it should not while the lease lives):
			// stop at once rather than risk a second owner.
			m.schedule(u, s, ep, m.lostClaimJob)
		case !running && ours && !planned:
			m.schedule(u, s, ep, m.releaseJob)
		}
	}
	m.updateOwnedLocked()
}

// schedule runs job for u in the background, at most Parallel at a time.
// m.mu is held.
func (m *Member) schedule(u Unit, s *slot, ep *epoch, job func(*epoch, Unit, *slot)) {
	s.busy = true
	m.jobs.Go(func() {
		defer func() {
			m.mu.Lock()
			s.busy = false
			m.updateOwnedLocked()
			m.mu.Unlock()
			m.poke()
		}()
		select {
		case m.sem <- struct{}{}:
		case <-ep.ctx.Done():
			return
		}
		defer func() { <-m.sem }()
		s.op.Lock()
		defer s.op.Unlock()
		if ep.ctx.Err() != nil {
			return
		}
		job(ep, u, s)
	})
}

func (m *Member) setState(s *slot, st UnitState, ep *epoch) {
	m.mu.Lock()
	s.state, s.ep = st, ep
	m.mu.Unlock()
}

// startJob claims u (unless already ours) and starts it. s.op is held.
func (m *Member) startJob(ep *epoch, u Unit, s *slot) {
	m.setState(s, StateStarting, ep)
	key := m.k.owner(u)
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	resp, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.CreateRevision(key), "=", 0)).
		Then(clientv3.OpPut(key, string(m.cfg.NodeID), clientv3.WithLease(ep.lease.id))).
		Else(clientv3.OpGet(key)).Commit()
	cancel()
	if err != nil {
		// The claim may or may not have been written; the next view tells.
		m.setState(s, StateIdle, nil)
		return
	}
	claimRev := resp.Header.Revision
	if !resp.Succeeded {
		kvs := resp.Responses[0].GetResponseRange().Kvs
		if len(kvs) == 0 || clientv3.LeaseID(kvs[0].Lease) != ep.lease.id {
			m.setState(s, StateIdle, nil) // someone else still holds it
			return
		}
		claimRev = kvs[0].ModRevision // ours already (an earlier claim)
	}
	m.mu.Lock()
	s.claimRev = claimRev
	m.mu.Unlock()
	if err := m.cfg.Owner.Start(ep.ctx, u); err != nil {
		m.log.Warn("coordinator: start failed", "unit", u.String(), "err", err)
		m.mu.Lock()
		s.state, s.ep = StateIdle, nil
		s.fails++
		s.retryAt = time.Now().Add(min(100*time.Millisecond<<min(s.fails, 7), 10*time.Second))
		m.mu.Unlock()
		m.release(ep, u)
		return
	}
	m.mu.Lock()
	s.fails, s.retryAt = 0, time.Time{}
	m.mu.Unlock()
	if ep.ctx.Err() != nil {
		// The lease was lost while starting: leaseLost waits on s.op and
		// stops the unit right after us.
		m.setState(s, StateRunning, ep)
		return
	}
	m.setState(s, StateRunning, ep)
	m.log.Info("coordinator: unit started", "unit", u.String())
}

// handoffJob stops u resumably and then releases the claim. s.op is held.
func (m *Member) handoffJob(ep *epoch, u Unit, s *slot) {
	m.setState(s, StateStopping, ep)
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	if err := m.cfg.Owner.Stop(ctx, u, StopHandoff); err != nil {
		m.log.Warn("coordinator: stop failed", "unit", u.String(), "err", err)
	}
	cancel()
	m.setState(s, StateIdle, nil)
	m.release(ep, u)
	m.log.Info("coordinator: unit handed off", "unit", u.String())
}

// lostClaimJob stops u whose owner key is no longer ours. s.op is held.
func (m *Member) lostClaimJob(ep *epoch, u Unit, s *slot) {
	m.setState(s, StateStopping, ep)
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	_ = m.cfg.Owner.Stop(ctx, u, StopLeaseLost)
	cancel()
	m.setState(s, StateIdle, nil)
}

// releaseJob deletes a claim we hold but do not run. s.op is held.
func (m *Member) releaseJob(ep *epoch, u Unit, s *slot) { m.release(ep, u) }

// release deletes u's owner key if it is still under ep's lease.
func (m *Member) release(ep *epoch, u Unit) {
	key := m.k.owner(u)
	ctx, cancel := context.WithTimeout(ep.ctx, m.cfg.LeaseTTL)
	defer cancel()
	_, err := m.cli.Txn(ctx).If(clientv3.Compare(clientv3.LeaseValue(key), "=", ep.lease.id)).
		Then(clientv3.OpDelete(key)).Commit()
	if err != nil {
		m.log.Warn("coordinator: release failed; retried later", "unit", u.String(), "err", err)
	}
}

// leaseLost stops every unit of ep at once. It runs on the lease keeper's
// goroutine when the watchdog fires, so it must not wait on etcd.
func (m *Member) leaseLost(ep *epoch) {
	ep.cancel() // in-flight Start calls return; no new job begins
	m.met.leaseLost.Inc()
	m.mu.Lock()
	var us []Unit
	var ss []*slot
	for u, s := range m.slots {
		if s.ep == ep {
			us, ss = append(us, u), append(ss, s)
		}
	}
	m.mu.Unlock()
	ctx, cancel := context.WithDeadline(context.Background(), ep.lease.deadline().Add(ep.lease.margin))
	defer cancel()
	m.stopAll(ctx, ep, us, ss, StopLeaseLost)
}

// stopAll stops the given units of ep in parallel and waits.
func (m *Member) stopAll(ctx context.Context, ep *epoch, us []Unit, ss []*slot, reason StopReason) {
	var wg sync.WaitGroup
	for i, u := range us {
		s := ss[i]
		wg.Go(func() {
			s.op.Lock()
			defer s.op.Unlock()
			m.mu.Lock()
			run := s.ep == ep && (s.state == StateRunning || s.state == StateStopping)
			m.mu.Unlock()
			if run {
				if err := m.cfg.Owner.Stop(ctx, u, reason); err != nil {
					m.log.Warn("coordinator: stop failed", "unit", u.String(), "err", err)
				}
			}
			m.setState(s, StateIdle, nil)
		})
	}
	wg.Wait()
	m.mu.Lock()
	m.updateOwnedLocked()
	m.mu.Unlock()
}

// updateOwnedLocked refreshes the owned gauges. m.mu is held.
func (m *Member) updateOwnedLocked() {
	var sh, ag int
	for u, s := range m.slots {
		if s.state == StateRunning {
			if u.Kind == KindShard {
				sh++
			} else {
				ag++
			}
		}
	}
	m.met.shardsOwned.Set(float64(sh))
	m.met.agentsOwned.Set(float64(ag))
}

// Running returns the units this node runs now, sorted.
func (m *Member) Running() []Unit {
	m.mu.Lock()
	defer m.mu.Unlock()
	var us []Unit
	for u, s := range m.slots {
		if s.state == StateRunning {
			us = append(us, u)
		}
	}
	sortUnits(us)
	return us
}

// IsLeader reports whether this node is the coordinator now.
func (m *Member) IsLeader() bool {
	m.mu.Lock()
	ep := m.ep
	m.mu.Unlock()
	return ep != nil && ep.leader.Load() && ep.ctx.Err() == nil
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

func sortUnits(us []Unit) {
	slices.SortFunc(us, func(a, b Unit) int {
		if a.Kind != b.Kind {
			if a.Kind < b.Kind {
				return -1
			}
			return 1
		}
		return a.ID - b.ID
	})
}
