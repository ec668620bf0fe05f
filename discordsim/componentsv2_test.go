package discordsim

import (
	"net/http"
	"strings"
	"testing"
)

// Builders of the component JSON the tests below send.
func textDisplay(s string) map[string]any { return map[string]any{"type": 10, "content": s} }

func actionRow(cs ...any) map[string]any { return map[string]any{"type": 1, "components": cs} }

func button(customID string) map[string]any {
	return map[string]any{"type": 2, "style": 1, "label": "b", "custom_id": customID}
}

func container(cs ...any) map[string]any { return map[string]any{"type": 17, "components": cs} }

func section(accessory any, cs ...any) map[string]any {
	return map[string]any{"type": 9, "components": cs, "accessory": accessory}
}

func media(url string) map[string]any { return map[string]any{"url": url} }

// texts returns n Text Displays.
func texts(n int) []any {
	out := make([]any, n)
	for i := range out {
		out[i] = textDisplay("t")
	}
	return out
}

// channelSim is a started Sim with what the default bot needs to send
// messages to the first text channel.
type channelSim struct {
	*Sim
	bot      string // the bot's Authorization header
	messages string // the channel's messages URL
}

func startChannelSim(t *testing.T) channelSim {
	s := startSim(t, fastConfig())
	text, _ := s.TextChannel(s.Guilds()[0].ID)
	return channelSim{s, "Bot " + s.Token(), s.APIURL(10) + "/channels/" + text.String() + "/messages"}
}

// post sends body as a message of the bot and returns its ID.
func (s channelSim) post(t *testing.T, body map[string]any) Snowflake {
	t.Helper()
	var m struct {
		ID Snowflake `json:"id"`
	}
	if r := do(t, "POST", s.messages, s.bot, body, &m); r.StatusCode != 200 {
		t.Fatalf("post: %d", r.StatusCode)
	}
	return m.ID
}

// click clicks the button "go" of message id and returns the URLs of the
// interaction's callback and webhook.
func (s channelSim) click(t *testing.T, id Snowflake) (callback, hook string) {
	t.Helper()
	it, err := s.Click(t.Context(), Click{UserID: s.DefaultUsers()[0], MessageID: id, CustomID: "go"})
	if err != nil {
		t.Fatal(err)
	}
	return s.APIURL(10) + "/interactions/" + it.ID.String() + "/" + it.Token + "/callback",
		s.APIURL(10) + "/webhooks/" + s.AppID().String() + "/" + it.Token
}

// v2Message is a message body with the IS_COMPONENTS_V2 flag and cs.
func v2Message(cs ...any) map[string]any {
	return map[string]any{"flags": FlagComponentsV2, "components": cs}
}

