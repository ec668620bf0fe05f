package voice

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Errors of the Lavalink client.
var (
	// ErrNoNodes means no Lavalink node is connected.
	ErrNoNodes = errors.New("no Lavalink node available")
	// ErrClosed means the client was closed.
	ErrClosed = errors.New("lavalink client closed")
)

// APIError is an error response of a Lavalink node.
type APIError struct {
	Node    string
	Status  int
	Message string
	Path    string
}

// Error describes the failed call and Lavalink's message.
func (e *APIError) Error() string {
	return fmt.Sprintf("lavalink %s: %d %s (%s)", e.Node, e.Status, e.Message, e.Path)
}

// Config configures a Lavalink client.
type Config struct {
	// Nodes are the Lavalink nodes; at least one.
	Nodes []NodeConfig
	// UserID is the Discord user ID of the bot (or agent) whose voice
	// connections the players use.
	UserID string
	// ClientName is sent as Client-Name; default "chopsticks/dev".
	ClientName string
	// ResumeTimeout is how long a node keeps our players after our websocket
	// drops; default 60 s.
	ResumeTimeout time.Duration
	// FailoverAfter is how long a node may be unreachable before its players
	// are moved to another node; default 1 s.
	FailoverAfter time.Duration
	// ReadTimeout closes a websocket that received nothing (stats arrive every
	// minute) for this long; default 150 s.
	ReadTimeout time.Duration
	// HTTPClient makes the REST calls; default http.DefaultTransport's.
	HTTPClient *http.Client
	// RequestTimeout bounds each REST call but player updates; default 10 s.
	RequestTimeout time.Duration
	// PlayerTimeout bounds each player update; default 20 s. Servers may
	// hold an update until the voice connection is up (seconds), and a
	// timeout is never taken for a dead node.
	PlayerTimeout time.Duration
	// Logger receives the client's logs; default discards them.
	Logger *slog.Logger
	// Resume maps node names to Lavalink session IDs to resume on the first
	// connection: the sessions another process left behind (a Chopsticks node
	// that died while owning this agent). Their players are adopted.
	Resume map[string]string
	// OnSession is called with a node's session ID whenever the node becomes
	// ready, so that it can be saved for a later Resume. It must not block.
	OnSession func(node, sessionID string)
	// OnEvent receives every player event, including PlayerMovedEvent. It is
	// called from the client's goroutines and must not block for long.
	OnEvent func(Event)
}

