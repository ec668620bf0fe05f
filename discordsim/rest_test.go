package discordsim

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

type apiErr struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Errors  json.RawMessage `json:"errors"`
}

func TestRESTBasics(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	var me map[string]any
	if r := do(t, "GET", s.APIURL(9)+"/users/@me", bot, nil, &me); r.StatusCode != 200 || me["id"] != s.DefaultApp().BotUserID.String() || me["bot"] != true {
		t.Fatalf("users/@me: %d %v", r.StatusCode, me)
	}
	var app map[string]any
	if r := do(t, "GET", s.APIURL(10)+"/applications/@me", bot, nil, &app); r.StatusCode != 200 || app["id"] != s.AppID().String() {
		t.Fatalf("applications/@me: %d %v", r.StatusCode, app)
	}
	var gw map[string]any
	if r := do(t, "GET", s.APIURL(10)+"/gateway", "", nil, &gw); r.StatusCode != 200 || gw["url"] != s.GatewayURL() {
		t.Fatalf("gateway: %v", gw)
	}
	var guilds []map[string]any
	do(t, "GET", s.APIURL(10)+"/users/@me/guilds", bot, nil, &guilds)
	if len(guilds) != 8 {
		t.Fatalf("bot guilds = %d", len(guilds))
	}
	cases := []struct {
		name, method, path, auth string
		body                     any
		status, code             int
	}{
		{"no token", "GET", "/users/@me", "", nil, 401, 0},
		{"bad token", "GET", "/users/@me", "Bot nope", nil, 401, 0},
		{"unknown route", "GET", "/nope", bot, nil, 404, 0},
		{"unknown channel", "POST", "/channels/123/messages", bot, map[string]any{"content": "x"}, 404, 10003},
		{"empty message", "POST", "/channels/{text}/messages", bot, map[string]any{"content": ""}, 400, 50006},
		{"content too long", "POST", "/channels/{text}/messages", bot, map[string]any{"content": strings.Repeat("a", 2001)}, 400, 50035},
		{"six action rows", "POST", "/channels/{text}/messages", bot, map[string]any{"content": "x", "components": []any{row(), row(), row(), row(), row(), row()}}, 400, 50035},
		{"button without custom_id", "POST", "/channels/{text}/messages", bot, map[string]any{"components": []any{map[string]any{"type": 1, "components": []any{map[string]any{"type": 2, "style": 1, "label": "x"}}}}}, 400, 50035},
		{"ephemeral flag on channel message", "POST", "/channels/{text}/messages", bot, map[string]any{"content": "x", "flags": 64}, 400, 50035},
		{"wrong field type", "POST", "/channels/{text}/messages", bot, map[string]any{"content": 5}, 400, 50035},
		{"message in voice channel", "POST", "/channels/{voice}/messages", bot, map[string]any{"content": "x"}, 400, 50008},
		{"other app's commands", "GET", "/applications/1/commands", bot, nil, 403, 20012},
		{"bot not in guild", "GET", "/guilds/{foreign}", bot, nil, 403, 50001},
		{"unknown interaction", "POST", "/interactions/1/x/callback", "", map[string]any{"type": 4, "data": map[string]any{"content": "x"}}, 404, 10062},
		{"unknown webhook", "POST", "/webhooks/{app}/nope", "", map[string]any{"content": "x"}, 404, 10015},
	}
	g := s.Guilds()[0]
	text, _ := s.TextChannel(g.ID)
	voice, _ := s.VoiceChannel(g.ID)
	foreign, err := s.CreateGuild(GuildOptions{Name: "foreign", OwnerID: s.DefaultUsers()[0]})
	if err != nil {
		t.Fatal(err)
	}
	repl := strings.NewReplacer("{text}", text.String(), "{voice}", voice.String(), "{foreign}", foreign.ID.String(), "{app}", s.AppID().String())
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			r := do(t, tc.method, s.APIURL(10)+repl.Replace(tc.path), tc.auth, tc.body, &e)
			if r.StatusCode != tc.status || e.Code != tc.code || e.Message == "" {
				t.Fatalf("got %d %+v, want %d code %d", r.StatusCode, e, tc.status, tc.code)
			}
		})
	}
	var msg map[string]any
	if r := do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", bot, map[string]any{"content": "hello"}, &msg); r.StatusCode != 200 || msg["content"] != "hello" {
		t.Fatalf("post message: %d %v", r.StatusCode, msg)
	}
	if len(s.ChannelMessages(text)) != 1 {
		t.Fatal("message not stored")
	}
}

