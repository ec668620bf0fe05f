package discordsim

import (
	"slices"
	"time"
)

// What the emulator records for tests to assert on: IDENTIFYs, RESUMEs,
// rule violations, sessions and what each was sent.

// IdentifyRecord is one IDENTIFY the gateway received.
type IdentifyRecord struct {
	Time      time.Time `json:"time"`
	AppID     Snowflake `json:"app_id"`
	Shard     [2]int    `json:"shard"`
	Bucket    int       `json:"bucket"`
	SessionID string    `json:"session_id,omitempty"` // empty when rejected
	Accepted  bool      `json:"accepted"`
	// Reason says why a rejected IDENTIFY was rejected (a violation kind or a close code).
	Reason string `json:"reason,omitempty"`
}

// ResumeRecord is one RESUME the gateway received.
type ResumeRecord struct {
	Time      time.Time `json:"time"`
	AppID     Snowflake `json:"app_id"`
	Shard     [2]int    `json:"shard"`
	SessionID string    `json:"session_id"`
	Seq       int64     `json:"seq"`      // the seq the client sent
	Replayed  int       `json:"replayed"` // dispatches replayed before RESUMED
	Accepted  bool      `json:"accepted"`
	Reason    string    `json:"reason,omitempty"`
	// TookOver is true when the session still had a live connection, which was closed.
	TookOver bool `json:"took_over"`
	// ViaResumeURL is true when the client connected to resume_gateway_url.
	ViaResumeURL bool `json:"via_resume_url"`
}

// Violation kinds recorded by the emulator.
const (
	ViolationIdentifyRateLimited = "identify_rate_limited"      // IDENTIFY within IdentifyWindow in the same bucket (op 9)
	ViolationSessionStartLimit   = "session_start_limit"        // IDENTIFY with session_start_limit.remaining == 0 (op 9)
	ViolationTwoLiveSessions     = "two_live_sessions"          // two connected sessions for the same shard (a fault)
	ViolationGatewayClose        = "gateway_close"              // the server closed a connection with a 4xxx code (Code set)
	ViolationVoiceWrongShard     = "voice_wrong_shard"          // op 4 for a guild the session's shard does not own
	ViolationInteractionFailed   = "interaction_failed"         // no initial response within InteractionDeadline
	ViolationInteractionLate     = "interaction_late"           // initial response after the deadline (404 10062)
	ViolationInteractionTwice    = "interaction_twice"          // a second initial response (400 40060)
	ViolationRateLimited         = "rest_rate_limited"          // a REST request got 429
	ViolationBanned              = "rest_banned"                // the invalid-request limit was hit
	ViolationUserAgent           = "rest_user_agent"            // a REST request without a "DiscordBot (url, version)" User-Agent
	ViolationUnknownSKU          = "unknown_sku"                // a premium button whose sku_id is not a purchasable SKU of the app
	ViolationConsumedTwice       = "entitlement_consumed_twice" // Consume an Entitlement on an entitlement already consumed (400 40018)
)

// Violation is a rule broken by a client (or a fault the emulator observed).
type Violation struct {
	Time      time.Time `json:"time"`
	Kind      string    `json:"kind"`
	AppID     Snowflake `json:"app_id,omitempty"`
	Shard     [2]int    `json:"shard"`
	SessionID string    `json:"session_id,omitempty"`
	Code      int       `json:"code,omitempty"` // close code or JSON error code
	Detail    string    `json:"detail,omitempty"`
}

type records struct {
	identifies []IdentifyRecord
	resumes    []ResumeRecord
	violations []Violation
}

func (s *Sim) recordViolation(v Violation) {
	if v.Time.IsZero() {
		v.Time = time.Now()
	}
	s.mu.Lock()
	s.rec.violations = append(s.rec.violations, v)
	s.mu.Unlock()
	s.log.Debug("discordsim violation", "kind", v.Kind, "code", v.Code, "detail", v.Detail)
}

// Identifies returns every IDENTIFY received, in order.
func (s *Sim) Identifies() []IdentifyRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rec.identifies)
}

// Resumes returns every RESUME received, in order.
func (s *Sim) Resumes() []ResumeRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rec.resumes)
}

