package discordsim

import (
	"bytes"
	"compress/zlib"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

const allIntents = IntentGuilds | IntentGuildMembers | IntentGuildVoiceStates | IntentGuildMessages | IntentMessageContent

func TestGuildsSpreadEvenlyOverShards(t *testing.T) {
	s, err := New(Config{Guilds: 48})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, count := range []int{1, 2, 3, 4, 16} {
		per := map[int]int{}
		for _, g := range s.Guilds() {
			per[ShardFor(g.ID, count)]++
		}
		for shard := 0; shard < count; shard++ {
			if per[shard] != 48/count {
				t.Errorf("shards=%d: shard %d has %d guilds, want %d", count, shard, per[shard], 48/count)
			}
		}
	}
}

func TestIdentifyReadyAndGuildCreates(t *testing.T) {
	s := startSim(t, fastConfig())
	c := dialGW(t, s, "")
	f := c.mustRead()
	var hello struct {
		HeartbeatInterval int `json:"heartbeat_interval"`
	}
	_ = json.Unmarshal(f.D, &hello)
	if f.Op != OpHello || hello.HeartbeatInterval != 1000 {
		t.Fatalf("hello = %+v", f)
	}
	c.send(identifyPayload(s.Token(), 1, 2, allIntents))
	f = c.mustRead()
	if f.T != "READY" || f.S == nil || *f.S != 1 {
		t.Fatalf("want READY seq 1, got %+v", f)
	}
	var ready struct {
		V           int    `json:"v"`
		SessionID   string `json:"session_id"`
		Resume      string `json:"resume_gateway_url"`
		Shard       []int  `json:"shard"`
		Application struct {
			ID Snowflake `json:"id"`
		} `json:"application"`
		Guilds []struct {
			ID          Snowflake `json:"id"`
			Unavailable bool      `json:"unavailable"`
		} `json:"guilds"`
	}
	if err := json.Unmarshal(f.D, &ready); err != nil {
		t.Fatal(err)
	}
	want := s.BotGuilds(s.AppID(), 1, 2)
	if ready.V != 10 || ready.SessionID == "" || ready.Resume == "" || len(ready.Shard) != 2 || ready.Shard[0] != 1 || ready.Application.ID != s.AppID() {
		t.Fatalf("READY = %+v", ready)
	}
	if len(ready.Guilds) != len(want) || len(want) != 4 {
		t.Fatalf("READY has %d guilds, want %d (4)", len(ready.Guilds), len(want))
	}
	for k, g := range ready.Guilds {
		if !g.Unavailable || g.ID != want[k] || ShardFor(g.ID, 2) != 1 {
			t.Fatalf("guild %d = %+v", k, g)
		}
	}
	for k := range want {
		f = c.mustRead()
		var g struct {
			ID       Snowflake `json:"id"`
			Channels []any     `json:"channels"`
		}
		_ = json.Unmarshal(f.D, &g)
		if f.T != "GUILD_CREATE" || *f.S != int64(k+2) || g.ID != want[k] || len(g.Channels) != 2 {
			t.Fatalf("frame %d = %s seq %v guild %s", k, f.T, *f.S, g.ID)
		}
	}
	if got := s.SessionStartRemaining(); got != 999 {
		t.Fatalf("session start remaining %d, want 999", got)
	}
}

func TestGatewayRejections(t *testing.T) {
	props := map[string]string{"os": "linux", "browser": "x", "device": "x"}
	ident := func(mut func(d map[string]any)) map[string]any {
		d := map[string]any{"token": "", "intents": 513, "properties": props}
		mut(d)
		return map[string]any{"op": 2, "d": d}
	}
	cases := []struct {
		name  string
		query string
		cfg   func(*Config)
		send  func(s *Sim, c *wsClient)
		want  int
	}{
		{"invalid json", "", nil, func(s *Sim, c *wsClient) { _ = c.conn.WriteMessage(websocket.TextMessage, []byte("{nope")) }, CloseDecodeError},
		{"missing op", "", nil, func(s *Sim, c *wsClient) { c.send(map[string]any{"d": 1}) }, CloseDecodeError},
		{"payload over 4096 bytes", "", nil, func(s *Sim, c *wsClient) {
			c.send(map[string]any{"op": 1, "d": nil, "pad": strings.Repeat("x", 4100)})
		}, CloseDecodeError},
		{"binary frame", "", nil, func(s *Sim, c *wsClient) { _ = c.conn.WriteMessage(websocket.BinaryMessage, []byte(`{"op":1}`)) }, CloseDecodeError},
		{"payload before identify", "", nil, func(s *Sim, c *wsClient) { c.send(map[string]any{"op": 3, "d": map[string]any{}}) }, CloseNotAuthenticated},
		{"unknown opcode before identify", "", nil, func(s *Sim, c *wsClient) { c.send(map[string]any{"op": 99}) }, CloseNotAuthenticated},
		{"bad token", "", nil, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { d["token"] = "nope" }))
		}, CloseAuthenticationFailed},
		{"missing token", "", nil, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { delete(d, "token") }))
		}, CloseAuthenticationFailed},
		{"missing properties", "", nil, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { d["token"] = s.Token(); delete(d, "properties") }))
		}, CloseDecodeError},
		{"shard id == count", "", nil, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { d["token"] = s.Token(); d["shard"] = []int{2, 2} }))
		}, CloseInvalidShard},
		{"shard count 0", "", nil, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { d["token"] = s.Token(); d["shard"] = []int{0, 0} }))
		}, CloseInvalidShard},
		{"shard one element", "", nil, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { d["token"] = s.Token(); d["shard"] = []int{0} }))
		}, CloseInvalidShard},
		{"negative shard", "", nil, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { d["token"] = s.Token(); d["shard"] = []int{-1, 2} }))
		}, CloseInvalidShard},
		{"sharding required", "", func(c *Config) { c.MaxGuildsPerShard = 3 }, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { d["token"] = s.Token(); d["shard"] = []int{0, 1} }))
		}, CloseShardingRequired},
		{"undocumented intent bit", "", nil, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { d["token"] = s.Token(); d["intents"] = 1 << 30 }))
		}, CloseInvalidIntents},
		{"missing intents", "", nil, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { d["token"] = s.Token(); delete(d, "intents") }))
		}, CloseInvalidIntents},
		{"privileged intent not enabled", "", func(c *Config) { c.DeniedPrivilegedIntents = IntentMessageContent }, func(s *Sim, c *wsClient) {
			c.send(ident(func(d map[string]any) { d["token"] = s.Token(); d["intents"] = IntentMessageContent | IntentGuilds }))
		}, CloseDisallowedIntents},
		{"identify twice", "", nil, func(s *Sim, c *wsClient) {
			c.send(identifyPayload(s.Token(), 0, 1, 1))
			c.until(func(f frame) bool { return f.T == "READY" })
			c.send(identifyPayload(s.Token(), 0, 1, 1))
		}, CloseAlreadyAuthenticated},
		{"unknown opcode after identify", "", nil, func(s *Sim, c *wsClient) {
			c.send(identifyPayload(s.Token(), 0, 1, 1))
			c.until(func(f frame) bool { return f.T == "READY" })
			c.send(map[string]any{"op": 99, "d": nil})
		}, CloseUnknownOpcode},
		{"resume with seq from the future", "", nil, func(s *Sim, c *wsClient) {
			c.send(identifyPayload(s.Token(), 0, 1, 1))
			f := c.until(func(f frame) bool { return f.T == "READY" })
			var r struct {
				SessionID string `json:"session_id"`
			}
			_ = json.Unmarshal(f.D, &r)
			_ = c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "bye"))
			c2 := dialGW(c.t, s, "")
			c2.hello()
			c2.send(map[string]any{"op": 6, "d": map[string]any{"token": s.Token(), "session_id": r.SessionID, "seq": 1000}})
			*c = *c2
		}, CloseInvalidSeq},
		{"api version 8", "?v=8&encoding=json", nil, func(s *Sim, c *wsClient) {}, CloseInvalidAPIVersion},
		{"etf encoding", "?v=10&encoding=etf", nil, func(s *Sim, c *wsClient) {}, CloseDecodeError},
		{"rate limited", "", func(c *Config) { c.GatewaySendLimit = 5 }, func(s *Sim, c *wsClient) {
			for i := 0; i < 6; i++ {
				c.send(map[string]any{"op": 1, "d": nil})
			}
		}, CloseRateLimited},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fastConfig()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			s := startSim(t, cfg)
			c := dialGW(t, s, tc.query)
			if tc.query == "" {
				c.hello()
			}
			tc.send(s, c)
			if got := c.closeCode(); got != tc.want {
				t.Fatalf("close code %d, want %d", got, tc.want)
			}
			if len(s.ViolationsOf(ViolationGatewayClose)) == 0 {
				t.Fatal("close not recorded as a violation")
			}
		})
	}
}

