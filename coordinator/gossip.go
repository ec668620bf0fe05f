package coordinator

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// GossipConfig configures a Gossip. NodeID is required.
type GossipConfig struct {
	NodeID   NodeID
	BindAddr string   // default 127.0.0.1
	BindPort int      // TCP and UDP port; 0 picks a free one
	Seeds    []string // host:port of peers to join; none starts a new cluster
	Addr     string   // the node's service address, shared as metadata
	Weight   int      // shared as metadata
	// Settings is an opaque digest of the settings every node must share,
	// shared as metadata; a peer with another one is reported to
	// SettingsDiffer and listed by MismatchedPeers. The caller decides what
	// it covers and how to word a difference.
	Settings string
	// SettingsDiffer, when set, is called when a live peer first shares
	// settings other than Settings, and again whenever they change. It runs
	// on memberlist's event path, so it must return quickly and must not
	// call SetLoad, Leave or Shutdown.
	SettingsDiffer func(peer NodeID, peerSettings string)

	// ProbeInterval is the failure detector's period; default 200ms, which
	// with the other tuned timings notices a dead peer in about a second.
	ProbeInterval time.Duration
	Logger        *slog.Logger // optional
}

// Peer is a live member as gossip knows it.
type Peer struct {
	ID       NodeID `json:"id"`
	Addr     string `json:"addr,omitempty"`     // service address
	Weight   int    `json:"weight"`             // capacity
	Load     int    `json:"load"`               // units running
	Gossip   string `json:"gossip,omitempty"`   // gossip host:port
	Settings string `json:"settings,omitempty"` // see GossipConfig.Settings
}

// Gossip is this node's memberlist: fast liveness and load of the peers.
// It is never the authority for ownership; etcd is.
type Gossip struct {
	ml *memberlist.Memberlist

	differ  func(peer NodeID, peerSettings string) // GossipConfig.SettingsDiffer
	mu      sync.Mutex
	meta    Peer
	peers   map[string]Peer   // live members, copied in event callbacks
	warned  map[string]string // peer -> the differing settings last reported
	changed chan struct{}

	seeds    []string
	wanted   map[NodeID]string // registered peers (from etcd) and their gossip addresses
	watchers map[string]*peerWatch
	suspects chan Suspicion

	stop     chan struct{} // closed by Leave or Shutdown; ends rejoin and watchers
	stopOnce sync.Once
	rejoined sync.WaitGroup // rejoin and the peer watchers
}

// peerWatch is the liveness stream to one peer incarnation.
type peerWatch struct {
	addr string
	stop chan struct{}
}

// StartGossip starts the memberlist and joins the seeds (if any answer).
func StartGossip(cfg GossipConfig) (*Gossip, error) {
	if cfg.NodeID == "" {
		return nil, errors.New("coordinator: GossipConfig needs NodeID")
	}
	if cfg.BindAddr == "" {
		cfg.BindAddr = "127.0.0.1"
	}
	if cfg.ProbeInterval <= 0 {
		cfg.ProbeInterval = 200 * time.Millisecond
	}
	g := &Gossip{
		differ:   cfg.SettingsDiffer,
		meta:     Peer{ID: cfg.NodeID, Addr: cfg.Addr, Weight: cfg.Weight, Settings: cfg.Settings},
		peers:    map[string]Peer{},
		warned:   map[string]string{},
		changed:  make(chan struct{}, 1),
		stop:     make(chan struct{}),
		seeds:    cfg.Seeds,
		watchers: map[string]*peerWatch{},
		suspects: make(chan Suspicion, 64),
	}
	c := memberlist.DefaultLANConfig()
	c.Name = string(cfg.NodeID)
	c.BindAddr, c.BindPort = cfg.BindAddr, cfg.BindPort
	c.AdvertiseAddr, c.AdvertisePort = "", cfg.BindPort
	// Tuned for fast detection on a LAN: probe often, suspect briefly.
	c.ProbeInterval = cfg.ProbeInterval
	c.ProbeTimeout = cfg.ProbeInterval / 2
	c.GossipInterval = cfg.ProbeInterval / 4
	c.SuspicionMult = 2
	c.SuspicionMaxTimeoutMult = 3
	c.PushPullInterval = 10 * cfg.ProbeInterval
	c.TCPTimeout = 5 * cfg.ProbeInterval
	c.GossipToTheDeadTime = 10 * cfg.ProbeInterval
	// A node restarted on another address (a new port, a new container)
	// takes its name back once its old incarnation is dead for a second.
	c.DeadNodeReclaimTime = 5 * cfg.ProbeInterval
	c.IndirectChecks = 2
	c.Delegate = (*gossipDelegate)(g)
	c.Events = (*gossipEvents)(g)
	if cfg.Logger != nil {
		c.Logger = slog.NewLogLogger(cfg.Logger.Handler(), slog.LevelDebug)
	} else {
		c.Logger = log.New(io.Discard, "", 0)
	}
	tr, err := newLiveTransport(c.BindAddr, c.BindPort, c.Logger)
	if err != nil {
		return nil, fmt.Errorf("coordinator: gossip: %w", err)
	}
	c.Transport = tr
	c.BindPort = tr.GetAutoBindPort()
	c.AdvertisePort = c.BindPort
	ml, err := memberlist.Create(c)
	if err != nil {
		_ = tr.Shutdown()
		return nil, fmt.Errorf("coordinator: gossip: %w", err)
	}
	g.ml = ml
	ln := ml.LocalNode()
	g.mu.Lock()
	g.meta.Gossip = ln.Address()
	g.mu.Unlock()
	if len(cfg.Seeds) > 0 {
		if _, err := ml.Join(cfg.Seeds); err != nil {
			// Nodes starting together may not listen yet. Gossip only
			// speeds up liveness (etcd owns the truth), so rejoin keeps
			// trying in the background instead of refusing to start.
			c.Logger.Printf("[WARN] coordinator: gossip seeds not answering yet; retrying: %v", err)
		}
	}
	g.rejoined.Add(1)
	go g.rejoin()
	return g, nil
}

