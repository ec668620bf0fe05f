// Package lavalinksim is a Lavalink v4 server for tests and the sandbox,
// written from the Lavalink v4 documentation (REST, websocket ops, events,
// session resuming). It resolves identifiers to deterministic fake tracks,
// except http(s) URLs on loopback hosts, which it fetches and probes for WAV
// as Lavalink's HTTP source does (httpsource.go), and
// "plays" them by advancing each player's position in time once the player has
// both a track and a complete voice state, emitting TrackStartEvent and
// TrackEndEvent like the real server. It is strict: missing or wrong headers,
// unknown sessions and out-of-range values get the documented error JSON.
//
// A test starts one with Start, points a client at Addr, and inspects or
// disturbs it through the driver methods (Players, Kill, DropConnections,
// FailTrack, SetFailVoice, SetVoiceConnectDelay, ...). Config selects the
// behaviours of other servers: the NodeLink dialect, tracks of unknown
// length or streams. Where the documentation is silent it behaves like
// Lavalink Version.
package lavalinksim

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// Version is the Lavalink version whose rules the simulator enforces: where
// the documentation is silent it behaves like this release.
const Version = "4.2.2"

// Dialect is the kind of Lavalink v4 server the simulator behaves like.
type Dialect string

// The dialects of Lavalink v4 servers people run.
const (
	// DialectLavalink is Lavalink itself (version Version).
	DialectLavalink Dialect = "lavalink"
	// DialectNodeLink is NodeLink 2.x: systemLoad is a load average (not
	// 0..1), filters are echoed in its own shape (equalizer as 15 plain
	// gains), there is no PATCH /v4/sessions/{id} route, stopping an idle
	// player is a 400, a track sent before voice connects is dropped (200
	// with track null), and a failed voice connection is a
	// WebSocketClosedEvent rather than an HTTP error.
	DialectNodeLink Dialect = "nodelink"
)

// TrackKind is the kind of tracks the simulator resolves.
type TrackKind string

// The track kinds.
const (
	// TracksNormal: tracks of known length (one to five minutes).
	TracksNormal TrackKind = "normal"
	// TracksUnknownLength: seekable tracks whose length is unknown
	// (length -1), as some HTTP and local files are; they play until
	// stopped.
	TracksUnknownLength TrackKind = "unknown"
	// TracksStream: live streams (isStream, not seekable, length -1).
	TracksStream TrackKind = "stream"
)

// Config configures a Server. The zero value is usable.
type Config struct {
	// Addr is the listen address; default "127.0.0.1:0".
	Addr string
	// Password is the Authorization value; default "youshallnotpass".
	Password string
	// StatsInterval is how often the stats op is sent; default 60 s.
	StatsInterval time.Duration
	// PlayerUpdateInterval is how often playerUpdate ops are sent; default 5 s.
	PlayerUpdateInterval time.Duration
	// Speed multiplies the passage of track time (2 plays twice as fast);
	// default 1.
	Speed float64
	// Tick is the resolution of the playback clock; default 10 ms.
	Tick time.Duration
	// Logger receives the server's logs; default discards them.
	Logger *slog.Logger
	// Dialect is the server behaviour simulated; default DialectLavalink.
	Dialect Dialect
	// Cores is the cpu.cores reported by stats; default runtime.NumCPU().
	Cores int
	// FailVoice makes voice connections fail from the start (see SetFailVoice).
	FailVoice bool
	// VoiceConnectDelay makes player updates carrying a voice state wait
	// this long before answering, as servers that connect to voice before
	// answering do; negative waits until the client gives up (see
	// SetVoiceConnectDelay).
	VoiceConnectDelay time.Duration
	// Tracks is the kind of tracks loadtracks resolves; default TracksNormal.
	Tracks TrackKind
}

