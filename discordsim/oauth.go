package discordsim

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"
)

// OAuth2: authorize, token and revoke, with the scopes and grants Discord
// documents.

// OAuth2 scopes the emulator grants; others are rejected as invalid_scope.
var knownScopes = []string{"identify", "email", "guilds", "guilds.members.read", "bot", "applications.commands", "connections", "openid"}

type oauthCode struct {
	code        string
	appID       Snowflake
	userID      Snowflake
	redirectURI string
	scopes      []string
	challenge   string
	method      string
	expires     time.Time
}

type oauthToken struct {
	access  string
	refresh string
	appID   Snowflake
	userID  Snowflake
	scopes  []string
	expires time.Time
	revoked bool
}

func (t *oauthToken) has(scope string) bool { return t != nil && slices.Contains(t.scopes, scope) }

type oauthState struct {
	mu           sync.Mutex
	codes        map[string]*oauthCode
	access       map[string]*oauthToken
	refresh      map[string]*oauthToken
	dailyCreates map[string]int // guarded by Sim.mu (command creates per day)
}

func (o *oauthState) init() {
	o.codes = map[string]*oauthCode{}
	o.access = map[string]*oauthToken{}
	o.refresh = map[string]*oauthToken{}
}

func (o *oauthState) lookupAccess(tok string, now time.Time) *oauthToken {
	o.mu.Lock()
	defer o.mu.Unlock()
	t := o.access[tok]
	if t == nil || t.revoked || now.After(t.expires) {
		return nil
	}
	return t
}

// oauthAuthorize implements GET /oauth2/authorize. Consent is given by naming
// the consenting user: query parameter sim_user=<user id> or header
// X-Sim-User. sim_deny=1 denies. Without a user it answers 200 with an HTML
// consent page that explains this.
func (s *Sim) oauthAuthorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	fail := func(msg string) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(400)
		fmt.Fprintf(w, "<!doctype html><title>Invalid OAuth2 request</title><p>%s</p>", html.EscapeString(msg))
	}
	clientID, err := ParseSnowflake(q.Get("client_id"))
	if err != nil {
		fail("Invalid client_id")
		return
	}
	s.mu.Lock()
	a := s.apps[clientID]
	var redirects []string
	if a != nil {
		redirects = slices.Clone(a.RedirectURIs)
	}
	s.mu.Unlock()
	if a == nil {
		fail("Unknown application")
		return
	}
	redirect := q.Get("redirect_uri")
	if redirect == "" && len(redirects) == 1 {
		redirect = redirects[0]
	}
	if !slices.Contains(redirects, redirect) {
		fail("Invalid OAuth2 redirect_uri")
		return
	}
	ru, err := url.Parse(redirect)
	if err != nil {
		fail("Invalid OAuth2 redirect_uri")
		return
	}
	back := func(params url.Values) {
		rq := ru.Query()
		for k, v := range params {
			rq[k] = v
		}
		if st := q.Get("state"); st != "" {
			rq.Set("state", st)
		}
		u := *ru
		u.RawQuery = rq.Encode()
		http.Redirect(w, r, u.String(), http.StatusFound)
	}
	if q.Get("response_type") != "code" {
		back(url.Values{"error": {"unsupported_response_type"}, "error_description": {"only response_type=code is supported"}})
		return
	}
	scopes := strings.Fields(q.Get("scope"))
	if len(scopes) == 0 {
		back(url.Values{"error": {"invalid_scope"}, "error_description": {"scope is required"}})
		return
	}
	for _, sc := range scopes {
		if !slices.Contains(knownScopes, sc) {
			back(url.Values{"error": {"invalid_scope"}, "error_description": {"invalid scope " + sc}})
			return
		}
	}
	method := q.Get("code_challenge_method")
	challenge := q.Get("code_challenge")
	if challenge != "" && method != "S256" {
		back(url.Values{"error": {"invalid_request"}, "error_description": {"code_challenge_method must be S256"}})
		return
	}
	userStr := q.Get("sim_user")
	if userStr == "" {
		userStr = r.Header.Get("X-Sim-User")
	}
	if userStr == "" {
		// Discord shows the signed-in user an Authorize button; the
		// emulator has no sign-in, so it offers one link per person.
		s.mu.Lock()
		var people []*User
		for _, u := range s.users {
			if !u.Bot {
				people = append(people, u)
			}
		}
		s.mu.Unlock()
		slices.SortFunc(people, func(a, b *User) int { return compareID(a.ID, b.ID) })
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		fmt.Fprintf(w, "<!doctype html><meta name=viewport content='width=device-width'><title>Authorize %s</title><style>body{font:16px system-ui;max-width:32em;margin:2em auto;padding:0 1em}a{display:block;margin:.5em 0}</style><h1>Authorize %s</h1><p>discordsim consent page (scopes: %s). Sign in as:</p>",
			html.EscapeString(a.Name), html.EscapeString(a.Name), html.EscapeString(strings.Join(scopes, " ")))
		for _, u := range people {
			q2 := r.URL.Query()
			q2.Set("sim_user", u.ID.String())
			fmt.Fprintf(w, "<a id=\"user-%s\" href=\"?%s\">%s</a>", u.ID, html.EscapeString(q2.Encode()), html.EscapeString(u.Username))
		}
		q2 := r.URL.Query()
		q2.Set("sim_deny", "1")
		q2.Set("sim_user", "0")
		fmt.Fprintf(w, "<p><a href=\"?%s\">Cancel</a></p><p>Tests repeat this request with sim_user=&lt;user id&gt; (or header X-Sim-User) to approve, and sim_deny=1 to deny.</p>", html.EscapeString(q2.Encode()))
		return
	}
	if q.Get("sim_deny") == "1" {
		back(url.Values{"error": {"access_denied"}, "error_description": {"The resource owner or authorization server denied the request"}})
		return
	}
	uid, err := ParseSnowflake(userStr)
	s.mu.Lock()
	u := s.users[uid]
	s.mu.Unlock()
	if err != nil || u == nil || u.Bot {
		fail("Unknown consenting user")
		return
	}
	code := &oauthCode{code: randToken("")[:30], appID: a.ID, userID: uid, redirectURI: q.Get("redirect_uri"), scopes: scopes,
		challenge: challenge, method: method, expires: time.Now().Add(10 * time.Minute)}
	s.oauth.mu.Lock()
	s.oauth.codes[code.code] = code
	s.oauth.mu.Unlock()
	back(url.Values{"code": {code.code}})
}

