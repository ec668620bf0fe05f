package discordsim

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestCreateMessageNonceAndStickers: Create Message's nonce (an integer or
// a string of at most 25 characters) and sticker_ids (at most 3), at the
// edge and past it.
func TestCreateMessageNonceAndStickers(t *testing.T) {
	s := startSim(t, fastConfig())
	bot := "Bot " + s.Token()
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = "1000000000000000" + string(rune('0'+i))
		}
		return out
	}
	cases := []struct {
		name    string
		field   string
		value   any
		wantErr string // the error's path in errors, "" when accepted
	}{
		{"string nonce of 25", "nonce", strings.Repeat("n", 25), ""},
		{"string nonce of 25 non-ASCII characters", "nonce", strings.Repeat("é", 25), ""},
		{"string nonce of 26", "nonce", strings.Repeat("n", 26), "nonce"},
		{"integer nonce of 25 digits", "nonce", json.RawMessage(strings.Repeat("9", 25)), ""},
		{"negative integer nonce", "nonce", -42, ""},
		{"integer nonce of 26 digits", "nonce", json.RawMessage(strings.Repeat("9", 26)), "nonce"},
		{"fractional nonce", "nonce", 1.5, "nonce"},
		{"boolean nonce", "nonce", true, "nonce"},
		{"object nonce", "nonce", map[string]any{}, "nonce"},
		{"3 stickers", "sticker_ids", ids(3), ""},
		{"4 stickers", "sticker_ids", ids(4), "sticker_ids"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			r := do(t, "POST", s.APIURL(10)+"/channels/"+text.String()+"/messages", bot, map[string]any{"content": "x", tc.field: tc.value}, &e)
			formErrorAt(t, r, e, tc.wantErr)
		})
	}
}

// TestEnforceNonce: with enforce_nonce, a second create by the same author
// with the same nonce returns the first message and creates nothing;
// without it, or by another author, a new message is created. The nonce
// comes back on the message.
func TestEnforceNonce(t *testing.T) {
	s := startSim(t, fastConfig())
	g := s.Guilds()[0]
	text, _ := s.TextChannel(g.ID)
	other, err := s.CreateApplication(AppOptions{Name: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if err := s.AddBot(g.ID, other.ID); err != nil {
		t.Fatal(err)
	}
	url := s.APIURL(10) + "/channels/" + text.String() + "/messages"
	send := func(token string, body map[string]any) (id string, nonce any) {
		t.Helper()
		var m map[string]any
		if r := do(t, "POST", url, "Bot "+token, body, &m); r.StatusCode != 200 {
			t.Fatalf("create: %d %v", r.StatusCode, m)
		}
		return m["id"].(string), m["nonce"]
	}
	first, nonce := send(s.Token(), map[string]any{"content": "a", "nonce": "n-1"})
	if nonce != "n-1" {
		t.Fatalf("nonce in the answer %v, want n-1", nonce)
	}
	cases := []struct {
		name  string
		token string
		body  map[string]any
		same  bool // the first message comes back
	}{
		{"enforced, same author and nonce", s.Token(), map[string]any{"content": "b", "nonce": "n-1", "enforce_nonce": true}, true},
		{"same nonce, not enforced", s.Token(), map[string]any{"content": "c", "nonce": "n-1"}, false},
		{"enforced, another nonce", s.Token(), map[string]any{"content": "d", "nonce": "n-2", "enforce_nonce": true}, false},
		{"enforced, another author", other.Token, map[string]any{"content": "e", "nonce": "n-1", "enforce_nonce": true}, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := len(s.ChannelMessages(text))
			id, _ := send(tc.token, tc.body)
			created := len(s.ChannelMessages(text)) - before
			switch {
			case tc.same && (id != first || created != 0):
				t.Fatalf("got message %s (%d created), want %s and none created", id, created, first)
			case !tc.same && (id == first || created != 1):
				t.Fatalf("got message %s (%d created), want a new one", id, created)
			}
		})
	}
}