func TestIdentifyConcurrencyBuckets(t *testing.T) {
	cfg := fastConfig()
	cfg.MaxConcurrency = 2
	cfg.IdentifyWindow = 400 * time.Millisecond
	s := startSim(t, cfg)
	// Shards 0 and 1 are in different buckets: both may identify at once.
	identify(t, s, 0, 4, 1)
	identify(t, s, 1, 4, 1)
	// Shard 2 shares bucket 0 with shard 0: op 9 false, recorded.
	c := dialGW(t, s, "")
	c.hello()
	c.send(identifyPayload(s.Token(), 2, 4, 1))
	f := c.mustRead()
	if f.Op != OpInvalidSession || string(f.D) != "false" {
		t.Fatalf("want op 9 false, got %+v", f)
	}
	if v := s.ViolationsOf(ViolationIdentifyRateLimited); len(v) != 1 || v[0].Shard != [2]int{2, 4} {
		t.Fatalf("violations = %+v", v)
	}
	// After the window the same connection may identify.
	time.Sleep(cfg.IdentifyWindow) // the window itself is what is tested
	c.send(identifyPayload(s.Token(), 2, 4, 1))
	if f := c.until(func(f frame) bool { return f.T == "READY" || f.Op == OpInvalidSession }); f.T != "READY" {
		t.Fatalf("second identify: %+v", f)
	}
	ids := s.Identifies()
	if len(ids) != 4 || ids[2].Accepted || ids[2].Bucket != 0 || !ids[3].Accepted {
		t.Fatalf("identifies = %+v", ids)
	}
}