// IdentifiesSince returns the accepted IDENTIFYs received at or after from.
func (s *Sim) IdentifiesSince(from time.Time) []IdentifyRecord {
	var out []IdentifyRecord
	for _, id := range s.Identifies() {
		if id.Accepted && !id.Time.Before(from) {
			out = append(out, id)
		}
	}
	return out
}

// ResumedAt returns when session was resumed (the RESUME accepted) at or
// after from.
func (s *Sim) ResumedAt(session string, from time.Time) (time.Time, bool) {
	for _, r := range s.Resumes() {
		if r.Accepted && r.SessionID == session && !r.Time.Before(from) {
			return r.Time, true
		}
	}
	return time.Time{}, false
}

// Violations returns every recorded violation, in order.
func (s *Sim) Violations() []Violation {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.rec.violations)
}

// ViolationsOf returns the recorded violations of one kind.
func (s *Sim) ViolationsOf(kind string) []Violation {
	var out []Violation
	for _, v := range s.Violations() {
		if v.Kind == kind {
			out = append(out, v)
		}
	}
	return out
}

// SessionInfo describes one gateway session.
type SessionInfo struct {
	ID        string    `json:"id"`
	AppID     Snowflake `json:"app_id"`
	Shard     [2]int    `json:"shard"`
	Intents   uint64    `json:"intents"`
	Seq       int64     `json:"seq"`       // last seq assigned
	Live      bool      `json:"live"`      // a connection is attached
	Resumable bool      `json:"resumable"` // not ended and not expired
	Created   time.Time `json:"created"`
	// Connections counts the connections the session has had (1 + successful resumes).
	Connections int `json:"connections"`
}

// Delivery is one dispatch written to a connection of a session.
type Delivery struct {
	Seq    int64  `json:"seq"`
	Type   string `json:"t"`
	Conn   int    `json:"conn"`   // 1 for the identifying connection, 2 for the first resume, ...
	Replay bool   `json:"replay"` // sent as part of a RESUME replay
}

// Sessions returns every session ever created, ended and expired ones included.
func (s *Sim) Sessions() []SessionInfo {
	s.mu.Lock()
	list := make([]*session, 0, len(s.sessions))
	for _, ss := range s.sessions {
		list = append(list, ss)
	}
	s.mu.Unlock()
	now := time.Now()
	out := make([]SessionInfo, 0, len(list))
	for _, ss := range list {
		out = append(out, ss.info(now))
	}
	slices.SortFunc(out, func(a, b SessionInfo) int { return a.Created.Compare(b.Created) })
	return out
}

// LiveSessions returns the sessions with a connection for shard of the default app.
func (s *Sim) LiveSessions(shard int) []SessionInfo {
	app := s.AppID()
	var out []SessionInfo
	for _, si := range s.Sessions() {
		if si.AppID == app && si.Live && si.Shard[0] == shard {
			out = append(out, si)
		}
	}
	return out
}

// Session returns one session by ID.
func (s *Sim) Session(id string) (SessionInfo, bool) {
	s.mu.Lock()
	ss, ok := s.sessions[id]
	s.mu.Unlock()
	if !ok {
		return SessionInfo{}, false
	}
	return ss.info(time.Now()), true
}

// Deliveries returns, in order, every dispatch written to the session's
// connections (replays included), for gap and duplicate audits.
func (s *Sim) Deliveries(sessionID string) []Delivery {
	s.mu.Lock()
	ss, ok := s.sessions[sessionID]
	s.mu.Unlock()
	if !ok {
		return nil
	}
	ss.mu.Lock()
	defer ss.mu.Unlock()
	return slices.Clone(ss.deliveries)
}

// SessionStartRemaining returns session_start_limit.remaining of the default app.
func (s *Sim) SessionStartRemaining() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.resetStartLimitLocked(s.defaultApp, time.Now())
	return s.defaultApp.startRemaining
}

func (s *Sim) resetStartLimitLocked(a *app, now time.Time) {
	if now.After(a.startResetAt) {
		a.startRemaining = s.cfg.SessionStartLimit
		a.startResetAt = now.Add(s.cfg.SessionStartReset)
	}
}
