package lavalink

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// Errors of the Lavalink client.
var (
	// ErrNoNodes means no Lavalink node is connected.
	ErrNoNodes = errors.New("no Lavalink node available")
	// ErrClosed means the client was closed.
	ErrClosed = errors.New("lavalink client closed")
	// ErrInvalid means a call's argument was invalid (a volume outside
	// 0-1000, an incomplete voice state): nothing was sent.
	ErrInvalid = errors.New("lavalink: invalid argument")
)

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
	c.mu.Lock()
	c.cancel() // under c.mu: async adds no goroutine after this
	c.mu.Unlock()
	for _, n := range c.nodes {
		n.closeConn()
	}
	c.wg.Wait()
}

// async runs f on a goroutine the client owns: Close cancels f's context
// and waits for it. After Close, f does not run.
func (c *Client) async(f func(ctx context.Context)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.ctx.Err() != nil {
		return
	}
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		f(c.ctx)
	}()
}

// Nodes returns the client's nodes.
func (c *Client) Nodes() []*Node { return c.nodes }

// WaitReady waits until at least n nodes are connected.
func (c *Client) WaitReady(ctx context.Context, n int) error {
	ready := 0
	return waitUntil(ctx, func() bool {
		ready = 0
		for _, node := range c.nodes {
			if node.Ready() {
				ready++
			}
		}
		return ready >= n
	}, func() string { return fmt.Sprintf("waiting for %d Lavalink nodes (%d ready)", n, ready) })
}

// waitUntil checks done every 10 ms until it holds, or fails with what() when ctx
// ends first.
func waitUntil(ctx context.Context, done func() bool, what func() string) error {
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

// WaitResumed waits until every configured node named in sessions (node
// name to the session ID being resumed, as given in Config.Resume) is ready, its resumed players
// reconciled, or has ended a connection attempt without becoming ready
// (refused, failed handshake): a node that is down is not waited for.
func (c *Client) WaitResumed(ctx context.Context, sessions map[string]string) error {
	pending := 0
	return waitUntil(ctx, func() bool {
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
