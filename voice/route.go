package voice

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/refusal"
)

// Locator tells which node holds the music session of a voice channel;
// agentpool's Allocator implements it from the allocation keys in etcd.
// found is false when no agent plays in the channel.
type Locator interface {
	Locate(ctx context.Context, guildID, channelID string) (agentUserID, node string, found bool, err error)
}

// RouterConfig configures a Router.
type RouterConfig struct {
	// Music runs the commands whose session is on this node, and every
	// command forwarded here.
	Music *Music
	// Locator finds the node playing in a channel.
	Locator Locator
	// Redis carries forwarded commands and their replies.
	Redis redis.UniversalClient
	// Node is this node's ID, as the allocations and LiveNodes name it.
	Node string
	// LiveNodes lists the live nodes (this one may be among them); /play
	// tries them when this node has no free agent. Nil tries none.
	LiveNodes func() []string
	// Timeout bounds the wait for a forwarded command's reply, also within
	// the caller's context deadline; default 3 s, at least 1 s (Redis
	// blocks in whole seconds).
	Timeout time.Duration
	// PlayTimeout is Timeout for /play, which loads tracks and sends an
	// agent; default 10 s.
	PlayTimeout time.Duration
	// MaxInFlight bounds the forwarded commands Serve runs at once; default 64.
	MaxInFlight int
	// Registerer receives the routing metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Router runs the music commands on the node that plays in the caller's
// voice channel. A music session (the agent's Lavalink client and player)
// lives on one node, but commands arrive at the node owning the guild's
// shard: Router runs a command on the local Music when the session is here
// and otherwise forwards it over Redis to the node the channel's allocation
// names. /play with no free agent here is offered to the other live nodes.
// It is a Service (Do runs an operation through it); Serve executes the
// operations forwarded here.
type Router struct {
	cfg     RouterConfig
	m       *Music
	rdb     redis.UniversalClient
	log     *slog.Logger
	metrics routerMetrics
}

type routerMetrics struct {
	forwarded *prometheus.CounterVec
	served    *prometheus.CounterVec
}

// Channel names and lifetimes of the transport. The "2" is the wire's
// version: version 1 (one argument struct for every operation, refusals by
// a fixed table) is not understood, so a node of the other version is not
// listening and a command for it is answered with ErrMusicUnreachable.
const (
	rpcChannelPrefix = "chopsticks:music:rpc2:"
	rpcReplyPrefix   = "chopsticks:music:rpc2:reply:"
	rpcReplyTTL      = 30 * time.Second
	rpcMaxServe      = 30 * time.Second // longest a forwarded command may run
)

// NewRouter returns a router; run Serve so that other nodes can reach this
// node's sessions.
func NewRouter(cfg RouterConfig) (*Router, error) {
	if cfg.Music == nil || cfg.Locator == nil || cfg.Redis == nil || cfg.Node == "" {
		return nil, errors.New("voice: RouterConfig needs Music, Locator, Redis and Node")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 3 * time.Second
	}
	if cfg.PlayTimeout <= 0 {
		cfg.PlayTimeout = 10 * time.Second
	}
	if cfg.MaxInFlight <= 0 {
		cfg.MaxInFlight = 64
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Router{cfg: cfg, m: cfg.Music, rdb: cfg.Redis, log: cfg.Logger}
	r.metrics = routerMetrics{
		forwarded: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chopsticks_music_forwarded_calls_total",
			Help: "Music commands forwarded to the node playing, by outcome (ok, refused, error, unreachable)."}, []string{"op", "outcome"}),
		served: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chopsticks_music_forwarded_served_total",
			Help: "Music commands other nodes forwarded here, by outcome (ok, refused, error)."}, []string{"op", "outcome"}),
	}
	// Every series exists from the start, so that a dashboard's rate() and
	// an alert's ratio read 0 rather than nothing before the first forward.
	for _, op := range opNames {
		for _, o := range []string{"ok", "refused", "error", "unreachable"} {
			r.metrics.forwarded.WithLabelValues(op, o)
		}
	}
	for _, op := range append(slices.Clip(opNames), "unknown") {
		for _, o := range []string{"ok", "refused", "error"} {
			r.metrics.served.WithLabelValues(op, o)
		}
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{r.metrics.forwarded, r.metrics.served} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("voice: registering routing metrics: %w", err)
			}
		}
	}
	return r, nil
}

// Has reports whether this node holds the music session of the channel.
func (m *Music) Has(guildID, channelID string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[guildID+":"+channelID] != nil
}

// rpcRequest is a forwarded operation; the reply goes to the list Reply.
type rpcRequest struct {
	Op    string          `json:"op"`
	Reply string          `json:"reply"`
	From  string          `json:"from"`
	Wait  int64           `json:"wait_ms"` // how long the caller waits
	Args  json.RawMessage `json:"args"`    // the Op's arguments
}

// rpcResponse is a forwarded operation's outcome.
type rpcResponse struct {
	Result json.RawMessage `json:"result,omitempty"`
	Err    *wireError      `json:"err,omitempty"`
}

