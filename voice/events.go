package voice

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chopsticks-bot/chopsticks/lavalink"
)

// voiceFailed ends s, whose voice connection failed (err), and returns the
// refusal for the user: the agent is released and nothing is retried; s.op
// is held.
func (m *Music) voiceFailed(ctx context.Context, s *session, err error) error {
	m.log.Warn("voice connection failed; music session ended", "guild", s.guildID, "err", err)
	if eerr := m.end(context.WithoutCancel(ctx), s); eerr != nil {
		m.log.Warn("ending a session whose voice failed", "guild", s.guildID, "err", eerr)
	}
	return fmt.Errorf("%w: %w", ErrVoiceFailed, err)
}

// endOnVoiceFailure ends, on a goroutine Music owns, the agent's session in
// guildID if its voice connection failed and no /play is handling that.
func (m *Music) endOnVoiceFailure(agentUserID, guildID string) {
	m.mu.Lock()
	s := m.byAgent[agentUserID+"/"+guildID]
	m.mu.Unlock()
	if s == nil || m.ctx.Err() != nil {
		return
	}
	m.wg.Go(func() {
		ctx, cancel := context.WithTimeout(m.ctx, 30*time.Second)
		defer cancel()
		s.op.Lock()
		defer s.op.Unlock()
		if s.ended || s.player.VoiceErr() == nil {
			return
		}
		m.voiceFailed(ctx, s, s.player.VoiceErr())
	})
}

// saveSession records an agent's Lavalink session for Adopt, and retries
// the agent's stalled restores now that one of its nodes is up.
func (m *Music) saveSession(agentUserID, node, sessionID string) {
	if agentUserID == m.cfg.BotUserID || m.ctx.Err() != nil {
		return
	}
	m.retryStalled(agentUserID)
	m.wg.Go(func() {
		ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
		defer cancel()
		if err := m.cfg.Queues.SaveLavalinkSession(ctx, agentUserID, node, sessionID); err != nil {
			m.log.Warn("saving Lavalink session", "lavalink_node", node, "err", err)
		}
	})
}

// VoiceStateUpdate forwards an agent's VOICE_STATE_UPDATE for guildID. An
// empty channelID (the agent was disconnected) ends its session.
func (m *Music) VoiceStateUpdate(ctx context.Context, agentUserID, guildID, sessionID, channelID string) error {
	if channelID == "" {
		m.mu.Lock()
		s := m.byAgent[agentUserID+"/"+guildID]
		m.mu.Unlock()
		if s == nil {
			return nil
		}
		s.op.Lock()
		defer s.op.Unlock()
		return m.end(ctx, s)
	}
	c, err := m.clients.Get(agentUserID)
	if err != nil {
		return err
	}
	err = c.Player(guildID).VoiceStateUpdate(ctx, sessionID, channelID)
	if errors.Is(err, lavalink.ErrVoiceFailed) {
		m.endOnVoiceFailure(agentUserID, guildID)
	}
	return err
}

// VoiceServerUpdate forwards an agent's VOICE_SERVER_UPDATE for guildID.
func (m *Music) VoiceServerUpdate(ctx context.Context, agentUserID, guildID, token, endpoint string) error {
	c, err := m.clients.Get(agentUserID)
	if err != nil {
		return err
	}
	err = c.Player(guildID).VoiceServerUpdate(ctx, token, endpoint)
	if errors.Is(err, lavalink.ErrVoiceFailed) {
		m.endOnVoiceFailure(agentUserID, guildID)
	}
	return err
}

// handleEvent receives every agent client's events; work happens on a
// goroutine owned by Music so the client's reader never blocks.
func (m *Music) handleEvent(agentUserID string, ev lavalink.Event) {
	switch e := ev.(type) {
	case lavalink.TrackExceptionEvent:
		m.metrics.trackErrors.WithLabelValues("exception").Inc()
		m.log.Warn("track exception", "guild", e.GuildID, "err", e.Exception.Error())
		return
	case lavalink.PlayerMovedEvent:
		m.metrics.moves.Inc()
		return
	case lavalink.WebSocketClosedEvent:
		m.log.Warn("voice websocket closed", "guild", e.GuildID, "code", e.Code, "reason", e.Reason)
		m.endOnVoiceFailure(agentUserID, e.GuildID)
		return
	case lavalink.TrackEndEvent:
		if !e.Reason.MayStartNext() {
			return
		}
		if e.Reason == lavalink.EndLoadFailed {
			m.metrics.trackErrors.WithLabelValues("load_failed").Inc()
		}
	case lavalink.TrackStuckEvent:
		m.metrics.trackErrors.WithLabelValues("stuck").Inc()
	default:
		return
	}
	m.mu.Lock()
	s := m.byAgent[agentUserID+"/"+ev.Guild()]
	m.mu.Unlock()
	if s == nil || m.ctx.Err() != nil {
		return
	}
	_, stuck := ev.(lavalink.TrackStuckEvent)
	m.wg.Go(func() {
		ctx, cancel := context.WithTimeout(m.ctx, 30*time.Second)
		defer cancel()
		s.op.Lock()
		defer s.op.Unlock()
		if s.ended || (!stuck && s.player.Track() != nil) {
			return // over, or something already started the next track
		}
		if err := m.advance(ctx, s, stuck); err != nil {
			m.log.Warn("advancing queue", "guild", s.guildID, "err", err)
		}
	})
}