// rejoinEvery is how often rejoin looks for peers it has not met.
const rejoinEvery = 500 * time.Millisecond

// rejoin joins, until the gossip stops, the seeds and the gossip addresses
// of every registered peer (see Want) while some registered peer is not a
// live member. Before the first Want it retries the seeds while this node
// is alone. A node that restarts, or started before its seeds, thus meets
// the whole cluster within about a second of either side being reachable.
func (g *Gossip) rejoin() {
	defer g.rejoined.Done()
	t := time.NewTicker(rejoinEvery)
	defer t.Stop()
	for {
		select {
		case <-g.stop:
			return
		case <-t.C:
		}
		if addrs := g.missing(); len(addrs) > 0 {
			_, _ = g.ml.Join(addrs)
		}
	}
}

// missing returns the addresses to join now: none when every wanted peer
// is a live member.
func (g *Gossip) missing() []string {
	g.mu.Lock()
	defer g.mu.Unlock()
	var addrs []string
	if g.wanted == nil {
		if len(g.peers) <= 1 {
			addrs = slices.Clone(g.seeds)
		}
		return addrs
	}
	for id, addr := range g.wanted {
		if _, ok := g.peers[string(id)]; !ok && id != g.meta.ID && addr != "" {
			addrs = append(addrs, addr)
		}
	}
	if len(addrs) > 0 {
		addrs = append(addrs, g.seeds...)
	}
	slices.Sort(addrs)
	return slices.Compact(addrs)
}

// Want tells the gossip which peers the cluster lists (node ID to gossip
// address, from the etcd registrations): it keeps joining them and the
// seeds until it has met them all.
func (g *Gossip) Want(peers map[NodeID]string) {
	g.mu.Lock()
	g.wanted = maps.Clone(peers)
	if g.wanted == nil {
		g.wanted = map[NodeID]string{}
	}
	g.mu.Unlock()
}

// Suspects delivers suspicions that a peer died: its liveness stream ended
// or fell silent, or memberlist declared it dead. A suspicion is a hint for
// a direct check, never proof.
func (g *Gossip) Suspects() <-chan Suspicion { return g.suspects }

func (g *Gossip) suspect(s Suspicion) {
	select {
	case g.suspects <- s:
	default: // full: the watcher repeats itself while the peer stays dead
	}
}

// Probe checks a peer's gossip address directly (see ProbeResult).
func (g *Gossip) Probe(ctx context.Context, addr string) ProbeResult { return probe(ctx, addr) }

func (g *Gossip) halt() {
	g.stopOnce.Do(func() { close(g.stop) })
	g.mu.Lock()
	for name, w := range g.watchers {
		close(w.stop)
		delete(g.watchers, name)
	}
	g.mu.Unlock()
	g.rejoined.Wait()
}

// Address is the host:port other nodes use as a seed for this one.
func (g *Gossip) Address() string { return g.ml.LocalNode().Address() }

// Peers returns the live members, this node included, sorted by ID.
//
// It reads a copy kept by the event callbacks: memberlist updates the Meta
// of the nodes that Members returns in place, so reading those races.
func (g *Gossip) Peers() []Peer {
	g.mu.Lock()
	ps := make([]Peer, 0, len(g.peers))
	for _, p := range g.peers {
		ps = append(ps, p)
	}
	g.mu.Unlock()
	slices.SortFunc(ps, func(a, b Peer) int { return cmp.Compare(a.ID, b.ID) })
	return ps
}