// validate fills in defaults and rejects unknown dialects and track kinds.
func (c *Config) validate() error {
	switch c.Dialect {
	case "":
		c.Dialect = DialectLavalink
	case DialectLavalink, DialectNodeLink:
	default:
		return fmt.Errorf("lavalinksim: unknown dialect %q (want %s or %s)", c.Dialect, DialectLavalink, DialectNodeLink)
	}
	switch c.Tracks {
	case "":
		c.Tracks = TracksNormal
	case TracksNormal, TracksUnknownLength, TracksStream:
	default:
		return fmt.Errorf("lavalinksim: unknown track kind %q (want %s, %s or %s)", c.Tracks, TracksNormal, TracksUnknownLength, TracksStream)
	}
	if c.Cores < 0 {
		return fmt.Errorf("lavalinksim: cores %d is negative", c.Cores)
	}
	if c.Cores == 0 {
		c.Cores = runtime.NumCPU()
	}
	return nil
}

// Server is a running Lavalink simulator.
type Server struct {
	cfg     Config
	ln      net.Listener
	http    *http.Server
	started time.Time
	log     *slog.Logger

	mu       sync.Mutex
	sessions map[string]*session
	conns    map[*websocket.Conn]struct{}
	fresh    map[net.Conn]struct{} // HTTP connections that have sent no request yet
	load     [2]float64            // systemLoad, lavalinkLoad
	frames   *FrameStats
	closed   bool
	// failVoice and voiceDelay are the voice connection faults in force.
	failVoice  bool
	voiceDelay time.Duration
	loads      int // /v4/loadtracks requests answered
	httpLoads  []HTTPLoad

	stop    chan struct{}
	closing chan struct{} // closed when Close or Kill begins: ends held requests
	wg      sync.WaitGroup
}

// session is one client session: its players survive a dropped websocket
// while resuming is enabled and the timeout has not passed.
type session struct {
	id         string
	userID     string
	clientName string
	resuming   bool
	timeout    time.Duration
	conn       *wsConn   // nil while paused
	expires    time.Time // when paused
	queue      [][]byte
	players    map[string]*player
	lastStats  time.Time
}

// player is one guild's player in a session.
type player struct {
	guildID      string
	track        *Track
	endTime      int64 // 0: none
	volume       int
	paused       bool
	filters      Filters
	filtersJSON  json.RawMessage
	voice        VoiceState
	connected    bool
	voiceUpdates int
	base         int64 // position in ms at anchor
	anchor       time.Time
	started      bool
	lastUpdate   time.Time
}

// VoiceState is the voice object of a player.
type VoiceState struct {
	Token     string `json:"token"`
	Endpoint  string `json:"endpoint"`
	SessionID string `json:"sessionId"`
	ChannelID string `json:"channelId,omitempty"`
}

// FrameStats is the frameStats object of the stats op.
type FrameStats struct {
	Sent    int `json:"sent"`
	Nulled  int `json:"nulled"`
	Deficit int `json:"deficit"`
}

// Start listens on cfg.Addr and serves until Close or Kill.
func Start(cfg Config) (*Server, error) {
	if cfg.Addr == "" {
		cfg.Addr = "127.0.0.1:0"
	}
	if cfg.Password == "" {
		cfg.Password = "youshallnotpass"
	}
	if cfg.StatsInterval <= 0 {
		cfg.StatsInterval = time.Minute
	}
	if cfg.PlayerUpdateInterval <= 0 {
		cfg.PlayerUpdateInterval = 5 * time.Second
	}
	if cfg.Speed <= 0 {
		cfg.Speed = 1
	}
	if cfg.Tick <= 0 {
		cfg.Tick = 10 * time.Millisecond
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("lavalinksim: listen: %w", err)
	}
	s := &Server{
		cfg: cfg, ln: ln, started: time.Now(), log: cfg.Logger,
		sessions: map[string]*session{}, conns: map[*websocket.Conn]struct{}{}, fresh: map[net.Conn]struct{}{},
		load: [2]float64{0.05, 0.01}, stop: make(chan struct{}), closing: make(chan struct{}),
		failVoice: cfg.FailVoice, voiceDelay: cfg.VoiceConnectDelay,
	}
	s.http = &http.Server{Handler: s.routes(), ReadHeaderTimeout: 5 * time.Second, ConnState: s.track}
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("serve", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		s.clock()
	}()
	return s, nil
}

// Addr returns the host:port the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Password returns the Authorization value clients must send.
func (s *Server) Password() string { return s.cfg.Password }