func TestSessionStartLimitCountsDown(t *testing.T) {
	cfg := fastConfig()
	cfg.SessionStartLimit = 2
	cfg.IdentifyWindow = time.Millisecond
	s := startSim(t, cfg)
	var gb struct {
		Shards int `json:"shards"`
		Limit  struct {
			Total, Remaining, ResetAfter, MaxConcurrency int
		} `json:"session_start_limit"`
	}
	remaining := func() int {
		var raw map[string]any
		do(t, "GET", s.APIURL(10)+"/gateway/bot", "Bot "+s.Token(), nil, &raw)
		b, _ := json.Marshal(raw)
		_ = json.Unmarshal(b, &gb)
		return int(raw["session_start_limit"].(map[string]any)["remaining"].(float64))
	}
	if r := remaining(); r != 2 || gb.Shards != 2 {
		t.Fatalf("remaining %d shards %d", r, gb.Shards)
	}
	identify(t, s, 0, 1, 1)
	time.Sleep(2 * time.Millisecond)
	identify(t, s, 0, 1, 1)
	if r := remaining(); r != 0 {
		t.Fatalf("remaining %d, want 0", r)
	}
	c := dialGW(t, s, "")
	c.hello()
	c.send(identifyPayload(s.Token(), 0, 1, 1))
	if f := c.mustRead(); f.Op != OpInvalidSession {
		t.Fatalf("want op 9, got %+v", f)
	}
	if len(s.ViolationsOf(ViolationSessionStartLimit)) != 1 {
		t.Fatal("session start limit violation not recorded")
	}
}

func resumePayload(s *Sim, sid string, seq int64) map[string]any {
	return map[string]any{"op": 6, "d": map[string]any{"token": s.Token(), "session_id": sid, "seq": seq}}
}

func lastSeq(c *wsClient, want int) int64 {
	var seq int64
	for i := 0; i < want; i++ {
		f := c.mustRead()
		if f.S != nil {
			seq = *f.S
		}
	}
	return seq
}

