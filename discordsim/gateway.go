package discordsim

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/gorilla/websocket"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// The gateway: the websocket handshake, sessions and their connections,
// heartbeats, IDENTIFY and RESUME with their limits, and the ops a client
// sends. Which session receives an event is in dispatch.go.

// Gateway opcodes (Discord's values).
const (
	OpDispatch            = 0
	OpHeartbeat           = 1
	OpIdentify            = 2
	OpPresenceUpdate      = 3
	OpVoiceStateUpdate    = 4
	OpResume              = 6
	OpReconnect           = 7
	OpRequestGuildMembers = 8
	OpInvalidSession      = 9
	OpHello               = 10
	OpHeartbeatACK        = 11
	OpRequestSoundboard   = 31
)

// Gateway close codes (Discord's values).
const (
	CloseUnknownError         = 4000
	CloseUnknownOpcode        = 4001
	CloseDecodeError          = 4002
	CloseNotAuthenticated     = 4003
	CloseAuthenticationFailed = 4004
	CloseAlreadyAuthenticated = 4005
	CloseInvalidSeq           = 4007
	CloseRateLimited          = 4008
	CloseSessionTimedOut      = 4009
	CloseInvalidShard         = 4010
	CloseShardingRequired     = 4011
	CloseInvalidAPIVersion    = 4012
	CloseInvalidIntents       = 4013
	CloseDisallowedIntents    = 4014
)

// sessionEndingClose reports whether a server close with code ends the
// session ("do not reconnect" codes and 4007). A missed heartbeat (4009) keeps
// the session resumable: the gateway docs say the app is "forced to Resume".
func sessionEndingClose(code int) bool {
	switch code {
	case CloseAuthenticationFailed, CloseInvalidSeq, CloseInvalidShard,
		CloseShardingRequired, CloseInvalidAPIVersion, CloseInvalidIntents, CloseDisallowedIntents:
		return true
	}
	return false
}

type bufEvent struct {
	seq   int64
	t     string
	frame []byte
}

type session struct {
	id      string
	app     *app
	shard   [2]int
	intents uint64
	created time.Time
	window  time.Duration
	maxBuf  int
	logDel  bool

	mu             sync.Mutex
	seq            int64
	buffer         []bufEvent
	conn           *gwConn
	connNo         int
	disconnectedAt time.Time
	ended          bool
	deliveries     []Delivery
}

func (ss *session) expired(now time.Time) bool {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return ss.expiredLocked(now)
}

func (ss *session) expiredLocked(now time.Time) bool {
	return ss.ended || (ss.conn == nil && now.Sub(ss.disconnectedAt) > ss.window)
}

func (ss *session) info(now time.Time) SessionInfo {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return SessionInfo{ID: ss.id, AppID: ss.app.ID, Shard: ss.shard, Intents: ss.intents, Seq: ss.seq,
		Live: ss.conn != nil, Resumable: !ss.expiredLocked(now), Created: ss.created, Connections: ss.connNo}
}

// dispatchLocked assigns the next seq to an event, buffers it and writes it
// to the live connection if there is one. ss.mu must be held.
func (ss *session) dispatchLocked(t string, data []byte) {
	ss.seq++
	frame := make([]byte, 0, len(data)+len(t)+48)
	frame = append(frame, `{"op":0,"t":"`...)
	frame = append(frame, t...)
	frame = append(frame, `","s":`...)
	frame = strconv.AppendInt(frame, ss.seq, 10)
	frame = append(frame, `,"d":`...)
	frame = append(frame, data...)
	frame = append(frame, '}')
	ss.buffer = append(ss.buffer, bufEvent{seq: ss.seq, t: t, frame: frame})
	if len(ss.buffer) > ss.maxBuf+ss.maxBuf/8 {
		n := copy(ss.buffer, ss.buffer[len(ss.buffer)-ss.maxBuf:])
		clear(ss.buffer[n:])
		ss.buffer = ss.buffer[:n]
	}
	if ss.conn != nil && ss.conn.enqueue(frame) && ss.logDel {
		ss.deliveries = append(ss.deliveries, Delivery{Seq: ss.seq, Type: t, Conn: ss.connNo})
	}
}

