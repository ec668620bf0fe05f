package dashboard

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/redis/go-redis/v9"
	"golang.org/x/oauth2"

	"github.com/chopsticks-bot/chopsticks/ratelimit"
)

func urlQueryEscape(s string) string { return url.QueryEscape(s) }

// safeNext keeps a post-login destination on the dashboard. It returns a
// local path (and query) that http.Redirect leaves as it is and that a
// browser resolves on the dashboard's own origin, or "/". A browser reads
// a backslash as '/' and drops tabs and newlines, and http.Redirect cleans the
// path, so next is refused when it holds a backslash or a control
// character (raw or percent-encoded), has a scheme, host or user, or is
// not a single-slash path; the path is then cleaned as http.Redirect
// would, and the result checked again.
func safeNext(next string) string {
	const home = "/"
	bad := func(r rune) bool { return r == '\\' || unicode.IsControl(r) || r == utf8.RuneError }
	if next == "" || len(next) > 200 || strings.ContainsFunc(next, bad) ||
		!strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Opaque != "" || u.Host != "" || u.User != nil ||
		strings.ContainsFunc(u.Path, bad) || !strings.HasPrefix(u.Path, "/") {
		return home
	}
	p := path.Clean(u.Path)
	if strings.HasSuffix(u.Path, "/") && p != "/" {
		p += "/"
	}
	out := (&url.URL{Path: p}).EscapedPath()
	if u.RawQuery != "" {
		out += "?" + u.RawQuery
	}
	// Check the result as it will be sent: local, one leading slash,
	// unchanged by http.Redirect's cleaning, nothing a browser reads
	// differently from Go.
	v, err := url.Parse(out)
	if err != nil || v.Scheme != "" || v.Host != "" || v.User != nil || strings.HasPrefix(out, "//") ||
		strings.ContainsFunc(out, bad) || redirectClean(out) != out {
		return home
	}
	return out
}

// loginBlocked answers a login or callback from an IP that failed to log
// in too often (FailSensitive) and reports true; starting a login counts
// nothing, only failures do.
func (s *Server) loginBlocked(w http.ResponseWriter, r *http.Request) bool {
	d, err := s.deps.Limiter.SensitiveBlocked(r.Context(), ActionLogin, 0, s.clientIP(r))
	if err != nil || d.Rule == ratelimit.RuleUnavailable {
		if err != nil {
			s.log.Error("dashboard: login limiter", "err", err)
		}
		s.renderError(w, r, http.StatusServiceUnavailable, "Logging in is unavailable right now; try again shortly.")
		return true
	}
	if !d.Allowed {
		secs := max(1, int(d.RetryAfter.Seconds()+0.5))
		w.Header().Set("Retry-After", strconv.Itoa(secs))
		s.renderError(w, r, http.StatusTooManyRequests, fmt.Sprintf("Too many failed log-ins from your address; try again in %s.", waitText(secs)))
		return true
	}
	return false
}

// waitText says secs as a person would: "40 s", "12 min".
func waitText(secs int) string {
	if secs < 120 {
		return fmt.Sprintf("%d s", secs)
	}
	return fmt.Sprintf("%d min", (secs+59)/60)
}

// loginFailed renders a refused callback and counts it as a failed login
// of the client's IP.
func (s *Server) loginFailed(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if _, err := s.deps.Limiter.FailSensitive(r.Context(), ActionLogin, 0, s.clientIP(r)); err != nil {
		s.log.Error("dashboard: counting a failed login", "err", err)
	}
	s.renderError(w, r, status, msg)
}

// redirectClean is what http.Redirect makes of a local URL: the path
// before the first '?' cleaned, a trailing slash kept, the query appended.
func redirectClean(u string) string {
	p, q := u, ""
	if i := strings.Index(u, "?"); i >= 0 {
		p, q = u[:i], u[i:]
	}
	c := path.Clean(p)
	if strings.HasSuffix(p, "/") && !strings.HasSuffix(c, "/") {
		c += "/"
	}
	return c + q
}

// handleLogin starts the OAuth2 flow (unless the IP is blocked for failed
// logins): a fresh state and PKCE verifier kept in Redis and bound to the
// browser by a signed cookie, then a redirect to Discord.
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	if s.loginBlocked(w, r) {
		return
	}
	state := randomID()
	st := oauthState{Verifier: oauth2.GenerateVerifier(), Next: safeNext(r.URL.Query().Get("next"))}
	b, _ := json.Marshal(st)
	if err := s.deps.Redis.Set(r.Context(), statePrefix+state, b, stateTTL).Err(); err != nil {
		s.log.Error("dashboard: storing OAuth state", "err", err)
		s.unavailable(w, r)
		return
	}
	s.setCookie(w, s.stateCookieName(), s.sign("login", state), stateTTL)
	http.Redirect(w, r, s.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(st.Verifier)), http.StatusFound)
}

