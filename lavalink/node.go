package lavalink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

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
	// loadAverage is whether the node's systemLoad is a load average
	// (NodeLink, which says isNodelink in /v4/info) rather than a fraction.
	loadAverage bool
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
	st, loadAvg := n.stats, n.loadAverage
	n.mu.Unlock()
	p := float64(max(st.PlayingPlayers, localPlayers))
	p += math.Pow(1.05, 100*normalLoad(st.CPU.SystemLoad, st.CPU.Cores, loadAvg))*10 - 10
	if fs := st.FrameStats; fs != nil {
		p += math.Pow(1.03, 500*float64(fs.Deficit)/3000)*600 - 600
		p += math.Pow(1.03, 500*float64(fs.Nulled)/3000)*300 - 300
	}
	return p
}

// normalLoad brings a node's systemLoad to Lavalink's 0..1 scale: Lavalink
// reports the fraction of CPU in use, NodeLink the load average (7-13 on a
// busy 16-core host, 0.8 on an idle one), which is divided by the cores.
// loadAvg says the node is known to report a load average; a figure above
// 1 from any server is one too. The result is capped at 2 (twice
// overloaded) so the penalty stays finite.
func normalLoad(load float64, cores int, loadAvg bool) float64 {
	if (loadAvg || load > 1) && cores > 0 {
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
	var info struct {
		IsNodelink bool `json:"isNodelink"`
	}
	if err := n.do(ctx, http.MethodGet, "/v4/info", nil, &info); err == nil {
		n.mu.Lock()
		n.loadAverage = info.IsNodelink
		n.mu.Unlock()
	}
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