// Client is a Lavalink v4 client over several nodes. It keeps one websocket
// session per node (with resuming enabled), places new players on the least
// loaded node and moves players off nodes that fail.
type Client struct {
	cfg   Config
	log   *slog.Logger
	nodes []*Node

	mu      sync.Mutex
	players map[string]*Player

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New validates cfg and starts connecting to every node. Close stops it.
func New(cfg Config) (*Client, error) {
	if len(cfg.Nodes) == 0 {
		return nil, fmt.Errorf("voice: %w: no nodes configured", ErrBadNodes)
	}
	if cfg.UserID == "" {
		return nil, errors.New("voice: Config.UserID is required (the bot's Discord user ID)")
	}
	if cfg.ClientName == "" {
		cfg.ClientName = "chopsticks/dev"
	}
	if cfg.ResumeTimeout <= 0 {
		cfg.ResumeTimeout = time.Minute
	}
	if cfg.FailoverAfter <= 0 {
		cfg.FailoverAfter = time.Second
	}
	if cfg.ReadTimeout <= 0 {
		cfg.ReadTimeout = 150 * time.Second
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{}
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = 10 * time.Second
	}
	if cfg.PlayerTimeout <= 0 {
		cfg.PlayerTimeout = 20 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.OnEvent == nil {
		cfg.OnEvent = func(Event) {}
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{cfg: cfg, log: cfg.Logger, players: map[string]*Player{}, ctx: ctx, cancel: cancel}
	seen := map[string]bool{}
	for _, nc := range cfg.Nodes {
		if seen[nc.Name] {
			cancel()
			return nil, fmt.Errorf("voice: %w: node name %q used twice", ErrBadNodes, nc.Name)
		}
		seen[nc.Name] = true
		n := &Node{c: c, cfg: nc, downSince: time.Now(), sessionID: cfg.Resume[nc.Name]}
		n.adopt = n.sessionID != ""
		c.nodes = append(c.nodes, n)
	}
	for _, n := range c.nodes {
		c.wg.Add(1)
		go func() { defer c.wg.Done(); n.run(ctx) }()
	}
	c.wg.Add(1)
	go func() { defer c.wg.Done(); c.monitor(ctx) }()
	return c, nil
}

// Close disconnects from every node. Players keep playing on the nodes until
// the resume timeout passes.
func (c *Client) Close() {
	c.cancel()
	for _, n := range c.nodes {
		n.closeConn()
	}
	c.wg.Wait()
}

// Nodes returns the client's nodes.
func (c *Client) Nodes() []*Node { return c.nodes }

// WaitReady waits until at least n nodes are connected.
func (c *Client) WaitReady(ctx context.Context, n int) error {
	ready := 0
	return poll(ctx, func() bool {
		ready = 0
		for _, node := range c.nodes {
			if node.Ready() {
				ready++
			}
		}
		return ready >= n
	}, func() string { return fmt.Sprintf("waiting for %d Lavalink nodes (%d ready)", n, ready) })
}

// poll checks done every 10 ms until it holds, or fails with what() when ctx
// ends first.
func poll(ctx context.Context, done func() bool, what func() string) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !done() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s: %w", what(), ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// waitResumed waits until every configured node named in sessions (node
// name to the session ID being resumed) is ready, its resumed players
// reconciled, or has ended a connection attempt without becoming ready
// (refused, failed handshake): a node that is down is not waited for.
func (c *Client) waitResumed(ctx context.Context, sessions map[string]string) error {
	pending := 0
	return poll(ctx, func() bool {
		pending = 0
		for _, n := range c.nodes {
			if _, ok := sessions[n.cfg.Name]; !ok {
				continue
			}
			n.mu.Lock()
			if !n.ready && n.attempts == 0 {
				pending++
			}
			n.mu.Unlock()
		}
		return pending == 0
	}, func() string { return fmt.Sprintf("waiting for %d Lavalink nodes to resume", pending) })
}

// BestNode returns the connected node with the lowest load penalty.
//
// The penalty follows the Lavalink client convention: the playing players
// (the larger of the node's stats and the players this client placed there),
// plus 1.05^(100·systemLoad)·10−10 for CPU, plus 1.03^(500·deficit/3000)·600−600
// and 1.03^(500·nulled/3000)·300−300 for frames not delivered on time.
func (c *Client) BestNode() (*Node, error) {
	return c.bestNodeExcept(nil)
}

func (c *Client) bestNodeExcept(skip *Node) (*Node, error) {
	c.mu.Lock()
	local := map[*Node]int{}
	for _, p := range c.players {
		if n := p.currentNode(); n != nil {
			local[n]++
		}
	}
	c.mu.Unlock()
	var best *Node
	bestPenalty := math.Inf(1)
	for _, n := range c.nodes {
		if n == skip || !n.Ready() {
			continue
		}
		if p := n.penalty(local[n]); p < bestPenalty {
			best, bestPenalty = n, p
		}
	}
	if best == nil {
		return nil, ErrNoNodes
	}
	return best, nil
}

// readyNode returns the best node, waiting up to 5 s (or ctx) for one to
// connect: a client made moments ago is still dialling.
func (c *Client) readyNode(ctx context.Context) (*Node, error) {
	n, err := c.BestNode()
	if !errors.Is(err, ErrNoNodes) {
		return n, err
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx, 1); err != nil {
		return nil, ErrNoNodes
	}
	return c.BestNode()
}

// Player returns guildID's player, creating it (on no node yet) if needed.
func (c *Client) Player(guildID string) *Player {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.players[guildID]
	if p == nil {
		p = &Player{c: c, guildID: guildID, volume: 100}
		c.players[guildID] = p
	}
	return p
}

// ExistingPlayer returns guildID's player if there is one.
func (c *Client) ExistingPlayer(guildID string) (*Player, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.players[guildID]
	return p, ok
}

// LoadTracks resolves identifier (a URL, or a search such as "ytsearch:...")
// on the least loaded node.
func (c *Client) LoadTracks(ctx context.Context, identifier string) (LoadResult, error) {
	n, err := c.readyNode(ctx)
	if err != nil {
		return LoadResult{}, err
	}
	var raw struct {
		LoadType LoadType        `json:"loadType"`
		Data     json.RawMessage `json:"data"`
	}
	if err := n.do(ctx, http.MethodGet, "/v4/loadtracks?identifier="+url.QueryEscape(identifier), nil, &raw); err != nil {
		return LoadResult{}, err
	}
	res := LoadResult{Type: raw.LoadType}
	var err2 error
	switch raw.LoadType {
	case LoadTrack:
		var t Track
		err2 = json.Unmarshal(raw.Data, &t)
		res.Tracks = []Track{t}
	case LoadSearch:
		res.Tracks, err2 = decodeTracks(raw.Data)
	case LoadPlaylist:
		var pl struct {
			Info   PlaylistInfo    `json:"info"`
			Tracks json.RawMessage `json:"tracks"`
		}
		if err2 = json.Unmarshal(raw.Data, &pl); err2 == nil {
			res.Tracks, err2 = decodeTracks(pl.Tracks)
		}
		res.Playlist = &pl.Info
	case LoadError:
		var e Exception
		err2 = json.Unmarshal(raw.Data, &e)
		res.Exception = &e
	case LoadEmpty:
	default:
		return LoadResult{}, fmt.Errorf("lavalink %s: unknown loadType %q", n.cfg.Name, raw.LoadType)
	}
	if err2 != nil {
		return LoadResult{}, fmt.Errorf("lavalink %s: decoding %s result: %w", n.cfg.Name, raw.LoadType, err2)
	}
	return res, nil
}

// decodeTracks decodes a list of tracks, leaving out those it cannot read
// (a server's own shape of some field): it fails only when it can read none.
func decodeTracks(raw json.RawMessage) ([]Track, error) {
	var list []json.RawMessage
	if err := json.Unmarshal(raw, &list); err != nil {
		return nil, err
	}
	out := make([]Track, 0, len(list))
	var firstErr error
	for _, r := range list {
		var t Track
		if err := json.Unmarshal(r, &t); err != nil {
			firstErr = cmp.Or(firstErr, err)
			continue
		}
		out = append(out, t)
	}
	if len(out) == 0 && firstErr != nil {
		return nil, firstErr
	}
	return out, nil
}

// monitor moves the players of nodes that stayed unreachable longer than
// FailoverAfter.
func (c *Client) monitor(ctx context.Context) {
	t := time.NewTicker(50 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		for _, n := range c.nodes {
			if since, down := n.down(); down && time.Since(since) >= c.cfg.FailoverAfter {
				c.evacuate(ctx, n, since)
			}
		}
	}
}

// evacuate moves every player on n to other nodes, resuming at the position
// each had when n went down.
func (c *Client) evacuate(ctx context.Context, n *Node, downSince time.Time) {
	c.mu.Lock()
	var move []*Player
	for _, p := range c.players {
		if p.currentNode() == n {
			move = append(move, p)
		}
	}
	c.mu.Unlock()
	for _, p := range move {
		if err := p.moveFrom(ctx, n, downSince); err != nil && !errors.Is(err, ErrNoNodes) {
			c.log.Warn("moving player failed", "guild", p.guildID, "from", n.cfg.Name, "err", err)
		}
	}
}

func (c *Client) forget(p *Player) {
	c.mu.Lock()
	if c.players[p.guildID] == p {
		delete(c.players, p.guildID)
	}
	c.mu.Unlock()
}

// Node is one Lavalink node and the client's websocket session on it.
type Node struct {
	c   *Client
	cfg NodeConfig

	mu        sync.Mutex
	conn      *websocket.Conn
	sessionID string
	ready     bool
	downSince time.Time
	stats     Stats
	hasStats  bool
	adopt     bool // the session came from Config.Resume: adopt its players
	attempts  int  // connection attempts that ended (failed or dropped)
	// resumable is whether the node accepted resuming for the current
	// session; servers without PATCH /v4/sessions/{id} (NodeLink) refuse.
	resumable bool
}

// Resumable reports whether the node accepted resuming for the current
// session: if not, players on it are rebuilt after a reconnect.
func (n *Node) Resumable() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.resumable
}

// Name returns the node's configured name.
func (n *Node) Name() string { return n.cfg.Name }

// Ready reports whether the node's websocket session is up.
func (n *Node) Ready() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.ready
}

// SessionID returns the Lavalink session ID on this node ("" before ready).
func (n *Node) SessionID() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.sessionID
}

