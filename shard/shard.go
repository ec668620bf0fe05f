package shard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/url"
	"runtime"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/diamondburned/arikawa/v3/utils/json/option"
	"github.com/diamondburned/arikawa/v3/utils/ws"
	"github.com/gorilla/websocket"
)

// HandoffCloseCode is the close code a shard sends when it stops so that
// another node can resume its session: Discord ends a session closed with
// 1000 or 1001 and keeps any other resumable.
const HandoffCloseCode = 4900

// Gate admits IDENTIFY calls at the rate Discord allows across the cluster.
// The shard calls release right after sending IDENTIFY (or when it could
// not send it).
type Gate interface {
	// Wait blocks until shard may send IDENTIFY now.
	Wait(ctx context.Context, shard int) (release func(), err error)
	// WaitReserve is Wait for a shard recovering a session it lost (its
	// resume was refused): it may use the identifies kept in reserve.
	WaitReserve(ctx context.Context, shard int) (release func(), err error)
}

// Handler receives every dispatch of the shard, in order, on the shard's
// reading goroutine: it must not block for long. The sequence number is
// checkpointed only after the handler returns.
type Handler func(ctx context.Context, shard int, ev ws.Event)

// Config configures a Shard.
type Config struct {
	Token string
	// ID and Count are this shard's number and the total number of shards.
	ID, Count int
	Intents   gateway.Intents
	// GatewayURL is the url from GET /gateway/bot.
	GatewayURL string
	Gate       Gate
	// Checkpoints, when set, receives the session every CheckpointEvery
	// and when the shard stops.
	Checkpoints CheckpointStore
	// CheckpointEvery is how often a changed session is saved; default 1 s.
	CheckpointEvery time.Duration
	// CheckpointRefresh is how often an unchanged checkpoint is saved
	// again (default 1 min, well within RedisCheckpoints' TTL): a quiet
	// session, such as a voice agent's with few intents, may see no
	// dispatch for longer than the store keeps a checkpoint.
	CheckpointRefresh time.Duration
	Node              string
	Handler           Handler
	// Logger receives the shard's logs; default slog.Default().
	Logger  *slog.Logger
	Metrics *Metrics
	// DialTimeout bounds connecting and the HELLO that follows; default 10 s.
	DialTimeout time.Duration
	// Warm starts the shard discarding its events (a next-generation shard
	// warming up while the cluster reshards) until Serve is called.
	Warm bool
	// CheckpointAtReady saves a new session's first checkpoint as soon as
	// READY is handled instead of up to CheckpointEvery later, so that a
	// process killed right after IDENTIFY leaves the shard's next owner a
	// session to RESUME rather than an identify to spend. The main bot's
	// shards set it; a voice agent's session, whose checkpoint goes with
	// its guilds and players (package agentpool), keeps the interval.
	CheckpointAtReady bool
}

// State is where a shard is in its life.
type State string

// The states of a shard.
const (
	StateConnecting State = "connecting"
	StateIdentify   State = "identifying"
	StateResuming   State = "resuming"
	StateReady      State = "ready"
	StateStopped    State = "stopped"
)

// Status is a snapshot of a shard for status pages.
type Status struct {
	ID        int       `json:"id"`
	State     State     `json:"state"`
	SessionID string    `json:"session_id,omitempty"`
	Seq       int64     `json:"seq"`
	Since     time.Time `json:"since"`
	// Guilds is how many guilds the session holds (READY's, plus
	// GUILD_CREATE, minus GUILD_DELETE of a guild the bot left).
	Guilds int `json:"guilds"`
}

// ErrFatalClose is wrapped by Run's error when Discord closed the
// connection with a code that retrying cannot fix (bad token, bad shard,
// disallowed intents).
var ErrFatalClose = errors.New("gateway closed the connection for good")

// Shard is one gateway shard.
type Shard struct {
	cfg Config
	log *slog.Logger

	mu    sync.Mutex
	state State
	since time.Time
	cp    Checkpoint
	saved int64
	// savedAt is when the checkpoint was last saved.
	savedAt time.Time
	// recovering is set when the shard started from a checkpoint and lost
	// that session: its next IDENTIFY may use the gate's reserve.
	recovering bool
	conn       *websocket.Conn
	wmu        sync.Mutex // serialises writes to conn
	lastAk     time.Time
	guilds     map[string]struct{}

	// serving is false while a warm shard discards its events.
	serving atomic.Bool
	// retired: the shard's generation no longer serves; when it stops it
	// ends its session (close 1000) and saves no checkpoint.
	retired atomic.Bool
	// saveNow asks the checkpoint loop to save at once (CheckpointAtReady).
	saveNow chan struct{}
	// savedSession is the session of the last checkpoint saved.
	savedSession string
}