// detach removes c from the session; end marks the session as not resumable.
func (ss *session) detach(c *gwConn, end bool) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.conn != c {
		return
	}
	ss.conn = nil
	ss.disconnectedAt = time.Now()
	if end {
		ss.ended = true
	}
}

// gwConn is one gateway websocket connection.
type gwConn struct {
	sim       *Sim
	ws        *websocket.Conn
	version   int
	zlib      bool
	viaResume bool
	host      string

	mu           sync.Mutex
	queue        [][]byte
	pendingClose int
	closeText    string
	closing      bool
	session      *session
	wake         chan struct{}
	done         chan struct{}
	closeSent    chan struct{} // closed once the writer has sent the close frame

	lastBeat atomic.Int64 // unix nanos of the last client heartbeat (or HELLO)
	sends    []time.Time
}

func (c *gwConn) enqueue(frame []byte) bool {
	c.mu.Lock()
	if c.closing || c.pendingClose != 0 {
		c.mu.Unlock()
		return false
	}
	c.queue = append(c.queue, frame)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
	return true
}

func (c *gwConn) sendOp(op int, d any) {
	b, _ := json.Marshal(map[string]any{"op": op, "d": d, "s": nil, "t": nil})
	c.enqueue(b)
}

// closeWith closes the connection with a close frame carrying code, after the
// frames already queued; drop closes the TCP connection without a close frame.
func (c *gwConn) closeWith(code int, text string, drop bool) {
	c.mu.Lock()
	if c.closing || c.pendingClose != 0 {
		c.mu.Unlock()
		return
	}
	if drop {
		c.closing = true
		c.mu.Unlock()
		_ = c.ws.NetConn().Close()
		return
	}
	c.pendingClose = code
	c.closeText = text
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *gwConn) currentSession() *session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.session
}

func (c *gwConn) writer() {
	var buf bytes.Buffer
	var zw *zlib.Writer
	if c.zlib {
		zw = zlib.NewWriter(&buf)
	}
	write := func(frame []byte) error {
		_ = c.ws.SetWriteDeadline(time.Now().Add(10 * time.Second))
		if zw == nil {
			return c.ws.WriteMessage(websocket.TextMessage, frame)
		}
		buf.Reset()
		if _, err := zw.Write(frame); err != nil {
			return err
		}
		if err := zw.Flush(); err != nil {
			return err
		}
		return c.ws.WriteMessage(websocket.BinaryMessage, buf.Bytes())
	}
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.mu.Lock()
		q := c.queue
		c.queue = nil
		code, text := c.pendingClose, c.closeText
		c.mu.Unlock()
		for _, f := range q {
			if err := write(f); err != nil {
				_ = c.ws.NetConn().Close()
				return
			}
		}
		if code != 0 {
			msg := websocket.FormatCloseMessage(code, text)
			_ = c.ws.WriteControl(websocket.CloseMessage, msg, time.Now().Add(2*time.Second))
			close(c.closeSent)
			// Give the client a moment to answer the close, then drop.
			select {
			case <-c.done:
			case <-time.After(2 * time.Second):
			}
			_ = c.ws.NetConn().Close()
			return
		}
	}
}

var upgrader = websocket.Upgrader{
	ReadBufferSize:  4096,
	WriteBufferSize: 16384,
	CheckOrigin:     func(*http.Request) bool { return true },
}

