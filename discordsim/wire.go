package discordsim

import (
	"encoding/json"
	"time"
)

// The JSON forms in which Discord sends users, members, messages,
// channels, guilds and voice states: structs on the hot dispatch path
// (messages and their authors), maps elsewhere.

// userWire is a User object as Discord sends it.
type userWire struct {
	ID            Snowflake `json:"id"`
	Username      string    `json:"username"`
	Discriminator string    `json:"discriminator"`
	GlobalName    *string   `json:"global_name"`
	Avatar        *string   `json:"avatar"`
	Bot           bool      `json:"bot,omitempty"`
}

// memberWire is a Guild Member object without its user.
type memberWire struct {
	Nick     *string     `json:"nick"`
	Roles    []Snowflake `json:"roles"`
	JoinedAt string      `json:"joined_at"`
	Deaf     bool        `json:"deaf"`
	Mute     bool        `json:"mute"`
	Flags    int         `json:"flags"`
}

// messageWire is a Message object as REST and MESSAGE_CREATE send it.
type messageWire struct {
	ID                  Snowflake         `json:"id"`
	Type                int               `json:"type"`
	ChannelID           Snowflake         `json:"channel_id"`
	GuildID             Snowflake         `json:"guild_id,omitempty"`
	Author              userWire          `json:"author"`
	Member              *memberWire       `json:"member,omitempty"`
	Content             string            `json:"content"`
	Timestamp           string            `json:"timestamp"`
	EditedTimestamp     *string           `json:"edited_timestamp"`
	TTS                 bool              `json:"tts"`
	MentionEveryone     bool              `json:"mention_everyone"`
	Mentions            []any             `json:"mentions"`
	MentionRoles        []any             `json:"mention_roles"`
	Attachments         []any             `json:"attachments"`
	Embeds              []json.RawMessage `json:"embeds"`
	Components          []json.RawMessage `json:"components"`
	Pinned              bool              `json:"pinned"`
	Flags               int               `json:"flags"`
	WebhookID           Snowflake         `json:"webhook_id,omitempty"`
	ApplicationID       Snowflake         `json:"application_id,omitempty"`
	InteractionMetadata map[string]any    `json:"interaction_metadata,omitempty"`
	Nonce               json.RawMessage   `json:"nonce,omitempty"`
}

// userWireOf returns the wire form of u, or of an unknown user id.
func userWireOf(u *User, id Snowflake) userWire {
	if u == nil {
		return userWire{ID: id, Username: "unknown", Discriminator: "0"}
	}
	w := userWire{ID: u.ID, Username: u.Username, Discriminator: "0", Bot: u.Bot}
	if u.GlobalName != "" {
		g := u.GlobalName
		w.GlobalName = &g
	}
	return w
}

// emptyList encodes as [] where Discord sends an empty list.
var emptyList = []any{}

func userJSON(u *User) map[string]any {
	m := map[string]any{"id": u.ID, "username": u.Username, "discriminator": "0", "global_name": nil, "avatar": nil}
	if u.GlobalName != "" {
		m["global_name"] = u.GlobalName
	}
	if u.Bot {
		m["bot"] = true
	}
	return m
}

func memberJSON(u *User, joined time.Time) map[string]any {
	return map[string]any{"user": userJSON(u), "roles": []string{}, "joined_at": joined.UTC().Format(time.RFC3339Nano), "deaf": false, "mute": false, "flags": 0, "nick": nil}
}

func channelJSON(c *channel) map[string]any {
	m := map[string]any{"id": c.ID, "type": c.Type, "name": c.Name, "position": 0, "permission_overwrites": []any{}, "flags": 0}
	if c.GuildID != 0 {
		m["guild_id"] = c.GuildID
	}
	if c.Type == ChannelGuildVoice {
		m["bitrate"] = 64000
		m["user_limit"] = 0
		m["rtc_region"] = nil
	}
	if c.Type == ChannelGuildText {
		m["last_message_id"] = nil
		if c.lastMessage != 0 {
			m["last_message_id"] = c.lastMessage
		}
		m["nsfw"] = false
		m["topic"] = nil
		m["rate_limit_per_user"] = 0
	}
	return m
}

func (s *Sim) guildJSONLocked(g *guild) map[string]any {
	return map[string]any{
		"id": g.id, "name": g.name, "icon": nil, "splash": nil, "discovery_splash": nil,
		"owner_id": g.ownerID, "afk_channel_id": nil, "afk_timeout": 300,
		"verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
		"roles":  []any{map[string]any{"id": g.id, "name": "@everyone", "permissions": "2248473465835073", "position": 0, "color": 0, "hoist": false, "managed": false, "mentionable": false, "flags": 0}},
		"emojis": []any{}, "features": []string{}, "mfa_level": 0, "application_id": nil,
		"system_channel_id": nil, "system_channel_flags": 0, "rules_channel_id": nil,
		"vanity_url_code": nil, "description": nil, "banner": nil, "premium_tier": 0,
		"preferred_locale": "en-US", "public_updates_channel_id": nil, "nsfw_level": 0,
		"stickers": []any{}, "premium_progress_bar_enabled": false, "safety_alerts_channel_id": nil,
	}
}

func (s *Sim) guildCreateJSONLocked(g *guild) map[string]any {
	m := s.guildJSONLocked(g)
	chans := []any{}
	for _, c := range g.channels {
		cj := channelJSON(s.channels[c])
		delete(cj, "guild_id")
		chans = append(chans, cj)
	}
	members := []any{}
	for _, uid := range g.memberOrder {
		members = append(members, memberJSON(s.users[uid], g.members[uid]))
	}
	vs := []any{}
	for uid, cid := range g.voice {
		vs = append(vs, voiceStateJSON(0, cid, uid, ""))
	}
	m["joined_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	m["large"] = false
	m["unavailable"] = false
	m["member_count"] = len(g.members)
	m["channels"] = chans
	m["threads"] = []any{}
	m["members"] = members
	m["voice_states"] = vs
	m["presences"] = []any{}
	m["stage_instances"] = []any{}
	m["guild_scheduled_events"] = []any{}
	m["soundboard_sounds"] = []any{}
	return m
}

func voiceStateJSON(guildID, channelID, userID Snowflake, sessionID string) map[string]any {
	m := map[string]any{
		"channel_id": nil, "user_id": userID, "session_id": sessionID, "deaf": false, "mute": false,
		"self_deaf": false, "self_mute": false, "self_video": false, "suppress": false, "request_to_speak_timestamp": nil,
	}
	if guildID != 0 {
		m["guild_id"] = guildID
	}
	if channelID != 0 {
		m["channel_id"] = channelID
	}
	return m
}