func row() map[string]any {
	return map[string]any{"type": 1, "components": []any{map[string]any{"type": 2, "style": 5, "label": "x", "url": "https://example.com"}}}
}

func TestRouteRateLimit(t *testing.T) {
	cfg := fastConfig()
	cfg.RouteRateLimit = 3
	cfg.RouteRateWindow = 500 * time.Millisecond
	s := startSim(t, cfg)
	bot := "Bot " + s.Token()
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	other, _ := s.TextChannel(s.Guilds()[1].ID)
	post := func(ch Snowflake) *http.Response {
		return do(t, "POST", s.APIURL(10)+"/channels/"+ch.String()+"/messages", bot, map[string]any{"content": "x"}, nil)
	}
	var bucket string
	for i := 0; i < 3; i++ {
		r := post(text)
		if r.StatusCode != 200 || r.Header.Get("X-RateLimit-Limit") != "3" || r.Header.Get("X-RateLimit-Remaining") != strconv.Itoa(2-i) {
			t.Fatalf("request %d: %d limit %s remaining %s", i, r.StatusCode, r.Header.Get("X-RateLimit-Limit"), r.Header.Get("X-RateLimit-Remaining"))
		}
		bucket = r.Header.Get("X-RateLimit-Bucket")
		if bucket == "" || r.Header.Get("X-RateLimit-Reset") == "" || r.Header.Get("X-RateLimit-Reset-After") == "" {
			t.Fatal("missing rate limit headers")
		}
	}
	var body struct {
		Message    string  `json:"message"`
		RetryAfter float64 `json:"retry_after"`
		Global     bool    `json:"global"`
	}
	req, _ := http.NewRequest("POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", strings.NewReader(`{"content":"x"}`))
	req.Header.Set("Authorization", bot)
	req.Header.Set("Content-Type", "application/json")
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_ = json.NewDecoder(r.Body).Decode(&body)
	r.Body.Close()
	if r.StatusCode != 429 || body.Global || body.RetryAfter <= 0 || body.RetryAfter > 0.5 || r.Header.Get("X-RateLimit-Scope") != "user" || r.Header.Get("Retry-After") == "" {
		t.Fatalf("429: %d %+v scope %q", r.StatusCode, body, r.Header.Get("X-RateLimit-Scope"))
	}
	// Another channel is another bucket instance.
	if r := post(other); r.StatusCode != 200 || r.Header.Get("X-RateLimit-Bucket") != bucket {
		t.Fatalf("other channel: %d", r.StatusCode)
	}
	time.Sleep(cfg.RouteRateWindow) // the window is what is tested
	if r := post(text); r.StatusCode != 200 {
		t.Fatalf("after reset: %d", r.StatusCode)
	}
	if len(s.ViolationsOf(ViolationRateLimited)) != 1 || s.InvalidRequests("127.0.0.1") != 1 {
		t.Fatalf("violations %v invalid %d", s.ViolationsOf(ViolationRateLimited), s.InvalidRequests("127.0.0.1"))
	}
}

func TestGlobalRateLimitExemptsInteractions(t *testing.T) {
	cfg := fastConfig()
	cfg.GlobalRateLimit = 5
	cfg.GlobalRateWindow = 2 * time.Second
	cfg.RouteRateLimit = 100
	cfg.InteractionDeadline = 2 * time.Second
	s := startSim(t, cfg)
	bot := "Bot " + s.Token()
	registerCommand(t, s, map[string]any{"name": "ping", "description": "Ping"})
	for i := 0; i < 4; i++ {
		do(t, "GET", s.APIURL(10)+"/users/@me", bot, nil, nil)
	}
	var body map[string]any
	r := do(t, "GET", s.APIURL(10)+"/users/@me", bot, nil, &body)
	if r.StatusCode != 429 || body["global"] != true || r.Header.Get("X-RateLimit-Global") != "true" || r.Header.Get("X-RateLimit-Scope") != "global" {
		t.Fatalf("want global 429, got %d %v", r.StatusCode, body)
	}
	it, err := s.Invoke(t.Context(), Invocation{GuildID: s.Guilds()[0].ID, UserID: s.DefaultUsers()[0], Command: "ping"})
	if err != nil {
		t.Fatal(err)
	}
	if r := do(t, "POST", s.APIURL(10)+"/interactions/"+it.ID.String()+"/"+it.Token+"/callback", "", map[string]any{"type": 4, "data": map[string]any{"content": "pong"}}, nil); r.StatusCode != 204 {
		t.Fatalf("callback under global limit: %d", r.StatusCode)
	}
	if r := do(t, "POST", s.APIURL(10)+"/webhooks/"+s.AppID().String()+"/"+it.Token, "", map[string]any{"content": "more"}, nil); r.StatusCode != 200 {
		t.Fatalf("follow-up under global limit: %d", r.StatusCode)
	}
}