// TestComponentsV2: what an IS_COMPONENTS_V2 message may hold and carry
// (components-reference.mdx; resources-message.mdx, Create Message), each
// limit at its edge and past it, on a channel message. Every refused case
// was accepted before these rules.
func TestComponentsV2(t *testing.T) {
	s := startChannelSim(t)
	thumbnail := map[string]any{"type": 11, "media": media("https://example.com/a.png")}
	gallery := func(n int) map[string]any {
		items := make([]any, n)
		for i := range items {
			items[i] = map[string]any{"media": media("https://example.com/a.png")}
		}
		return map[string]any{"type": 12, "items": items}
	}
	file := func(url string) map[string]any { return map[string]any{"type": 13, "file": media(url)} }
	separator := func(spacing int) map[string]any { return map[string]any{"type": 14, "spacing": spacing} }
	accent := func(color int) map[string]any { return with(container(textDisplay("t")), "accent_color", color) }
	withID := func(c map[string]any, id any) map[string]any { return with(c, "id", id) }
	buttons := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = button("b" + strings.Repeat("x", i))
		}
		return out
	}
	link := map[string]any{"type": 2, "style": 5, "label": "site", "url": "https://example.com"}
	userSelect := map[string]any{"type": 5, "custom_id": "u"}
	cases := []struct {
		name    string
		body    map[string]any
		wantErr string // the error's path in errors, "" when accepted
	}{
		{"text display", v2Message(textDisplay("hi")), ""},
		{"content", with(v2Message(textDisplay("hi")), "content", "hi"), "content"},
		{"empty content", with(v2Message(textDisplay("hi")), "content", ""), "content"},
		{"null content", with(v2Message(textDisplay("hi")), "content", nil), ""},
		{"embeds", with(v2Message(textDisplay("hi")), "embeds", []any{map[string]any{"title": "t"}}), "embeds"},
		{"no embeds", with(v2Message(textDisplay("hi")), "embeds", []any{}), ""},
		{"poll", with(v2Message(textDisplay("hi")), "poll", map[string]any{"question": map[string]any{"text": "q"}}), "poll"},
		{"sticker_ids", with(v2Message(textDisplay("hi")), "sticker_ids", []any{"1"}), "sticker_ids"},
		{"shared_client_theme", with(v2Message(textDisplay("hi")), "shared_client_theme", map[string]any{}), "shared_client_theme"},
		{"40 components", v2Message(texts(40)...), ""},
		{"41 components", v2Message(texts(41)...), "components"},
		{"a container and 39 children", v2Message(container(texts(39)...)), ""},
		{"a container and 40 children", v2Message(container(texts(40)...)), "components"},
		{"button at the top", v2Message(button("b")), "components.0"},
		{"thumbnail at the top", v2Message(thumbnail), "components.0"},
		{"label (modals only)", v2Message(map[string]any{"type": 18, "label": "l", "component": userSelect}), "components.0"},
		{"container in a container", v2Message(container(container(textDisplay("t")))), "components.0.components.0"},
		{"section with a thumbnail in a container", v2Message(container(section(thumbnail, textDisplay("t")))), ""},
		{"section of 3 texts", v2Message(section(thumbnail, texts(3)...)), ""},
		{"section of 4 texts", v2Message(section(thumbnail, texts(4)...)), "components.0.components"},
		{"section of no text", v2Message(section(thumbnail)), "components.0.components"},
		{"section holding a button", v2Message(section(thumbnail, button("b"))), "components.0.components.0"},
		{"section without accessory", v2Message(section(nil, textDisplay("t"))), "components.0.accessory"},
		{"section with a link button", v2Message(section(link, textDisplay("t"))), ""},
		{"section with a select", v2Message(section(userSelect, textDisplay("t"))), "components.0.accessory"},
		{"accessory button without custom_id", v2Message(section(with(button(""), "custom_id", nil), textDisplay("t"))), "components.0.accessory.custom_id"},
		{"text display without content", v2Message(map[string]any{"type": 10}), "components.0.content"},
		{"thumbnail without media", v2Message(section(map[string]any{"type": 11}, textDisplay("t"))), "components.0.accessory.media"},
		{"media without url", v2Message(section(map[string]any{"type": 11, "media": map[string]any{}}, textDisplay("t"))), "components.0.accessory.media.url"},
		{"thumbnail description at 1024", v2Message(section(with(thumbnail, "description", strings.Repeat("d", 1024)), textDisplay("t"))), ""},
		{"thumbnail description over 1024", v2Message(section(with(thumbnail, "description", strings.Repeat("d", 1025)), textDisplay("t"))), "components.0.accessory.description"},
		{"gallery of 10", v2Message(gallery(10)), ""},
		{"gallery of 11", v2Message(gallery(11)), "components.0.items"},
		{"gallery of none", v2Message(gallery(0)), "components.0.items"},
		{"gallery item without media", v2Message(map[string]any{"type": 12, "items": []any{map[string]any{}}}), "components.0.items.0.media"},
		{"gallery description over 1024", v2Message(map[string]any{"type": 12, "items": []any{
			map[string]any{"media": media("https://example.com/a.png"), "description": strings.Repeat("d", 1024)},
			map[string]any{"media": media("https://example.com/b.png"), "description": strings.Repeat("d", 1025)},
		}}), "components.0.items.1.description"},
		{"file by attachment", v2Message(file("attachment://game.zip")), ""},
		{"file by https", v2Message(file("https://example.com/game.zip")), "components.0.file.url"},
		{"file without file", v2Message(map[string]any{"type": 13}), "components.0.file"},
		{"separator spacing 1 and 2", v2Message(separator(1), separator(2)), ""},
		{"separator spacing 0", v2Message(separator(0)), "components.0.spacing"},
		{"separator spacing 3", v2Message(separator(3)), "components.0.spacing"},
		{"accent color 0 and 0xFFFFFF", v2Message(accent(0), accent(0xFFFFFF)), ""},
		{"accent color -1", v2Message(accent(-1)), "components.0.accent_color"},
		{"accent color 0x1000000", v2Message(accent(0x1000000)), "components.0.accent_color"},
		{"spoiler not a boolean", v2Message(with(container(textDisplay("t")), "spoiler", "yes")), "components.0.spoiler"},
		{"container without components", v2Message(map[string]any{"type": 17}), "components.0.components"},
		{"row of 5 buttons in a container", v2Message(container(actionRow(buttons(5)...))), ""},
		{"row of 6 buttons in a container", v2Message(container(actionRow(buttons(6)...))), "components.0.components.0.components"},
		{"select beside a button", v2Message(actionRow(userSelect, button("b"))), "components.0.components"},
		{"custom_id repeated in an accessory", v2Message(actionRow(button("b")), section(button("b"), textDisplay("t"))), "components.1.accessory.custom_id"},
		{"distinct ids", v2Message(withID(textDisplay("a"), 1), withID(container(withID(textDisplay("b"), 2)), 3)), ""},
		{"id repeated in a container", v2Message(withID(textDisplay("a"), 1), container(withID(textDisplay("b"), 1))), "components.1.components.0.id"},
		{"id 0 twice", v2Message(withID(textDisplay("a"), 0), withID(textDisplay("b"), 0)), ""},
		{"id 2147483647 and -2147483648", v2Message(withID(textDisplay("a"), 2147483647), withID(textDisplay("b"), -2147483648)), ""},
		{"id 2147483648", v2Message(withID(textDisplay("a"), 2147483648)), "components.0.id"},
		{"id -2147483649", v2Message(withID(textDisplay("a"), -2147483649)), "components.0.id"},
		{"id 1.5", v2Message(withID(textDisplay("a"), 1.5)), "components.0.id"},
		{"id as a string", v2Message(withID(textDisplay("a"), "1")), "components.0.id"},
		// Anatomy of a Component: ids are unique in legacy messages too.
		{"legacy: id repeated", map[string]any{"content": "x", "components": []any{withID(actionRow(button("a")), 7), actionRow(withID(button("b"), 7))}}, "components.1.components.0.id"},
		{"legacy: id 2147483648", map[string]any{"content": "x", "components": []any{withID(actionRow(button("a")), 2147483648)}}, "components.0.id"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e apiErr
			r := do(t, "POST", s.messages, s.bot, tc.body, &e)
			formErrorAt(t, r, e, tc.wantErr)
		})
	}
}

