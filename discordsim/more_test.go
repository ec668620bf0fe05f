package discordsim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestGuildJoinAndLeaveReachTheOwningShard(t *testing.T) {
	s := startSim(t, fastConfig())
	c0, _, _ := identify(t, s, 0, 2, IntentGuilds)
	lastSeq(c0, 4)
	time.Sleep(s.Config().IdentifyWindow)
	c1, _, _ := identify(t, s, 1, 2, IntentGuilds)
	lastSeq(c1, 4)
	g, err := s.CreateGuild(GuildOptions{Name: "new", OwnerID: s.DefaultUsers()[0]})
	if err != nil {
		t.Fatal(err)
	}
	owner, other := c0, c1
	if ShardFor(g.ID, 2) == 1 {
		owner, other = c1, c0
	}
	if err := s.AddBot(g.ID, s.AppID()); err != nil {
		t.Fatal(err)
	}
	f := owner.mustRead()
	var gc struct {
		ID Snowflake `json:"id"`
	}
	_ = json.Unmarshal(f.D, &gc)
	if f.T != "GUILD_CREATE" || gc.ID != g.ID {
		t.Fatalf("owner got %s %s", f.T, gc.ID)
	}
	if err := s.RemoveBot(g.ID, s.AppID()); err != nil {
		t.Fatal(err)
	}
	if f := owner.mustRead(); f.T != "GUILD_DELETE" {
		t.Fatalf("owner got %s", f.T)
	}
	if f, err := other.read(200 * time.Millisecond); err == nil {
		t.Fatalf("other shard got %+v", f)
	}
}

func TestFirehose(t *testing.T) {
	cfg := fastConfig()
	cfg.FirehoseInterval = 10 * time.Millisecond
	cfg.FirehoseBatch = 2
	s := startSim(t, cfg)
	c, _, _ := identify(t, s, 0, 1, IntentGuilds|IntentGuildMessages|IntentGuildMembers)
	seen := map[string]bool{}
	last := int64(1) // READY was read by identify
	for len(seen) < 2 {
		f := c.mustRead()
		if f.S != nil {
			if *f.S != last+1 {
				t.Fatalf("seq %d after %d", *f.S, last)
			}
			last = *f.S
		}
		if f.T == "MESSAGE_CREATE" || f.T == "GUILD_MEMBER_UPDATE" {
			seen[f.T] = true
		}
	}
}

func TestInteractionTokenExpires(t *testing.T) {
	cfg := fastConfig()
	cfg.InteractionTokenTTL = 150 * time.Millisecond
	s := startSim(t, cfg)
	registerCommand(t, s, map[string]any{"name": "ping", "description": "Ping"})
	it, err := s.Invoke(t.Context(), Invocation{GuildID: s.Guilds()[0].ID, UserID: s.DefaultUsers()[0], Command: "ping"})
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, "POST", s.APIURL(10)+"/interactions/"+it.ID.String()+"/"+it.Token+"/callback", "", map[string]any{"type": 5}, nil); r.StatusCode != 204 {
		t.Fatalf("defer: %d", r.StatusCode)
	}
	hook := s.APIURL(10) + "/webhooks/" + s.AppID().String() + "/" + it.Token
	if r := do(t, "POST", hook, "", map[string]any{"content": "in time"}, nil); r.StatusCode != 200 {
		t.Fatalf("follow-up: %d", r.StatusCode)
	}
	time.Sleep(cfg.InteractionTokenTTL) // the token lifetime is what is tested
	var e apiErr
	if r := do(t, "PATCH", hook+"/messages/@original", "", map[string]any{"content": "too late"}, &e); r.StatusCode != 401 || e.Code != 50027 {
		t.Fatalf("expired token: %d %+v", r.StatusCode, e)
	}
}

