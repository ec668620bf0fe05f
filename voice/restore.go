package voice

import (
	"context"
	"strings"
	"time"

	"github.com/chopsticks-bot/chopsticks/lavalink"
)

// Detach lets go of an agent this node no longer runs (its unit was handed
// off or the node's lease was lost): its sessions leave this node's memory
// and its Lavalink client disconnects without destroying the players, which
// keep playing so that the agent's next owner can Adopt them. Queues and the
// saved Lavalink sessions stay in Redis. It returns the number of sessions
// detached.
func (m *Music) Detach(agentUserID string) int {
	ss := m.agentSessions(agentUserID)
	for _, s := range ss {
		s.op.Lock()
		s.ended = true
		m.mu.Lock()
		if m.sessions[s.queueID()] == s {
			delete(m.sessions, s.queueID())
		}
		if m.byAgent[s.agent+"/"+s.guildID] == s {
			delete(m.byAgent, s.agent+"/"+s.guildID)
		}
		m.mu.Unlock()
		s.op.Unlock()
	}
	if agentUserID != m.cfg.BotUserID {
		m.clients.Drop(agentUserID)
	}
	return len(ss)
}

// agentSessions returns the sessions the agent plays on this node.
func (m *Music) agentSessions(agentUserID string) []*session {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ss []*session
	for k, s := range m.byAgent {
		if strings.HasPrefix(k, agentUserID+"/") {
			ss = append(ss, s)
		}
	}
	return ss
}

// AgentChannels returns the voice channels (guild ID -> channel ID) in
// which the agent plays music for this node.
func (m *Music) AgentChannels(agentUserID string) map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, s := range m.byAgent {
		if strings.HasPrefix(k, agentUserID+"/") {
			out[s.guildID] = s.channel
		}
	}
	return out
}

// Adopt takes over the music of an agent whose previous owner (another
// Chopsticks node) died: it resumes the agent's Lavalink sessions saved in
// Redis, so its players never stopped, and rebuilds a session for each voice
// channel it plays in. A track that ended during the takeover is followed by
// the next in the queue. Channels whose players no Lavalink node kept are
// restored from their saved playback (see restore). It returns the number of
// channels adopted.
func (m *Music) Adopt(ctx context.Context, agentUserID string) (int, error) {
	sessions, err := m.cfg.Queues.LavalinkSessions(ctx, agentUserID)
	if err != nil {
		return 0, err
	}
	client, err := m.clients.Resume(agentUserID, sessions)
	if err != nil {
		return 0, err
	}
	// Only the nodes holding a saved session can have players to adopt;
	// one that refuses the connection is down and not waited for.
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	client.WaitResumed(wait, sessions)
	cancel()
	n := 0
	for _, p := range client.Players() {
		channel := p.Voice().ChannelID
		if channel == "" {
			continue
		}
		key := p.GuildID() + ":" + channel
		s := &session{guildID: p.GuildID(), channel: channel, agent: agentUserID, player: p}
		s.op.Lock()
		m.mu.Lock()
		if m.sessions[key] != nil {
			m.mu.Unlock()
			s.op.Unlock()
			continue
		}
		m.sessions[key] = s
		m.byAgent[agentUserID+"/"+p.GuildID()] = s
		m.mu.Unlock()
		n++
		// The filter's name lives only in the saved playback: Lavalink
		// keeps the filters, not which preset they came from.
		if pb, ok, err := m.cfg.Queues.SavedPlayback(ctx, s.queueID()); err == nil && ok {
			s.filter = pb.Filter
		}
		if p.Track() == nil {
			if err := m.advance(ctx, s, false); err != nil {
				m.log.Warn("adopted session: advancing queue", "guild", s.guildID, "err", err)
			}
		} else {
			m.savePlayback(ctx, s)
		}
		s.op.Unlock()
	}
	return n + m.restore(ctx, agentUserID, client), nil
}

// restore rebuilds the sessions of the agent's recorded channels that no
// Lavalink node kept a player for (the nodes that held them went down with
// the agent's previous owner): each track restarts on a live node where
// its saved playback says it stands now, with its volume, filter and pause.
// The agent's re-join of its channels (agentpool's Runner does it after
// Adopt) brings the voice credentials the new player connects with. It
// returns the number of sessions restored.
func (m *Music) restore(ctx context.Context, agentUserID string, client *lavalink.Client) int {
	saved, err := m.cfg.Queues.SavedAgentChannels(ctx, agentUserID)
	if err != nil {
		m.log.Warn("reading the agent's channels", "err", err)
		return 0
	}
	n := 0
	for guild, channel := range saved {
		s := &session{guildID: guild, channel: channel, agent: agentUserID, player: client.Player(guild)}
		s.op.Lock()
		m.mu.Lock()
		if m.sessions[s.queueID()] != nil || m.byAgent[agentUserID+"/"+guild] != nil {
			m.mu.Unlock()
			s.op.Unlock()
			continue
		}
		m.sessions[s.queueID()] = s
		m.byAgent[agentUserID+"/"+guild] = s
		m.mu.Unlock()
		if err := m.replay(ctx, s); err != nil {
			s.stalled = true
			m.log.Warn("restoring a channel's music; retrying when a Lavalink node comes up", "guild", guild, "err", err)
		} else if !s.ended {
			n++
		}
		s.op.Unlock()
	}
	if n > 0 {
		m.metrics.restores.Add(float64(n))
	}
	return n
}

// retryStalled restarts, each on a goroutine Music owns, the agent's
// sessions whose restore found no Lavalink node up.
func (m *Music) retryStalled(agentUserID string) {
	for _, s := range m.agentSessions(agentUserID) {
		m.wg.Go(func() {
			ctx, cancel := context.WithTimeout(m.ctx, 15*time.Second)
			defer cancel()
			s.op.Lock()
			defer s.op.Unlock()
			if !s.stalled || s.ended {
				return
			}
			if err := m.replay(ctx, s); err != nil {
				m.log.Warn("restoring a channel's music again", "guild", s.guildID, "err", err)
				return
			}
			s.stalled = false
			if !s.ended {
				m.metrics.restores.Inc()
			}
		})
	}
}

// replay restarts s's track from its saved playback, or moves the queue on
// when the track would have ended meanwhile; s.op is held.
func (m *Music) replay(ctx context.Context, s *session) error {
	item, err := m.cfg.Queues.NowPlaying(ctx, s.queueID())
	if err != nil {
		return err
	}
	pb, ok, err := m.cfg.Queues.SavedPlayback(ctx, s.queueID())
	if err != nil {
		return err
	}
	var pos time.Duration
	if ok {
		pos = pb.PositionAt(time.Now())
	}
	if item == nil || item.Speech != "" || (item.Track.Info.KnownLength() && pos >= item.Track.Info.Duration()) {
		// A clip cut off by its node's death is not said again.
		return m.advance(ctx, s, false)
	}
	if !item.Track.Info.Seekable() {
		pos = 0
	}
	if err := s.player.Play(ctx, item.Track, pos); err != nil {
		return err
	}
	if ok && pb.Volume != s.player.Volume() && pb.Volume >= 0 && pb.Volume <= 200 {
		if err := s.player.SetVolume(ctx, pb.Volume); err != nil {
			return err
		}
	}
	if ok && pb.Filter != "" {
		if f, err := Preset(pb.Filter); err == nil {
			if err := s.player.SetFilters(ctx, f); err != nil {
				return err
			}
			s.filter = pb.Filter
		}
	}
	if ok && pb.Paused {
		if err := s.player.SetPaused(ctx, true); err != nil {
			return err
		}
	}
	m.savePlayback(ctx, s)
	return nil
}