// New returns a shard; Run starts it.
func New(cfg Config) (*Shard, error) {
	if cfg.Token == "" || cfg.GatewayURL == "" || cfg.Gate == nil || cfg.Handler == nil {
		return nil, errors.New("shard: token, gateway URL, gate and handler are required")
	}
	if cfg.Count < 1 || cfg.ID < 0 || cfg.ID >= cfg.Count {
		return nil, fmt.Errorf("shard: bad shard [%d, %d]", cfg.ID, cfg.Count)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.CheckpointEvery <= 0 {
		cfg.CheckpointEvery = time.Second
	}
	if cfg.CheckpointRefresh <= 0 {
		cfg.CheckpointRefresh = time.Minute
	}
	if cfg.DialTimeout <= 0 {
		cfg.DialTimeout = 10 * time.Second
	}
	s := &Shard{cfg: cfg, log: cfg.Logger.With("shard", cfg.ID, "count", cfg.Count), state: StateStopped, since: time.Now(),
		saveNow: make(chan struct{}, 1)}
	s.serving.Store(!cfg.Warm)
	return s, nil
}

// Serve makes a warm shard hand its events to the Handler from the next
// dispatch on. It is idempotent.
func (s *Shard) Serve() {
	if !s.serving.Swap(true) {
		s.log.Info("shard serves its events")
	}
	// Report even when already serving: a retired shard of the same
	// number on this node may have removed the series meanwhile.
	s.reportUp(s.Status().State)
}

// Serving reports whether the shard hands its events to the Handler.
func (s *Shard) Serving() bool { return s.serving.Load() }

// Retire marks the shard's generation as no longer serving: when its Run
// ends, it closes the session for good (1000) and saves no checkpoint, so
// that no shard of another count tries to resume it.
func (s *Shard) Retire() { s.retired.Store(true) }

// Resumable reports whether the shard's current session is READY (or
// RESUMED) and saved in its checkpoint store, so that another process can
// RESUME it should this one die now. Without a store it is never true.
func (s *Shard) Resumable() bool {
	if s.cfg.Checkpoints == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state == StateReady && s.cp.SessionID != "" && s.savedSession == s.cp.SessionID
}

// Status returns a snapshot of the shard.
func (s *Shard) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return Status{ID: s.cfg.ID, State: s.state, SessionID: s.cp.SessionID, Seq: s.cp.Seq, Since: s.since, Guilds: len(s.guilds)}
}

// Checkpoint returns the shard's current session.
func (s *Shard) Checkpoint() Checkpoint {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := s.cp
	cp.Node, cp.At, cp.Count = s.cfg.Node, time.Now(), s.cfg.Count
	return cp
}

func (s *Shard) setState(st State) {
	s.mu.Lock()
	changed := s.state != st
	s.state, s.since = st, time.Now()
	s.mu.Unlock()
	if changed {
		s.reportUp(st)
	}
}

// reportUp sets the shard's chopsticks_shard_up from st. A warm shard
// reports nothing: the serving shard of its number owns the series.
func (s *Shard) reportUp(st State) {
	if s.cfg.Metrics == nil || !s.serving.Load() {
		return
	}
	up := 0.0
	if st == StateReady {
		up = 1
	}
	s.cfg.Metrics.up(s.cfg.ID, up)
}