// Stats returns the node's last stats and whether any arrived.
func (n *Node) Stats() (Stats, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.stats, n.hasStats
}

func (n *Node) down() (time.Time, bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.downSince, !n.ready
}

func (n *Node) penalty(localPlayers int) float64 {
	n.mu.Lock()
	st := n.stats
	n.mu.Unlock()
	p := float64(max(st.PlayingPlayers, localPlayers))
	p += math.Pow(1.05, 100*normalLoad(st.CPU.SystemLoad, st.CPU.Cores))*10 - 10
	if fs := st.FrameStats; fs != nil {
		p += math.Pow(1.03, 500*float64(fs.Deficit)/3000)*600 - 600
		p += math.Pow(1.03, 500*float64(fs.Nulled)/3000)*300 - 300
	}
	return p
}

// normalLoad brings a node's systemLoad to Lavalink's 0..1 scale: Lavalink
// reports the fraction of CPU in use, NodeLink the load average (7-13 on a
// busy 16-core host), which is divided by the cores. The result is capped
// at 2 (twice overloaded) so the penalty stays finite.
func normalLoad(load float64, cores int) float64 {
	if load > 1 && cores > 0 {
		load /= float64(cores)
	}
	return min(max(load, 0), 2)
}

func (n *Node) closeConn() {
	n.mu.Lock()
	if n.conn != nil {
		n.conn.Close()
	}
	n.mu.Unlock()
}