// Close shuts the server down gracefully: websockets get a 1001 close frame,
// HTTP requests in flight finish.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	close(s.closing)
	conns := s.wsConns()
	// http.Server.Shutdown waits up to 5 s for a connection that has sent
	// no request (an HTTP client dials spare ones): nothing is lost by
	// closing those now.
	for c := range s.fresh {
		c.Close()
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.CloseGoingAway, "shutting down"), time.Now().Add(time.Second))
		c.Close()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := s.http.Shutdown(ctx)
	close(s.stop)
	s.wg.Wait()
	return err
}

// track keeps the set of connections that have sent no request yet.
func (s *Server) track(c net.Conn, st http.ConnState) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if st == http.StateNew {
		s.fresh[c] = struct{}{}
	} else {
		delete(s.fresh, c)
	}
}

// Kill stops the server abruptly, like SIGKILL: listener and connections are
// closed without close frames and all state is lost.
func (s *Server) Kill() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.closing)
	conns := s.wsConns()
	s.mu.Unlock()
	s.http.Close()
	for _, c := range conns {
		c.NetConn().Close()
	}
	close(s.stop)
	s.wg.Wait()
}

// DropConnections closes every websocket abruptly while the server keeps
// running, as a network fault would. Sessions with resuming enabled pause.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := s.wsConns()
	s.mu.Unlock()
	for _, c := range conns {
		c.NetConn().Close()
	}
}

func (s *Server) wsConns() []*websocket.Conn {
	out := make([]*websocket.Conn, 0, len(s.conns))
	for c := range s.conns {
		out = append(out, c)
	}
	return out
}

// SetFailVoice makes every later voice connection fail (on) or succeed.
// Lavalink answers the player update carrying the voice state with 500
// "Failed to connect to voice server"; NodeLink accepts it and then sends
// WebSocketClosedEvent with code 4006. The player stays unconnected.
func (s *Server) SetFailVoice(on bool) {
	s.mu.Lock()
	s.failVoice = on
	s.mu.Unlock()
}

// SetVoiceConnectDelay makes later player updates carrying a voice state
// wait d before answering (a voice connection being set up); a negative d
// holds them until the client gives up or the server stops, 0 answers at once.
func (s *Server) SetVoiceConnectDelay(d time.Duration) {
	s.mu.Lock()
	s.voiceDelay = d
	s.mu.Unlock()
}

// Loads returns how many /v4/loadtracks requests the server answered, so
// that a test can tell whether a client asked at all.
func (s *Server) Loads() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.loads
}

// SetLoad sets the cpu loads reported by stats (0..1 each). In the NodeLink
// dialect systemLoad is reported as a load average: systemLoad × cores.
func (s *Server) SetLoad(systemLoad, lavalinkLoad float64) {
	s.mu.Lock()
	s.load = [2]float64{systemLoad, lavalinkLoad}
	s.mu.Unlock()
}

// SetFrameStats overrides the frameStats reported while players exist; nil
// restores the default (no deficit).
func (s *Server) SetFrameStats(fs *FrameStats) {
	s.mu.Lock()
	s.frames = fs
	s.mu.Unlock()
}

// PlayerSnapshot is what the driver sees of a player.
type PlayerSnapshot struct {
	SessionID string
	GuildID   string
	Track     *Track
	// Position is the current track position.
	Position     time.Duration
	EndTime      time.Duration
	Paused       bool
	Volume       int
	Filters      Filters
	FiltersJSON  json.RawMessage
	Voice        VoiceState
	Connected    bool
	VoiceUpdates int
}

// SessionSnapshot is what the driver sees of a session.
type SessionSnapshot struct {
	ID, UserID, ClientName string
	Resuming               bool
	Timeout                time.Duration
	Connected              bool
	QueuedEvents           int
	Players                int
}

// Players returns every player of every session, ordered by session and guild.
func (s *Server) Players() []PlayerSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	var out []PlayerSnapshot
	for _, sess := range s.sessions {
		for _, p := range sess.players {
			out = append(out, s.snapshot(sess, p, now))
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].SessionID != out[j].SessionID {
			return out[i].SessionID < out[j].SessionID
		}
		return out[i].GuildID < out[j].GuildID
	})
	return out
}

// Player returns the player of guildID in any session.
func (s *Server) Player(guildID string) (PlayerSnapshot, bool) {
	for _, p := range s.Players() {
		if p.GuildID == guildID {
			return p, true
		}
	}
	return PlayerSnapshot{}, false
}

