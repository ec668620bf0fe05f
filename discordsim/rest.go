package discordsim

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"mime"
	"net"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The REST API: the route table, the pipeline every request passes
// (authentication, rate limits, invalid-request bans, body decoding), and
// the small read-only endpoints. Each resource's handlers live in its own
// file (messages.go, commands.go, webhooks.go, oauth.go).

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if v != nil {
		_ = json.NewEncoder(w).Encode(v)
	}
}

func writeAPIError(w http.ResponseWriter, e *APIError) { writeJSON(w, e.Status, e) }

type authKind int

const (
	authNone authKind = iota
	authBot
	authBotOrBearer
)

// reqCtx is what a REST handler knows about its caller.
type reqCtx struct {
	app    *app        // bot caller
	bearer *oauthToken // OAuth2 caller
	host   string
}

type restHandler func(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError

type routeOpts struct {
	auth     authKind
	major    string // path value naming the top-level resource ("" = none)
	noGlobal bool   // exempt from the global rate limit (interaction endpoints)
	noLimit  bool   // no per-route bucket (e.g. GET /gateway)
}

// statusWriter remembers the status for the invalid-request counter.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = 200
	}
	return w.ResponseWriter.Write(b)
}

func (s *Sim) routes() http.Handler {
	mux := http.NewServeMux()
	api := func(method, path string, o routeOpts, h restHandler) {
		route := method + " " + path
		for _, v := range []string{"v9", "v10"} {
			mux.HandleFunc(method+" /api/"+v+path, func(w http.ResponseWriter, r *http.Request) { s.serveREST(w, r, route, o, h) })
		}
	}
	bot := routeOpts{auth: authBot}
	api("GET", "/gateway", routeOpts{noLimit: true}, s.getGateway)
	api("GET", "/gateway/bot", bot, s.getGatewayBot)
	api("GET", "/users/@me", routeOpts{auth: authBotOrBearer}, s.getMe)
	api("GET", "/users/@me/guilds", routeOpts{auth: authBotOrBearer}, s.getMyGuilds)
	api("GET", "/oauth2/@me", routeOpts{auth: authBotOrBearer}, s.getOAuthMe)
	api("GET", "/users/{user}", bot, s.getUser)
	api("GET", "/applications/@me", bot, s.getAppMe)
	api("GET", "/oauth2/applications/@me", bot, s.getAppMe)
	api("GET", "/channels/{channel}", routeOpts{auth: authBot, major: "channel"}, s.getChannel)
	api("GET", "/guilds/{guild}", routeOpts{auth: authBot, major: "guild"}, s.getGuild)
	api("GET", "/guilds/{guild}/channels", routeOpts{auth: authBot, major: "guild"}, s.getGuildChannels)
	api("POST", "/channels/{channel}/messages", routeOpts{auth: authBot, major: "channel"}, s.postMessage)
	api("GET", "/channels/{channel}/messages", routeOpts{auth: authBot, major: "channel"}, s.listMessages)
	api("GET", "/channels/{channel}/messages/{message}", routeOpts{auth: authBot, major: "channel"}, s.getMessage)
	api("PATCH", "/channels/{channel}/messages/{message}", routeOpts{auth: authBot, major: "channel"}, s.patchMessage)
	api("DELETE", "/channels/{channel}/messages/{message}", routeOpts{auth: authBot, major: "channel"}, s.deleteMessage)
	// Application commands.
	for _, p := range []string{"/applications/{app}/commands", "/applications/{app}/guilds/{guild}/commands"} {
		api("GET", p, bot, s.listCommands)
		api("POST", p, bot, s.createCommand)
		api("PUT", p, bot, s.bulkCommands)
		api("GET", p+"/{command}", bot, s.getCommand)
		api("PATCH", p+"/{command}", bot, s.patchCommand)
		api("DELETE", p+"/{command}", bot, s.deleteCommand)
	}
	s.monetizationRoutes(api)
	// Interactions.
	inter := routeOpts{auth: authNone, noGlobal: true, major: "interaction"}
	api("POST", "/interactions/{interaction}/{token}/callback", inter, s.interactionCallback)
	hook := routeOpts{auth: authNone, noGlobal: true, major: "token"}
	api("POST", "/webhooks/{app}/{token}", hook, s.postFollowup)
	api("GET", "/webhooks/{app}/{token}/messages/{message}", hook, s.getWebhookMessage)
	api("PATCH", "/webhooks/{app}/{token}/messages/{message}", hook, s.patchWebhookMessage)
	api("DELETE", "/webhooks/{app}/{token}/messages/{message}", hook, s.deleteWebhookMessage)
	// OAuth2.
	for _, prefix := range []string{"", "/api", "/api/v9", "/api/v10"} {
		mux.HandleFunc("GET "+prefix+"/oauth2/authorize", s.oauthAuthorize)
		if prefix != "" {
			mux.HandleFunc("POST "+prefix+"/oauth2/token", s.oauthToken)
			mux.HandleFunc("POST "+prefix+"/oauth2/token/revoke", s.oauthRevoke)
		}
	}
	s.driverRoutes(mux)
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		s.serveREST(w, r, "unknown", routeOpts{noLimit: true}, func(http.ResponseWriter, *http.Request, *reqCtx) *APIError { return errNotFound })
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// ServeMux would answer a path with an empty or dot segment by
		// redirecting to its cleaned form, hiding a malformed URL that
		// Discord answers with 404 (the docs define no such route).
		if !cleanPath(r.URL.Path) {
			s.serveREST(w, r, "unknown", routeOpts{noLimit: true}, func(http.ResponseWriter, *http.Request, *reqCtx) *APIError { return errNotFound })
			return
		}
		if websocketRequest(r) && !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/_sim/") {
			s.serveGateway(w, r)
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// cleanPath reports whether p has no empty, "." or ".." segment, the paths
// ServeMux would redirect.
func cleanPath(p string) bool {
	want := path.Clean(p)
	if strings.HasSuffix(p, "/") && want != "/" {
		want += "/"
	}
	return p == want
}

func websocketRequest(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// serveREST applies the ban, authentication and rate limits, then runs h.
func (s *Sim) serveREST(w http.ResponseWriter, r *http.Request, route string, o routeOpts, h restHandler) {
	sw := &statusWriter{ResponseWriter: w}
	ip := clientIP(r)
	now := time.Now()
	if until, banned := s.rl.banned(ip, now); banned {
		sw.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(until.Sub(now).Seconds()))))
		sw.Header().Set("Content-Type", "text/plain")
		sw.WriteHeader(http.StatusTooManyRequests)
		_, _ = io.WriteString(sw, "error code: 1015")
		return
	}
	defer func() {
		if sw.status == 401 || sw.status == 403 || sw.status == 429 {
			if s.rl.invalid(ip, time.Now(), s.cfg.InvalidRequestLimit, s.cfg.InvalidRequestWindow, s.cfg.BanDuration) {
				s.recordViolation(Violation{Kind: ViolationBanned, Detail: "invalid request limit reached by " + ip})
			}
		}
	}()
	if !strings.HasPrefix(r.Header.Get("User-Agent"), "DiscordBot (") {
		s.recordViolation(Violation{Kind: ViolationUserAgent, Detail: route + ": User-Agent " + strconv.Quote(r.Header.Get("User-Agent"))})
		if s.cfg.RequireUserAgent {
			writeAPIError(sw, errStatus(403, 40333, "Cloudflare is blocking your request. This can often be resolved by setting a proper User Agent"))
			return
		}
	}
	rc := &reqCtx{host: r.Host}
	authz := r.Header.Get("Authorization")
	switch o.auth {
	case authBot, authBotOrBearer:
		switch {
		case strings.HasPrefix(authz, "Bot "):
			s.mu.Lock()
			rc.app = s.appsByToken[strings.TrimPrefix(authz, "Bot ")]
			s.mu.Unlock()
		case strings.HasPrefix(authz, "Bearer ") && o.auth == authBotOrBearer:
			rc.bearer = s.oauth.lookupAccess(strings.TrimPrefix(authz, "Bearer "), now)
		}
		if rc.app == nil && rc.bearer == nil {
			writeAPIError(sw, errUnauthorized)
			return
		}
	}
	identity := ""
	switch {
	case rc.app != nil:
		identity = "bot:" + rc.app.ID.String()
	case rc.bearer != nil:
		identity = "bearer:" + rc.bearer.access
	default:
		identity = "ip:" + ip
	}
	if identity != "" && !o.noGlobal && rc.app != nil {
		if retry, ok := s.rl.global(identity, now, s.cfg.GlobalRateLimit, s.cfg.GlobalRateWindow); !ok {
			sw.Header().Set("X-RateLimit-Global", "true")
			sw.Header().Set("X-RateLimit-Scope", "global")
			sw.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
			writeJSON(sw, 429, map[string]any{"message": "You are being rate limited.", "retry_after": roundSec(retry), "global": true})
			s.recordViolation(Violation{Kind: ViolationRateLimited, Detail: "global " + route})
			return
		}
	}
	if !o.noLimit {
		major := ""
		if o.major != "" {
			major = r.PathValue(o.major)
		}
		bucket := bucketHash(route)
		st := s.rl.route(identity+"|"+bucket+"|"+major, now, s.cfg.RouteRateLimit, s.cfg.RouteRateWindow)
		hdr := sw.Header()
		hdr.Set("X-RateLimit-Limit", strconv.Itoa(st.limit))
		hdr.Set("X-RateLimit-Remaining", strconv.Itoa(st.remaining))
		hdr.Set("X-RateLimit-Reset", strconv.FormatFloat(float64(st.reset.UnixMilli())/1000, 'f', 3, 64))
		hdr.Set("X-RateLimit-Reset-After", strconv.FormatFloat(roundSec(st.reset.Sub(now)), 'f', 3, 64))
		hdr.Set("X-RateLimit-Bucket", bucket)
		if !st.ok {
			retry := st.reset.Sub(now)
			hdr.Set("X-RateLimit-Scope", "user")
			hdr.Set("Retry-After", strconv.Itoa(int(math.Ceil(retry.Seconds()))))
			writeJSON(sw, 429, map[string]any{"message": "You are being rate limited.", "retry_after": roundSec(retry), "global": false})
			s.recordViolation(Violation{Kind: ViolationRateLimited, Detail: route + " " + major})
			return
		}
	}
	if e := h(sw, r, rc); e != nil {
		writeAPIError(sw, e)
	}
}