// wireError is an error crossing nodes: a refusal keeps its code and
// message; anything else crosses as a failure with no details, which stay
// in the log of the node that ran the operation.
type wireError struct {
	Refusal string `json:"refusal,omitempty"` // the refusal's code; "" for a failure
	Message string `json:"message,omitempty"`
}

// encodeError turns err into its wire form; nil for nil.
func encodeError(err error) *wireError {
	if err == nil {
		return nil
	}
	if r, ok := refusal.As(err); ok {
		return &wireError{Refusal: r.Code, Message: r.Message}
	}
	return &wireError{}
}

// decodeError rebuilds an error sent by node for op: a refusal matches the
// declared one with errors.Is.
func decodeError(w *wireError, node, op string) error {
	switch {
	case w == nil:
		return nil
	case w.Refusal != "":
		return refusal.Rebuild(w.Refusal, w.Message)
	}
	return fmt.Errorf("music node %s failed to run %s (details in its log)", node, op)
}

// outcome is the metrics label of a call's result.
func outcome(err error) string {
	switch _, refused := refusal.As(err); {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrMusicUnreachable):
		return "unreachable"
	case refused:
		return "refused"
	}
	return "error"
}

// where finds the caller's voice channel and the node to run an operation
// on: "" means here (not in voice, the session is here, nobody plays in the
// channel, or its allocation names this node), so that Music gives the
// same answers as on a single node.
func (r *Router) where(ctx context.Context, c Caller) (channel, node string, err error) {
	channel, err = r.m.cfg.Voice.UserVoiceChannel(ctx, c.GuildID, c.UserID)
	if err != nil {
		return "", "", fmt.Errorf("looking up your voice channel: %w", err)
	}
	if channel == "" || r.m.Has(c.GuildID, channel) {
		return channel, "", nil
	}
	node, err = r.locate(ctx, c.GuildID, channel)
	return channel, node, err
}

// locate returns the other node playing in the channel, or "".
func (r *Router) locate(ctx context.Context, guildID, channel string) (string, error) {
	_, node, found, err := r.cfg.Locator.Locate(ctx, guildID, channel)
	if err != nil {
		return "", fmt.Errorf("locating the music player: %w", err)
	}
	if !found || node == r.cfg.Node {
		return "", nil
	}
	return node, nil
}

// do runs h on the node playing in the caller's channel: here (as a
// forwarded call runs) or there. When nobody plays there and an operation
// that may be offered (/play) finds no free agent here, the other live
// nodes are asked in random order until one sends an agent.
func (r *Router) do(ctx context.Context, h handler, a Args) (any, json.RawMessage, error) {
	channel, node, err := r.where(ctx, a.caller())
	if err != nil {
		return nil, nil, err
	}
	if node != "" {
		raw, err := r.forward(ctx, node, h, a)
		return nil, raw, err
	}
	v, err := h.local(ctx, r.m, a)
	if channel == "" || !h.info().offer || !errors.Is(err, ErrNoAgentFree) || r.cfg.LiveNodes == nil {
		return v, nil, err
	}
	localErr := err
	var others []string
	for _, n := range r.cfg.LiveNodes() {
		if n != r.cfg.Node && n != "" {
			others = append(others, n)
		}
	}
	rand.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	guild := a.caller().GuildID
	for i := 0; ; i++ {
		// The channel may be taken meanwhile (ErrNoAgentFree also means
		// that another agent plays there): go where it plays.
		_, at, found, err := r.cfg.Locator.Locate(ctx, guild, channel)
		switch {
		case err != nil:
			return nil, nil, fmt.Errorf("locating the music player: %w", err)
		case found && at == r.cfg.Node:
			v, err := h.local(ctx, r.m, a)
			return v, nil, err
		case found:
			raw, err := r.forward(ctx, at, h, a)
			return nil, raw, err
		case i == len(others):
			return nil, nil, localErr
		}
		raw, err := r.forward(ctx, others[i], h, a)
		if !errors.Is(err, ErrNoAgentFree) && !errors.Is(err, ErrMusicUnreachable) {
			return nil, raw, err
		}
	}
}

// forward runs h on node and returns its result's JSON.
func (r *Router) forward(ctx context.Context, node string, h handler, a Args) (json.RawMessage, error) {
	raw, err := r.call(ctx, node, h.info(), a)
	r.metrics.forwarded.WithLabelValues(h.info().name, outcome(err)).Inc()
	return raw, err
}

