package lavalinksim

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/poll"
)

func TestVersionIsTheEnforcedRelease(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	if st, m := do(t, s, "GET", "/version", "", s.Password()); st != 200 || m["raw"] != "4.2.2" {
		t.Fatalf("version: %d %v", st, m)
	}
	_, m := do(t, s, "GET", "/v4/info", "", s.Password())
	v := m["version"].(map[string]any)
	if v["semver"] != Version || v["major"] != 4.0 || v["minor"] != 2.0 || v["patch"] != 2.0 {
		t.Fatalf("info version: %v", v)
	}
}

func TestDecodeTrackAcceptsBothParameterNames(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	enc := resolve("https://example.com/x.mp3?length=1234").Data.(Track).Encoded
	for _, param := range []string{"encodedTrack", "track"} {
		t.Run(param, func(t *testing.T) {
			st, m := do(t, s, "GET", "/v4/decodetrack?"+param+"="+url.QueryEscape(enc), "", s.Password())
			if st != 200 || m["info"].(map[string]any)["length"] != 1234.0 {
				t.Fatalf("%d %v", st, m)
			}
		})
	}
	if st, m := do(t, s, "GET", "/v4/decodetrack", "", s.Password()); st != 400 || m["message"] == "" {
		t.Fatalf("no parameter: %d %v", st, m)
	}
}

func TestMissingClientNameIsAWarning(t *testing.T) {
	t.Parallel()
	var logs bintest.LogBuffer
	s := start(t, Config{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	h := http.Header{"Authorization": {s.Password()}, "User-Id": {"1"}}
	c, resp, err := websocket.DefaultDialer.Dial("ws://"+s.Addr()+"/v4/websocket", h)
	if err != nil {
		t.Fatalf("handshake without Client-Name refused: %v %v", resp, err)
	}
	t.Cleanup(func() { c.Close() })
	poll.Eventually(t, 5*time.Second, func() bool { return len(s.Sessions()) == 1 }, "the condition")
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), "Client-Name") {
		t.Fatalf("no warning logged: %s", logs.String())
	}
}

func TestStatsSentAtConnect(t *testing.T) {
	t.Parallel()
	s := start(t, Config{StatsInterval: time.Hour})
	c, _ := dial(t, s, "")
	m := c.next(func(m map[string]any) bool { return m["op"] != "ready" })
	if m["op"] != "stats" || m["cpu"] == nil {
		t.Fatalf("first op after ready: %v", m)
	}
}

func TestPlayerUpdateOnlyForPlayersWithATrack(t *testing.T) {
	t.Parallel()
	s := start(t, Config{PlayerUpdateInterval: 20 * time.Millisecond})
	c, _ := dial(t, s, "")
	long := resolve("https://example.com/l.mp3?length=600000").Data.(Track).Encoded
	c.do("PATCH", "/v4/sessions/"+c.id+"/players/1", `{"voice":`+voiceJSON+`}`)
	c.do("PATCH", "/v4/sessions/"+c.id+"/players/2", `{"track":{"encoded":"`+long+`"},"voice":`+voiceJSON+`}`)
	for range 5 {
		m := c.next(func(m map[string]any) bool { return m["op"] == "playerUpdate" })
		if m["guildId"] != "2" {
			t.Fatalf("playerUpdate for a player without a track: %v", m)
		}
	}
}

func TestPlayerUpdateSentAtPlay(t *testing.T) {
	t.Parallel()
	s := start(t, Config{PlayerUpdateInterval: time.Hour})
	c, _ := dial(t, s, "")
	long := resolve("https://example.com/l.mp3?length=600000").Data.(Track).Encoded
	c.do("PATCH", "/v4/sessions/"+c.id+"/players/3", `{"track":{"encoded":"`+long+`"},"voice":`+voiceJSON+`}`)
	c.next(isEvent("TrackStartEvent"))
	m := c.next(func(m map[string]any) bool { return m["op"] == "playerUpdate" })
	if m["guildId"] != "3" || m["state"].(map[string]any)["connected"] != true {
		t.Fatalf("playerUpdate at play: %v", m)
	}
}