// discordUser is the part of GET /users/@me the dashboard keeps.
type discordUser struct {
	ID         string `json:"id"`
	Username   string `json:"username"`
	GlobalName string `json:"global_name"`
	Bot        bool   `json:"bot"`
}

// handleCallback finishes the OAuth2 flow: the state must match the
// browser's login cookie and a pending login (used once); the code is
// exchanged with the PKCE verifier; the user is read with the token, which
// is then forgotten; a new session replaces any old one.
func (s *Server) handleCallback(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	q := r.URL.Query()
	s.setCookie(w, s.stateCookieName(), "", 0)
	if s.loginBlocked(w, r) {
		return
	}
	if e := q.Get("error"); e != "" {
		msg := "Discord did not log you in."
		if e == "access_denied" {
			msg = "You cancelled the log-in on Discord."
		}
		s.renderError(w, r, http.StatusBadRequest, msg)
		return
	}
	state, code := q.Get("state"), q.Get("code")
	c, err := r.Cookie(s.stateCookieName())
	var bound string
	var ok bool
	if err == nil {
		bound, ok = s.verify("login", c.Value)
	}
	if state == "" || code == "" || len(code) > 512 || !ok || bound != state {
		s.loginFailed(w, r, http.StatusBadRequest, "This log-in link is invalid or expired; start again.")
		return
	}
	b, err := s.deps.Redis.GetDel(ctx, statePrefix+state).Bytes()
	if errors.Is(err, redis.Nil) {
		s.loginFailed(w, r, http.StatusBadRequest, "This log-in link is invalid or expired; start again.")
		return
	}
	if err != nil {
		s.log.Error("dashboard: reading OAuth state", "err", err)
		s.unavailable(w, r)
		return
	}
	var st oauthState
	if err := json.Unmarshal(b, &st); err != nil {
		s.loginFailed(w, r, http.StatusBadRequest, "This log-in link is invalid or expired; start again.")
		return
	}
	octx := context.WithValue(ctx, oauth2.HTTPClient, s.cfg.HTTPClient)
	tok, err := s.oauth.Exchange(octx, code, oauth2.VerifierOption(st.Verifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
			s.log.Warn("dashboard: OAuth code refused", "error_code", re.ErrorCode)
			s.loginFailed(w, r, http.StatusBadRequest, "Discord refused the log-in; start again.")
			return
		}
		s.log.Error("dashboard: OAuth token exchange", "err", err)
		s.renderError(w, r, http.StatusBadGateway, "Discord could not be reached; try again shortly.")
		return
	}
	hc := s.oauth.Client(octx, tok)
	var u discordUser
	if err := getJSON(ctx, hc, s.meURL, &u); err != nil {
		s.log.Error("dashboard: reading the Discord user", "err", err)
		s.renderError(w, r, http.StatusBadGateway, "Discord could not be reached; try again shortly.")
		return
	}
	id, err := strconv.ParseInt(u.ID, 10, 64)
	if err != nil || id <= 0 || u.Bot {
		s.loginFailed(w, r, http.StatusBadRequest, "Discord returned an account the dashboard cannot use.")
		return
	}
	var guilds []json.RawMessage
	if err := getJSON(ctx, hc, s.guildURL, &guilds); err != nil {
		s.log.Warn("dashboard: reading the user's guilds", "err", err)
	}
	name := u.GlobalName
	if name == "" {
		name = u.Username
	}
	if err := s.startSession(ctx, w, r, Session{UserID: id, Username: clip(name, 100), Guilds: len(guilds)}); err != nil {
		s.log.Error("dashboard: starting session", "err", err)
		s.unavailable(w, r)
		return
	}
	http.Redirect(w, r, safeNext(st.Next), http.StatusFound)
}

func getJSON(ctx context.Context, hc *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", req.URL.Path, resp.Status)
	}
	return json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(v)
}

// handleLogout ends the session (POST with the CSRF token).
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request, sess *Session) {
	if err := s.endSession(r.Context(), w, sess); err != nil {
		s.log.Error("dashboard: logout", "err", err)
		s.unavailable(w, r)
		return
	}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") || r.Header.Get("X-CSRF-Token") != "" {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}