func TestResumeReplaysEventsMissedWhileDisconnected(t *testing.T) {
	s := startSim(t, fastConfig())
	c, sid, resumeURL := identify(t, s, 0, 1, allIntents)
	seq := lastSeq(c, 8) // 8 GUILD_CREATEs
	if seq != 9 {
		t.Fatalf("seq after guild creates = %d", seq)
	}
	// Crash without a close frame: the session stays resumable.
	_ = c.conn.NetConn().Close()
	within(t, 2*time.Second, func() bool { si, _ := s.Session(sid); return !si.Live })
	guild := s.Guilds()[0]
	text, _ := s.TextChannel(guild.ID)
	for i := 0; i < 3; i++ {
		if _, err := s.SendMessage(MessageOptions{ChannelID: text, AuthorID: s.DefaultUsers()[0], Content: "missed"}); err != nil {
			t.Fatal(err)
		}
	}
	conn, _, err := websocket.DefaultDialer.Dial(resumeURL+"?v=10&encoding=json", nil)
	if err != nil {
		t.Fatal(err)
	}
	c2 := &wsClient{t: t, conn: conn}
	t.Cleanup(func() { conn.Close() })
	c2.hello()
	c2.send(resumePayload(s, sid, seq))
	for want := int64(10); want <= 12; want++ {
		f := c2.mustRead()
		var m struct {
			Content string `json:"content"`
		}
		_ = json.Unmarshal(f.D, &m)
		if f.T != "MESSAGE_CREATE" || *f.S != want || m.Content != "missed" {
			t.Fatalf("replay: got %s seq %d content %q", f.T, *f.S, m.Content)
		}
	}
	if f := c2.mustRead(); f.T != "RESUMED" || *f.S != 13 {
		t.Fatalf("want RESUMED seq 13, got %+v", f)
	}
	rs := s.Resumes()
	if len(rs) != 1 || !rs[0].Accepted || rs[0].Replayed != 3 || !rs[0].ViaResumeURL || rs[0].TookOver {
		t.Fatalf("resumes = %+v", rs)
	}
	if at, ok := s.ResumedAt(sid, time.Time{}); !ok || !at.Equal(rs[0].Time) {
		t.Fatalf("ResumedAt = %v %v, want %v", at, ok, rs[0].Time)
	}
	if at, ok := s.ResumedAt(sid, rs[0].Time.Add(time.Nanosecond)); ok {
		t.Fatalf("ResumedAt after the resume = %v, want none", at)
	}
	if ids := s.IdentifiesSince(time.Time{}); len(ids) != 1 {
		t.Fatalf("IdentifiesSince(zero) = %+v, want the one IDENTIFY", ids)
	}
	if ids := s.IdentifiesSince(rs[0].Time); len(ids) != 0 {
		t.Fatalf("IdentifiesSince(resume) = %+v, want none", ids)
	}
	// Deliveries: 1..9 on conn 1, 10..12 replayed and 13 on conn 2; no gaps, no duplicates.
	dels := s.Deliveries(sid)
	for k, d := range dels {
		if d.Seq != int64(k+1) {
			t.Fatalf("delivery %d = %+v", k, d)
		}
	}
	if len(dels) != 13 || !dels[9].Replay || dels[9].Conn != 2 {
		t.Fatalf("deliveries = %+v", dels)
	}
}

func TestResumeRefusals(t *testing.T) {
	cases := []struct {
		name  string
		setup func(t *testing.T, s *Sim) (sid string, seq int64)
	}{
		{"unknown session", func(t *testing.T, s *Sim) (string, int64) { return "nope", 0 }},
		{"closed with 1000", func(t *testing.T, s *Sim) (string, int64) {
			c, sid, _ := identify(t, s, 0, 1, 1)
			_ = c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""))
			within(t, 2*time.Second, func() bool { si, _ := s.Session(sid); return !si.Resumable })
			return sid, 1
		}},
		{"closed with 1001", func(t *testing.T, s *Sim) (string, int64) {
			c, sid, _ := identify(t, s, 0, 1, 1)
			_ = c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(1001, ""))
			within(t, 2*time.Second, func() bool { si, _ := s.Session(sid); return !si.Resumable })
			return sid, 1
		}},
		{"resume window expired", func(t *testing.T, s *Sim) (string, int64) {
			c, sid, _ := identify(t, s, 0, 1, 1)
			_ = c.conn.NetConn().Close()
			within(t, 3*time.Second, func() bool { si, ok := s.Session(sid); return !ok || !si.Resumable })
			return sid, 1
		}},
		{"invalidated by op 9 false", func(t *testing.T, s *Sim) (string, int64) {
			c, sid, _ := identify(t, s, 0, 1, 1)
			s.InvalidateSession(Target{SessionID: sid}, false)
			c.until(func(f frame) bool { return f.Op == OpInvalidSession })
			return sid, 1
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := fastConfig()
			cfg.ResumeWindow = 200 * time.Millisecond
			s := startSim(t, cfg)
			sid, seq := tc.setup(t, s)
			c := dialGW(t, s, "")
			c.hello()
			c.send(resumePayload(s, sid, seq))
			f := c.mustRead()
			if f.Op != OpInvalidSession || string(f.D) != "false" {
				t.Fatalf("want op 9 false, got %+v", f)
			}
			if rs := s.Resumes(); len(rs) != 1 || rs[0].Accepted {
				t.Fatalf("resumes = %+v", rs)
			}
			if at, ok := s.ResumedAt(sid, time.Time{}); ok {
				t.Fatalf("ResumedAt = %v for a refused RESUME", at)
			}
		})
	}
}