func TestFailVoice(t *testing.T) {
	t.Parallel()
	tests := []struct {
		dialect Dialect
		status  int
		closed  bool
	}{
		{DialectLavalink, 500, false},
		{DialectNodeLink, 200, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.dialect), func(t *testing.T) {
			s := start(t, Config{Dialect: tt.dialect, FailVoice: true})
			c, _ := dial(t, s, "")
			path := "/v4/sessions/" + c.id + "/players/4"
			st, m := c.do("PATCH", path, `{"voice":`+voiceJSON+`}`)
			if st != tt.status {
				t.Fatalf("voice update: %d %v", st, m)
			}
			if st == 500 && m["message"] != "Failed to connect to voice server" {
				t.Fatalf("500 body: %v", m)
			}
			if tt.closed {
				e := c.next(isEvent("WebSocketClosedEvent"))
				if e["code"] != 4006.0 || e["guildId"] != "4" || e["byRemote"] != true {
					t.Fatalf("closed event: %v", e)
				}
			}
			if p, ok := s.Player("4"); !ok || p.Connected {
				t.Fatalf("player after a failed voice connection: %+v %v", p, ok)
			}
			// The driver lifts the fault: the next voice update connects.
			s.SetFailVoice(false)
			if st, m := c.do("PATCH", path, `{"voice":`+voiceJSON+`}`); st != 200 {
				t.Fatalf("voice update after the fault: %d %v", st, m)
			}
			if p, _ := s.Player("4"); !p.Connected {
				t.Fatalf("not connected after the fault: %+v", p)
			}
		})
	}
}

func TestVoiceConnectDelay(t *testing.T) {
	t.Parallel()
	s := start(t, Config{VoiceConnectDelay: 300 * time.Millisecond})
	c, _ := dial(t, s, "")
	path := "/v4/sessions/" + c.id + "/players/5"
	begin := time.Now()
	if st, m := c.do("PATCH", path, `{"voice":`+voiceJSON+`}`); st != 200 {
		t.Fatalf("%d %v", st, m)
	}
	if took := time.Since(begin); took < 300*time.Millisecond {
		t.Fatalf("voice update answered after %v, before the 300ms connect delay", took)
	}
	// Forever: the update is held until the client gives up, and a held
	// update does not keep the server from closing.
	s.SetVoiceConnectDelay(-1)
	req, _ := http.NewRequest("PATCH", "http://"+s.Addr()+path, strings.NewReader(`{"voice":`+voiceJSON+`}`))
	req.Header.Set("Authorization", s.Password())
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if resp, err := http.DefaultClient.Do(req.WithContext(ctx)); err == nil {
		resp.Body.Close()
		t.Fatalf("held update answered: %d", resp.StatusCode)
	}
	held := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req.Clone(context.Background()))
		if err == nil {
			resp.Body.Close()
		}
		held <- err
	}()
	closed := make(chan struct{})
	go func() { s.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close waits for a held voice update")
	}
	if err := <-held; err == nil {
		t.Fatal("held update got an answer at shutdown")
	}
}

func TestTrackKinds(t *testing.T) {
	t.Parallel()
	tests := []struct {
		kind             TrackKind
		stream, seekable bool
	}{
		{TracksUnknownLength, false, true},
		{TracksStream, true, false},
	}
	for _, tt := range tests {
		t.Run(string(tt.kind), func(t *testing.T) {
			s := start(t, Config{Tracks: tt.kind, Speed: 1000})
			for _, id := range []string{"ytsearch:abc", "https://example.com/x.mp3", "https://www.youtube.com/playlist?list=P"} {
				st, m := do(t, s, "GET", "/v4/loadtracks?identifier="+url.QueryEscape(id), "", s.Password())
				if st != 200 {
					t.Fatalf("%s: %d", id, st)
				}
				var tracks []any
				switch d := m["data"].(type) {
				case []any:
					tracks = d
				case map[string]any:
					if l, ok := d["tracks"].([]any); ok {
						tracks = l
					} else {
						tracks = []any{d}
					}
				}
				for _, tr := range tracks {
					info := tr.(map[string]any)["info"].(map[string]any)
					if info["length"] != -1.0 || info["isStream"] != tt.stream || info["isSeekable"] != tt.seekable {
						t.Fatalf("%s: info %v", id, info)
					}
					// The encoded form carries the same info.
					dec, err := decodeTrack(tr.(map[string]any)["encoded"].(string))
					if err != nil || dec.Info.Length != -1 || dec.Info.IsStream != tt.stream {
						t.Fatalf("%s: decoded %+v %v", id, dec.Info, err)
					}
				}
			}
			// Such a track plays on past any length, until stopped.
			_, m := do(t, s, "GET", "/v4/loadtracks?identifier="+url.QueryEscape("https://example.com/x.mp3"), "", s.Password())
			enc := m["data"].(map[string]any)["encoded"].(string)
			c, _ := dial(t, s, "")
			c.do("PATCH", "/v4/sessions/"+c.id+"/players/6", `{"track":{"encoded":"`+enc+`"},"voice":`+voiceJSON+`}`)
			c.next(isEvent("TrackStartEvent"))
			poll.Eventually(t, 5*time.Second, func() bool { p, _ := s.Player("6"); return p.Position > 10*time.Minute }, "the condition")
			if p, _ := s.Player("6"); p.Track == nil {
				t.Fatal("a track of unknown length ended by itself")
			}
		})
	}
	// One track of unknown length on demand.
	tr := resolve("https://example.com/y.mp3?length=unknown").Data.(Track)
	if tr.Info.Length != -1 || tr.Info.IsStream || !tr.Info.IsSeekable {
		t.Fatalf("length=unknown: %+v", tr.Info)
	}
}