// TestComponentsV2Endpoints: the same rules on every endpoint that takes
// components: interaction responses (type 4 and 7), follow-ups, edits of
// the original response and channel message edits. An edit of an
// IS_COMPONENTS_V2 message is checked as one without repeating the flag,
// and a button inside a container can be clicked.
func TestComponentsV2Endpoints(t *testing.T) {
	s := startChannelSim(t)
	sectionWithoutAccessory := map[string]any{"type": 9, "components": []any{textDisplay("t")}}
	cases := []struct {
		name     string
		endpoint string // callback4, callback7, followup, original (after a deferral) or edit
		body     map[string]any
		wantErr  string
	}{
		{"response", "callback4", v2Message(textDisplay("hi")), ""},
		{"response with content", "callback4", with(v2Message(textDisplay("hi")), "content", "hi"), "data.content"},
		{"response with a section without accessory", "callback4", v2Message(sectionWithoutAccessory), "data.components.0.accessory"},
		{"update without the flag", "callback7", map[string]any{"components": []any{textDisplay("page 2")}}, ""},
		{"update with content", "callback7", map[string]any{"content": "page 2"}, "data.content"},
		{"follow-up", "followup", v2Message(texts(40)...), ""},
		{"follow-up with embeds", "followup", with(v2Message(textDisplay("hi")), "embeds", []any{map[string]any{"title": "t"}}), "embeds"},
		{"follow-up of 41 components", "followup", v2Message(texts(41)...), "components"},
		{"original after a deferral", "original", v2Message(textDisplay("done")), ""},
		{"original with a button at the top", "original", v2Message(button("b")), "components.0"},
		{"edit without the flag", "edit", map[string]any{"components": []any{container(textDisplay("t"))}}, ""},
		{"edit with content", "edit", map[string]any{"content": "x"}, "content"},
		{"edit with a section without accessory", "edit", v2Message(sectionWithoutAccessory), "components.0.accessory"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			id := s.post(t, v2Message(container(textDisplay("menu"), actionRow(button("go")))))
			var r *http.Response
			var e apiErr
			if tc.endpoint == "edit" {
				r = do(t, "PATCH", s.messages+"/"+id.String(), s.bot, tc.body, &e)
				formErrorAt(t, r, e, tc.wantErr)
				return
			}
			callback, hook := s.click(t, id)
			switch tc.endpoint {
			case "callback4", "callback7":
				typ := map[string]int{"callback4": 4, "callback7": 7}[tc.endpoint]
				r = do(t, "POST", callback, "", map[string]any{"type": typ, "data": tc.body}, &e)
			case "followup":
				if r := do(t, "POST", callback, "", map[string]any{"type": 6}, nil); r.StatusCode != 204 {
					t.Fatalf("deferred update: %d", r.StatusCode)
				}
				r = do(t, "POST", hook, "", tc.body, &e)
			case "original":
				if r := do(t, "POST", callback, "", map[string]any{"type": 5}, nil); r.StatusCode != 204 {
					t.Fatalf("deferral: %d", r.StatusCode)
				}
				r = do(t, "PATCH", hook+"/messages/@original", "", tc.body, &e)
			}
			formErrorAt(t, r, e, tc.wantErr)
		})
	}
}

