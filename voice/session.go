package voice

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/chopsticks-bot/chopsticks/lavalink"
)

// session is the music in one voice channel.
type session struct {
	op               sync.Mutex // serialises commands and events
	guildID, channel string
	agent            string
	player           *lavalink.Player
	filter           string
	fresh            bool // its agent has not played yet: /play waits for voice
	ended            bool
	stalled          bool // a restore could not start the track; retried when a node comes up
}

func (s *session) queueID() string { return s.guildID + ":" + s.channel }

// userChannel returns the caller's voice channel or ErrNotInVoice.
func (m *Music) userChannel(ctx context.Context, guildID, userID string) (string, error) {
	ch, err := m.cfg.Voice.UserVoiceChannel(ctx, guildID, userID)
	if err != nil {
		return "", fmt.Errorf("looking up your voice channel: %w", err)
	}
	if ch == "" {
		return "", ErrNotInVoice
	}
	return ch, nil
}

// current returns the session of the caller's voice channel, locked, or
// ErrNothingPlaying. The caller unlocks s.op.
func (m *Music) current(ctx context.Context, guildID, userID string) (*session, error) {
	ch, err := m.userChannel(ctx, guildID, userID)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	s := m.sessions[guildID+":"+ch]
	m.mu.Unlock()
	if s == nil {
		return nil, ErrNothingPlaying
	}
	s.op.Lock()
	if s.ended {
		s.op.Unlock()
		return nil, ErrNothingPlaying
	}
	return s, nil
}

// session returns the channel's session, locked, allocating an agent for a
// new one. The caller unlocks s.op.
func (m *Music) session(ctx context.Context, guildID, channel string) (*session, error) {
	key := guildID + ":" + channel
	for {
		m.mu.Lock()
		s := m.sessions[key]
		if s == nil {
			s = &session{guildID: guildID, channel: channel}
			s.op.Lock()
			m.sessions[key] = s
			m.mu.Unlock()
			break
		}
		m.mu.Unlock()
		s.op.Lock()
		if !s.ended {
			return s, nil
		}
		s.op.Unlock() // ended meanwhile: start a new one
	}
	m.mu.Lock()
	s := m.sessions[key]
	m.mu.Unlock()
	fail := func(err error) (*session, error) {
		m.mu.Lock()
		delete(m.sessions, key)
		m.mu.Unlock()
		s.ended = true
		s.op.Unlock()
		return nil, err
	}
	agent, err := m.cfg.Agents.Allocate(ctx, guildID, channel)
	if err != nil {
		return fail(err)
	}
	client, err := m.clients.Get(agent)
	if err != nil {
		m.cfg.Agents.Release(context.WithoutCancel(ctx), guildID, channel, agent)
		return fail(err)
	}
	s.agent, s.player, s.fresh = agent, client.Player(guildID), true
	m.mu.Lock()
	m.byAgent[agent+"/"+guildID] = s
	m.mu.Unlock()
	if err := m.cfg.Queues.SaveAgentChannel(ctx, agent, guildID, channel); err != nil {
		m.log.Warn("recording the agent's channel", "guild", guildID, "err", err) // only a restore needs it
	}
	return s, nil
}

// end finishes a session: the queue is cleared, the player destroyed and the
// agent released; s.op is held.
func (m *Music) end(ctx context.Context, s *session) error {
	if s.ended {
		return nil
	}
	s.ended = true
	m.mu.Lock()
	delete(m.sessions, s.queueID())
	delete(m.byAgent, s.agent+"/"+s.guildID)
	m.mu.Unlock()
	return errors.Join(
		m.cfg.Queues.Clear(ctx, s.queueID()),
		m.cfg.Queues.DropAgentChannel(ctx, s.agent, s.guildID),
		s.player.Destroy(ctx),
		m.cfg.Agents.Release(ctx, s.guildID, s.channel, s.agent),
	)
}

// advance plays the next item, or ends the session when the queue is done;
// s.op is held.
func (m *Music) advance(ctx context.Context, s *session, skip bool) error {
	for {
		next, err := m.cfg.Queues.Advance(ctx, s.queueID(), skip)
		if err != nil {
			return err
		}
		if next == nil {
			return m.end(ctx, s)
		}
		err = m.startItem(ctx, s, *next)
		if next.Speech != "" && errors.Is(err, ErrSpeechFailed) {
			m.log.Warn("a clip could not be played; skipped", "guild", s.guildID, "err", err)
			skip = true
			continue
		}
		return err
	}
}

// start plays t from its beginning and saves the playback; s.op is held.
// A track the node accepted but did not start for want of voice is not an
// error: the player starts it when the voice connection is up.
func (m *Music) start(ctx context.Context, s *session, t lavalink.Track) error {
	err := s.player.Play(ctx, t, 0)
	if errors.Is(err, lavalink.ErrTrackNotStarted) {
		m.log.Info("track waits for the voice connection", "guild", s.guildID)
		err = nil
	}
	return m.saved(ctx, s, err)
}

// savePlayback records where s's track stands, for a node that may have to
// restore it (see restore); s.op is held. A failure costs only that
// restore, so it is logged rather than returned.
func (m *Music) savePlayback(ctx context.Context, s *session) {
	p := Playback{Position: s.player.Position(), At: time.Now(), Paused: s.player.Paused(),
		Volume: s.player.Volume(), Filter: s.filter, Rate: s.player.Filters().Rate()}
	if err := m.cfg.Queues.SavePlayback(ctx, s.queueID(), p); err != nil {
		m.log.Warn("saving playback", "guild", s.guildID, "err", err)
	}
}

// saved saves s's playback after a change that succeeded (err nil) and
// returns err.
func (m *Music) saved(ctx context.Context, s *session, err error) error {
	if err == nil {
		m.savePlayback(ctx, s)
	}
	return err
}