func TestInvalidRequestBan(t *testing.T) {
	cfg := fastConfig()
	cfg.InvalidRequestLimit = 5
	cfg.BanDuration = time.Hour
	s := startSim(t, cfg)
	for i := 0; i < 5; i++ {
		if r := do(t, "GET", s.APIURL(10)+"/users/@me", "Bot wrong", nil, nil); r.StatusCode != 401 {
			t.Fatalf("request %d: %d", i, r.StatusCode)
		}
	}
	r := do(t, "GET", s.APIURL(10)+"/users/@me", "Bot "+s.Token(), nil, nil)
	if r.StatusCode != 429 || r.Header.Get("Retry-After") == "" {
		t.Fatalf("banned client got %d", r.StatusCode)
	}
	if len(s.ViolationsOf(ViolationBanned)) != 1 {
		t.Fatal("ban not recorded")
	}
}

func TestCommandValidation(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	base := s.APIURL(10) + "/applications/" + s.AppID().String() + "/commands"
	opt := func(typ int, name string, extra map[string]any) map[string]any {
		o := map[string]any{"type": typ, "name": name, "description": "d"}
		for k, v := range extra {
			o[k] = v
		}
		return o
	}
	many := func(n int) []any {
		var out []any
		for i := 0; i < n; i++ {
			out = append(out, opt(3, fmt.Sprintf("o%d", i), nil))
		}
		return out
	}
	cases := []struct {
		name string
		body map[string]any
	}{
		{"uppercase name", map[string]any{"name": "Ping", "description": "d"}},
		{"space in name", map[string]any{"name": "pi ng", "description": "d"}},
		{"name too long", map[string]any{"name": strings.Repeat("a", 33), "description": "d"}},
		{"missing description", map[string]any{"name": "ping"}},
		{"description too long", map[string]any{"name": "ping", "description": strings.Repeat("d", 101)}},
		{"user command with description", map[string]any{"name": "Info", "type": 2, "description": "no"}},
		{"bad command type", map[string]any{"name": "ping", "type": 9, "description": "d"}},
		{"bad option type", map[string]any{"name": "ping", "description": "d", "options": []any{opt(12, "x", nil)}}},
		{"26 options", map[string]any{"name": "ping", "description": "d", "options": many(26)}},
		{"required after optional", map[string]any{"name": "ping", "description": "d", "options": []any{opt(3, "a", nil), opt(3, "b", map[string]any{"required": true})}}},
		{"duplicate option", map[string]any{"name": "ping", "description": "d", "options": []any{opt(3, "a", nil), opt(3, "a", nil)}}},
		{"choices on boolean", map[string]any{"name": "ping", "description": "d", "options": []any{opt(5, "a", map[string]any{"choices": []any{map[string]any{"name": "x", "value": true}}})}}},
		{"string choice for integer", map[string]any{"name": "ping", "description": "d", "options": []any{opt(4, "a", map[string]any{"choices": []any{map[string]any{"name": "x", "value": "1"}}})}}},
		{"fractional integer choice", map[string]any{"name": "ping", "description": "d", "options": []any{opt(4, "a", map[string]any{"choices": []any{map[string]any{"name": "x", "value": 1.5}}})}}},
		{"choices with autocomplete", map[string]any{"name": "ping", "description": "d", "options": []any{opt(3, "a", map[string]any{"autocomplete": true, "choices": []any{map[string]any{"name": "x", "value": "y"}}})}}},
		{"min_value on string", map[string]any{"name": "ping", "description": "d", "options": []any{opt(3, "a", map[string]any{"min_value": 1})}}},
		{"max_length 6001", map[string]any{"name": "ping", "description": "d", "options": []any{opt(3, "a", map[string]any{"max_length": 6001})}}},
		{"min_length over max_length", map[string]any{"name": "ping", "description": "d", "options": []any{opt(3, "a", map[string]any{"min_length": 10, "max_length": 5})}}},
		{"fractional integer min_value", map[string]any{"name": "ping", "description": "d", "options": []any{opt(4, "a", map[string]any{"min_value": 0.5})}}},
		{"integer max_value past 2^53-1", map[string]any{"name": "ping", "description": "d", "options": []any{opt(4, "a", map[string]any{"max_value": float64(1 << 53)})}}},
		{"integer choice past 2^53-1", map[string]any{"name": "ping", "description": "d", "options": []any{opt(4, "a", map[string]any{"choices": []any{map[string]any{"name": "x", "value": float64(1 << 53)}}})}}},
		{"subcommand mixed with option", map[string]any{"name": "ping", "description": "d", "options": []any{opt(1, "a", nil), opt(3, "b", nil)}}},
		{"required subcommand", map[string]any{"name": "ping", "description": "d", "options": []any{opt(1, "a", map[string]any{"required": true})}}},
		{"group inside group", map[string]any{"name": "ping", "description": "d", "options": []any{opt(2, "a", map[string]any{"options": []any{opt(2, "b", map[string]any{"options": []any{opt(1, "c", nil)}})}})}}},
		{"option inside group", map[string]any{"name": "ping", "description": "d", "options": []any{opt(2, "a", map[string]any{"options": []any{opt(3, "b", nil)}})}}},
		{"too large", map[string]any{"name": "ping", "description": strings.Repeat("d", 100), "options": func() []any {
			var out []any
			for i := 0; i < 25; i++ {
				o := opt(3, fmt.Sprintf("o%d", i), map[string]any{"description": strings.Repeat("x", 100)})
				var ch []any
				for j := 0; j < 25; j++ {
					ch = append(ch, map[string]any{"name": strings.Repeat("n", 100), "value": fmt.Sprint(j)})
				}
				o["choices"] = ch
				out = append(out, o)
			}
			return out
		}()}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			r := do(t, "POST", base, bot, tc.body, &e)
			if r.StatusCode != 400 || e.Code != 50035 || len(e.Errors) == 0 {
				t.Fatalf("got %d %+v, want 400 50035 with errors", r.StatusCode, e)
			}
		})
	}
	if len(s.Commands(s.AppID(), 0)) != 0 {
		t.Fatal("a rejected command was stored")
	}
	// Valid lifecycle: create, overwrite, patch, get, delete, bulk.
	var c map[string]any
	good := map[string]any{"name": "pay", "description": "Pay", "options": []any{opt(6, "user", map[string]any{"required": true}), opt(4, "amount", map[string]any{"required": true, "min_value": 1})}}
	if r := do(t, "POST", base, bot, good, &c); r.StatusCode != 201 {
		t.Fatalf("create: %d", r.StatusCode)
	}
	id := c["id"].(string)
	if r := do(t, "POST", base, bot, good, &c); r.StatusCode != 200 || c["id"] != id {
		t.Fatalf("overwrite: %d %v", r.StatusCode, c["id"])
	}
	if r := do(t, "PATCH", base+"/"+id, bot, map[string]any{"description": "Pay someone"}, &c); r.StatusCode != 200 || c["description"] != "Pay someone" {
		t.Fatalf("patch: %d %v", r.StatusCode, c)
	}
	if r := do(t, "PATCH", base+"/"+id, bot, map[string]any{"name": "BAD"}, nil); r.StatusCode != 400 {
		t.Fatalf("bad patch: %d", r.StatusCode)
	}
	var list []map[string]any
	if r := do(t, "PUT", base, bot, []any{good, map[string]any{"name": "ping", "description": "Ping"}}, &list); r.StatusCode != 200 || len(list) != 2 || list[0]["id"] != id {
		t.Fatalf("bulk: %d %v", r.StatusCode, list)
	}
	if r := do(t, "PUT", base, bot, []any{good, good}, nil); r.StatusCode != 400 {
		t.Fatalf("bulk duplicate: %d", r.StatusCode)
	}
	if r := do(t, "DELETE", base+"/"+id, bot, nil, nil); r.StatusCode != 204 {
		t.Fatalf("delete: %d", r.StatusCode)
	}
	var e apiErr
	if r := do(t, "GET", base+"/"+id, bot, nil, &e); r.StatusCode != 404 || e.Code != 10063 {
		t.Fatalf("get deleted: %d %+v", r.StatusCode, e)
	}
	gbase := s.APIURL(10) + "/applications/" + s.AppID().String() + "/guilds/" + s.Guilds()[0].ID.String() + "/commands"
	if r := do(t, "POST", gbase, bot, map[string]any{"name": "local", "description": "d"}, nil); r.StatusCode != 201 {
		t.Fatalf("guild create: %d", r.StatusCode)
	}
	if len(s.Commands(s.AppID(), s.Guilds()[0].ID)) != 1 {
		t.Fatal("guild command not stored")
	}
}

