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
)

// ErrMusicUnreachable means the node playing in the caller's voice channel
// did not answer a forwarded command in time (it may be stopping or just
// died; its agent then moves to another node within seconds).
var ErrMusicUnreachable = errors.New("the music player's node is not answering; try again in a moment")

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
// Its methods match Music's; Serve executes the commands forwarded here.
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

// Channel names and lifetimes of the transport.
const (
	rpcChannelPrefix = "chopsticks:music:rpc:"
	rpcReplyPrefix   = "chopsticks:music:rpc:reply:"
	rpcReplyTTL      = 30 * time.Second
	rpcMaxServe      = 30 * time.Second // longest a forwarded command may run
)

// The operations that cross nodes; they are also the op label of the
// metrics.
const (
	opPlay       = "play"
	opQueue      = "queue"
	opSkip       = "skip"
	opPause      = "pause"
	opResume     = "resume"
	opStop       = "stop"
	opNowPlaying = "nowplaying"
	opVolume     = "volume"
	opSeek       = "seek"
	opLoop       = "loop"
	opShuffle    = "shuffle"
	opRemove     = "remove"
	opFilter     = "filter"
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
	for _, op := range ops {
		for _, o := range []string{"ok", "refused", "error", "unreachable"} {
			r.metrics.forwarded.WithLabelValues(op, o)
		}
	}
	for _, op := range append(slices.Clip(ops), "unknown") {
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

// callArgs are a command's arguments on the wire.
type callArgs struct {
	GuildID  string        `json:"guild"`
	UserID   string        `json:"user"`
	Play     *PlayRequest  `json:"play,omitempty"`
	N        int           `json:"n,omitempty"` // page, volume or position
	Duration time.Duration `json:"duration,omitempty"`
	S        string        `json:"s,omitempty"` // loop mode or filter name
}

// rpcRequest is a forwarded command; the reply goes to the list Reply.
type rpcRequest struct {
	Op    string   `json:"op"`
	Reply string   `json:"reply"`
	From  string   `json:"from"`
	Wait  int64    `json:"wait_ms"` // how long the caller waits
	Args  callArgs `json:"args"`
}

// rpcResponse is a forwarded command's outcome.
type rpcResponse struct {
	Result json.RawMessage `json:"result,omitempty"`
	Err    *wireError      `json:"err,omitempty"`
}

// wireError is an error crossing nodes: a refusal keeps its sentinel (Kind)
// and message; anything else crosses as kind "failed" with no details.
type wireError struct {
	Kind    string `json:"kind"`
	Message string `json:"message,omitempty"`
}

// wireSentinels are the errors that keep their identity across nodes; the
// first match names an error.
var wireSentinels = []struct {
	kind string
	err  error
}{
	{"not_in_voice", ErrNotInVoice},
	{"nothing_playing", ErrNothingPlaying},
	{"no_agent_free", ErrNoAgentFree},
	{"no_results", ErrNoResults},
	{"load_failed", ErrLoadFailed},
	{"already_paused", ErrAlreadyPaused},
	{"not_paused", ErrNotPaused},
	{"queue_full", ErrQueueFull},
	{"bad_argument", ErrBadArgument},
	{"unreachable", ErrMusicUnreachable},
	{"no_lavalink", ErrNoNodes},
	{"voice_failed", ErrVoiceFailed},
}

// encodeError turns err into its wire form; nil for nil.
func encodeError(err error) *wireError {
	if err == nil {
		return nil
	}
	for _, s := range wireSentinels {
		if errors.Is(err, s.err) {
			return &wireError{Kind: s.kind, Message: err.Error()}
		}
	}
	return &wireError{Kind: "failed"}
}

// remoteError is a refusal made on another node: the same message, and
// errors.Is matches the same sentinel.
type remoteError struct {
	msg      string
	sentinel error
}

func (e *remoteError) Error() string { return e.msg }
func (e *remoteError) Unwrap() error { return e.sentinel }

// decodeError rebuilds an error sent by node for op.
func decodeError(w *wireError, node, op string) error {
	if w == nil {
		return nil
	}
	for _, s := range wireSentinels {
		if s.kind == w.Kind {
			msg := w.Message
			if !strings.Contains(msg, s.err.Error()) {
				msg = s.err.Error()
			}
			return &remoteError{msg: msg, sentinel: s.err}
		}
	}
	return fmt.Errorf("music node %s failed to run %s (details in its log)", node, op)
}

// outcome is the metrics label of a call's result.
func outcome(err error) string {
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrMusicUnreachable):
		return "unreachable"
	}
	for _, s := range wireSentinels { // a remoteError unwraps to its sentinel
		if errors.Is(err, s.err) {
			return "refused"
		}
	}
	return "error"
}