// Reconnection delays: the first retry comes after minBackoff, each failed
// or short-lived session doubles it up to maxBackoff, and a session that
// stayed ready for stableSession resets it.
const (
	minBackoff    = 50 * time.Millisecond
	maxBackoff    = 5 * time.Second
	stableSession = 10 * time.Second
)

// run keeps the node's websocket connected until ctx ends.
func (n *Node) run(ctx context.Context) {
	backoff := minBackoff
	for ctx.Err() == nil {
		readyAt, err := n.session(ctx)
		if ctx.Err() != nil {
			return
		}
		n.mu.Lock()
		n.attempts++
		n.mu.Unlock()
		if !readyAt.IsZero() && time.Since(readyAt) >= stableSession {
			// A session that worked for a while: its loss is news, retry soon.
			backoff = minBackoff
		}
		n.c.log.Warn("lavalink node disconnected", "lavalink_node", n.cfg.Name, "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, maxBackoff)
	}
}

// session connects (resuming when it can), then reads ops until the
// connection fails. It returns when the node became ready (zero if never).
func (n *Node) session(ctx context.Context) (time.Time, error) {
	h := http.Header{}
	h.Set("Authorization", n.cfg.Password)
	h.Set("User-Id", n.c.cfg.UserID)
	h.Set("Client-Name", n.c.cfg.ClientName)
	n.mu.Lock()
	previous, downSince := n.sessionID, n.downSince
	n.mu.Unlock()
	if previous != "" {
		h.Set("Session-Id", previous)
	}
	d := websocket.Dialer{HandshakeTimeout: 5 * time.Second}
	conn, resp, err := d.DialContext(ctx, n.cfg.wsURL(), h)
	if err != nil {
		if resp != nil {
			return time.Time{}, fmt.Errorf("websocket handshake: %s: %w", resp.Status, err)
		}
		return time.Time{}, fmt.Errorf("websocket dial: %w", err)
	}
	defer conn.Close()
	n.mu.Lock()
	n.conn = conn
	n.mu.Unlock()
	conn.SetReadDeadline(time.Now().Add(n.c.cfg.ReadTimeout))
	var ready struct {
		Op        string `json:"op"`
		Resumed   bool   `json:"resumed"`
		SessionID string `json:"sessionId"`
	}
	if err := conn.ReadJSON(&ready); err != nil || ready.Op != "ready" || ready.SessionID == "" {
		return time.Time{}, fmt.Errorf("expected ready op: %v", err)
	}
	n.mu.Lock()
	n.sessionID = ready.SessionID
	n.mu.Unlock()
	err = n.do(ctx, http.MethodPatch, "/v4/sessions/"+ready.SessionID,
		map[string]any{"resuming": true, "timeout": int(n.c.cfg.ResumeTimeout / time.Second)}, nil)
	var refused *APIError
	switch {
	case errors.As(err, &refused):
		// The node answered but will not resume (NodeLink has no such
		// route): usable, its players are rebuilt after a reconnect.
		n.c.log.Info("lavalink node cannot resume sessions", "lavalink_node", n.cfg.Name, "status", refused.Status)
	case err != nil:
		return time.Time{}, fmt.Errorf("enabling resuming: %w", err)
	}
	n.mu.Lock()
	n.resumable = err == nil
	n.mu.Unlock()
	var st Stats
	if err := n.do(ctx, http.MethodGet, "/v4/stats", nil, &st); err == nil {
		n.mu.Lock()
		n.stats, n.hasStats = st, true
		n.mu.Unlock()
	}
	n.mu.Lock()
	adopt := n.adopt
	n.adopt = false
	n.mu.Unlock()
	if n.c.cfg.OnSession != nil {
		n.c.cfg.OnSession(n.cfg.Name, ready.SessionID)
	}
	// A resumed session's players are reconciled before the node counts as
	// ready, so that whoever waits for readiness sees them; queued events
	// are read after that.
	if ready.Resumed {
		n.syncPlayers(ctx, adopt)
	}
	readyAt := time.Now()
	n.mu.Lock()
	n.ready = true
	n.mu.Unlock()
	n.c.log.Info("lavalink node ready", "lavalink_node", n.cfg.Name, "resumed", ready.Resumed)
	if !ready.Resumed && previous != "" && !adopt {
		// The node lost our players (restart or timeout): put them back.
		n.c.evacuate(ctx, n, downSince)
	}
	defer func() {
		n.mu.Lock()
		n.ready, n.conn, n.downSince = false, nil, time.Now()
		n.mu.Unlock()
	}()
	for {
		conn.SetReadDeadline(time.Now().Add(n.c.cfg.ReadTimeout))
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return readyAt, err
		}
		n.handle(msg)
	}
}

