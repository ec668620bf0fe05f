package discordsim

import "time"

// Fault injection on live gateway connections: the driver's Reconnect,
// InvalidateSession, Drop, CloseConnection and RequestHeartbeat.

// Target selects gateway sessions for fault injection: by SessionID when set,
// otherwise the live sessions of Shard of AppID (0 = the default app).
type Target struct {
	AppID     Snowflake
	Shard     int
	SessionID string
}

// ShardTarget selects the live sessions of one shard of the default app.
func ShardTarget(shard int) Target { return Target{Shard: shard} }

func (s *Sim) liveConns(t Target) []*gwConn {
	s.mu.Lock()
	defer s.mu.Unlock()
	appID := t.AppID
	if appID == 0 {
		appID = s.defaultApp.ID
	}
	var out []*gwConn
	for _, ss := range s.sessions {
		if t.SessionID != "" {
			if ss.id != t.SessionID {
				continue
			}
		} else if ss.app.ID != appID || ss.shard[0] != t.Shard {
			continue
		}
		ss.mu.Lock()
		if ss.conn != nil {
			out = append(out, ss.conn)
		}
		ss.mu.Unlock()
	}
	return out
}

// Reconnect sends op 7 Reconnect to the selected live connections and returns how many.
func (s *Sim) Reconnect(t Target) int {
	conns := s.liveConns(t)
	for _, c := range conns {
		c.sendOp(OpReconnect, nil)
	}
	return len(conns)
}

// InvalidateSession sends op 9 with d = resumable to the selected live
// connections. When resumable is false the session ends and the connection
// returns to the unauthenticated state (it may IDENTIFY again).
func (s *Sim) InvalidateSession(t Target, resumable bool) int {
	conns := s.liveConns(t)
	for _, c := range conns {
		if !resumable {
			if ss := c.currentSession(); ss != nil {
				ss.mu.Lock()
				ss.ended = true
				if ss.conn == c {
					ss.conn = nil
					ss.disconnectedAt = time.Now()
				}
				ss.mu.Unlock()
			}
			c.mu.Lock()
			c.session = nil
			c.mu.Unlock()
		}
		c.sendOp(OpInvalidSession, resumable)
	}
	return len(conns)
}

// Drop closes the selected live connections' TCP connections without a close
// frame; their sessions stay resumable for ResumeWindow.
func (s *Sim) Drop(t Target) int {
	conns := s.liveConns(t)
	for _, c := range conns {
		c.closeWith(0, "", true)
	}
	return len(conns)
}

// CloseConnection closes the selected live connections with a close frame of code.
func (s *Sim) CloseConnection(t Target, code int, reason string) int {
	conns := s.liveConns(t)
	for _, c := range conns {
		c.closeWith(code, reason, false)
	}
	return len(conns)
}

// RequestHeartbeat sends op 1 to the selected live connections; clients must answer with op 1.
func (s *Sim) RequestHeartbeat(t Target) int {
	conns := s.liveConns(t)
	for _, c := range conns {
		var seq any
		if ss := c.currentSession(); ss != nil {
			ss.mu.Lock()
			seq = ss.seq
			ss.mu.Unlock()
		}
		c.sendOp(OpHeartbeat, seq)
	}
	return len(conns)
}