func TestComponentCallbacks(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	var m struct {
		ID Snowflake `json:"id"`
	}
	body := map[string]any{"content": "menu", "components": []any{map[string]any{"type": 1, "components": []any{
		map[string]any{"type": 2, "style": 1, "label": "A", "custom_id": "a"},
		map[string]any{"type": 2, "style": 2, "label": "B", "custom_id": "b", "disabled": true},
	}}}}
	if r := do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", bot, body, &m); r.StatusCode != 200 {
		t.Fatalf("post: %d", r.StatusCode)
	}
	if _, err := s.Click(t.Context(), Click{UserID: s.DefaultUsers()[0], MessageID: m.ID, CustomID: "b"}); err == nil {
		t.Fatal("click on a disabled button accepted")
	}
	user, err := s.CreateUser(UserOptions{Username: "stranger"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Click(t.Context(), Click{UserID: user.ID, MessageID: m.ID, CustomID: "a"}); err == nil {
		t.Fatal("click by a non-member accepted")
	}
	cases := []struct {
		name   string
		body   map[string]any
		status int
	}{
		{"modal without title", map[string]any{"type": 9, "data": map[string]any{"custom_id": "m", "components": []any{map[string]any{"type": 1}}}}, 400},
		{"modal title too long", map[string]any{"type": 9, "data": map[string]any{"custom_id": "m", "title": strings.Repeat("t", 46), "components": []any{map[string]any{"type": 1}}}}, 400},
		{"autocomplete result for a click", map[string]any{"type": 8, "data": map[string]any{"choices": []any{}}}, 400},
		{"unknown type", map[string]any{"type": 3}, 400},
		{"deferred update", map[string]any{"type": 6}, 204},
		{"deferred with a flag besides ephemeral", map[string]any{"type": 5, "data": map[string]any{"flags": 4}}, 400},
		{"deferred ephemeral", map[string]any{"type": 5, "data": map[string]any{"flags": 64}}, 204},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			it, err := s.Click(t.Context(), Click{UserID: s.DefaultUsers()[0], MessageID: m.ID, CustomID: "a"})
			if err != nil {
				t.Fatal(err)
			}
			if r := do(t, "POST", s.APIURL(10)+"/interactions/"+it.ID.String()+"/"+it.Token+"/callback", "", tc.body, nil); r.StatusCode != tc.status {
				t.Fatalf("got %d, want %d", r.StatusCode, tc.status)
			}
		})
	}
	// An update can suppress embeds but not make a public message ephemeral.
	it, err := s.Click(t.Context(), Click{UserID: s.DefaultUsers()[0], MessageID: m.ID, CustomID: "a"})
	if err != nil {
		t.Fatal(err)
	}
	update := map[string]any{"type": 7, "data": map[string]any{"content": "updated", "flags": FlagEphemeral | FlagSuppressEmbeds}}
	if r := do(t, "POST", s.APIURL(10)+"/interactions/"+it.ID.String()+"/"+it.Token+"/callback", "", update, nil); r.StatusCode != 204 {
		t.Fatalf("update: %d", r.StatusCode)
	}
	for _, msg := range s.ChannelMessages(text) {
		if msg.ID == m.ID && (msg.Content != "updated" || msg.Ephemeral() || msg.Flags&FlagSuppressEmbeds == 0) {
			t.Fatalf("after the update: content %q, flags %d; want public and embeds suppressed", msg.Content, msg.Flags)
		}
	}
}