// syncPlayers reconciles a resumed session's players with ours. With adopt
// (a session inherited through Config.Resume) unknown players become ours;
// otherwise players the node kept that we destroyed or moved to another node
// while it was unreachable are destroyed there.
func (n *Node) syncPlayers(ctx context.Context, adopt bool) {
	var list []json.RawMessage
	if err := n.do(ctx, http.MethodGet, "/v4/sessions/"+n.SessionID()+"/players", nil, &list); err != nil {
		n.c.log.Warn("listing players of resumed session", "lavalink_node", n.cfg.Name, "err", err)
		return
	}
	for _, raw := range list {
		var r struct {
			GuildID string `json:"guildId"`
		}
		var pr playerResponse
		if json.Unmarshal(raw, &r) != nil || r.GuildID == "" || json.Unmarshal(raw, &pr) != nil {
			continue
		}
		if adopt {
			p := n.c.Player(r.GuildID)
			p.mu.Lock()
			if p.node == nil {
				p.node = n
				p.record(pr)
				if pr.Filters != nil {
					p.filters = *pr.Filters
				}
				if pr.Voice != nil {
					p.voice = *pr.Voice
				}
			}
			p.mu.Unlock()
		}
		p, ok := n.c.ExistingPlayer(r.GuildID)
		if !ok || p.currentNode() != n {
			n.do(ctx, http.MethodDelete, "/v4/sessions/"+n.SessionID()+"/players/"+r.GuildID, nil, nil)
		}
	}
}

// Players returns the client's players.
func (c *Client) Players() []*Player {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]*Player, 0, len(c.players))
	for _, p := range c.players {
		out = append(out, p)
	}
	return out
}