func TestNodeLinkDialect(t *testing.T) {
	t.Parallel()
	s := start(t, Config{Dialect: DialectNodeLink, Cores: 16})
	c, _ := dial(t, s, "")
	s.SetLoad(0.5, 0.1)
	if _, m := do(t, s, "GET", "/v4/stats", "", s.Password()); m["cpu"].(map[string]any)["systemLoad"] != 8.0 || m["cpu"].(map[string]any)["cores"] != 16.0 {
		t.Fatalf("stats: systemLoad is not a load average: %v", m["cpu"])
	}
	if _, m := do(t, s, "GET", "/v4/info", "", s.Password()); m["isNodelink"] != true || m["jvm"] != nil {
		t.Fatalf("info does not say NodeLink: %v", m)
	}
	if st, m := c.do("PATCH", "/v4/sessions/"+c.id, `{"resuming":true,"timeout":60}`); st != 404 {
		t.Fatalf("session update: %d %v", st, m)
	}
	path := "/v4/sessions/" + c.id + "/players/7"
	// Stopping an idle player is refused.
	st, m := c.do("PATCH", path, `{"track":{"encoded":null}}`)
	if st != 400 || m["message"] != "The player is not playing." {
		t.Fatalf("stop idle: %d %v", st, m)
	}
	// A track before the voice connection is dropped: 200, track null.
	long := resolve("https://example.com/l.mp3?length=600000").Data.(Track).Encoded
	st, m = c.do("PATCH", path, `{"track":{"encoded":"`+long+`"}}`)
	if st != 200 || m["track"] != nil {
		t.Fatalf("track before voice: %d %v", st, m)
	}
	// The equalizer comes back as 15 plain gains.
	st, m = c.do("PATCH", path, `{"voice":`+voiceJSON+`,"filters":{"equalizer":[{"band":0,"gain":0.25},{"band":3,"gain":0.1}],"rotation":{"rotationHz":0.2}}}`)
	eq, _ := m["filters"].(map[string]any)["equalizer"].([]any)
	if st != 200 || len(eq) != 15 || eq[0] != 0.25 || eq[3] != 0.1 || eq[1] != 0.0 {
		t.Fatalf("filters echo: %d %v", st, m["filters"])
	}
	if m["filters"].(map[string]any)["rotation"] == nil {
		t.Fatalf("other filters lost: %v", m["filters"])
	}
	// With voice up, a track plays.
	if st, m := c.do("PATCH", path, `{"track":{"encoded":"`+long+`"}}`); st != 200 || m["track"] == nil {
		t.Fatalf("track after voice: %d %v", st, m)
	}
	// The Lavalink dialect reports systemLoad as a fraction.
	l := start(t, Config{Cores: 16})
	l.SetLoad(0.5, 0.1)
	if _, m := do(t, l, "GET", "/v4/stats", "", l.Password()); m["cpu"].(map[string]any)["systemLoad"] != 0.5 {
		t.Fatalf("lavalink stats: %v", m["cpu"])
	}
}