func TestInteractionLifecycle(t *testing.T) {
	s := startSim(t, fastConfig())
	c, _, _ := identify(t, s, 0, 1, IntentGuilds)
	lastSeq(c, 8)
	registerCommand(t, s, map[string]any{"name": "pay", "description": "Pay", "options": []any{
		map[string]any{"type": 6, "name": "user", "description": "who", "required": true},
		map[string]any{"type": 4, "name": "amount", "description": "how much", "required": true, "min_value": 1, "max_value": 100},
		map[string]any{"type": 3, "name": "note", "description": "why", "choices": []any{map[string]any{"name": "rent", "value": "rent"}}},
	}})
	g := s.Guilds()[0]
	users := s.DefaultUsers()
	// Bad invocations are refused by the driver.
	bad := []Invocation{
		{GuildID: g.ID, UserID: users[0], Command: "nope"},
		{GuildID: g.ID, UserID: users[0], Command: "pay", Options: map[string]any{"user": users[1]}},
		{GuildID: g.ID, UserID: users[0], Command: "pay", Options: map[string]any{"user": users[1], "amount": 1000}},
		{GuildID: g.ID, UserID: users[0], Command: "pay", Options: map[string]any{"user": users[1], "amount": 1.5}},
		{GuildID: g.ID, UserID: users[0], Command: "pay", Options: map[string]any{"user": users[1], "amount": 5, "note": "food"}},
		{GuildID: g.ID, UserID: users[0], Command: "pay", Options: map[string]any{"user": Snowflake(42), "amount": 5}},
		{GuildID: g.ID, UserID: users[0], Command: "pay", Options: map[string]any{"user": users[1], "amount": 5, "extra": 1}},
	}
	for k, inv := range bad {
		if _, err := s.Invoke(t.Context(), inv); err == nil {
			t.Errorf("bad invocation %d accepted", k)
		}
	}
	it, err := s.Invoke(t.Context(), Invocation{GuildID: g.ID, UserID: users[0], Command: "pay", Options: map[string]any{"user": users[1], "amount": 5}})
	if err != nil {
		t.Fatal(err)
	}
	f := c.mustRead()
	var ic struct {
		ID    Snowflake `json:"id"`
		Token string    `json:"token"`
		Type  int       `json:"type"`
		Data  struct {
			Name    string `json:"name"`
			Options []struct {
				Name  string `json:"name"`
				Type  int    `json:"type"`
				Value any    `json:"value"`
			} `json:"options"`
			Resolved struct {
				Users   map[string]any `json:"users"`
				Members map[string]any `json:"members"`
			} `json:"resolved"`
		} `json:"data"`
	}
	_ = json.Unmarshal(f.D, &ic)
	if f.T != "INTERACTION_CREATE" || ic.ID != it.ID || ic.Type != 2 || ic.Data.Name != "pay" || len(ic.Data.Options) != 2 ||
		ic.Data.Options[0].Value != users[1].String() || ic.Data.Options[1].Value != float64(5) || ic.Data.Resolved.Users[users[1].String()] == nil {
		t.Fatalf("INTERACTION_CREATE = %s %+v", f.T, ic)
	}
	cb := s.APIURL(10) + "/interactions/" + it.ID.String() + "/" + ic.Token + "/callback"
	var e apiErr
	if r := do(t, "POST", cb, "", map[string]any{"type": 7, "data": map[string]any{"content": "x"}}, &e); r.StatusCode != 400 || e.Code != 50035 {
		t.Fatalf("type 7 for a command: %d %+v", r.StatusCode, e)
	}
	if r := do(t, "POST", cb, "", map[string]any{"type": 4}, &e); r.StatusCode != 400 {
		t.Fatalf("type 4 without data: %d", r.StatusCode)
	}
	if r := do(t, "POST", s.APIURL(10)+"/webhooks/"+s.AppID().String()+"/"+ic.Token, "", map[string]any{"content": "early"}, &e); r.StatusCode != 404 || e.Code != 10015 {
		t.Fatalf("follow-up before ack: %d %+v", r.StatusCode, e)
	}
	if r := do(t, "POST", cb, "", map[string]any{"type": 5}, nil); r.StatusCode != 204 {
		t.Fatalf("defer: %d", r.StatusCode)
	}
	if r := do(t, "POST", cb, "", map[string]any{"type": 4, "data": map[string]any{"content": "again"}}, &e); r.StatusCode != 400 || e.Code != 40060 {
		t.Fatalf("double ack: %d %+v", r.StatusCode, e)
	}
	hook := s.APIURL(10) + "/webhooks/" + s.AppID().String() + "/" + ic.Token
	button := map[string]any{"type": 1, "components": []any{map[string]any{"type": 2, "style": 1, "label": "Next", "custom_id": "next"}}}
	if r := do(t, "PATCH", hook+"/messages/@original", "", map[string]any{"content": "paid 5", "components": []any{button}}, nil); r.StatusCode != 200 {
		t.Fatalf("edit original: %d", r.StatusCode)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Second)
	defer cancel()
	msg, err := it.WaitMessage(ctx)
	if err != nil || msg.Content != "paid 5" {
		t.Fatalf("WaitMessage = %+v, %v", msg, err)
	}
	if r := do(t, "POST", hook, "", map[string]any{"content": "receipt", "flags": 64}, nil); r.StatusCode != 200 {
		t.Fatalf("follow-up: %d", r.StatusCode)
	}
	fups, err := it.WaitFollowups(ctx, 1)
	if err != nil || len(fups) != 1 || !fups[0].Ephemeral() {
		t.Fatalf("follow-ups = %+v, %v", fups, err)
	}
	var got map[string]any
	if r := do(t, "GET", hook+"/messages/"+fups[0].ID.String(), "", nil, &got); r.StatusCode != 200 || got["content"] != "receipt" {
		t.Fatalf("get follow-up: %d", r.StatusCode)
	}
	// Button click on the reply, answered with an update.
	click, err := s.Click(t.Context(), Click{UserID: users[0], MessageID: msg.ID, CustomID: "next"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Click(t.Context(), Click{UserID: users[0], MessageID: msg.ID, CustomID: "nope"}); err == nil {
		t.Fatal("click on a missing button accepted")
	}
	if r := do(t, "POST", s.APIURL(10)+"/interactions/"+click.ID.String()+"/"+click.Token+"/callback?with_response=true", "", map[string]any{"type": 7, "data": map[string]any{"content": "page 2"}}, &got); r.StatusCode != 200 || got["resource"] == nil {
		t.Fatalf("update: %d %v", r.StatusCode, got)
	}
	if m, _ := s.Message(msg.ID); m.Content != "page 2" {
		t.Fatalf("message after update = %q", m.Content)
	}
	if r := do(t, "DELETE", hook+"/messages/@original", "", nil, nil); r.StatusCode != 204 {
		t.Fatalf("delete original: %d", r.StatusCode)
	}
	info := it.Info()
	if info.DoubleAcks != 1 || info.Failed || info.Response.Type != 5 || len(s.ViolationsOf(ViolationInteractionTwice)) != 1 {
		t.Fatalf("info = %+v", info)
	}
}

func TestInteractionDeadline(t *testing.T) {
	cfg := fastConfig()
	cfg.InteractionDeadline = 100 * time.Millisecond
	s := startSim(t, cfg)
	registerCommand(t, s, map[string]any{"name": "ping", "description": "Ping"})
	it, err := s.Invoke(t.Context(), Invocation{GuildID: s.Guilds()[0].ID, UserID: s.DefaultUsers()[0], Command: "ping"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := it.Wait(t.Context()); !errors.Is(err, ErrInteractionFailed) {
		t.Fatalf("Wait = %v, want ErrInteractionFailed", err)
	}
	var e apiErr
	r := do(t, "POST", s.APIURL(10)+"/interactions/"+it.ID.String()+"/"+it.Token+"/callback", "", map[string]any{"type": 4, "data": map[string]any{"content": "late"}}, &e)
	if r.StatusCode != 404 || e.Code != 10062 {
		t.Fatalf("late callback: %d %+v", r.StatusCode, e)
	}
	if len(s.ViolationsOf(ViolationInteractionFailed)) != 1 || len(s.ViolationsOf(ViolationInteractionLate)) != 1 {
		t.Fatalf("violations = %+v", s.Violations())
	}
}

func TestOAuth2CodeFlowWithPKCE(t *testing.T) {
	s := startSim(t, fastConfig())
	redirect := "http://127.0.0.1:1/callback"
	if err := s.SetRedirectURIs(s.AppID(), []string{redirect}); err != nil {
		t.Fatal(err)
	}
	app := s.DefaultApp()
	user := s.DefaultUsers()[0]
	verifier := "dBjftJeZ4CVP-mJ92K27uhbUJU1p1r_wW1gFWFOEjXk"
	sum := sha256.Sum256([]byte(verifier))
	challenge := base64.RawURLEncoding.EncodeToString(sum[:])
	noRedirect := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	authorize := func(extra string) *url.URL {
		t.Helper()
		u := s.URL() + "/oauth2/authorize?response_type=code&client_id=" + app.ID.String() + "&scope=identify%20guilds&state=xyz&redirect_uri=" +
			url.QueryEscape(redirect) + "&code_challenge=" + challenge + "&code_challenge_method=S256" + extra
		r, err := noRedirect.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != 302 {
			t.Fatalf("authorize: %d", r.StatusCode)
		}
		loc, _ := url.Parse(r.Header.Get("Location"))
		return loc
	}
	if r, _ := noRedirect.Get(s.URL() + "/oauth2/authorize?response_type=code&client_id=" + app.ID.String() + "&scope=identify&redirect_uri=http://evil/"); r.StatusCode != 400 {
		t.Fatalf("unregistered redirect: %d", r.StatusCode)
	}
	if loc := authorize("&sim_user=" + user.String() + "&sim_deny=1"); loc.Query().Get("error") != "access_denied" {
		t.Fatalf("deny: %v", loc)
	}
	loc := authorize("&sim_user=" + user.String())
	code := loc.Query().Get("code")
	if code == "" || loc.Query().Get("state") != "xyz" {
		t.Fatalf("redirect = %v", loc)
	}
	token := func(form url.Values, secret string) (int, map[string]any) {
		form.Set("client_id", app.ID.String())
		form.Set("client_secret", secret)
		r, err := http.Post(s.APIURL(10)+"/oauth2/token", "application/x-www-form-urlencoded", strings.NewReader(form.Encode()))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Body.Close()
		var out map[string]any
		_ = json.NewDecoder(r.Body).Decode(&out)
		return r.StatusCode, out
	}
	form := func(v string) url.Values {
		return url.Values{"grant_type": {"authorization_code"}, "code": {code}, "redirect_uri": {redirect}, "code_verifier": {v}}
	}
	if st, out := token(form(verifier), "wrong"); st != 401 || out["error"] != "invalid_client" {
		t.Fatalf("bad secret: %d %v", st, out)
	}
	if st, out := token(form("wrong-verifier"), app.ClientSecret); st != 400 || out["error"] != "invalid_grant" {
		t.Fatalf("bad verifier: %d %v", st, out)
	}
	// The code was consumed by the failed attempt (single use): get a new one.
	code = authorize("&sim_user=" + user.String()).Query().Get("code")
	st, out := token(form(verifier), app.ClientSecret)
	if st != 200 || out["token_type"] != "Bearer" || out["access_token"] == "" {
		t.Fatalf("token: %d %v", st, out)
	}
	if st, _ := token(form(verifier), app.ClientSecret); st != 400 {
		t.Fatalf("code reuse: %d", st)
	}
	access := out["access_token"].(string)
	var me map[string]any
	if r := do(t, "GET", s.APIURL(10)+"/users/@me", "Bearer "+access, nil, &me); r.StatusCode != 200 || me["id"] != user.String() {
		t.Fatalf("bearer @me: %d %v", r.StatusCode, me)
	}
	var guilds []map[string]any
	if r := do(t, "GET", s.APIURL(10)+"/users/@me/guilds", "Bearer "+access, nil, &guilds); r.StatusCode != 200 || len(guilds) != 8 || guilds[0]["owner"] != true {
		t.Fatalf("bearer guilds: %d %v", r.StatusCode, guilds)
	}
	st, out2 := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}}, app.ClientSecret)
	if st != 200 || out2["access_token"] == access {
		t.Fatalf("refresh: %d %v", st, out2)
	}
	if st, _ := token(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {out["refresh_token"].(string)}}, app.ClientSecret); st != 400 {
		t.Fatalf("refresh reuse: %d", st)
	}
	if r := do(t, "GET", s.APIURL(10)+"/applications/@me", "Bearer "+access, nil, nil); r.StatusCode != 401 {
		t.Fatalf("bearer on a bot-only route: %d", r.StatusCode)
	}
}