func roundSec(d time.Duration) float64 {
	return math.Ceil(d.Seconds()*1000) / 1000
}

func bucketHash(route string) string {
	h := fnv.New64a()
	_, _ = io.WriteString(h, route)
	return fmt.Sprintf("%016x", h.Sum64())
}

// rateLimiter holds the REST limiters. Windows are fixed: they start with the
// first request and reset after the window.
type rateLimiter struct {
	mu       sync.Mutex
	windows  map[string]*window
	globals  map[string]*window
	invalids map[string][]time.Time
	bans     map[string]time.Time
}

type window struct {
	count int
	reset time.Time
}

type routeState struct {
	ok        bool
	limit     int
	remaining int
	reset     time.Time
}

func (l *rateLimiter) init() {
	l.windows = map[string]*window{}
	l.globals = map[string]*window{}
	l.invalids = map[string][]time.Time{}
	l.bans = map[string]time.Time{}
}

func take(m map[string]*window, key string, now time.Time, limit int, per time.Duration) (*window, bool) {
	w := m[key]
	if w == nil || !now.Before(w.reset) {
		w = &window{reset: now.Add(per)}
		m[key] = w
	}
	if w.count >= limit {
		return w, false
	}
	w.count++
	return w, true
}

func (l *rateLimiter) route(key string, now time.Time, limit int, per time.Duration) routeState {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := take(l.windows, key, now, limit, per)
	return routeState{ok: ok, limit: limit, remaining: limit - w.count, reset: w.reset}
}

