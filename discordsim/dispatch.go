package discordsim

import (
	"encoding/json"
	"fmt"
	"time"
)

// Dispatch: which sessions receive an event (the shard owning the guild,
// the intents asked for) and the firehose of background events.

// payload is an event body; stripped, when set, is sent to sessions without
// the MESSAGE_CONTENT intent, except to the session of the message's author.
type payload struct {
	full, stripped []byte
	author         Snowflake
}

// targetsLocked returns the resumable sessions of a that own guildID (0: DMs, shard 0)
// and asked for intent (0: no intent needed).
func (s *Sim) targetsLocked(a *app, guildID Snowflake, intent uint64) []*session {
	now := time.Now()
	var out []*session
	for _, ss := range a.sessions {
		shard := 0
		if guildID != 0 {
			shard = ShardFor(guildID, ss.shard[1])
		}
		if shard != ss.shard[0] || (intent != 0 && ss.intents&intent == 0) {
			continue
		}
		if ss.expired(now) {
			continue
		}
		out = append(out, ss)
	}
	return out
}

// dispatchToApp sends an event to the sessions of a that own guildID.
func (s *Sim) dispatchToApp(a *app, guildID Snowflake, t string, intent uint64, build func() any) int {
	s.mu.Lock()
	targets := s.targetsLocked(a, guildID, intent)
	s.mu.Unlock()
	if len(targets) == 0 {
		return 0
	}
	b, err := json.Marshal(build())
	if err != nil {
		s.log.Error("discordsim marshal", "t", t, "err", err)
		return 0
	}
	for _, ss := range targets {
		ss.mu.Lock()
		ss.dispatchLocked(t, b)
		ss.mu.Unlock()
	}
	return len(targets)
}

// dispatchGuild sends an event to every app whose bot is in guildID.
func (s *Sim) dispatchGuild(guildID Snowflake, t string, intent uint64, data any) int {
	b, err := json.Marshal(data)
	if err != nil {
		return 0
	}
	return s.dispatchPayload(guildID, t, intent, payload{full: b})
}

func (s *Sim) dispatchPayload(guildID Snowflake, t string, intent uint64, p payload) int {
	s.mu.Lock()
	var targets []*session
	if g := s.guilds[guildID]; g != nil {
		for _, a := range s.apps {
			if len(a.sessions) == 0 {
				continue
			}
			if _, in := g.members[a.BotUserID]; in {
				targets = append(targets, s.targetsLocked(a, guildID, intent)...)
			}
		}
	}
	s.mu.Unlock()
	for _, ss := range targets {
		b := p.full
		if p.stripped != nil && ss.intents&IntentMessageContent == 0 && ss.app.BotUserID != p.author {
			b = p.stripped
		}
		ss.mu.Lock()
		ss.dispatchLocked(t, b)
		ss.mu.Unlock()
	}
	return len(targets)
}

// firehose emits background MESSAGE_CREATE and GUILD_MEMBER_UPDATE events.
func (s *Sim) firehose() {
	defer s.wg.Done()
	t := time.NewTicker(s.cfg.FirehoseInterval)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-s.ctx.Done():
			return
		case <-t.C:
		}
		for i := 0; i < s.cfg.FirehoseBatch; i++ {
			s.mu.Lock()
			if len(s.guildOrder) == 0 {
				s.mu.Unlock()
				break
			}
			g := s.guilds[s.guildOrder[n%len(s.guildOrder)]]
			user := g.memberOrder[n%len(g.memberOrder)]
			var text Snowflake
			for _, c := range g.channels {
				if s.channels[c].Type == ChannelGuildText {
					text = c
					break
				}
			}
			u := s.users[user]
			joined := g.members[user]
			s.mu.Unlock()
			if n%2 == 0 && text != 0 {
				_, _ = s.sendMessage(MessageOptions{ChannelID: text, AuthorID: user, Content: fmt.Sprintf("firehose %d", n)}, false)
			} else {
				m := memberJSON(u, joined)
				m["guild_id"] = g.id
				s.dispatchGuild(g.id, "GUILD_MEMBER_UPDATE", IntentGuildMembers, m)
			}
			n++
		}
	}
}