// TestComponentsV2Upgrade: an edit that sets IS_COMPONENTS_V2 must reset
// the content and embeds the message has (Edit Message, Edit Webhook
// Message), and the message then holds neither; on a channel message and
// on an original interaction response.
func TestComponentsV2Upgrade(t *testing.T) {
	s := startChannelSim(t)
	upgrade := func(kv ...any) map[string]any { return with(v2Message(textDisplay("now v2")), kv...) }
	embeds := []any{map[string]any{"title": "t"}}
	cases := []struct {
		name     string
		original map[string]any // the legacy message
		edit     map[string]any
		wantErr  string
	}{
		{"content left", map[string]any{"content": "x"}, upgrade(), "content"},
		{"content set to empty", map[string]any{"content": "x"}, upgrade("content", ""), "content"},
		{"content reset", map[string]any{"content": "x"}, upgrade("content", nil), ""},
		{"embeds left", map[string]any{"content": "x", "embeds": embeds}, upgrade("content", nil), "embeds"},
		{"embeds reset to []", map[string]any{"content": "x", "embeds": embeds}, upgrade("content", nil, "embeds", []any{}), ""},
		{"embeds reset to null", map[string]any{"embeds": embeds}, upgrade("embeds", nil), ""},
		{"nothing to reset", map[string]any{"components": []any{actionRow(button("b"))}}, upgrade(), ""},
	}
	for _, tc := range cases {
		for _, endpoint := range []string{"edit", "original"} {
			t.Run(endpoint+": "+tc.name, func(t *testing.T) {
				var id Snowflake
				var r *http.Response
				var e apiErr
				if endpoint == "edit" {
					id = s.post(t, tc.original)
					r = do(t, "PATCH", s.messages+"/"+id.String(), s.bot, tc.edit, &e)
				} else {
					callback, hook := s.click(t, s.post(t, map[string]any{"components": []any{actionRow(button("go"))}}))
					var got struct {
						Resource struct {
							Message struct {
								ID Snowflake `json:"id"`
							} `json:"message"`
						} `json:"resource"`
					}
					if r := do(t, "POST", callback+"?with_response=true", "", map[string]any{"type": 4, "data": tc.original}, &got); r.StatusCode != 200 {
						t.Fatalf("response: %d", r.StatusCode)
					}
					id = got.Resource.Message.ID
					r = do(t, "PATCH", hook+"/messages/@original", "", tc.edit, &e)
				}
				formErrorAt(t, r, e, tc.wantErr)
				after, _ := s.Message(id)
				switch v2 := after.Flags&FlagComponentsV2 != 0; {
				case tc.wantErr == "" && (!v2 || after.Content != "" || len(after.Embeds) != 0):
					t.Fatalf("after the upgrade: flags %d, content %q, %d embeds", after.Flags, after.Content, len(after.Embeds))
				case tc.wantErr != "" && v2:
					t.Fatalf("a refused edit set the flag: %d", after.Flags)
				}
			})
		}
	}
}