func TestResumeTakesOverLiveConnection(t *testing.T) {
	s := startSim(t, fastConfig())
	old, sid, _ := identify(t, s, 0, 1, allIntents)
	lastSeq(old, 8)
	c := dialGW(t, s, "")
	c.hello()
	c.send(resumePayload(s, sid, 9))
	if f := c.mustRead(); f.T != "RESUMED" {
		t.Fatalf("want RESUMED, got %+v", f)
	}
	if code := old.closeCode(); code != CloseUnknownError {
		t.Fatalf("old connection closed with %d, want 4000", code)
	}
	if len(s.LiveSessions(0)) != 1 || len(s.ViolationsOf(ViolationTwoLiveSessions)) != 0 {
		t.Fatalf("live = %+v violations = %+v", s.LiveSessions(0), s.Violations())
	}
	if rs := s.Resumes(); !rs[0].TookOver {
		t.Fatal("take-over not recorded")
	}
	// Events now flow to the new connection only.
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	_, _ = s.SendMessage(MessageOptions{ChannelID: text, AuthorID: s.DefaultUsers()[0], Content: "after"})
	if f := c.mustRead(); f.T != "MESSAGE_CREATE" || *f.S != 11 {
		t.Fatalf("got %+v", f)
	}
}

func TestTwoLiveSessionsForOneShardIsAFault(t *testing.T) {
	s := startSim(t, fastConfig())
	identify(t, s, 1, 2, 1)
	time.Sleep(s.Config().IdentifyWindow)
	identify(t, s, 1, 2, 1)
	v := s.ViolationsOf(ViolationTwoLiveSessions)
	if len(v) != 1 || v[0].Shard != [2]int{1, 2} {
		t.Fatalf("violations = %+v", v)
	}
	if n := len(s.LiveSessions(1)); n != 2 {
		t.Fatalf("live sessions for shard 1 = %d", n)
	}
}

func TestDisconnectedSessionBuffersEventsForItsShard(t *testing.T) {
	s := startSim(t, fastConfig())
	c, sid, _ := identify(t, s, 0, 2, allIntents)
	seq := lastSeq(c, 4)
	// Client-side abnormal close (4000): session stays resumable.
	_ = c.conn.WriteMessage(websocket.CloseMessage, websocket.FormatCloseMessage(4000, "crash"))
	within(t, 2*time.Second, func() bool { si, _ := s.Session(sid); return !si.Live && si.Resumable })
	var mine, other Snowflake
	for _, g := range s.Guilds() {
		if ShardFor(g.ID, 2) == 0 {
			mine = g.ID
		} else {
			other = g.ID
		}
	}
	i, err := invokePing(t, s, other)
	if err != nil {
		t.Fatal(err)
	}
	if i.Info().Delivered != 0 {
		t.Fatal("interaction for shard 1 reached shard 0's session")
	}
	i, err = invokePing(t, s, mine)
	if err != nil {
		t.Fatal(err)
	}
	if i.Info().Delivered != 1 {
		t.Fatal("interaction for the disconnected shard was not buffered")
	}
	if si, _ := s.Session(sid); si.Seq != seq+1 {
		t.Fatalf("session seq = %d, want %d", si.Seq, seq+1)
	}
}