func TestHTTPDriverStateEndpoints(t *testing.T) {
	s := startSim(t, fastConfig())
	base := s.URL() + "/_sim"
	var app Application
	if r := do(t, "POST", base+"/applications", "", map[string]any{"name": "agent", "redirect_uris": []string{"http://127.0.0.1:1/cb"}}, &app); r.StatusCode != 200 || app.Token == "" || app.ID == 0 {
		t.Fatalf("create app: %d %+v", r.StatusCode, app)
	}
	var u User
	if r := do(t, "POST", base+"/users", "", map[string]any{"username": "bob"}, &u); r.StatusCode != 200 || u.ID == 0 {
		t.Fatalf("create user: %d", r.StatusCode)
	}
	var g Guild
	if r := do(t, "POST", base+"/guilds", "", map[string]any{"name": "g", "owner_id": u.ID}, &g); r.StatusCode != 200 || len(g.Channels) != 2 {
		t.Fatalf("create guild: %d %+v", r.StatusCode, g)
	}
	var ch Channel
	if r := do(t, "POST", base+"/guilds/"+g.ID.String()+"/channels", "", map[string]any{"name": "music", "type": 2}, &ch); r.StatusCode != 200 || ch.Type != 2 {
		t.Fatalf("create channel: %d", r.StatusCode)
	}
	steps := []struct {
		method, path string
		body         any
		status       int
	}{
		{"POST", "/guilds/" + g.ID.String() + "/members", map[string]any{"user_id": s.DefaultUsers()[1]}, 204},
		{"PUT", "/guilds/" + g.ID.String() + "/bots/" + app.ID.String(), nil, 204},
		{"POST", "/voice", map[string]any{"guild_id": g.ID, "user_id": u.ID, "channel_id": ch.ID}, 204},
		{"POST", "/voice", map[string]any{"guild_id": g.ID, "user_id": u.ID, "channel_id": g.Channels[0].ID}, 400},
		{"POST", "/messages", map[string]any{"channel_id": g.Channels[0].ID, "author_id": u.ID, "content": "hi"}, 200},
		{"POST", "/messages", map[string]any{"channel_id": g.Channels[0].ID, "author_id": u.ID, "content": ""}, 400},
		{"DELETE", "/guilds/" + g.ID.String() + "/bots/" + app.ID.String(), nil, 204},
		{"POST", "/inject", map[string]any{"action": "explode"}, 400},
		{"POST", "/inject", map[string]any{"action": "close", "code": 1}, 400},
		{"GET", "/sessions", nil, 200},
		{"GET", "/violations?kind=two_live_sessions", nil, 200},
		{"GET", "/resumes", nil, 200},
		{"GET", "/interactions", nil, 200},
		{"GET", "/commands", nil, 200},
		{"GET", "/channels/" + g.Channels[0].ID.String() + "/messages", nil, 200},
		{"GET", "/nope", nil, 404},
		{"POST", "/users", "not json", 400},
	}
	for _, st := range steps {
		if r := do(t, st.method, base+st.path, "", st.body, nil); r.StatusCode != st.status {
			t.Errorf("%s %s: %d, want %d", st.method, st.path, r.StatusCode, st.status)
		}
	}
	if s.VoiceChannelOf(g.ID, u.ID) != ch.ID {
		t.Fatal("voice join not applied")
	}
	if len(s.ChannelMessages(g.Channels[0].ID)) != 1 {
		t.Fatal("message not stored")
	}
	if len(s.BotGuilds(app.ID, 0, 0)) != 0 {
		t.Fatal("bot still in guild after DELETE")
	}
}

func TestUserAgent(t *testing.T) {
	cfg := fastConfig()
	cfg.RequireUserAgent = true
	s := startSim(t, cfg)
	req, _ := http.NewRequest("GET", s.APIURL(10)+"/users/@me", nil)
	req.Header.Set("Authorization", "Bot "+s.Token())
	req.Header.Set("User-Agent", "curl/8")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var e apiErr
	_ = json.NewDecoder(r.Body).Decode(&e)
	r.Body.Close()
	if r.StatusCode != 403 || e.Code != 40333 || len(s.ViolationsOf(ViolationUserAgent)) != 1 {
		t.Fatalf("got %d %+v", r.StatusCode, e)
	}
	if r := do(t, "GET", s.APIURL(10)+"/users/@me", "Bot "+s.Token(), nil, nil); r.StatusCode != 200 {
		t.Fatalf("with a DiscordBot user agent: %d", r.StatusCode)
	}
}

func TestResumeFromAnOlderCheckpointReplaysEverythingAfterIt(t *testing.T) {
	s := startSim(t, fastConfig())
	c, sid, _ := identify(t, s, 0, 1, IntentGuilds)
	lastSeq(c, 8)
	// A crashed node's checkpoint lags: seq 3 although the client saw 9.
	_ = c.conn.NetConn().Close()
	c2 := dialGW(t, s, "")
	c2.hello()
	c2.send(resumePayload(s, sid, 3))
	for want := int64(4); want <= 9; want++ {
		if f := c2.mustRead(); f.T != "GUILD_CREATE" || *f.S != want {
			t.Fatalf("replay: %s %v, want GUILD_CREATE %d", f.T, *f.S, want)
		}
	}
	if f := c2.mustRead(); f.T != "RESUMED" || *f.S != 10 {
		t.Fatalf("got %s %v", f.T, *f.S)
	}
	if rs := s.Resumes(); len(rs) != 1 || rs[0].Replayed != 6 || rs[0].Seq != 3 {
		t.Fatalf("resumes = %+v", rs)
	}
}

