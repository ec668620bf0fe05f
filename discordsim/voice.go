package discordsim

import (
	"errors"
	"fmt"
)

// Voice states: who is in which voice channel, changed by the driver
// (JoinVoice, LeaveVoice) or by a bot's op 4 Voice State Update, with the
// VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE events that follow.

// setVoice moves userID into channel cid (0 = leave) and dispatches
// VOICE_STATE_UPDATE, plus VOICE_SERVER_UPDATE to bot when bot joins.
func (s *Sim) setVoice(gid, userID, cid Snowflake, sessionID string, mute, deaf bool, bot *app) error {
	s.mu.Lock()
	g := s.guilds[gid]
	if g == nil {
		s.mu.Unlock()
		return fmt.Errorf("discordsim: unknown guild %s", gid)
	}
	if _, in := g.members[userID]; !in {
		s.mu.Unlock()
		return fmt.Errorf("discordsim: user %s is not a member of %s", userID, gid)
	}
	if cid != 0 {
		ch := s.channels[cid]
		if ch == nil || ch.GuildID != gid || ch.Type != ChannelGuildVoice {
			s.mu.Unlock()
			return fmt.Errorf("discordsim: %s is not a voice channel of %s", cid, gid)
		}
		g.voice[userID] = cid
	} else {
		delete(g.voice, userID)
	}
	u := s.users[userID]
	vs := voiceStateJSON(gid, cid, userID, sessionID)
	vs["self_mute"], vs["self_deaf"] = mute, deaf
	vs["member"] = memberJSON(u, g.members[userID])
	s.mu.Unlock()
	s.dispatchGuild(gid, "VOICE_STATE_UPDATE", IntentGuildVoiceStates, vs)
	if bot != nil && cid != 0 {
		s.dispatchToApp(bot, gid, "VOICE_SERVER_UPDATE", 0, func() any {
			return map[string]any{"token": randHex(8), "guild_id": gid, "endpoint": "sim.discord.media:443"}
		})
	}
	return nil
}

// JoinVoice moves a user into a voice channel (VOICE_STATE_UPDATE to the
// guild's shard, GUILD_VOICE_STATES intent).
func (s *Sim) JoinVoice(guildID, userID, channelID Snowflake) error {
	if channelID == 0 {
		return errors.New("discordsim: channel required (use LeaveVoice to leave)")
	}
	return s.setVoice(guildID, userID, channelID, randHex(16), false, false, nil)
}

// LeaveVoice removes a user from voice in a guild.
func (s *Sim) LeaveVoice(guildID, userID Snowflake) error {
	return s.setVoice(guildID, userID, 0, randHex(16), false, false, nil)
}

// VoiceChannelOf returns the voice channel a user is in (0 if none).
func (s *Sim) VoiceChannelOf(guildID, userID Snowflake) Snowflake {
	s.mu.Lock()
	defer s.mu.Unlock()
	if g := s.guilds[guildID]; g != nil {
		return g.voice[userID]
	}
	return 0
}