func (l *rateLimiter) global(key string, now time.Time, limit int, per time.Duration) (time.Duration, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	w, ok := take(l.globals, key, now, limit, per)
	return w.reset.Sub(now), ok
}

// invalid counts an invalid request; it returns true when this one starts a ban.
func (l *rateLimiter) invalid(ip string, now time.Time, limit int, per, ban time.Duration) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	list := l.invalids[ip]
	i := 0
	for i < len(list) && now.Sub(list[i]) > per {
		i++
	}
	list = append(list[i:], now)
	l.invalids[ip] = list
	if len(list) >= limit {
		l.bans[ip] = now.Add(ban)
		l.invalids[ip] = nil
		return true
	}
	return false
}

func (l *rateLimiter) banned(ip string, now time.Time) (time.Time, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	until, ok := l.bans[ip]
	if ok && now.Before(until) {
		return until, true
	}
	return time.Time{}, false
}

// InvalidRequests returns how many 401/403/429 responses ip has had in the current window.
func (s *Sim) InvalidRequests(ip string) int {
	s.rl.mu.Lock()
	defer s.rl.mu.Unlock()
	return len(s.rl.invalids[ip])
}

// decodeBody decodes a JSON (or multipart payload_json) body into v.
func decodeBody(r *http.Request, v any) *APIError {
	ct, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	var data []byte
	switch ct {
	case "application/json":
		b, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
		if err != nil {
			return errInvalidJSON
		}
		data = b
	case "multipart/form-data":
		_ = params
		if err := r.ParseMultipartForm(8 << 20); err != nil {
			return &APIError{Status: 400, Code: 50035, Message: "Invalid Form Body"}
		}
		data = []byte(r.FormValue("payload_json"))
	default:
		return &APIError{Status: 400, Code: 50035, Message: "Invalid Form Body", Errors: map[string]any{"_errors": []any{map[string]string{"code": "CONTENT_TYPE_INVALID", "message": "Expected \"Content-Type\" header to be one of {'application/json'}."}}}}
	}
	if err := json.Unmarshal(data, v); err != nil {
		var te *json.UnmarshalTypeError
		if asType(err, &te) {
			return formError(strings.Split(te.Field, "."), "BASE_TYPE_INVALID", "Invalid type")
		}
		return errInvalidJSON
	}
	return nil
}