// call publishes a request to node and waits for its reply.
func (r *Router) call(ctx context.Context, node string, op opInfo, a Args) (json.RawMessage, error) {
	wait := r.cfg.Timeout
	if op.slow {
		wait = r.cfg.PlayTimeout
	}
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	// BLPOP waits in whole seconds.
	wait = max(wait.Truncate(time.Second), time.Second)
	args, err := json.Marshal(a)
	if err != nil {
		return nil, fmt.Errorf("encoding a music command: %w", err)
	}
	reply := rpcReplyPrefix + crand.Text()
	req, err := json.Marshal(rpcRequest{Op: op.name, Reply: reply, From: r.cfg.Node, Wait: wait.Milliseconds(), Args: args})
	if err != nil {
		return nil, fmt.Errorf("encoding a music command: %w", err)
	}
	n, err := r.publish(ctx, rpcChannelPrefix+node, req)
	if err != nil {
		return nil, fmt.Errorf("forwarding a music command: %w", err)
	}
	if n == 0 { // nobody listens: the node is gone or not yet serving
		r.log.Warn("music node not listening", "music_node", node, "op", op.name)
		return nil, ErrMusicUnreachable
	}
	res, err := r.rdb.BLPop(ctx, wait, reply).Result()
	if errors.Is(err, redis.Nil) {
		r.log.Warn("music node did not answer in time", "music_node", node, "op", op.name, "wait", wait)
		return nil, ErrMusicUnreachable
	}
	if err != nil {
		return nil, fmt.Errorf("waiting for music node %s: %w", node, err)
	}
	var resp rpcResponse
	if err := json.Unmarshal([]byte(res[1]), &resp); err != nil {
		return nil, fmt.Errorf("decoding the reply of music node %s: %w", node, err)
	}
	if resp.Err != nil {
		return nil, decodeError(resp.Err, node, op.name)
	}
	return resp.Result, nil
}

// Serve executes the operations other nodes forward to this node, on the
// local Music only (never forwarding again), until ctx ends; then it waits
// for the operations running. The node runs it on a goroutine it owns.
func (r *Router) Serve(ctx context.Context) error {
	ps := r.subscribe(ctx, rpcChannelPrefix+r.cfg.Node)
	defer ps.Close()
	if _, err := ps.Receive(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		// The subscription reconnects by itself; commands meanwhile get
		// ErrMusicUnreachable.
		r.log.Warn("music routing: subscribing", "err", err)
	}
	var wg sync.WaitGroup
	defer wg.Wait()
	slots := make(chan struct{}, r.cfg.MaxInFlight)
	msgs := ps.Channel()
	for {
		select {
		case <-ctx.Done():
			return nil
		case msg, ok := <-msgs:
			if !ok {
				return nil
			}
			select {
			case slots <- struct{}{}:
			case <-ctx.Done():
				return nil
			}
			wg.Go(func() {
				defer func() { <-slots }()
				r.serve(ctx, msg.Payload)
			})
		}
	}
}

// serve executes one forwarded operation and pushes its reply. It runs to
// its end when ctx ends, within the caller's wait.
func (r *Router) serve(ctx context.Context, payload string) {
	var req rpcRequest
	if err := json.Unmarshal([]byte(payload), &req); err != nil || !strings.HasPrefix(req.Reply, rpcReplyPrefix) {
		r.log.Warn("music routing: dropping a malformed request", "err", err)
		return
	}
	wait := min(max(time.Duration(req.Wait)*time.Millisecond, time.Second), rpcMaxServe)
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	op := req.Op
	var result any
	var err error
	if h, ok := ops[op]; ok {
		result, err = h.exec(ectx, r.m, req.Args)
	} else {
		op, err = "unknown", fmt.Errorf("unknown music operation %q", req.Op)
	}
	r.metrics.served.WithLabelValues(op, outcome(err)).Inc()
	resp := rpcResponse{Err: encodeError(err)}
	if err == nil {
		if resp.Result, err = json.Marshal(result); err != nil {
			resp = rpcResponse{Err: encodeError(err)}
		}
	}
	if resp.Err != nil && resp.Err.Refusal == "" {
		r.log.Warn("music routing: forwarded command failed", "op", op, "from", req.From, "err", err)
	}
	body, _ := json.Marshal(resp)
	pctx, pcancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
	defer pcancel()
	if _, err := r.rdb.TxPipelined(pctx, func(p redis.Pipeliner) error {
		p.RPush(pctx, req.Reply, body)
		p.Expire(pctx, req.Reply, rpcReplyTTL)
		return nil
	}); err != nil {
		r.log.Warn("music routing: sending a reply", "op", op, "err", err)
	}
}

// publish sends msg on channel and returns how many nodes listen. On a
// Redis Cluster it uses sharded pub/sub: a plain PUBLISH counts only the
// subscribers of the server that took it, so a listening node on another
// server would look gone.
func (r *Router) publish(ctx context.Context, channel string, msg []byte) (int64, error) {
	if _, ok := r.rdb.(*redis.ClusterClient); ok {
		return r.rdb.SPublish(ctx, channel, msg).Result()
	}
	return r.rdb.Publish(ctx, channel, msg).Result()
}

// subscribe listens on channel as publish sends on it.
func (r *Router) subscribe(ctx context.Context, channel string) *redis.PubSub {
	if _, ok := r.rdb.(*redis.ClusterClient); ok {
		return r.rdb.SSubscribe(ctx, channel)
	}
	return r.rdb.Subscribe(ctx, channel)
}
