package voice

import "strings"

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