// Run connects and serves the shard until ctx ends, resuming from when it
// is valid. When ctx ends it closes the connection with HandoffCloseCode and
// saves a final checkpoint, so that the next owner can resume; it returns nil
// then, and an error wrapping ErrFatalClose for an unrecoverable close.
func (s *Shard) Run(ctx context.Context, from Checkpoint) error {
	if from.Count != 0 && from.Count != s.cfg.Count {
		s.log.Info("checkpoint of another shard count; identifying", "checkpoint_count", from.Count)
		from = Checkpoint{}
	}
	s.mu.Lock()
	s.cp = from
	s.saved, s.savedSession = from.Seq, from.SessionID
	s.recovering = from.Valid()
	s.mu.Unlock()
	defer func() {
		s.setState(StateStopped)
		// A shard this node no longer runs has no series here; its new
		// owner reports it. A warm shard never had it.
		if s.cfg.Metrics != nil && s.serving.Load() {
			s.cfg.Metrics.Up.DeleteLabelValues(strconv.Itoa(s.cfg.ID))
		}
	}()

	loopCtx, stopLoop := context.WithCancel(context.Background())
	defer stopLoop()
	var wg sync.WaitGroup
	if s.cfg.Checkpoints != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.checkpointLoop(loopCtx)
		}()
	}

	err := s.connectLoop(ctx)
	stopLoop()
	wg.Wait()
	if s.cfg.Checkpoints != nil && !s.retired.Load() {
		saveCtx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		if cerr := s.saveCheckpoint(saveCtx); cerr != nil {
			s.log.Warn("final checkpoint failed", "err", cerr)
		}
		cancel()
	}
	if ctx.Err() != nil {
		return nil
	}
	return err
}

func (s *Shard) checkpointLoop(ctx context.Context) {
	t := time.NewTicker(s.cfg.CheckpointEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-s.saveNow:
		case <-t.C:
		}
		if err := s.saveCheckpoint(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("checkpoint failed", "err", err)
		}
	}
}

func (s *Shard) saveCheckpoint(ctx context.Context) error {
	cp := s.Checkpoint()
	s.mu.Lock()
	unchanged := cp.Seq == s.saved && cp.SessionID == s.savedSession && time.Since(s.savedAt) < s.cfg.CheckpointRefresh
	s.mu.Unlock()
	if !cp.Valid() || unchanged {
		return nil
	}
	if err := s.cfg.Checkpoints.Save(ctx, s.cfg.ID, cp); err != nil {
		return err
	}
	s.mu.Lock()
	s.saved, s.savedAt, s.savedSession = cp.Seq, time.Now(), cp.SessionID
	s.mu.Unlock()
	return nil
}

// connectLoop reconnects until ctx ends or a fatal close.
func (s *Shard) connectLoop(ctx context.Context) error {
	failures := 0
	for {
		retry, wait, err := s.connectOnce(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if !retry {
			return err
		}
		if err != nil {
			s.log.Info("gateway connection ended; reconnecting", "err", err)
			failures++
		} else {
			failures = 0
		}
		if wait == 0 && failures > 1 {
			wait = min(time.Duration(1<<min(failures, 5))*time.Second/2, 30*time.Second)
		}
		if wait > 0 {
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(wait):
			}
		}
	}
}

// The gateway op codes the shard reads and writes, as arikawa's typed events
// and commands carry them.
var (
	opDispatch       = (*gateway.ReadyEvent)(nil).Op()
	opHeartbeat      = (*gateway.HeartbeatCommand)(nil).Op()
	opReconnect      = (*gateway.ReconnectEvent)(nil).Op()
	opInvalidSession = (*gateway.InvalidSessionEvent)(nil).Op()
	opHello          = (*gateway.HelloEvent)(nil).Op()
	opHeartbeatAck   = (*gateway.HeartbeatAckEvent)(nil).Op()
)