// Sessions returns the server's sessions.
func (s *Server) Sessions() []SessionSnapshot {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []SessionSnapshot
	for _, sess := range s.sessions {
		out = append(out, SessionSnapshot{ID: sess.id, UserID: sess.userID, ClientName: sess.clientName,
			Resuming: sess.resuming, Timeout: sess.timeout, Connected: sess.conn != nil,
			QueuedEvents: len(sess.queue), Players: len(sess.players)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func (s *Server) snapshot(sess *session, p *player, now time.Time) PlayerSnapshot {
	ps := PlayerSnapshot{SessionID: sess.id, GuildID: p.guildID, Position: time.Duration(s.position(p, now)) * time.Millisecond,
		EndTime: time.Duration(p.endTime) * time.Millisecond, Paused: p.paused, Volume: p.volume, Filters: p.filters,
		FiltersJSON: p.filtersJSON, Voice: p.voice, Connected: p.connected, VoiceUpdates: p.voiceUpdates}
	if p.track != nil {
		t := *p.track
		ps.Track = &t
	}
	return ps
}

// ErrNoPlayer is returned by driver methods for a guild without a player.
var ErrNoPlayer = errors.New("lavalinksim: no such player")

// FailTrack makes guildID's current track fail: TrackExceptionEvent, then
// TrackEndEvent with reason loadFailed.
func (s *Server) FailTrack(guildID, message string) error {
	return s.withPlayer(guildID, func(sess *session, p *player) error {
		if p.track == nil {
			return fmt.Errorf("lavalinksim: guild %s has no track", guildID)
		}
		t := *p.track
		s.emit(sess, map[string]any{"op": "event", "type": "TrackExceptionEvent", "guildId": guildID, "track": t,
			"exception": Exception{Message: &message, Severity: "suspicious", Cause: "java.io.IOException: " + message, CauseStackTrace: "java.io.IOException: " + message}})
		s.endTrack(sess, p, "loadFailed")
		return nil
	})
}

// StickTrack emits TrackStuckEvent for guildID's current track.
func (s *Server) StickTrack(guildID string, threshold time.Duration) error {
	return s.withPlayer(guildID, func(sess *session, p *player) error {
		if p.track == nil {
			return fmt.Errorf("lavalinksim: guild %s has no track", guildID)
		}
		s.emit(sess, map[string]any{"op": "event", "type": "TrackStuckEvent", "guildId": guildID, "track": *p.track, "thresholdMs": threshold.Milliseconds()})
		return nil
	})
}

// CloseVoice simulates Discord closing guildID's voice websocket: the player
// disconnects (playback halts) and WebSocketClosedEvent is sent. A new voice
// update reconnects it.
func (s *Server) CloseVoice(guildID string, code int, reason string, byRemote bool) error {
	return s.withPlayer(guildID, func(sess *session, p *player) error {
		s.settle(p, time.Now())
		p.connected = false
		s.emit(sess, map[string]any{"op": "event", "type": "WebSocketClosedEvent", "guildId": guildID, "code": code, "reason": reason, "byRemote": byRemote})
		return nil
	})
}

func (s *Server) withPlayer(guildID string, f func(*session, *player) error) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, sess := range s.sessions {
		if p, ok := sess.players[guildID]; ok {
			return f(sess, p)
		}
	}
	return fmt.Errorf("%w: guild %s", ErrNoPlayer, guildID)
}

// playing reports whether p's position advances; s.mu is held.
func (p *player) playing() bool { return p.track != nil && p.connected && !p.paused }

// position returns p's position in ms at now; s.mu is held.
func (s *Server) position(p *player, now time.Time) int64 {
	if p.track == nil {
		return 0
	}
	pos := p.base
	if p.playing() {
		pos += int64(float64(now.Sub(p.anchor).Milliseconds()) * s.cfg.Speed * p.filters.rate())
	}
	if l := p.track.Info.Length; l > 0 && pos > l {
		pos = l
	}
	return pos
}

// settle folds the elapsed time into base so that a state change starts a
// new segment; s.mu is held.
func (s *Server) settle(p *player, now time.Time) {
	p.base = s.position(p, now)
	p.anchor = now
}

// endTrack ends p's track with reason and emits TrackEndEvent; s.mu is held.
func (s *Server) endTrack(sess *session, p *player, reason string) {
	if p.track == nil {
		return
	}
	t := *p.track
	p.track, p.started, p.base, p.endTime = nil, false, 0, 0
	s.emit(sess, map[string]any{"op": "event", "type": "TrackEndEvent", "guildId": p.guildID, "track": t, "reason": reason})
}

// clock advances playback: starts, ends, player updates, stats and session
// expiry. It runs until the server stops.
func (s *Server) clock() {
	t := time.NewTicker(s.cfg.Tick)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case now := <-t.C:
			s.tick(now)
		}
	}
}

func (s *Server) tick(now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for id, sess := range s.sessions {
		if sess.conn == nil && now.After(sess.expires) {
			s.log.Info("session expired", "session", id)
			delete(s.sessions, id)
			continue
		}
		for _, p := range sess.players {
			if p.playing() && !p.started {
				p.started = true
				s.emit(sess, map[string]any{"op": "event", "type": "TrackStartEvent", "guildId": p.guildID, "track": *p.track})
				// The first playerUpdate comes as the track starts.
				if sess.conn != nil {
					p.lastUpdate = now
					sess.conn.send(s.mustJSON(map[string]any{"op": "playerUpdate", "guildId": p.guildID, "state": s.state(p, now)}))
				}
			}
			if p.track != nil && p.started {
				pos := s.position(p, now)
				end := p.track.Info.Length // <= 0: unknown, plays until stopped
				if p.endTime > 0 && (end <= 0 || p.endTime < end) {
					end = p.endTime
				}
				if end > 0 && pos >= end {
					s.endTrack(sess, p, "finished")
				}
			}
			// Only players with a track get playerUpdate.
			if sess.conn != nil && p.track != nil && now.Sub(p.lastUpdate) >= s.cfg.PlayerUpdateInterval {
				p.lastUpdate = now
				sess.conn.send(s.mustJSON(map[string]any{"op": "playerUpdate", "guildId": p.guildID, "state": s.state(p, now)}))
			}
		}
		if sess.conn != nil && now.Sub(sess.lastStats) >= s.cfg.StatsInterval {
			sess.lastStats = now
			st := s.stats(now, true)
			st["op"] = "stats"
			sess.conn.send(s.mustJSON(st))
		}
	}
}

// PlayerState is the state object of playerUpdate and the player endpoints.
type PlayerState struct {
	Time      int64 `json:"time"`
	Position  int64 `json:"position"`
	Connected bool  `json:"connected"`
	Ping      int64 `json:"ping"`
}

func (s *Server) state(p *player, now time.Time) PlayerState {
	ping := int64(-1)
	if p.connected {
		ping = 5
	}
	return PlayerState{Time: now.UnixMilli(), Position: s.position(p, now), Connected: p.connected, Ping: ping}
}

// stats builds the stats object; s.mu is held.
func (s *Server) stats(now time.Time, withFrames bool) map[string]any {
	players, playing := 0, 0
	for _, sess := range s.sessions {
		for _, p := range sess.players {
			players++
			if p.playing() {
				playing++
			}
		}
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	st := map[string]any{
		"players": players, "playingPlayers": playing, "uptime": now.Sub(s.started).Milliseconds(),
		"memory": map[string]any{"free": ms.HeapIdle, "used": ms.HeapInuse, "allocated": ms.HeapSys, "reservable": ms.Sys},
		"cpu":    map[string]any{"cores": s.cfg.Cores, "systemLoad": s.systemLoad(), "lavalinkLoad": s.load[1]},
	}
	if withFrames {
		switch {
		case players == 0:
			st["frameStats"] = nil
		case s.frames != nil:
			st["frameStats"] = *s.frames
		default:
			st["frameStats"] = FrameStats{Sent: 3000 * playing, Nulled: 0, Deficit: 0}
		}
	}
	return st
}

// systemLoad is the stats' cpu.systemLoad: a fraction for Lavalink, a load
// average for NodeLink; s.mu is held.
func (s *Server) systemLoad() float64 {
	if s.cfg.Dialect == DialectNodeLink {
		return s.load[0] * float64(s.cfg.Cores)
	}
	return s.load[0]
}

func (s *Server) mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("lavalinksim: marshal: %v", err)) // only our own types are marshalled
	}
	return b
}