// track records n (called under memberlist's lock, so n is stable here).
func (g *Gossip) track(n *memberlist.Node, alive bool) {
	var report *Peer // a peer whose settings newly differ
	g.mu.Lock()
	if alive {
		var p Peer
		if err := json.Unmarshal(n.Meta, &p); err != nil {
			p = Peer{}
		}
		p.ID, p.Gossip = NodeID(n.Name), n.Address()
		g.peers[n.Name] = p
		if differ := g.differs(p); differ && g.warned[n.Name] != p.Settings {
			g.warned[n.Name] = p.Settings
			report = &p
		} else if !differ {
			delete(g.warned, n.Name)
		}
		g.watchLocked(n.Name, n.Address())
	} else {
		delete(g.peers, n.Name)
		delete(g.warned, n.Name)
		if w, ok := g.watchers[n.Name]; ok {
			close(w.stop)
			delete(g.watchers, n.Name)
		}
		if n.Name != string(g.meta.ID) {
			reason := "gossip: failed"
			if n.State == memberlist.StateLeft {
				reason = "gossip: left"
			}
			g.suspect(Suspicion{NodeID(n.Name), n.Address(), reason})
		}
	}
	g.mu.Unlock()
	if report != nil && g.differ != nil {
		g.differ(report.ID, report.Settings)
	}
	g.notify()
}

// watchLocked starts a liveness stream to a peer (once per address).
// g.mu is held.
func (g *Gossip) watchLocked(name, addr string) {
	if name == string(g.meta.ID) {
		return
	}
	if w, ok := g.watchers[name]; ok {
		if w.addr == addr {
			return
		}
		close(w.stop)
	}
	select {
	case <-g.stop:
		return // stopping: no new watchers
	default:
	}
	w := &peerWatch{addr: addr, stop: make(chan struct{})}
	g.watchers[name] = w
	g.rejoined.Add(1)
	go func() {
		defer g.rejoined.Done()
		g.watchPeer(NodeID(name), addr, w.stop)
	}()
}

// differs tells whether p shares settings other than this node's; a node
// that shares none (an older version) does not count. g.mu is held.
func (g *Gossip) differs(p Peer) bool {
	return p.Settings != "" && g.meta.Settings != "" && p.Settings != g.meta.Settings
}

// MismatchedPeers returns the live peers whose settings differ from this
// node's, sorted.
func (g *Gossip) MismatchedPeers() []NodeID {
	g.mu.Lock()
	var out []NodeID
	for _, p := range g.peers {
		if g.differs(p) {
			out = append(out, p.ID)
		}
	}
	g.mu.Unlock()
	slices.Sort(out)
	return out
}

// Changed signals (coalesced) when a peer joins, leaves or changes metadata.
func (g *Gossip) Changed() <-chan struct{} { return g.changed }

// SetLoad publishes this node's load and weight to the peers.
func (g *Gossip) SetLoad(load, weight int) error {
	g.mu.Lock()
	same := g.meta.Load == load && g.meta.Weight == weight
	g.meta.Load, g.meta.Weight = load, weight
	g.mu.Unlock()
	if same {
		return nil
	}
	if err := g.ml.UpdateNode(time.Second); err != nil {
		return fmt.Errorf("coordinator: gossip update: %w", err)
	}
	return nil
}

// Leave tells the peers this node goes, then stops gossiping.
func (g *Gossip) Leave(timeout time.Duration) error {
	g.halt()
	err := g.ml.Leave(timeout)
	if serr := g.ml.Shutdown(); err == nil {
		err = serr
	}
	return err
}

// Shutdown stops gossiping without telling anyone (peers detect it as a
// failure).
func (g *Gossip) Shutdown() error {
	g.halt()
	return g.ml.Shutdown()
}

func (g *Gossip) notify() {
	select {
	case g.changed <- struct{}{}:
	default:
	}
}

// gossipDelegate shares the node's metadata; it carries no user messages.
type gossipDelegate Gossip

func (d *gossipDelegate) NodeMeta(limit int) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	b, _ := json.Marshal(d.meta)
	if len(b) > limit {
		// Drop the optional address rather than send a cut JSON document.
		m := d.meta
		m.Addr = ""
		b, _ = json.Marshal(m)
		if len(b) > limit {
			b = []byte("{}")
		}
	}
	return b
}
func (d *gossipDelegate) NotifyMsg([]byte)                           {}
func (d *gossipDelegate) GetBroadcasts(overhead, limit int) [][]byte { return nil }
func (d *gossipDelegate) LocalState(join bool) []byte                { return nil }
func (d *gossipDelegate) MergeRemoteState(buf []byte, join bool)     {}

// gossipEvents turns membership events into Changed signals.
type gossipEvents Gossip

func (e *gossipEvents) NotifyJoin(n *memberlist.Node)   { (*Gossip)(e).track(n, true) }
func (e *gossipEvents) NotifyLeave(n *memberlist.Node)  { (*Gossip)(e).track(n, false) }
func (e *gossipEvents) NotifyUpdate(n *memberlist.Node) { (*Gossip)(e).track(n, true) }