// payload is a gateway message.
type payload struct {
	Op ws.OpCode       `json:"op"`
	D  json.RawMessage `json:"d"`
	S  *int64          `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

// outgoing is a message the shard sends. D is always present: a heartbeat
// before the first dispatch sends null.
type outgoing struct {
	Op ws.OpCode `json:"op"`
	D  any       `json:"d"`
}

// connectOnce runs one connection: the identify turn when starting a new
// session, dial and HELLO, IDENTIFY or RESUME, then the read loop. It
// reports whether to reconnect and how long to wait first.
func (s *Shard) connectOnce(ctx context.Context) (retry bool, wait time.Duration, err error) {
	s.setState(StateConnecting)
	cp := s.Checkpoint()
	resuming := cp.Valid()
	base := s.cfg.GatewayURL
	if resuming && cp.ResumeURL != "" {
		base = cp.ResumeURL
	}
	u, err := gatewayURL(base)
	if err != nil {
		return false, 0, err
	}
	// The identify turn is taken before dialing: a connection that waited
	// for it would go unread, miss its heartbeat ACKs and be closed as a
	// zombie before its turn came, wasting the turn.
	release := func() {}
	if !resuming {
		turn, err := s.identifyTurn(ctx)
		if err != nil {
			return ctx.Err() == nil, time.Second, fmt.Errorf("identify gate: %w", err)
		}
		release = sync.OnceFunc(turn)
		defer release()
	}
	conn, err := s.dial(ctx, u)
	if err != nil {
		return true, 0, err
	}
	connDone := make(chan struct{})
	defer s.hangUp(conn, connDone)
	// Closing with a resumable code when ctx ends unblocks the reader.
	go func() {
		select {
		case <-ctx.Done():
			if s.retired.Load() {
				s.closeConn(conn, websocket.CloseNormalClosure, "retired")
			} else {
				s.closeConn(conn, HandoffCloseCode, "handoff")
			}
		case <-connDone:
		}
	}()

	interval, err := s.readHello(conn)
	if err != nil {
		return true, 0, err
	}
	s.mu.Lock()
	s.lastAk = time.Now()
	s.mu.Unlock()
	go s.heartbeat(conn, interval, connDone)

	if err := s.begin(conn, cp, resuming, release); err != nil {
		return ctx.Err() == nil, 0, err
	}
	return s.readLoop(ctx, conn, resuming)
}

// identifyTurn waits for the gate's permission to IDENTIFY, from the
// reserve when the shard lost the session it started from.
func (s *Shard) identifyTurn(ctx context.Context) (release func(), err error) {
	s.setState(StateIdentify)
	s.mu.Lock()
	recovering := s.recovering
	s.mu.Unlock()
	wait := s.cfg.Gate.Wait
	// A warm shard never takes the reserve: the serving generation still
	// covers its guilds.
	if recovering && s.serving.Load() {
		wait = s.cfg.Gate.WaitReserve
	}
	return wait(ctx, s.cfg.ID)
}

// dial connects to the gateway at u and makes the connection the shard's
// current one (for Send); hangUp ends it.
func (s *Shard) dial(ctx context.Context, u string) (*websocket.Conn, error) {
	dialCtx, cancel := context.WithTimeout(ctx, s.cfg.DialTimeout)
	conn, _, err := websocket.DefaultDialer.DialContext(dialCtx, u, nil)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("dial gateway: %w", err)
	}
	s.mu.Lock()
	s.conn = conn
	s.mu.Unlock()
	return conn, nil
}

// hangUp stops the connection's goroutines (by closing done) and closes it.
func (s *Shard) hangUp(conn *websocket.Conn, done chan struct{}) {
	close(done)
	s.mu.Lock()
	s.conn = nil
	s.mu.Unlock()
	conn.Close()
}

// readHello reads the HELLO that opens a connection, within DialTimeout,
// and returns its heartbeat interval.
func (s *Shard) readHello(conn *websocket.Conn) (time.Duration, error) {
	_ = conn.SetReadDeadline(time.Now().Add(s.cfg.DialTimeout))
	var hello payload
	if err := conn.ReadJSON(&hello); err != nil {
		return 0, fmt.Errorf("read HELLO: %w", err)
	}
	if hello.Op != opHello {
		return 0, fmt.Errorf("expected HELLO, got op %d", hello.Op)
	}
	var h gateway.HelloEvent
	if err := json.Unmarshal(hello.D, &h); err != nil || h.HeartbeatInterval <= 0 {
		return 0, fmt.Errorf("bad HELLO: %s", hello.D)
	}
	_ = conn.SetReadDeadline(time.Time{})
	return h.HeartbeatInterval.Duration(), nil
}

// begin resumes the checkpointed session, or identifies and then gives
// back the gate's turn.
func (s *Shard) begin(conn *websocket.Conn, cp Checkpoint, resuming bool, release func()) error {
	if resuming {
		s.setState(StateResuming)
		return s.send(conn, &gateway.ResumeCommand{Token: s.cfg.Token, SessionID: cp.SessionID, Sequence: cp.Seq})
	}
	defer release()
	return s.identify(conn)
}

// readLoop reads the connection until it ends, handling dispatches and the
// gateway's control ops. resuming is true until RESUMED (or READY) arrives.
func (s *Shard) readLoop(ctx context.Context, conn *websocket.Conn, resuming bool) (retry bool, wait time.Duration, err error) {
	for {
		var p payload
		if err := conn.ReadJSON(&p); err != nil {
			return s.readError(err, resuming)
		}
		switch p.Op {
		case opDispatch:
			s.dispatch(ctx, p, resuming)
			if p.T == "READY" || p.T == "RESUMED" {
				resuming = false
			}
		case opHeartbeat:
			if err := s.sendHeartbeat(conn); err != nil {
				return true, 0, err
			}
		case opReconnect:
			s.log.Info("gateway asked to reconnect")
			s.closeConn(conn, HandoffCloseCode, "reconnect")
			return true, 0, nil
		case opInvalidSession:
			var resumable gateway.InvalidSessionEvent
			_ = json.Unmarshal(p.D, &resumable)
			if s.cfg.Metrics != nil && resuming {
				s.cfg.Metrics.Resumes.WithLabelValues("invalid").Inc()
			}
			s.log.Info("gateway invalidated the session", "resumable", bool(resumable))
			s.closeConn(conn, HandoffCloseCode, "invalid session")
			if !resumable {
				s.mu.Lock()
				s.cp = Checkpoint{}
				s.saved, s.savedSession = 0, ""
				s.mu.Unlock()
				if s.cfg.Checkpoints != nil {
					_ = s.cfg.Checkpoints.Clear(ctx, s.cfg.ID)
				}
			}
			// Discord asks for a random wait of 1 to 5 seconds.
			return true, time.Second + rand.N(4*time.Second), nil
		case opHeartbeatAck:
			s.mu.Lock()
			s.lastAk = time.Now()
			s.mu.Unlock()
		}
	}
}

// identify sends IDENTIFY; the caller holds the gate's turn.
func (s *Shard) identify(conn *websocket.Conn) error {
	if s.cfg.Metrics != nil {
		s.cfg.Metrics.Identifies.Inc()
	}
	err := s.send(conn, &gateway.IdentifyCommand{
		Token:   s.cfg.Token,
		Intents: option.NewUint(uint(s.cfg.Intents)),
		Shard:   &gateway.Shard{s.cfg.ID, s.cfg.Count},
		Properties: gateway.IdentifyProperties{
			gateway.IdentifyOS: runtime.GOOS, gateway.IdentifyBrowser: "chopsticks", gateway.IdentifyDevice: "chopsticks",
		},
	})
	if err == nil {
		s.mu.Lock()
		s.recovering = false
		s.mu.Unlock()
	}
	return err
}

// readError classifies the end of a connection.
func (s *Shard) readError(err error, resuming bool) (bool, time.Duration, error) {
	var ce *websocket.CloseError
	if errors.As(err, &ce) {
		switch ce.Code {
		case 4004, 4010, 4011, 4012, 4013, 4014:
			return false, 0, fmt.Errorf("%w: %d %s", ErrFatalClose, ce.Code, ce.Text)
		case 4007, 4009:
			// Invalid seq or session timed out: the session is gone.
			s.mu.Lock()
			s.cp = Checkpoint{}
			s.saved, s.savedSession = 0, ""
			s.mu.Unlock()
		}
	}
	if resuming && s.cfg.Metrics != nil {
		s.cfg.Metrics.Resumes.WithLabelValues("failed").Inc()
	}
	return true, 0, fmt.Errorf("read gateway: %w", err)
}

// dispatch decodes an event, hands it to the handler and then advances the
// sequence number that checkpoints record.
func (s *Shard) dispatch(ctx context.Context, p payload, resuming bool) {
	switch p.T {
	case "READY":
		var r struct {
			SessionID string `json:"session_id"`
			ResumeURL string `json:"resume_gateway_url"`
			Guilds    []struct {
				ID string `json:"id"`
			} `json:"guilds"`
		}
		_ = json.Unmarshal(p.D, &r)
		s.mu.Lock()
		s.cp.SessionID, s.cp.ResumeURL = r.SessionID, r.ResumeURL
		s.guilds = make(map[string]struct{}, len(r.Guilds))
		for _, g := range r.Guilds {
			s.guilds[g.ID] = struct{}{}
		}
		s.mu.Unlock()
		s.setState(StateReady)
		s.log.Info("shard ready", "session", r.SessionID)
	case "RESUMED":
		if s.cfg.Metrics != nil && resuming {
			s.cfg.Metrics.Resumes.WithLabelValues("ok").Inc()
		}
		s.setState(StateReady)
		s.log.Info("shard resumed")
	}
	if fn := gateway.OpUnmarshalers.Lookup(opDispatch, ws.EventType(p.T)); fn != nil {
		ev := fn()
		if err := json.Unmarshal(p.D, ev); err != nil {
			s.log.Warn("undecodable event", "type", p.T, "err", err)
		} else {
			s.countGuild(ev)
			if s.serving.Load() {
				s.cfg.Handler(ctx, s.cfg.ID, ev)
			}
		}
	}
	if p.S != nil {
		s.mu.Lock()
		if *p.S > s.cp.Seq {
			s.cp.Seq = *p.S
		}
		s.mu.Unlock()
	}
	if p.T == "READY" && s.cfg.CheckpointAtReady {
		select {
		case s.saveNow <- struct{}{}:
		default:
		}
	}
}

// countGuild follows the guilds the session holds.
func (s *Shard) countGuild(ev ws.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.guilds == nil {
		s.guilds = map[string]struct{}{}
	}
	switch e := ev.(type) {
	case *gateway.GuildCreateEvent:
		s.guilds[e.ID.String()] = struct{}{}
	case *gateway.GuildDeleteEvent:
		if !e.Unavailable {
			delete(s.guilds, e.ID.String())
		}
	}
}

// heartbeat beats every interval (the first after a random fraction of it,
// as Discord asks) until done; a missing ACK marks the connection a zombie
// and closes it resumably.
func (s *Shard) heartbeat(conn *websocket.Conn, interval time.Duration, done <-chan struct{}) {
	next := time.Duration(rand.Float64() * float64(interval))
	for {
		select {
		case <-done:
			return
		case <-time.After(next):
		}
		next = interval
		s.mu.Lock()
		zombie := time.Since(s.lastAk) > interval+interval/2+time.Second && s.state != StateConnecting
		s.mu.Unlock()
		if zombie {
			s.log.Warn("no heartbeat ACK; reconnecting")
			s.closeConn(conn, HandoffCloseCode, "zombie")
			return
		}
		if err := s.sendHeartbeat(conn); err != nil {
			return
		}
	}
}

func (s *Shard) sendHeartbeat(conn *websocket.Conn) error {
	s.mu.Lock()
	seq := s.cp.Seq
	s.mu.Unlock()
	if seq <= 0 {
		return s.write(conn, outgoing{Op: opHeartbeat, D: nil})
	}
	hb := gateway.HeartbeatCommand(seq)
	return s.send(conn, &hb)
}

// Send sends a gateway command, such as *gateway.UpdateVoiceStateCommand,
// on the shard's current connection.
func (s *Shard) Send(cmd ws.Event) error {
	s.mu.Lock()
	conn := s.conn
	s.mu.Unlock()
	if conn == nil {
		return errors.New("shard: not connected")
	}
	return s.send(conn, cmd)
}

// send writes cmd with its op code.
func (s *Shard) send(conn *websocket.Conn, cmd ws.Event) error {
	return s.write(conn, outgoing{Op: cmd.Op(), D: cmd})
}

func (s *Shard) write(conn *websocket.Conn, v any) error {
	s.wmu.Lock()
	defer s.wmu.Unlock()
	_ = conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if err := conn.WriteJSON(v); err != nil {
		return fmt.Errorf("write gateway: %w", err)
	}
	return nil
}

// closeConn sends a close frame with code and drops the connection.
func (s *Shard) closeConn(conn *websocket.Conn, code int, reason string) {
	s.wmu.Lock()
	_ = conn.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(code, reason), time.Now().Add(time.Second))
	s.wmu.Unlock()
	conn.Close()
}

// gatewayURL adds the version and encoding Discord expects to base.
func gatewayURL(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "ws" && u.Scheme != "wss") {
		return "", fmt.Errorf("shard: bad gateway URL %q", base)
	}
	q := u.Query()
	q.Set("v", "10")
	q.Set("encoding", "json")
	u.RawQuery = q.Encode()
	return u.String(), nil
}