// handle dispatches one websocket op.
func (n *Node) handle(msg []byte) {
	var op struct {
		Op      string `json:"op"`
		GuildID string `json:"guildId"`
		Type    string `json:"type"`
		State   struct {
			Time      int64 `json:"time"`
			Position  int64 `json:"position"`
			Connected bool  `json:"connected"`
		} `json:"state"`
		Track       Track          `json:"track"`
		Reason      TrackEndReason `json:"reason"`
		Exception   Exception      `json:"exception"`
		ThresholdMs int64          `json:"thresholdMs"`
		Code        int            `json:"code"`
		ByRemote    bool           `json:"byRemote"`
	}
	if err := json.Unmarshal(msg, &op); err != nil {
		n.c.log.Warn("bad op from lavalink", "lavalink_node", n.cfg.Name, "err", err)
		return
	}
	switch op.Op {
	case "stats":
		var st Stats
		if json.Unmarshal(msg, &st) == nil {
			n.mu.Lock()
			n.stats, n.hasStats = st, true
			n.mu.Unlock()
		}
		return
	case "playerUpdate":
		if p, ok := n.c.ExistingPlayer(op.GuildID); ok {
			p.observe(n, op.State.Position, op.State.Connected)
		}
		return
	case "event":
	default:
		return
	}
	p, ok := n.c.ExistingPlayer(op.GuildID)
	if !ok || p.currentNode() != n {
		return // an event of a player we destroyed or moved away
	}
	var ev Event
	switch op.Type {
	case "TrackStartEvent":
		p.started(n, op.Track)
		ev = TrackStartEvent{GuildID: op.GuildID, Track: op.Track}
	case "TrackEndEvent":
		p.ended(n, op.Track, op.Reason)
		ev = TrackEndEvent{GuildID: op.GuildID, Track: op.Track, Reason: op.Reason}
	case "TrackExceptionEvent":
		ev = TrackExceptionEvent{GuildID: op.GuildID, Track: op.Track, Exception: op.Exception}
	case "TrackStuckEvent":
		ev = TrackStuckEvent{GuildID: op.GuildID, Track: op.Track, Threshold: time.Duration(op.ThresholdMs) * time.Millisecond}
	case "WebSocketClosedEvent":
		var closed struct {
			Reason string `json:"reason"`
		}
		json.Unmarshal(msg, &closed)
		p.disconnected(n, op.Code, closed.Reason)
		ev = WebSocketClosedEvent{GuildID: op.GuildID, Code: op.Code, Reason: closed.Reason, ByRemote: op.ByRemote}
	default:
		return
	}
	n.c.cfg.OnEvent(ev)
}

// do makes a REST call; body is JSON-encoded, out decoded from a 2xx answer.
func (n *Node) do(ctx context.Context, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("lavalink %s: encoding request: %w", n.cfg.Name, err)
		}
		rd = bytes.NewReader(b)
	}
	timeout := n.c.cfg.RequestTimeout
	if method == http.MethodPatch && strings.Contains(path, "/players/") {
		timeout = n.c.cfg.PlayerTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, n.cfg.httpBase()+path, rd)
	if err != nil {
		return fmt.Errorf("lavalink %s: %w", n.cfg.Name, err)
	}
	req.Header.Set("Authorization", n.cfg.Password)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := n.c.cfg.HTTPClient.Do(req)
	if err != nil {
		return fmt.Errorf("lavalink %s: %s %s: %w", n.cfg.Name, method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("lavalink %s: reading response: %w", n.cfg.Name, err)
	}
	if resp.StatusCode/100 != 2 {
		e := &APIError{Node: n.cfg.Name, Status: resp.StatusCode, Path: req.URL.Path}
		var body struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &body) == nil && body.Message != "" {
			e.Message = body.Message
		} else {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return e
	}
	if out != nil && resp.StatusCode != http.StatusNoContent {
		if err := json.Unmarshal(raw, out); err != nil {
			return fmt.Errorf("lavalink %s: decoding %s: %w", n.cfg.Name, req.URL.Path, err)
		}
	}
	return nil
}
