package voice

import (
	"context"
	"time"
)

// ChannelMembers lists the users in a voice channel; *StateCache is one.
type ChannelMembers interface {
	ChannelMembers(ctx context.Context, guildID, channelID string) ([]string, error)
}

// ReapIdle frees the agents of channels that nobody but the agent has been
// in for idle: their music ends (queue cleared, player destroyed, agent
// released) as with /stop. It checks every idle/4 until ctx ends; the node
// runs it on a goroutine it owns.
func (m *Music) ReapIdle(ctx context.Context, members ChannelMembers, idle time.Duration) {
	if idle <= 0 {
		return
	}
	emptySince := map[*session]time.Time{}
	t := time.NewTicker(max(idle/4, 10*time.Millisecond))
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		m.mu.Lock()
		live := make([]*session, 0, len(m.sessions))
		for _, s := range m.sessions {
			live = append(live, s)
		}
		m.mu.Unlock()
		seen := map[*session]bool{}
		for _, s := range live {
			seen[s] = true
			users, err := members.ChannelMembers(ctx, s.guildID, s.channel)
			if err != nil {
				m.log.Warn("idle check: reading voice states", "err", err)
				continue
			}
			listeners := 0
			for _, u := range users {
				if u != s.agent {
					listeners++
				}
			}
			if listeners > 0 {
				delete(emptySince, s)
				continue
			}
			since, ok := emptySince[s]
			if !ok {
				emptySince[s] = time.Now()
				continue
			}
			if time.Since(since) < idle {
				continue
			}
			delete(emptySince, s)
			s.op.Lock()
			err = m.end(ctx, s)
			s.op.Unlock()
			if err != nil {
				m.log.Warn("idle check: ending the music of an empty channel", "guild", s.guildID, "err", err)
			} else {
				m.log.Info("freed the agent of an empty voice channel", "guild", s.guildID)
			}
		}
		for s := range emptySince {
			if !seen[s] {
				delete(emptySince, s)
			}
		}
	}
}