func invokePing(t *testing.T, s *Sim, guild Snowflake) (*Interaction, error) {
	t.Helper()
	registerCommand(t, s, map[string]any{"name": "ping", "description": "Ping"})
	return s.Invoke(t.Context(), Invocation{GuildID: guild, UserID: s.DefaultUsers()[0], Command: "ping"})
}

func registerCommand(t *testing.T, s *Sim, cmd map[string]any) {
	t.Helper()
	resp := do(t, "POST", s.APIURL(10)+"/applications/"+s.AppID().String()+"/commands", "Bot "+s.Token(), cmd, nil)
	if resp.StatusCode != 201 && resp.StatusCode != 200 {
		t.Fatalf("register command: %d", resp.StatusCode)
	}
}

func TestZombieConnectionIsClosed(t *testing.T) {
	cfg := fastConfig()
	cfg.HeartbeatInterval = 100 * time.Millisecond
	s := startSim(t, cfg)
	c, sid, _ := identify(t, s, 0, 1, 1)
	if code := c.closeCode(); code != CloseSessionTimedOut {
		t.Fatalf("close code %d, want 4009", code)
	}
	// "your connection will be closed and you will be forced to Resume"
	within(t, 2*time.Second, func() bool { si, _ := s.Session(sid); return !si.Live && si.Resumable })
}

func TestHeartbeats(t *testing.T) {
	s := startSim(t, fastConfig())
	c, _, _ := identify(t, s, 0, 1, 0)
	c.send(map[string]any{"op": 1, "d": 1})
	if f := c.mustRead(); f.Op != OpHeartbeatACK {
		t.Fatalf("want ACK, got %+v", f)
	}
	if n := s.RequestHeartbeat(ShardTarget(0)); n != 1 {
		t.Fatalf("affected %d", n)
	}
	if f := c.mustRead(); f.Op != OpHeartbeat {
		t.Fatalf("want op 1, got %+v", f)
	}
}

func TestInjectedFaults(t *testing.T) {
	s := startSim(t, fastConfig())
	c, sid, _ := identify(t, s, 0, 1, 0)
	if s.Reconnect(ShardTarget(0)) != 1 {
		t.Fatal("reconnect affected nothing")
	}
	if f := c.mustRead(); f.Op != OpReconnect {
		t.Fatalf("want op 7, got %+v", f)
	}
	s.InvalidateSession(ShardTarget(0), true)
	if f := c.mustRead(); f.Op != OpInvalidSession || string(f.D) != "true" {
		t.Fatalf("want op 9 true, got %+v", f)
	}
	if s.Drop(ShardTarget(0)) != 1 {
		t.Fatal("drop affected nothing")
	}
	_, err := c.read(2 * time.Second)
	var ce *websocket.CloseError
	if err == nil || (errors.As(err, &ce) && ce.Code != websocket.CloseAbnormalClosure) {
		t.Fatalf("want a dropped connection without close frame, got %v", err)
	}
	within(t, 2*time.Second, func() bool { si, _ := s.Session(sid); return !si.Live && si.Resumable })
}

func TestIntentsFilterDispatches(t *testing.T) {
	s := startSim(t, fastConfig())
	noMsgs, _, _ := identify(t, s, 0, 1, IntentGuilds)
	lastSeq(noMsgs, 8)
	time.Sleep(s.Config().IdentifyWindow)
	noContent, _, _ := identify(t, s, 0, 1, IntentGuilds|IntentGuildMessages)
	lastSeq(noContent, 8)
	g := s.Guilds()[0]
	text, _ := s.TextChannel(g.ID)
	if _, err := s.SendMessage(MessageOptions{ChannelID: text, AuthorID: s.DefaultUsers()[0], Content: "secret"}); err != nil {
		t.Fatal(err)
	}
	f := noContent.mustRead()
	var m struct {
		Content string    `json:"content"`
		GuildID Snowflake `json:"guild_id"`
	}
	_ = json.Unmarshal(f.D, &m)
	if f.T != "MESSAGE_CREATE" || m.Content != "" || m.GuildID != g.ID {
		t.Fatalf("without MESSAGE_CONTENT got %s %+v", f.T, m)
	}
	if f, err := noMsgs.read(200 * time.Millisecond); err == nil {
		t.Fatalf("session without GUILD_MESSAGES got %+v", f)
	}
	// The bot's own messages keep their content.
	do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", "Bot "+s.Token(), map[string]any{"content": "mine"}, nil)
	f = noContent.mustRead()
	_ = json.Unmarshal(f.D, &m)
	if f.T != "MESSAGE_CREATE" || m.Content != "mine" {
		t.Fatalf("own message: %s %+v", f.T, m)
	}
}

