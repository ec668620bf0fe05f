package lavalinksim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"
)

func (s *Server) routes() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /v4/websocket", s.handleWebsocket)
	mux.HandleFunc("GET /version", s.auth(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		io.WriteString(w, Version)
	}))
	mux.HandleFunc("GET /v4/info", s.auth(s.handleInfo))
	mux.HandleFunc("GET /v4/stats", s.auth(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		st := s.stats(time.Now(), false)
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, st)
	}))
	mux.HandleFunc("GET /v4/loadtracks", s.auth(func(w http.ResponseWriter, r *http.Request) {
		id := r.URL.Query().Get("identifier")
		if id == "" {
			s.fail(w, r, http.StatusBadRequest, "Required request parameter 'identifier' is not present")
			return
		}
		s.mu.Lock()
		s.loads++
		s.mu.Unlock()
		if fetchable(id) {
			writeJSON(w, http.StatusOK, s.loadHTTP(r.Context(), id))
			return
		}
		writeJSON(w, http.StatusOK, reshape(resolve(id), s.cfg.Tracks))
	}))
	mux.HandleFunc("GET /v4/decodetrack", s.auth(func(w http.ResponseWriter, r *http.Request) {
		// Lavalink binds the parameter as encodedTrack and, for older
		// clients, track.
		q := r.URL.Query()
		enc := q.Get("encodedTrack")
		if enc == "" {
			enc = q.Get("track")
		}
		if enc == "" {
			s.fail(w, r, http.StatusBadRequest, "Required request parameter 'encodedTrack' is not present")
			return
		}
		t, err := decodeTrack(enc)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, trackDecodeFailed)
			return
		}
		writeJSON(w, http.StatusOK, t)
	}))
	mux.HandleFunc("POST /v4/decodetracks", s.auth(func(w http.ResponseWriter, r *http.Request) {
		var encs []string
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&encs); err != nil {
			s.fail(w, r, http.StatusBadRequest, "Request body must be an array of encoded tracks")
			return
		}
		out := make([]Track, 0, len(encs))
		for _, e := range encs {
			t, err := decodeTrack(e)
			if err != nil {
				s.fail(w, r, http.StatusBadRequest, trackDecodeFailed)
				return
			}
			out = append(out, t)
		}
		writeJSON(w, http.StatusOK, out)
	}))
	if s.cfg.Dialect != DialectNodeLink { // NodeLink has no such route: 404
		mux.HandleFunc("PATCH /v4/sessions/{sessionId}", s.auth(s.handleUpdateSession))
	}
	mux.HandleFunc("GET /v4/sessions/{sessionId}/players", s.auth(s.handleGetPlayers))
	mux.HandleFunc("GET /v4/sessions/{sessionId}/players/{guildId}", s.auth(s.handleGetPlayer))
	mux.HandleFunc("PATCH /v4/sessions/{sessionId}/players/{guildId}", s.auth(s.handleUpdatePlayer))
	mux.HandleFunc("DELETE /v4/sessions/{sessionId}/players/{guildId}", s.auth(s.handleDestroyPlayer))
	mux.HandleFunc("GET /v4/routeplanner/status", s.auth(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "Not Found")
	})
	return mux
}

// auth rejects requests without the configured Authorization header.
func (s *Server) auth(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != s.cfg.Password {
			s.fail(w, r, http.StatusUnauthorized, "Unauthorized")
			return
		}
		h(w, r)
	}
}