// emit sends an event op to the session, or queues it while the session is
// paused; s.mu is held.
func (s *Server) emit(sess *session, msg map[string]any) {
	b := s.mustJSON(msg)
	if sess.conn == nil {
		sess.queue = append(sess.queue, b)
		return
	}
	sess.conn.send(b)
}

// wsConn is one websocket with a writer goroutine fed by a buffered channel,
// so that the clock never blocks on a slow client.
type wsConn struct {
	c    *websocket.Conn
	out  chan []byte
	done chan struct{}
	once sync.Once
}

func (w *wsConn) send(b []byte) {
	select {
	case w.out <- b:
	case <-w.done:
	default:
		// A client this far behind is broken; drop it like a real server would.
		w.close()
	}
}

func (w *wsConn) close() {
	w.once.Do(func() { close(w.done); w.c.NetConn().Close() })
}

func (w *wsConn) writer() {
	for {
		select {
		case <-w.done:
			return
		case b := <-w.out:
			w.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if err := w.c.WriteMessage(websocket.TextMessage, b); err != nil {
				w.close()
				return
			}
		}
	}
}

func newSessionID() string {
	const alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 16)
	rand.Read(b)
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

// handleWebsocket serves /v4/websocket.
func (s *Server) handleWebsocket(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != s.cfg.Password {
		s.fail(w, r, http.StatusUnauthorized, "Invalid or missing Authorization header")
		return
	}
	userID := r.Header.Get("User-Id")
	if _, err := strconv.ParseUint(userID, 10, 64); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Missing or invalid User-Id header")
		return
	}
	clientName := r.Header.Get("Client-Name")
	if clientName == "" {
		// Lavalink only logs this; the connection is accepted.
		s.log.Warn("websocket without Client-Name header", "user", userID, "remote", r.RemoteAddr)
		clientName = "Unknown"
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		s.fail(w, r, http.StatusServiceUnavailable, "Server is shutting down")
		return
	}
	sess, resumed := s.sessions[r.Header.Get("Session-Id")], false
	if sess != nil && sess.conn == nil && sess.userID == userID {
		resumed = true
	} else {
		sess = &session{id: newSessionID(), userID: userID, timeout: 60 * time.Second, players: map[string]*player{}}
	}
	s.mu.Unlock()
	h := http.Header{"Session-Resumed": {strconv.FormatBool(resumed)}, "Lavalink-Api-Version": {"4"}}
	c, err := upgrader.Upgrade(w, r, h)
	if err != nil {
		return
	}
	wc := &wsConn{c: c, out: make(chan []byte, 4096), done: make(chan struct{})}
	s.mu.Lock()
	if s.closed || (resumed && sess.conn != nil) {
		s.mu.Unlock()
		c.Close()
		return
	}
	s.conns[c] = struct{}{}
	sess.clientName = clientName
	sess.conn = wc
	now := time.Now()
	sess.lastStats = now
	s.sessions[sess.id] = sess
	wc.send(s.mustJSON(map[string]any{"op": "ready", "resumed": resumed, "sessionId": sess.id}))
	for _, b := range sess.queue {
		wc.send(b)
	}
	sess.queue = nil
	// Like Lavalink, the first stats op follows ready at once.
	st := s.stats(now, true)
	st["op"] = "stats"
	wc.send(s.mustJSON(st))
	s.mu.Unlock()
	s.log.Info("websocket open", "session", sess.id, "resumed", resumed)

	writerDone := make(chan struct{})
	go func() { defer close(writerDone); wc.writer() }()
	for {
		if _, _, err := c.ReadMessage(); err != nil {
			break
		}
	}
	wc.close()
	<-writerDone

	s.mu.Lock()
	delete(s.conns, c)
	if sess.conn == wc {
		sess.conn = nil
		if sess.resuming && !s.closed {
			sess.expires = time.Now().Add(sess.timeout)
		} else {
			delete(s.sessions, sess.id)
		}
	}
	s.mu.Unlock()
	s.log.Info("websocket closed", "session", sess.id)
}