func TestErrorBodiesHaveNoGoPrefixes(t *testing.T) {
	t.Parallel()
	s := start(t, Config{})
	c, _ := dial(t, s, "")
	player := "/v4/sessions/" + c.id + "/players/1"
	tests := []struct{ method, path, body string }{
		{"PATCH", player, `{`},
		{"PATCH", player, `{"track":{"encoded":"zzz"}}`},
		{"PATCH", player, `{"filters":{"reverb":{}}}`},
		{"PATCH", player, `{"volume":"loud"}`},
		{"PATCH", "/v4/sessions/" + c.id, `{`},
		{"GET", "/v4/decodetrack?encodedTrack=AAAA", ""},
		{"POST", "/v4/decodetracks", `["AAAA"]`},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path+" "+tt.body, func(t *testing.T) {
			st, m := do(t, s, tt.method, tt.path, tt.body, s.Password())
			msg, _ := m["message"].(string)
			if st != 400 || msg == "" {
				t.Fatalf("%d %v", st, m)
			}
			for _, leak := range []string{"bad request:", "json:", "invalid character", "lavalinksim", "invalid encoded track:", "unexpected EOF", "illegal base64"} {
				if strings.Contains(msg, leak) {
					t.Fatalf("message %q carries a Go error (%q)", msg, leak)
				}
			}
		})
	}
}

func TestCommandDialectFlags(t *testing.T) {
	t.Parallel()
	// A bad flag ends the command at once; the timeout only keeps a
	// command that wrongly started from hanging the test.
	bad, cancelBad := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelBad()
	if err := Command(bad, []string{"-dialect", "bogus", "-addr", "127.0.0.1:0"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "dialect") {
		t.Fatalf("bad dialect: %v", err)
	}
	if err := Command(bad, []string{"-tracks", "bogus", "-addr", "127.0.0.1:0"}, io.Discard, io.Discard); err == nil || !strings.Contains(err.Error(), "track kind") {
		t.Fatalf("bad track kind: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	r, w := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- Command(ctx, []string{"-addr", "127.0.0.1:0", "-dialect", "nodelink", "-fail-voice", "-voice-delay", "10ms", "-tracks", "stream", "-cores", "8"}, w, io.Discard)
	}()
	line := make([]byte, 300)
	n, _ := r.Read(line)
	if !strings.Contains(string(line[:n]), "dialect nodelink") {
		t.Fatalf("banner: %s", line[:n])
	}
	addr := strings.Fields(string(line[:n]))[4]
	call := func(method, path, body string) (int, string) {
		t.Helper()
		status, raw := request(t, addr, method, path, body, "youshallnotpass")
		return status, string(raw)
	}
	if _, body := call("GET", "/v4/stats", ""); !strings.Contains(body, `"cores":8`) {
		t.Fatalf("-cores 8: stats %s", body)
	}
	// -tracks stream: what loads is a stream.
	if _, body := call("GET", "/v4/loadtracks?identifier="+url.QueryEscape("https://example.com/x.mp3"), ""); !strings.Contains(body, `"isStream":true`) || !strings.Contains(body, `"length":-1`) {
		t.Fatalf("-tracks stream: loaded %s", body)
	}
	// -voice-delay 10ms and -fail-voice on NodeLink: the voice update is
	// held, then accepted, and the voice websocket closes with 4006.
	h := http.Header{"Authorization": {"youshallnotpass"}, "User-Id": {"1"}, "Client-Name": {"test/1.0"}}
	ws, _, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v4/websocket", h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ws.Close() })
	var ready struct{ SessionID string }
	if err := ws.ReadJSON(&ready); err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if st, body := call("PATCH", "/v4/sessions/"+ready.SessionID+"/players/1", `{"voice":`+voiceJSON+`}`); st != 200 {
		t.Fatalf("voice update: %d %s", st, body)
	}
	if took := time.Since(begin); took < 10*time.Millisecond {
		t.Fatalf("-voice-delay 10ms: voice update answered after %v", took)
	}
	ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for {
		var m map[string]any
		if err := ws.ReadJSON(&m); err != nil {
			t.Fatalf("-fail-voice: no WebSocketClosedEvent: %v", err)
		}
		if m["type"] == "WebSocketClosedEvent" {
			if m["code"] != 4006.0 {
				t.Fatalf("-fail-voice: %v", m)
			}
			break
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