// Error is Lavalink's error response body.
type Error struct {
	Timestamp int64  `json:"timestamp"`
	Status    int    `json:"status"`
	Error     string `json:"error"`
	Trace     string `json:"trace,omitempty"`
	Message   string `json:"message"`
	Path      string `json:"path"`
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, status int, message string) {
	e := Error{Timestamp: time.Now().UnixMilli(), Status: status, Error: http.StatusText(status), Message: message, Path: r.URL.Path}
	if r.URL.Query().Get("trace") == "true" {
		e.Trace = fmt.Sprintf("lavalinksim.Error: %s\n\tat %s %s", message, r.Method, r.URL.Path)
	}
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// handleInfo answers /v4/info. NodeLink reports its Node.js runtime and
// voice library instead of a JVM and Lavaplayer, and says isNodelink.
func (s *Server) handleInfo(w http.ResponseWriter, r *http.Request) {
	info := map[string]any{
		"version":   map[string]any{"semver": Version, "major": 4, "minor": 2, "patch": 2, "preRelease": nil, "build": nil},
		"buildTime": s.started.UnixMilli(),
		"git":       map[string]any{"branch": "main", "commit": "lavalinksim", "commitTime": s.started.UnixMilli()},
		"jvm":       "none (lavalinksim)", "lavaplayer": "simulated",
		"sourceManagers": []string{"youtube", "soundcloud", "http"},
		"filters":        []string{"volume", "equalizer", "karaoke", "timescale", "tremolo", "vibrato", "rotation", "distortion", "channelMix", "lowPass"},
		"plugins":        []any{},
	}
	if s.cfg.Dialect == DialectNodeLink {
		delete(info, "jvm")
		delete(info, "lavaplayer")
		info["node"], info["isNodelink"] = "none (lavalinksim)", true
		info["voice"] = map[string]any{"name": "@performanc/voice", "version": "simulated"}
	}
	writeJSON(w, http.StatusOK, info)
}

// sessionFor returns the session named in the path or writes a 404; s.mu is held.
func (s *Server) sessionFor(w http.ResponseWriter, r *http.Request) *session {
	sess := s.sessions[r.PathValue("sessionId")]
	if sess == nil {
		s.fail(w, r, http.StatusNotFound, "Session not found")
	}
	return sess
}

func (s *Server) handleUpdateSession(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Resuming *bool `json:"resuming"`
		Timeout  *int  `json:"timeout"`
	}
	if err := json.NewDecoder(io.LimitReader(r.Body, 1<<16)).Decode(&body); err != nil {
		s.fail(w, r, http.StatusBadRequest, "Invalid request body")
		return
	}
	if body.Timeout != nil && *body.Timeout < 0 {
		s.fail(w, r, http.StatusBadRequest, "timeout must be >= 0")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessionFor(w, r)
	if sess == nil {
		return
	}
	if body.Resuming != nil {
		sess.resuming = *body.Resuming
	}
	if body.Timeout != nil {
		sess.timeout = time.Duration(*body.Timeout) * time.Second
	}
	writeJSON(w, http.StatusOK, map[string]any{"resuming": sess.resuming, "timeout": int(sess.timeout / time.Second)})
}

// playerJSON is the Player object.
func (s *Server) playerJSON(p *player, now time.Time) map[string]any {
	var track any
	if p.track != nil {
		t := *p.track
		t.Info.Position = s.position(p, now)
		track = t
	}
	var filters any = json.RawMessage("{}")
	if len(p.filtersJSON) > 0 {
		filters = p.filtersJSON
	}
	if s.cfg.Dialect == DialectNodeLink && len(p.filters.Equalizer) > 0 {
		filters = nodeLinkFilters(p.filtersJSON, p.filters.Equalizer)
	}
	return map[string]any{"guildId": p.guildID, "track": track, "volume": p.volume, "paused": p.paused,
		"state": s.state(p, now), "voice": p.voice, "filters": filters}
}

func (s *Server) handleGetPlayers(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessionFor(w, r)
	if sess == nil {
		return
	}
	now := time.Now()
	out := []map[string]any{}
	for _, p := range sess.players {
		out = append(out, s.playerJSON(p, now))
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) handleGetPlayer(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessionFor(w, r)
	if sess == nil {
		return
	}
	p := sess.players[r.PathValue("guildId")]
	if p == nil {
		s.fail(w, r, http.StatusNotFound, "Player not found")
		return
	}
	writeJSON(w, http.StatusOK, s.playerJSON(p, time.Now()))
}

func (s *Server) handleDestroyPlayer(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessionFor(w, r)
	if sess == nil {
		return
	}
	delete(sess.players, r.PathValue("guildId"))
	w.WriteHeader(http.StatusNoContent)
}

// update is a parsed, validated Update Player request.
type update struct {
	setTrack   bool
	track      *Track // nil with setTrack: stop
	userData   map[string]any
	position   *int64
	setEnd     bool
	endTime    int64
	volume     *int
	paused     *bool
	filters    *Filters
	filtersRaw json.RawMessage
	voice      *VoiceState
}

// present reports whether key is in m and not JSON null.
func present(m map[string]json.RawMessage, key string) (raw json.RawMessage, ok, null bool) {
	raw, ok = m[key]
	return raw, ok, ok && bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// badRequest is a rejected Update Player request; its text is the message
// of the 400 answer, as Lavalink words it (no Go error prefixes).
type badRequest string

func (e badRequest) Error() string { return string(e) }

func badf(format string, args ...any) error { return badRequest(fmt.Sprintf(format, args...)) }

// trackDecodeFailed is the message of a 400 for an undecodable track.
const trackDecodeFailed = "Failed to decode track"

// nodeLinkFilters is NodeLink's echo of a player's filters: the equalizer
// as 15 plain gains, band by index.
func nodeLinkFilters(raw json.RawMessage, bands []EqualizerBand) map[string]any {
	out := map[string]any{}
	json.Unmarshal(raw, &out)
	gains := make([]float64, 15)
	for _, b := range bands {
		gains[b.Band] = b.Gain
	}
	out["equalizer"] = gains
	return out
}

func parseUpdate(body []byte) (update, error) {
	var u update
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return u, badf("Invalid request body")
	}
	loadTrack := func(encoded, identifier json.RawMessage, encNull bool) error {
		u.setTrack = true
		if encNull {
			return nil
		}
		if encoded != nil {
			var enc string
			if err := json.Unmarshal(encoded, &enc); err != nil {
				return badf("encoded track must be a string")
			}
			t, err := decodeTrack(enc)
			if err != nil {
				return badf(trackDecodeFailed)
			}
			u.track = &t
			return nil
		}
		var id string
		if err := json.Unmarshal(identifier, &id); err != nil || id == "" {
			return badf("identifier must be a non-empty string")
		}
		res := resolve(id)
		t, ok := res.Data.(Track)
		if res.LoadType != "track" || !ok {
			return badf("identifier %q did not resolve to a single track (loadType %s)", id, res.LoadType)
		}
		u.track = &t
		return nil
	}
	encRaw, hasEnc, encNull := present(m, "encodedTrack")
	idRaw, hasID, _ := present(m, "identifier")
	trackRaw, hasTrack, trackNull := present(m, "track")
	switch {
	case hasTrack && (hasEnc || hasID):
		return u, badf("track cannot be combined with the deprecated encodedTrack or identifier")
	case hasEnc && hasID:
		return u, badf("encodedTrack and identifier are mutually exclusive")
	case hasTrack && !trackNull:
		var tm map[string]json.RawMessage
		if err := json.Unmarshal(trackRaw, &tm); err != nil {
			return u, badf("track must be an object")
		}
		e, he, en := present(tm, "encoded")
		i, hi, _ := present(tm, "identifier")
		if he && hi {
			return u, badf("track.encoded and track.identifier are mutually exclusive")
		}
		if ud, ok := tm["userData"]; ok {
			if err := json.Unmarshal(ud, &u.userData); err != nil {
				return u, badf("track.userData must be an object")
			}
		}
		if he || hi {
			if err := loadTrack(e, i, en); err != nil {
				return u, err
			}
		}
	case hasEnc:
		if err := loadTrack(encRaw, nil, encNull); err != nil {
			return u, err
		}
	case hasID:
		if err := loadTrack(nil, idRaw, false); err != nil {
			return u, err
		}
	}
	if raw, ok, null := present(m, "position"); ok && !null {
		var p int64
		if err := json.Unmarshal(raw, &p); err != nil || p < 0 {
			return u, badf("position must be a non-negative integer")
		}
		u.position = &p
	}
	if raw, ok, null := present(m, "endTime"); ok {
		u.setEnd = true
		if !null {
			if err := json.Unmarshal(raw, &u.endTime); err != nil || u.endTime <= 0 {
				return u, badf("endTime must be an integer > 0")
			}
		}
	}
	if raw, ok, null := present(m, "volume"); ok && !null {
		var v int
		if err := json.Unmarshal(raw, &v); err != nil || v < 0 || v > 1000 {
			return u, badf("volume must be an integer between 0 and 1000")
		}
		u.volume = &v
	}
	if raw, ok, null := present(m, "paused"); ok && !null {
		var p bool
		if err := json.Unmarshal(raw, &p); err != nil {
			return u, badf("paused must be a boolean")
		}
		u.paused = &p
	}
	if raw, ok, null := present(m, "filters"); ok && !null {
		var f Filters
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&f); err != nil {
			return u, badf("Invalid filters")
		}
		if err := f.validate(); err != nil {
			return u, badf("%s", err.Error())
		}
		u.filters, u.filtersRaw = &f, raw
	}
	if raw, ok, null := present(m, "voice"); ok && !null {
		var v VoiceState
		if err := json.Unmarshal(raw, &v); err != nil {
			return u, badf("voice must be an object")
		}
		if v.Token == "" || v.Endpoint == "" || v.SessionID == "" || v.ChannelID == "" {
			return u, badf("voice needs token, endpoint, sessionId and channelId")
		}
		u.voice = &v
	}
	return u, nil
}

func (s *Server) handleUpdatePlayer(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "Could not read request body")
		return
	}
	u, err := parseUpdate(body)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error())
		return
	}
	guildID := r.PathValue("guildId")
	if _, err := strconv.ParseUint(guildID, 10, 64); err != nil {
		s.fail(w, r, http.StatusBadRequest, "guildId must be a snowflake")
		return
	}
	noReplace := r.URL.Query().Get("noReplace") == "true"
	if u.voice != nil && !s.waitVoice(r) {
		// The client gave up or the server is stopping: the connection
		// closes without an answer.
		panic(http.ErrAbortHandler)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	sess := s.sessionFor(w, r)
	if sess == nil {
		return
	}
	now := time.Now()
	p := sess.players[guildID]
	if p == nil {
		p = &player{guildID: guildID, volume: 100, anchor: now}
		sess.players[guildID] = p
	}
	s.settle(p, now)
	nodeLink := s.cfg.Dialect == DialectNodeLink
	if u.setTrack && u.track == nil && p.track == nil && nodeLink {
		s.fail(w, r, http.StatusBadRequest, "The player is not playing.")
		return
	}
	voiceFailed := false
	if u.voice != nil {
		p.voice = *u.voice
		p.voiceUpdates++
		p.connected = !s.failVoice
		voiceFailed = s.failVoice
		if voiceFailed && !nodeLink {
			// Lavalink 4.2 connects while handling the update and
			// answers its failure; nothing else of the update applies.
			s.fail(w, r, http.StatusInternalServerError, "Failed to connect to voice server")
			return
		}
	}
	if u.filters != nil {
		p.filters, p.filtersJSON = *u.filters, u.filtersRaw
	}
	if u.volume != nil {
		p.volume = *u.volume
	}
	if u.paused != nil {
		p.paused = *u.paused
	}
	// NodeLink drops a track sent before the voice connection is up and
	// answers 200 with track null.
	dropped := nodeLink && u.setTrack && u.track != nil && !p.connected
	if u.setTrack && !dropped && !(noReplace && p.track != nil) {
		switch {
		case u.track == nil:
			s.endTrack(sess, p, "stopped")
		default:
			if p.track != nil {
				s.endTrack(sess, p, "replaced")
			}
			t := *u.track
			if u.userData != nil {
				t.UserData = u.userData
			}
			p.track, p.started, p.base, p.endTime = &t, false, 0, 0
			s.openOnPlay(sess, p)
		}
	} else if u.userData != nil && p.track != nil {
		p.track.UserData = u.userData
	}
	if u.position != nil && p.track != nil {
		p.base = *u.position
	}
	if u.setEnd {
		p.endTime = u.endTime
	}
	p.anchor = now
	writeJSON(w, http.StatusOK, s.playerJSON(p, now))
	if voiceFailed {
		s.emit(sess, map[string]any{"op": "event", "type": "WebSocketClosedEvent", "guildId": guildID,
			"code": 4006, "reason": "Session is no longer valid.", "byRemote": true})
	}
}

// waitVoice holds an update carrying a voice state for the voice connect
// delay in force. It reports false when the client gave up or the server
// is stopping first (nothing is answered then).
func (s *Server) waitVoice(r *http.Request) bool {
	s.mu.Lock()
	d := s.voiceDelay
	s.mu.Unlock()
	if d == 0 {
		return true
	}
	var elapsed <-chan time.Time // nil: forever
	if d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		elapsed = t.C
	}
	select {
	case <-elapsed:
		return true
	case <-r.Context().Done():
	case <-s.closing:
	}
	return false
}