// where finds the caller's voice channel and the node to run a command on:
// "" means here (not in voice, the session is here, nobody plays in the
// channel, or its allocation names this node), so that Music gives the
// same answers as on a single node.
func (r *Router) where(ctx context.Context, guildID, userID string) (channel, node string, err error) {
	channel, err = r.m.cfg.Voice.UserVoiceChannel(ctx, guildID, userID)
	if err != nil {
		return "", "", fmt.Errorf("looking up your voice channel: %w", err)
	}
	if channel == "" || r.m.Has(guildID, channel) {
		return channel, "", nil
	}
	node, err = r.locate(ctx, guildID, channel)
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

// route runs a command here (through exec, as a forwarded one runs) or on
// the node playing. T is the command's result type; struct{} for none.
func route[T any](ctx context.Context, r *Router, op string, a callArgs) (T, error) {
	var out T
	_, node, err := r.where(ctx, a.GuildID, a.UserID)
	if err != nil {
		return out, err
	}
	if node != "" {
		return forward[T](ctx, r, node, op, a)
	}
	v, err := r.exec(ctx, op, a)
	if v != nil {
		out = v.(T)
	}
	return out, err
}

// forward runs op on node and decodes its result.
func forward[T any](ctx context.Context, r *Router, node, op string, a callArgs) (T, error) {
	var out T
	raw, err := r.call(ctx, node, op, a)
	r.metrics.forwarded.WithLabelValues(op, outcome(err)).Inc()
	if err != nil {
		return out, err
	}
	if err := json.Unmarshal(raw, &out); err != nil {
		return out, fmt.Errorf("decoding the reply of music node %s to %s: %w", node, op, err)
	}
	return out, nil
}

// call publishes a request to node and waits for its reply.
func (r *Router) call(ctx context.Context, node, op string, a callArgs) (json.RawMessage, error) {
	wait := r.cfg.Timeout
	if op == opPlay {
		wait = r.cfg.PlayTimeout
	}
	if d, ok := ctx.Deadline(); ok {
		wait = min(wait, time.Until(d))
	}
	// BLPOP waits in whole seconds.
	wait = max(wait.Truncate(time.Second), time.Second)
	reply := rpcReplyPrefix + crand.Text()
	req, err := json.Marshal(rpcRequest{Op: op, Reply: reply, From: r.cfg.Node, Wait: wait.Milliseconds(), Args: a})
	if err != nil {
		return nil, fmt.Errorf("encoding a music command: %w", err)
	}
	n, err := r.rdb.Publish(ctx, rpcChannelPrefix+node, req).Result()
	if err != nil {
		return nil, fmt.Errorf("forwarding a music command: %w", err)
	}
	if n == 0 { // nobody listens: the node is gone or not yet serving
		r.log.Warn("music node not listening", "music_node", node, "op", op)
		return nil, ErrMusicUnreachable
	}
	res, err := r.rdb.BLPop(ctx, wait, reply).Result()
	if errors.Is(err, redis.Nil) {
		r.log.Warn("music node did not answer in time", "music_node", node, "op", op, "wait", wait)
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
		return nil, decodeError(resp.Err, node, op)
	}
	return resp.Result, nil
}

// Serve executes the commands other nodes forward to this node, on the
// local Music only (never forwarding again), until ctx ends; then it waits
// for the commands running. The node runs it on a goroutine it owns.
func (r *Router) Serve(ctx context.Context) error {
	ps := r.rdb.Subscribe(ctx, rpcChannelPrefix+r.cfg.Node)
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

// serve executes one forwarded command and pushes its reply. It runs to its
// end when ctx ends, within the caller's wait.
func (r *Router) serve(ctx context.Context, payload string) {
	var req rpcRequest
	if err := json.Unmarshal([]byte(payload), &req); err != nil || !strings.HasPrefix(req.Reply, rpcReplyPrefix) {
		r.log.Warn("music routing: dropping a malformed request", "err", err)
		return
	}
	wait := min(max(time.Duration(req.Wait)*time.Millisecond, time.Second), rpcMaxServe)
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), wait)
	defer cancel()
	result, err := r.exec(ectx, req.Op, req.Args)
	resp := rpcResponse{Err: encodeError(err)}
	op := req.Op
	if !knownOp(op) {
		op = "unknown"
	}
	r.metrics.served.WithLabelValues(op, outcome(err)).Inc()
	if err == nil {
		if resp.Result, err = json.Marshal(result); err != nil {
			resp = rpcResponse{Err: encodeError(err)}
		}
	}
	if resp.Err != nil && resp.Err.Kind == "failed" {
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

// ops lists the operations that cross nodes.
var ops = []string{opPlay, opQueue, opSkip, opPause, opResume, opStop, opNowPlaying, opVolume, opSeek, opLoop,
	opShuffle, opRemove, opFilter}

func knownOp(op string) bool { return slices.Contains(ops, op) }

// exec runs a command on the local Music: one forwarded here, or one whose
// session is here.
func (r *Router) exec(ctx context.Context, op string, a callArgs) (any, error) {
	m, g, u := r.m, a.GuildID, a.UserID
	switch op {
	case opPlay:
		if a.Play == nil {
			return nil, fmt.Errorf("%w: play without a request", ErrBadArgument)
		}
		return m.Play(ctx, *a.Play)
	case opQueue:
		return m.Queue(ctx, g, u, a.N)
	case opSkip:
		return m.Skip(ctx, g, u)
	case opPause:
		return nil, m.Pause(ctx, g, u)
	case opResume:
		return nil, m.Resume(ctx, g, u)
	case opStop:
		return nil, m.Stop(ctx, g, u)
	case opNowPlaying:
		return m.NowPlaying(ctx, g, u)
	case opVolume:
		return nil, m.Volume(ctx, g, u, a.N)
	case opSeek:
		return nil, m.Seek(ctx, g, u, a.Duration)
	case opLoop:
		return m.Loop(ctx, g, u, a.S)
	case opShuffle:
		return m.Shuffle(ctx, g, u)
	case opRemove:
		return m.Remove(ctx, g, u, a.N)
	case opFilter:
		return nil, m.Filter(ctx, g, u, a.S)
	}
	return nil, fmt.Errorf("unknown music operation %q", op)
}

// Play is Music.Play on the node playing in the caller's channel. When
// nobody plays there and this node has no free agent, the other live nodes
// are asked in random order until one sends an agent.
func (r *Router) Play(ctx context.Context, req PlayRequest) (PlayResult, error) {
	channel, node, err := r.where(ctx, req.GuildID, req.UserID)
	if err != nil {
		return PlayResult{}, err
	}
	a := callArgs{GuildID: req.GuildID, UserID: req.UserID, Play: &req}
	if node != "" {
		return forward[PlayResult](ctx, r, node, opPlay, a)
	}
	res, err := r.m.Play(ctx, req)
	if channel == "" || !errors.Is(err, ErrNoAgentFree) || r.cfg.LiveNodes == nil {
		return res, err
	}
	localErr := err
	var others []string
	for _, n := range r.cfg.LiveNodes() {
		if n != r.cfg.Node && n != "" {
			others = append(others, n)
		}
	}
	rand.Shuffle(len(others), func(i, j int) { others[i], others[j] = others[j], others[i] })
	for i := 0; ; i++ {
		// The channel may be taken meanwhile (ErrNoAgentFree also means
		// that another agent plays there): go where it plays.
		_, at, found, err := r.cfg.Locator.Locate(ctx, req.GuildID, channel)
		switch {
		case err != nil:
			return PlayResult{}, fmt.Errorf("locating the music player: %w", err)
		case found && at == r.cfg.Node:
			return r.m.Play(ctx, req)
		case found:
			return forward[PlayResult](ctx, r, at, opPlay, a)
		case i == len(others):
			return PlayResult{}, localErr
		}
		res, err := forward[PlayResult](ctx, r, others[i], opPlay, a)
		if !errors.Is(err, ErrNoAgentFree) && !errors.Is(err, ErrMusicUnreachable) {
			return res, err
		}
	}
}

// Queue is Music.Queue on the node playing in the caller's channel.
func (r *Router) Queue(ctx context.Context, guildID, userID string, page int) (QueueView, error) {
	return route[QueueView](ctx, r, opQueue, callArgs{GuildID: guildID, UserID: userID, N: page})
}

// Skip is Music.Skip on the node playing in the caller's channel.
func (r *Router) Skip(ctx context.Context, guildID, userID string) (*QueueItem, error) {
	return route[*QueueItem](ctx, r, opSkip, callArgs{GuildID: guildID, UserID: userID})
}

// Pause is Music.Pause on the node playing in the caller's channel.
func (r *Router) Pause(ctx context.Context, guildID, userID string) error {
	_, err := route[struct{}](ctx, r, opPause, callArgs{GuildID: guildID, UserID: userID})
	return err
}

// Resume is Music.Resume on the node playing in the caller's channel.
func (r *Router) Resume(ctx context.Context, guildID, userID string) error {
	_, err := route[struct{}](ctx, r, opResume, callArgs{GuildID: guildID, UserID: userID})
	return err
}

// Stop is Music.Stop on the node playing in the caller's channel.
func (r *Router) Stop(ctx context.Context, guildID, userID string) error {
	_, err := route[struct{}](ctx, r, opStop, callArgs{GuildID: guildID, UserID: userID})
	return err
}

// NowPlaying is Music.NowPlaying on the node playing in the caller's channel.
func (r *Router) NowPlaying(ctx context.Context, guildID, userID string) (NowPlayingInfo, error) {
	return route[NowPlayingInfo](ctx, r, opNowPlaying, callArgs{GuildID: guildID, UserID: userID})
}

// Volume is Music.Volume on the node playing in the caller's channel.
func (r *Router) Volume(ctx context.Context, guildID, userID string, volume int) error {
	_, err := route[struct{}](ctx, r, opVolume, callArgs{GuildID: guildID, UserID: userID, N: volume})
	return err
}

// Seek is Music.Seek on the node playing in the caller's channel.
func (r *Router) Seek(ctx context.Context, guildID, userID string, position time.Duration) error {
	_, err := route[struct{}](ctx, r, opSeek, callArgs{GuildID: guildID, UserID: userID, Duration: position})
	return err
}

// Loop is Music.Loop on the node playing in the caller's channel.
func (r *Router) Loop(ctx context.Context, guildID, userID, mode string) (LoopMode, error) {
	return route[LoopMode](ctx, r, opLoop, callArgs{GuildID: guildID, UserID: userID, S: mode})
}

// Shuffle is Music.Shuffle on the node playing in the caller's channel.
func (r *Router) Shuffle(ctx context.Context, guildID, userID string) (int, error) {
	return route[int](ctx, r, opShuffle, callArgs{GuildID: guildID, UserID: userID})
}

// Remove is Music.Remove on the node playing in the caller's channel.
func (r *Router) Remove(ctx context.Context, guildID, userID string, position int) (QueueItem, error) {
	return route[QueueItem](ctx, r, opRemove, callArgs{GuildID: guildID, UserID: userID, N: position})
}

// Filter is Music.Filter on the node playing in the caller's channel.
func (r *Router) Filter(ctx context.Context, guildID, userID, name string) error {
	_, err := route[struct{}](ctx, r, opFilter, callArgs{GuildID: guildID, UserID: userID, S: name})
	return err
}