func oauthErr(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]string{"error": code, "error_description": desc})
}

// clientAuth authenticates the client by HTTP Basic or client_id/client_secret form fields.
func (s *Sim) clientAuth(r *http.Request) (*app, bool) {
	id, secret, ok := r.BasicAuth()
	if !ok {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	cid, err := ParseSnowflake(id)
	if err != nil {
		return nil, false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[cid]
	if a == nil || subtle.ConstantTimeCompare([]byte(a.ClientSecret), []byte(secret)) != 1 {
		return nil, false
	}
	return a, true
}

// oauthToken implements POST /oauth2/token (authorization_code with PKCE S256, refresh_token).
func (s *Sim) oauthToken(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/x-www-form-urlencoded") {
		oauthErr(w, 400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
		return
	}
	if err := r.ParseForm(); err != nil {
		oauthErr(w, 400, "invalid_request", "bad form body")
		return
	}
	a, ok := s.clientAuth(r)
	if !ok {
		oauthErr(w, 401, "invalid_client", "Invalid client")
		return
	}
	now := time.Now()
	var tok *oauthToken
	switch r.PostForm.Get("grant_type") {
	case "authorization_code":
		s.oauth.mu.Lock()
		c := s.oauth.codes[r.PostForm.Get("code")]
		delete(s.oauth.codes, r.PostForm.Get("code"))
		s.oauth.mu.Unlock()
		if c == nil || c.appID != a.ID || now.After(c.expires) {
			oauthErr(w, 400, "invalid_grant", "Invalid \"code\" in request.")
			return
		}
		if c.redirectURI != "" && r.PostForm.Get("redirect_uri") != c.redirectURI {
			oauthErr(w, 400, "invalid_grant", "Invalid \"redirect_uri\" in request.")
			return
		}
		if c.challenge != "" {
			v := r.PostForm.Get("code_verifier")
			sum := sha256.Sum256([]byte(v))
			if v == "" || base64.RawURLEncoding.EncodeToString(sum[:]) != c.challenge {
				oauthErr(w, 400, "invalid_grant", "Invalid \"code_verifier\" in request.")
				return
			}
		}
		tok = &oauthToken{appID: a.ID, userID: c.userID, scopes: c.scopes}
	case "refresh_token":
		s.oauth.mu.Lock()
		old := s.oauth.refresh[r.PostForm.Get("refresh_token")]
		if old != nil && old.appID == a.ID && !old.revoked {
			old.revoked = true
			delete(s.oauth.refresh, old.refresh)
		} else {
			old = nil
		}
		s.oauth.mu.Unlock()
		if old == nil {
			oauthErr(w, 400, "invalid_grant", "Invalid \"refresh_token\" in request.")
			return
		}
		tok = &oauthToken{appID: a.ID, userID: old.userID, scopes: old.scopes}
	default:
		oauthErr(w, 400, "unsupported_grant_type", "Unsupported grant type")
		return
	}
	tok.access = randToken("")[:30]
	tok.refresh = randToken("")[:30]
	tok.expires = now.Add(7 * 24 * time.Hour)
	s.oauth.mu.Lock()
	s.oauth.access[tok.access] = tok
	s.oauth.refresh[tok.refresh] = tok
	s.oauth.mu.Unlock()
	writeJSON(w, 200, map[string]any{"access_token": tok.access, "token_type": "Bearer", "expires_in": 604800,
		"refresh_token": tok.refresh, "scope": strings.Join(tok.scopes, " ")})
}

// oauthRevoke implements POST /oauth2/token/revoke.
func (s *Sim) oauthRevoke(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthErr(w, 400, "invalid_request", "bad form body")
		return
	}
	a, ok := s.clientAuth(r)
	if !ok {
		oauthErr(w, 401, "invalid_client", "Invalid client")
		return
	}
	t := r.PostForm.Get("token")
	s.oauth.mu.Lock()
	for _, m := range []map[string]*oauthToken{s.oauth.access, s.oauth.refresh} {
		if tok := m[t]; tok != nil && tok.appID == a.ID {
			tok.revoked = true
			delete(s.oauth.access, tok.access)
			delete(s.oauth.refresh, tok.refresh)
		}
	}
	s.oauth.mu.Unlock()
	writeJSON(w, 200, map[string]any{})
}

func (s *Sim) getOAuthMe(w http.ResponseWriter, r *http.Request, rc *reqCtx) *APIError {
	if rc.bearer == nil {
		return errUnauthorized
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.apps[rc.bearer.appID]
	out := map[string]any{"application": map[string]any{"id": a.ID, "name": a.Name}, "scopes": rc.bearer.scopes,
		"expires": rc.bearer.expires.UTC().Format(time.RFC3339)}
	if rc.bearer.has("identify") {
		out["user"] = userJSON(s.users[rc.bearer.userID])
	}
	writeJSON(w, 200, out)
	return nil
}