func TestHTTPDriver(t *testing.T) {
	s := startSim(t, fastConfig())
	var info struct {
		Token  string      `json:"token"`
		Users  []Snowflake `json:"users"`
		Guilds []Snowflake `json:"guilds"`
	}
	do(t, "GET", s.URL()+"/_sim/info", "", nil, &info)
	if info.Token != s.Token() || len(info.Guilds) != 8 || len(info.Users) != 3 {
		t.Fatalf("info = %+v", info)
	}
	registerCommand(t, s, map[string]any{"name": "echo", "description": "Echo", "options": []any{map[string]any{"type": 3, "name": "text", "description": "t", "required": true}}})
	c, _, _ := identify(t, s, 0, 1, IntentGuilds)
	lastSeq(c, 8)
	go func() {
		f := c.mustRead()
		var ic struct {
			ID    Snowflake `json:"id"`
			Token string    `json:"token"`
		}
		_ = json.Unmarshal(f.D, &ic)
		body := strings.NewReader(`{"type":4,"data":{"content":"echo: hi"}}`)
		r, err := http.Post(s.APIURL(10)+"/interactions/"+ic.ID.String()+"/"+ic.Token+"/callback", "application/json", body)
		if err == nil {
			r.Body.Close()
		}
	}()
	var res struct {
		Interaction InteractionInfo `json:"interaction"`
		Message     *Message        `json:"message"`
		Error       string          `json:"error"`
	}
	r := do(t, "POST", s.URL()+"/_sim/invoke", "", map[string]any{"guild_id": info.Guilds[0], "user_id": info.Users[0], "command": "echo",
		"options": map[string]any{"text": "hi"}, "wait": "message", "timeout_ms": 2000}, &res)
	if r.StatusCode != 200 || res.Error != "" || res.Message == nil || res.Message.Content != "echo: hi" {
		t.Fatalf("invoke: %d %+v", r.StatusCode, res)
	}
	var inj map[string]int
	do(t, "POST", s.URL()+"/_sim/inject", "", map[string]any{"action": "reconnect", "shard": 0}, &inj)
	if inj["affected"] != 1 {
		t.Fatalf("inject = %v", inj)
	}
	var ids []IdentifyRecord
	do(t, "GET", s.URL()+"/_sim/identifies", "", nil, &ids)
	if len(ids) != 1 || !ids[0].Accepted {
		t.Fatalf("identifies = %+v", ids)
	}
	var e map[string]string
	if r := do(t, "POST", s.URL()+"/_sim/invoke", "", map[string]any{"guild_id": info.Guilds[0], "user_id": info.Users[0], "command": "nope"}, &e); r.StatusCode != 400 || e["error"] == "" {
		t.Fatalf("bad invoke: %d %v", r.StatusCode, e)
	}
}