// serveGateway upgrades r to a gateway connection and runs it.
func (s *Sim) serveGateway(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	ws.SetReadLimit(1 << 20)
	c := &gwConn{sim: s, ws: ws, host: r.Host, viaResume: strings.HasPrefix(r.URL.Path, "/resume"),
		wake: make(chan struct{}, 1), done: make(chan struct{}), closeSent: make(chan struct{})}
	c.lastBeat.Store(time.Now().UnixNano())
	s.connsMu.Lock()
	if s.ctx.Err() != nil {
		s.connsMu.Unlock()
		_ = ws.Close()
		return
	}
	s.conns[c] = struct{}{}
	s.wg.Add(1) // Close waits for every connection to finish
	s.connsMu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.connsMu.Lock()
		delete(s.conns, c)
		s.connsMu.Unlock()
	}()
	c.zlib = q.Get("compress") == "zlib-stream"
	writerDone := make(chan struct{})
	go func() {
		defer close(writerDone)
		c.writer()
	}()
	defer func() { <-writerDone }()

	v, verr := strconv.Atoi(q.Get("v"))
	switch {
	case verr != nil || (v != 9 && v != 10):
		c.version = 10
		c.fail(CloseInvalidAPIVersion, "Invalid API version")
		c.run()
		return
	case q.Has("encoding") && q.Get("encoding") != "json":
		c.fail(CloseDecodeError, "discordsim supports encoding=json only")
		c.run()
		return
	case q.Has("compress") && q.Get("compress") != "zlib-stream":
		c.fail(CloseDecodeError, "discordsim supports compress=zlib-stream only")
		c.run()
		return
	}
	c.version = v
	c.sendOp(OpHello, map[string]any{"heartbeat_interval": s.cfg.HeartbeatInterval.Milliseconds()})
	c.run()
}

// run is the read loop; it returns when the connection is gone.
func (c *gwConn) run() {
	s := c.sim
	var readErr error
	for {
		last := time.Unix(0, c.lastBeat.Load())
		_ = c.ws.SetReadDeadline(last.Add(s.cfg.HeartbeatTimeout))
		typ, msg, err := c.ws.ReadMessage()
		if err != nil {
			var ne interface{ Timeout() bool }
			if errors.As(err, &ne) && ne.Timeout() {
				c.fail(CloseSessionTimedOut, "Session timed out (no heartbeat)")
				select {
				case <-c.closeSent:
				case <-time.After(2 * time.Second):
				}
			}
			readErr = err
			break
		}
		if c.handle(typ, msg) {
			// A close was requested; keep reading until the client answers or the writer drops.
			continue
		}
	}
	c.finish(readErr)
}

func (c *gwConn) finish(readErr error) {
	c.mu.Lock()
	code := c.pendingClose
	c.closing = true
	ss := c.session
	c.mu.Unlock()
	if ss != nil {
		end := false
		if code != 0 {
			end = sessionEndingClose(code)
		} else {
			var ce *websocket.CloseError
			if errors.As(readErr, &ce) && (ce.Code == websocket.CloseNormalClosure || ce.Code == websocket.CloseGoingAway) {
				end = true
			}
		}
		ss.detach(c, end)
	}
	close(c.done)
	_ = c.ws.NetConn().Close()
}

// fail closes the connection with a 4xxx code and records it as a violation.
func (c *gwConn) fail(code int, text string) {
	c.mu.Lock()
	already := c.pendingClose != 0 || c.closing
	c.mu.Unlock()
	if already {
		return
	}
	v := Violation{Kind: ViolationGatewayClose, Code: code, Detail: text}
	if ss := c.currentSession(); ss != nil {
		v.AppID, v.Shard, v.SessionID = ss.app.ID, ss.shard, ss.id
	}
	c.sim.recordViolation(v)
	c.closeWith(code, text, false)
}

type inPayload struct {
	Op *int            `json:"op"`
	D  json.RawMessage `json:"d"`
}

