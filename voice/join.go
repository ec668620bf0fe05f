package voice

import "context"

// OpJoin sends an agent to the caller's voice channel without playing
// anything yet (/join); like /play it is offered to the other nodes when
// no agent is free here.
var OpJoin = newOp(opInfo{name: "join", slow: true, offer: true},
	func(ctx context.Context, m *Music, a Caller) (JoinResult, error) {
		return m.Join(ctx, a.GuildID, a.UserID)
	})

// JoinResult is /join's answer.
type JoinResult struct {
	// Already is true when an agent was in the channel before.
	Already bool `json:"already"`
}

// Join sends an agent to the caller's voice channel, unless one is there.
// The agent stays while anyone listens (ReapIdle frees it from an empty
// channel) and plays what /play queues next.
func (m *Music) Join(ctx context.Context, guildID, userID string) (JoinResult, error) {
	ch, err := m.userChannel(ctx, guildID, userID)
	if err != nil {
		return JoinResult{}, err
	}
	m.mu.Lock()
	_, already := m.sessions[guildID+":"+ch]
	m.mu.Unlock()
	s, err := m.session(ctx, guildID, ch)
	if err != nil {
		return JoinResult{}, err
	}
	// A new session keeps fresh set: the first /play waits for its voice
	// connection and answers with its failure.
	s.op.Unlock()
	return JoinResult{Already: already}, nil
}