// TestBulkOverwriteCountsDailyCreates: commands a bulk overwrite creates
// count toward the 200 creates a day, all or none; ones it keeps do not.
func TestBulkOverwriteCountsDailyCreates(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	base := s.APIURL(10) + "/applications/" + s.AppID().String() + "/commands"
	set := func(prefix string) []any {
		var out []any
		for i := range 100 {
			out = append(out, map[string]any{"name": fmt.Sprintf("%s%d", prefix, i), "description": "d"})
		}
		return out
	}
	steps := []struct {
		name   string
		body   []any
		status int
		code   int
	}{
		{"100 new", set("a"), 200, 0},
		{"100 other new: 200 today", set("b"), 200, 0},
		{"the same 100 again: none new", set("b"), 200, 0},
		{"the first 100 again: new once more", set("a"), 429, 30034},
	}
	for _, st := range steps {
		var e apiErr
		if r := do(t, "PUT", base, bot, st.body, &e); r.StatusCode != st.status || e.Code != st.code {
			t.Fatalf("%s: got %d %+v, want %d code %d", st.name, r.StatusCode, e, st.status, st.code)
		}
	}
	var list []map[string]any
	if r := do(t, "GET", base, bot, nil, &list); r.StatusCode != 200 || len(list) != 100 || !strings.HasPrefix(list[0]["name"].(string), "b") {
		t.Fatalf("after the refused overwrite: %d commands, first %v; want the b set unchanged", len(list), list[0]["name"])
	}
}