// handle processes one client message; it returns true once a close is pending.
func (c *gwConn) handle(typ int, msg []byte) bool {
	c.mu.Lock()
	closing := c.pendingClose != 0 || c.closing
	c.mu.Unlock()
	if closing {
		return true
	}
	s := c.sim
	now := time.Now()
	cut := now.Add(-s.cfg.GatewaySendWindow)
	i := 0
	for i < len(c.sends) && c.sends[i].Before(cut) {
		i++
	}
	c.sends = append(c.sends[i:], now)
	if len(c.sends) > s.cfg.GatewaySendLimit {
		c.fail(CloseRateLimited, "You are being rate limited.")
		return true
	}
	if len(msg) > 4096 {
		c.fail(CloseDecodeError, "Payload too large.")
		return true
	}
	if typ != websocket.TextMessage {
		c.fail(CloseDecodeError, "Error while decoding payload.")
		return true
	}
	var p inPayload
	if err := json.Unmarshal(msg, &p); err != nil || p.Op == nil {
		c.fail(CloseDecodeError, "Error while decoding payload.")
		return true
	}
	ss := c.currentSession()
	switch *p.Op {
	case OpHeartbeat:
		if len(p.D) > 0 && string(p.D) != "null" {
			var n int64
			if json.Unmarshal(p.D, &n) != nil {
				c.fail(CloseDecodeError, "Error while decoding payload.")
				return true
			}
		}
		c.lastBeat.Store(now.UnixNano())
		c.sendOp(OpHeartbeatACK, nil)
	case OpIdentify:
		if ss != nil {
			c.fail(CloseAlreadyAuthenticated, "Already authenticated.")
			return true
		}
		c.identify(p.D)
	case OpResume:
		if ss != nil {
			c.fail(CloseAlreadyAuthenticated, "Already authenticated.")
			return true
		}
		c.resume(p.D)
	case OpPresenceUpdate, OpVoiceStateUpdate, OpRequestGuildMembers, OpRequestSoundboard:
		if ss == nil {
			c.fail(CloseNotAuthenticated, "Not authenticated.")
			return true
		}
		switch *p.Op {
		case OpVoiceStateUpdate:
			c.voiceStateUpdate(ss, p.D)
		case OpRequestGuildMembers:
			c.requestGuildMembers(ss, p.D)
		case OpPresenceUpdate:
			var d map[string]any
			if json.Unmarshal(p.D, &d) != nil || d == nil {
				c.fail(CloseDecodeError, "Error while decoding payload.")
			}
		}
	default:
		if ss == nil {
			c.fail(CloseNotAuthenticated, "Not authenticated.")
			return true
		}
		c.fail(CloseUnknownOpcode, "Unknown opcode.")
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.pendingClose != 0 || c.closing
}

func stripBot(tok string) string { return strings.TrimPrefix(tok, "Bot ") }

type identifyProps struct {
	OS      *string `json:"os"`
	Browser *string `json:"browser"`
	Device  *string `json:"device"`
}

type identifyData struct {
	Token          *string        `json:"token"`
	Properties     *identifyProps `json:"properties"`
	Intents        *int64         `json:"intents"`
	Shard          []int          `json:"shard"`
	Compress       bool           `json:"compress"`
	LargeThreshold *int           `json:"large_threshold"`
	Presence       any            `json:"presence"`
}

func (c *gwConn) identify(raw json.RawMessage) {
	s := c.sim
	var d identifyData
	if err := json.Unmarshal(raw, &d); err != nil || len(raw) == 0 || raw[0] != '{' {
		c.fail(CloseDecodeError, "Error while decoding payload.")
		return
	}
	if d.Token == nil {
		c.fail(CloseAuthenticationFailed, "Authentication failed.")
		return
	}
	s.mu.Lock()
	a := s.appsByToken[stripBot(*d.Token)]
	s.mu.Unlock()
	if a == nil {
		c.fail(CloseAuthenticationFailed, "Authentication failed.")
		return
	}
	if d.Properties == nil || d.Properties.OS == nil || d.Properties.Browser == nil || d.Properties.Device == nil {
		c.fail(CloseDecodeError, "Error while decoding payload.")
		return
	}
	if d.LargeThreshold != nil && (*d.LargeThreshold < 50 || *d.LargeThreshold > 250) {
		c.fail(CloseDecodeError, "Error while decoding payload.")
		return
	}
	shard := [2]int{0, 1}
	if d.Shard != nil {
		if len(d.Shard) != 2 || d.Shard[1] < 1 || d.Shard[0] < 0 || d.Shard[0] >= d.Shard[1] {
			c.fail(CloseInvalidShard, "Invalid shard.")
			return
		}
		shard = [2]int{d.Shard[0], d.Shard[1]}
	}
	if d.Intents == nil || *d.Intents < 0 || uint64(*d.Intents)&^IntentsValid != 0 {
		c.fail(CloseInvalidIntents, "Invalid intent(s).")
		return
	}
	intents := uint64(*d.Intents)
	if intents&IntentsPrivileged&^a.PrivilegedIntents != 0 {
		c.fail(CloseDisallowedIntents, "Disallowed intent(s).")
		return
	}
	now := time.Now()
	bucket := shard[0] % a.MaxConcurrency

	s.mu.Lock()
	defer s.mu.Unlock()
	guildIDs := s.botGuildsLocked(a, shard[0], shard[1])
	if len(guildIDs) > s.cfg.MaxGuildsPerShard {
		s.rec.identifies = append(s.rec.identifies, IdentifyRecord{Time: now, AppID: a.ID, Shard: shard, Bucket: bucket, Reason: "4011"})
		s.rec.violations = append(s.rec.violations, Violation{Time: now, Kind: ViolationGatewayClose, AppID: a.ID, Shard: shard, Code: CloseShardingRequired, Detail: "Sharding required."})
		c.closeWith(CloseShardingRequired, "Sharding required.", false)
		return
	}
	s.resetStartLimitLocked(a, now)
	reject := ""
	if a.startRemaining <= 0 {
		reject = ViolationSessionStartLimit
	} else if last, ok := a.lastIdentify[bucket]; ok && now.Sub(last) < s.cfg.IdentifyWindow {
		reject = ViolationIdentifyRateLimited
	}
	if reject != "" {
		s.rec.identifies = append(s.rec.identifies, IdentifyRecord{Time: now, AppID: a.ID, Shard: shard, Bucket: bucket, Reason: reject})
		s.rec.violations = append(s.rec.violations, Violation{Time: now, Kind: reject, AppID: a.ID, Shard: shard, Detail: fmt.Sprintf("bucket %d", bucket)})
		c.sendOp(OpInvalidSession, false)
		return
	}
	a.startRemaining--
	a.lastIdentify[bucket] = now
	ss := &session{id: randHex(16), app: a, shard: shard, intents: intents, created: now, window: s.cfg.ResumeWindow,
		maxBuf: s.cfg.ReplayBuffer, logDel: !s.cfg.DisableDeliveryLog, conn: c, connNo: 1}
	s.sessions[ss.id] = ss
	a.sessions[ss.id] = ss
	c.mu.Lock()
	c.session = ss
	c.mu.Unlock()
	s.rec.identifies = append(s.rec.identifies, IdentifyRecord{Time: now, AppID: a.ID, Shard: shard, Bucket: bucket, SessionID: ss.id, Accepted: true})
	s.checkLiveLocked(a, ss, now)

	unavailable := make([]any, 0, len(guildIDs))
	for _, id := range guildIDs {
		unavailable = append(unavailable, map[string]any{"id": id, "unavailable": true})
	}
	ready := map[string]any{
		"v": c.version, "user": readyUser(s.users[a.BotUserID]), "guilds": unavailable, "session_id": ss.id,
		"resume_gateway_url": "ws://" + c.host + "/resume", "shard": []int{shard[0], shard[1]},
		"application": map[string]any{"id": a.ID, "flags": appFlags(a)}, "private_channels": []any{},
		"relationships": []any{}, "presences": []any{}, "guild_join_requests": []any{}, "geo_ordered_rtc_regions": []string{"sim"},
		"user_settings": map[string]any{}, "session_type": "normal", "auth": map[string]any{},
	}
	rb, _ := json.Marshal(ready)
	ss.mu.Lock()
	defer ss.mu.Unlock()
	ss.dispatchLocked("READY", rb)
	if intents&IntentGuilds != 0 {
		for _, id := range guildIDs {
			gb, _ := json.Marshal(s.guildCreateJSONLocked(s.guilds[id]))
			ss.dispatchLocked("GUILD_CREATE", gb)
		}
	}
}

func readyUser(u *User) map[string]any {
	m := userJSON(u)
	m["verified"] = true
	m["mfa_enabled"] = true
	m["flags"] = 0
	m["email"] = nil
	return m
}

func appFlags(a *app) int {
	f := 0
	if a.PrivilegedIntents&IntentGuildPresences != 0 {
		f |= 1 << 13
	}
	if a.PrivilegedIntents&IntentGuildMembers != 0 {
		f |= 1 << 15
	}
	if a.PrivilegedIntents&IntentMessageContent != 0 {
		f |= 1 << 19
	}
	return f
}

// checkLiveLocked records a fault when another session of a's shard is live.
func (s *Sim) checkLiveLocked(a *app, ss *session, now time.Time) {
	for _, other := range a.sessions {
		if other == ss || other.shard != ss.shard {
			continue
		}
		other.mu.Lock()
		live := other.conn != nil && !other.ended
		other.mu.Unlock()
		if live {
			s.rec.violations = append(s.rec.violations, Violation{Time: now, Kind: ViolationTwoLiveSessions, AppID: a.ID, Shard: ss.shard, SessionID: ss.id,
				Detail: "also live: " + other.id})
		}
	}
}

type resumeData struct {
	Token     *string `json:"token"`
	SessionID *string `json:"session_id"`
	Seq       *int64  `json:"seq"`
}

func (c *gwConn) resume(raw json.RawMessage) {
	s := c.sim
	var d resumeData
	if err := json.Unmarshal(raw, &d); err != nil || len(raw) == 0 || raw[0] != '{' || d.SessionID == nil {
		c.fail(CloseDecodeError, "Error while decoding payload.")
		return
	}
	if d.Token == nil {
		c.fail(CloseAuthenticationFailed, "Authentication failed.")
		return
	}
	s.mu.Lock()
	a := s.appsByToken[stripBot(*d.Token)]
	s.mu.Unlock()
	if a == nil {
		c.fail(CloseAuthenticationFailed, "Authentication failed.")
		return
	}
	seq := int64(0)
	if d.Seq != nil {
		seq = *d.Seq
	}
	now := time.Now()
	rec := ResumeRecord{Time: now, AppID: a.ID, SessionID: *d.SessionID, Seq: seq, ViaResumeURL: c.viaResume}
	s.mu.Lock()
	defer s.mu.Unlock()
	ss := s.sessions[*d.SessionID]
	if ss == nil || ss.app != a {
		rec.Reason = "unknown session"
		s.rec.resumes = append(s.rec.resumes, rec)
		c.sendOp(OpInvalidSession, false)
		return
	}
	rec.Shard = ss.shard
	ss.mu.Lock()
	if ss.expiredLocked(now) {
		ss.mu.Unlock()
		rec.Reason = "session expired or ended"
		s.rec.resumes = append(s.rec.resumes, rec)
		c.sendOp(OpInvalidSession, false)
		return
	}
	if seq > ss.seq || seq < 0 {
		ss.mu.Unlock()
		rec.Reason = "4007"
		s.rec.resumes = append(s.rec.resumes, rec)
		s.rec.violations = append(s.rec.violations, Violation{Time: now, Kind: ViolationGatewayClose, AppID: a.ID, Shard: ss.shard, SessionID: ss.id, Code: CloseInvalidSeq, Detail: "Invalid seq."})
		c.closeWith(CloseInvalidSeq, "Invalid seq.", false)
		return
	}
	first := ss.seq + 1
	if len(ss.buffer) > 0 {
		first = ss.buffer[0].seq
	}
	if seq+1 < first {
		ss.mu.Unlock()
		rec.Reason = "seq older than the replay buffer"
		s.rec.resumes = append(s.rec.resumes, rec)
		c.sendOp(OpInvalidSession, false)
		return
	}
	old := ss.conn
	ss.conn = c
	ss.connNo++
	c.mu.Lock()
	c.session = ss
	c.mu.Unlock()
	for _, ev := range ss.buffer {
		if ev.seq <= seq {
			continue
		}
		if c.enqueue(ev.frame) && ss.logDel {
			ss.deliveries = append(ss.deliveries, Delivery{Seq: ev.seq, Type: ev.t, Conn: ss.connNo, Replay: true})
		}
		rec.Replayed++
	}
	ss.dispatchLocked("RESUMED", []byte(`{}`))
	ss.mu.Unlock()
	rec.Accepted = true
	rec.TookOver = old != nil
	s.rec.resumes = append(s.rec.resumes, rec)
	if old != nil {
		old.closeWith(CloseUnknownError, "Session resumed elsewhere.", false)
	}
	s.checkLiveLocked(a, ss, now)
}

type voiceData struct {
	GuildID   *Snowflake `json:"guild_id"`
	ChannelID *Snowflake `json:"channel_id"`
	SelfMute  *bool      `json:"self_mute"`
	SelfDeaf  *bool      `json:"self_deaf"`
}

func (c *gwConn) voiceStateUpdate(ss *session, raw json.RawMessage) {
	s := c.sim
	var d voiceData
	if err := json.Unmarshal(raw, &d); err != nil || d.GuildID == nil || d.SelfMute == nil || d.SelfDeaf == nil {
		c.fail(CloseDecodeError, "Error while decoding payload.")
		return
	}
	gid := *d.GuildID
	if ShardFor(gid, ss.shard[1]) != ss.shard[0] {
		s.recordViolation(Violation{Kind: ViolationVoiceWrongShard, AppID: ss.app.ID, Shard: ss.shard, SessionID: ss.id, Detail: "guild " + gid.String()})
		return
	}
	var cid Snowflake
	if d.ChannelID != nil {
		cid = *d.ChannelID
	}
	s.setVoice(gid, ss.app.BotUserID, cid, ss.id, *d.SelfMute, *d.SelfDeaf, ss.app)
}

func (c *gwConn) requestGuildMembers(ss *session, raw json.RawMessage) {
	s := c.sim
	var d struct {
		GuildID *Snowflake `json:"guild_id"`
		Query   *string    `json:"query"`
		Limit   *int       `json:"limit"`
		Nonce   string     `json:"nonce"`
		UserIDs any        `json:"user_ids"`
	}
	if err := json.Unmarshal(raw, &d); err != nil || d.GuildID == nil {
		c.fail(CloseDecodeError, "Error while decoding payload.")
		return
	}
	if d.Query != nil && *d.Query == "" && ss.intents&IntentGuildMembers == 0 {
		c.fail(CloseDisallowedIntents, "Disallowed intent(s).")
		return
	}
	s.mu.Lock()
	g := s.guilds[*d.GuildID]
	var members []any
	if g != nil {
		for _, uid := range g.memberOrder {
			u := s.users[uid]
			if d.Query != nil && !strings.HasPrefix(strings.ToLower(u.Username), strings.ToLower(*d.Query)) {
				continue
			}
			members = append(members, memberJSON(u, g.members[uid]))
			if d.Limit != nil && *d.Limit > 0 && len(members) >= *d.Limit {
				break
			}
		}
	}
	s.mu.Unlock()
	if g == nil {
		return
	}
	chunk := map[string]any{"guild_id": *d.GuildID, "members": members, "chunk_index": 0, "chunk_count": 1}
	if d.Nonce != "" {
		chunk["nonce"] = d.Nonce
	}
	b, _ := json.Marshal(chunk)
	ss.mu.Lock()
	ss.dispatchLocked("GUILD_MEMBERS_CHUNK", b)
	ss.mu.Unlock()
}