func TestCloseEndsConnections(t *testing.T) {
	s, err := New(fastConfig())
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(t.Context(), "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	c, _, _ := identify(t, s, 0, 1, 0)
	done := make(chan error, 1)
	go func() { done <- s.Close() }()
	if code := c.closeCode(); code != 1001 {
		t.Fatalf("close code %d, want 1001", code)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return")
	}
}

func TestListMessagesAndOAuthApplication(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	for _, c := range []string{"one", "two", "three"} {
		do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", bot, map[string]any{"content": c}, nil)
	}
	var list []map[string]any
	if r := do(t, "GET", s.APIURL(10)+"/channels/"+text.String()+"/messages?limit=2", bot, nil, &list); r.StatusCode != 200 || len(list) != 2 || list[0]["content"] != "three" {
		t.Fatalf("list: %d %v", r.StatusCode, list)
	}
	if r := do(t, "GET", s.APIURL(10)+"/channels/"+text.String()+"/messages?limit=101", bot, nil, nil); r.StatusCode != 400 {
		t.Fatalf("limit 101: %d", r.StatusCode)
	}
	var app map[string]any
	if r := do(t, "GET", s.APIURL(9)+"/oauth2/applications/@me", bot, nil, &app); r.StatusCode != 200 || app["id"] != s.AppID().String() {
		t.Fatalf("oauth2/applications/@me: %d %v", r.StatusCode, app)
	}
}

// TestFollowupAfterDeferEditsTheLoadingMessage: straight after a deferred
// response, a follow-up edits the loading message rather than sending a new
// one, and cannot change whether it is ephemeral; once the message has
// loaded, follow-ups are new messages.
func TestFollowupAfterDeferEditsTheLoadingMessage(t *testing.T) {
	s := startSim(t, fastConfig())
	registerCommand(t, s, map[string]any{"name": "ping", "description": "Ping"})
	g := s.Guilds()[0]
	tests := []struct {
		name          string
		deferFlags    int
		followupFlags int
		wantEphemeral bool
	}{
		{"public stays public", 0, FlagEphemeral, false},
		{"ephemeral stays ephemeral", FlagEphemeral, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			it, err := s.Invoke(t.Context(), Invocation{GuildID: g.ID, UserID: s.DefaultUsers()[0], Command: "ping"})
			if err != nil {
				t.Fatal(err)
			}
			deferred := map[string]any{"type": 5, "data": map[string]any{"flags": tt.deferFlags}}
			if r := do(t, "POST", s.APIURL(10)+"/interactions/"+it.ID.String()+"/"+it.Token+"/callback", "", deferred, nil); r.StatusCode != 204 {
				t.Fatalf("defer: %d", r.StatusCode)
			}
			before := len(s.ChannelMessages(it.ChannelID))
			hook := s.APIURL(10) + "/webhooks/" + s.AppID().String() + "/" + it.Token
			var got struct {
				ID Snowflake `json:"id"`
			}
			if r := do(t, "POST", hook, "", map[string]any{"content": "pong", "flags": tt.followupFlags}, &got); r.StatusCode != 200 {
				t.Fatalf("follow-up: %d", r.StatusCode)
			}
			info := it.Info()
			m, ok := s.Message(info.OriginalID)
			if got.ID != info.OriginalID || !ok || m.Content != "pong" || m.Flags&FlagLoading != 0 || m.Ephemeral() != tt.wantEphemeral {
				t.Fatalf("follow-up answered %v; original %v: %+v; want it loaded with pong, ephemeral %v", got.ID, info.OriginalID, m, tt.wantEphemeral)
			}
			if n := len(s.ChannelMessages(it.ChannelID)); n != before || len(info.FollowupIDs) != 0 {
				t.Fatalf("%d messages (was %d), follow-ups %v: the follow-up made a new message", n, before, info.FollowupIDs)
			}
			if r := do(t, "POST", hook, "", map[string]any{"content": "again"}, &got); r.StatusCode != 200 || got.ID == info.OriginalID {
				t.Fatalf("second follow-up: %d, id %v", r.StatusCode, got.ID)
			}
		})
	}
}