func TestVoiceStateUpdateYieldsBothEvents(t *testing.T) {
	s := startSim(t, fastConfig())
	c, _, _ := identify(t, s, 0, 2, IntentGuilds|IntentGuildVoiceStates)
	lastSeq(c, 4)
	var mine, other Snowflake
	for _, g := range s.Guilds() {
		if ShardFor(g.ID, 2) == 0 {
			mine = g.ID
		} else {
			other = g.ID
		}
	}
	vc, _ := s.VoiceChannel(mine)
	c.send(map[string]any{"op": 4, "d": map[string]any{"guild_id": mine, "channel_id": vc, "self_mute": false, "self_deaf": true}})
	got := map[string]json.RawMessage{}
	for len(got) < 2 {
		f := c.mustRead()
		got[f.T] = f.D
	}
	var vs struct {
		ChannelID Snowflake `json:"channel_id"`
		UserID    Snowflake `json:"user_id"`
		SessionID string    `json:"session_id"`
	}
	var srv struct {
		Token    string    `json:"token"`
		Endpoint string    `json:"endpoint"`
		GuildID  Snowflake `json:"guild_id"`
	}
	_ = json.Unmarshal(got["VOICE_STATE_UPDATE"], &vs)
	_ = json.Unmarshal(got["VOICE_SERVER_UPDATE"], &srv)
	if vs.ChannelID != vc || vs.UserID != s.DefaultApp().BotUserID || vs.SessionID == "" {
		t.Fatalf("voice state = %+v", vs)
	}
	if srv.Token == "" || srv.Endpoint == "" || srv.GuildID != mine {
		t.Fatalf("voice server = %+v", srv)
	}
	if s.VoiceChannelOf(mine, s.DefaultApp().BotUserID) != vc {
		t.Fatal("bot not in voice channel")
	}
	// Leaving.
	c.send(map[string]any{"op": 4, "d": map[string]any{"guild_id": mine, "channel_id": nil, "self_mute": false, "self_deaf": false}})
	if f := c.mustRead(); f.T != "VOICE_STATE_UPDATE" || s.VoiceChannelOf(mine, s.DefaultApp().BotUserID) != 0 {
		t.Fatalf("leave: %+v", f)
	}
	// A guild of another shard is refused and recorded.
	c.send(map[string]any{"op": 4, "d": map[string]any{"guild_id": other, "channel_id": nil, "self_mute": false, "self_deaf": false}})
	within(t, 2*time.Second, func() bool { return len(s.ViolationsOf(ViolationVoiceWrongShard)) == 1 })
	// A user joining voice is seen by the shard.
	if err := s.JoinVoice(mine, s.DefaultUsers()[0], vc); err != nil {
		t.Fatal(err)
	}
	if f := c.mustRead(); f.T != "VOICE_STATE_UPDATE" {
		t.Fatalf("user join: %+v", f)
	}
}

func TestZlibStream(t *testing.T) {
	s := startSim(t, fastConfig())
	conn, _, err := websocket.DefaultDialer.Dial(s.GatewayURL()+"/?v=9&encoding=json&compress=zlib-stream", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	pr, pw := io.Pipe()
	go func() {
		for {
			typ, b, err := conn.ReadMessage()
			if err != nil {
				pw.CloseWithError(err)
				return
			}
			if typ != websocket.BinaryMessage || !bytes.HasSuffix(b, []byte{0, 0, 0xff, 0xff}) {
				pw.CloseWithError(errors.New("not a zlib-stream frame"))
				return
			}
			_, _ = pw.Write(b)
		}
	}()
	zr, err := zlib.NewReader(pr)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(zr)
	var f frame
	if err := dec.Decode(&f); err != nil || f.Op != OpHello {
		t.Fatalf("hello: %+v %v", f, err)
	}
	_ = conn.WriteJSON(identifyPayload(s.Token(), 0, 1, 1))
	if err := dec.Decode(&f); err != nil || f.T != "READY" {
		t.Fatalf("ready: %+v %v", f, err)
	}
}