func asType(err error, te **json.UnmarshalTypeError) bool {
	t, ok := err.(*json.UnmarshalTypeError)
	if ok {
		*te = t
	}
	return ok
}

func (s *Sim) getGateway(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	writeJSON(w, 200, map[string]any{"url": "ws://" + rc.host})
	return nil
}

func (s *Sim) getGatewayBot(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	now := time.Now()
	a := rc.app
	shards := s.RecommendedShards(a.ID)
	s.mu.Lock()
	s.resetStartLimitLocked(a, now)
	out := map[string]any{
		"url":    "ws://" + rc.host,
		"shards": shards,
		"session_start_limit": map[string]any{
			"total": s.cfg.SessionStartLimit, "remaining": a.startRemaining,
			"reset_after": a.startResetAt.Sub(now).Milliseconds(), "max_concurrency": a.MaxConcurrency,
		},
	}
	s.mu.Unlock()
	writeJSON(w, 200, out)
	return nil
}

func (s *Sim) getMe(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rc.app != nil {
		writeJSON(w, 200, readyUser(s.users[rc.app.BotUserID]))
		return nil
	}
	if !rc.bearer.has("identify") {
		return errUnauthorized
	}
	u := s.users[rc.bearer.userID]
	m := readyUser(u)
	if rc.bearer.has("email") {
		m["email"] = u.Email
	} else {
		delete(m, "email")
		delete(m, "verified")
	}
	writeJSON(w, 200, m)
	return nil
}

func (s *Sim) getMyGuilds(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	var uid Snowflake
	if rc.app != nil {
		uid = rc.app.BotUserID
	} else {
		if !rc.bearer.has("guilds") {
			return errUnauthorized
		}
		uid = rc.bearer.userID
	}
	out := []any{}
	for _, id := range s.guildOrder {
		g := s.guilds[id]
		if _, in := g.members[uid]; !in {
			continue
		}
		perms := "104324673"
		if g.ownerID == uid {
			perms = "2248473465835073"
		}
		out = append(out, map[string]any{"id": g.id, "name": g.name, "icon": nil, "banner": nil, "owner": g.ownerID == uid, "permissions": perms, "features": []string{}})
	}
	writeJSON(w, 200, out)
	return nil
}

func (s *Sim) getUser(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	id, err := ParseSnowflake(r.PathValue("user"))
	if err != nil {
		return formError([]string{"user_id"}, "NUMBER_TYPE_COERCE", "Value is not snowflake.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	u := s.users[id]
	if u == nil {
		return errUnknownUser
	}
	writeJSON(w, 200, userJSON(u))
	return nil
}

func (s *Sim) appJSONLocked(a *app) map[string]any {
	return map[string]any{
		"id": a.ID, "name": a.Name, "icon": nil, "description": "", "bot_public": true, "bot_require_code_grant": false,
		"verify_key": randHex(32), "flags": appFlags(a), "bot": userJSON(s.users[a.BotUserID]), "redirect_uris": a.RedirectURIs,
		"team": nil, "summary": "", "approximate_guild_count": len(s.botGuildsLocked(a, 0, 0)),
		"interactions_endpoint_url": nil, "integration_types_config": map[string]any{"0": map[string]any{}},
	}
}

func (s *Sim) getAppMe(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	writeJSON(w, 200, s.appJSONLocked(rc.app))
	return nil
}

func (s *Sim) getChannel(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, e := s.botChannelLocked(rc.app, r.PathValue("channel"))
	if e != nil {
		return e
	}
	writeJSON(w, 200, channelJSON(c))
	return nil
}

func (s *Sim) getGuild(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.botGuildLocked(rc.app, r.PathValue("guild"))
	if e != nil {
		return e
	}
	writeJSON(w, 200, s.guildJSONLocked(g))
	return nil
}

func (s *Sim) getGuildChannels(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, e := s.botGuildLocked(rc.app, r.PathValue("guild"))
	if e != nil {
		return e
	}
	out := []any{}
	for _, c := range g.channels {
		out = append(out, channelJSON(s.channels[c]))
	}
	writeJSON(w, 200, out)
	return nil
}

func (s *Sim) botGuildLocked(a *app, idStr string) (*guild, *APIError) {
	id, err := ParseSnowflake(idStr)
	if err != nil {
		return nil, formError([]string{"guild_id"}, "NUMBER_TYPE_COERCE", "Value \""+idStr+"\" is not snowflake.")
	}
	g := s.guilds[id]
	if g == nil {
		return nil, errUnknownGuild
	}
	if _, in := g.members[a.BotUserID]; !in {
		return nil, errMissingAccess
	}
	return g, nil
}

func (s *Sim) botChannelLocked(a *app, idStr string) (*channel, *APIError) {
	id, err := ParseSnowflake(idStr)
	if err != nil {
		return nil, formError([]string{"channel_id"}, "NUMBER_TYPE_COERCE", "Value \""+idStr+"\" is not snowflake.")
	}
	c := s.channels[id]
	if c == nil {
		return nil, errUnknownChannel
	}
	if g := s.guilds[c.GuildID]; g != nil {
		if _, in := g.members[a.BotUserID]; !in {
			return nil, errMissingAccess
		}
	}
	return c, nil
}
