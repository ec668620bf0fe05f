package dashboard

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis keys. Session and OAuth-state IDs are random 256-bit values; only
// their HMAC-signed form leaves the server (in cookies).
const (
	sessionPrefix = "chopsticks:dashboard:session:"
	statePrefix   = "chopsticks:dashboard:oauth:"
	stateTTL      = 10 * time.Minute
)

// Session is a logged-in user's session, kept in Redis.
type Session struct {
	UserID   int64     `json:"user_id"`
	Username string    `json:"username"`
	Guilds   int       `json:"guilds"`
	CSRF     string    `json:"csrf"`
	Created  time.Time `json:"created"`

	id string // Redis key suffix; never serialised
}

// oauthState is a login in progress: bound to the browser by a signed
// cookie and to Discord's callback by state.
type oauthState struct {
	Verifier string `json:"verifier"`
	Next     string `json:"next"`
}

func randomID() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+)
	return base64.RawURLEncoding.EncodeToString(b)
}

func (s *Server) sessionCookieName() string {
	if s.cfg.CookieSecure {
		return "__Host-chopsticks_session"
	}
	return "chopsticks_session"
}

func (s *Server) stateCookieName() string {
	if s.cfg.CookieSecure {
		return "__Host-chopsticks_login"
	}
	return "chopsticks_login"
}

// sign returns value.MAC with an HMAC-SHA256 under the session secret; the
// purpose keeps a login cookie from being used as a session cookie.
func (s *Server) sign(purpose, value string) string {
	m := hmac.New(sha256.New, s.cfg.SessionSecret)
	m.Write([]byte(purpose + "\x00" + value))
	return value + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// verify returns the value of a signed cookie, or false.
func (s *Server) verify(purpose, signed string) (string, bool) {
	value, _, ok := strings.Cut(signed, ".")
	if !ok || len(value) != 43 {
		return "", false
	}
	if subtle.ConstantTimeCompare([]byte(s.sign(purpose, value)), []byte(signed)) != 1 {
		return "", false
	}
	return value, true
}

func (s *Server) setCookie(w http.ResponseWriter, name, value string, maxAge time.Duration) {
	c := &http.Cookie{Name: name, Value: value, Path: "/", HttpOnly: true, Secure: s.cfg.CookieSecure,
		SameSite: http.SameSiteLaxMode}
	if maxAge > 0 {
		c.MaxAge = int(maxAge / time.Second)
	} else {
		c.MaxAge = -1
	}
	http.SetCookie(w, c)
}

// errNoSession means the request carries no valid session.
var errNoSession = errors.New("no session")

// session returns the request's session: errNoSession when there is none
// (no cookie, bad signature, expired), another error when Redis fails.
func (s *Server) session(ctx context.Context, r *http.Request) (*Session, error) {
	c, err := r.Cookie(s.sessionCookieName())
	if err != nil {
		return nil, errNoSession
	}
	id, ok := s.verify("session", c.Value)
	if !ok {
		return nil, errNoSession
	}
	b, err := s.deps.Redis.Get(ctx, sessionPrefix+id).Bytes()
	if errors.Is(err, redis.Nil) {
		return nil, errNoSession
	}
	if err != nil {
		return nil, fmt.Errorf("dashboard: reading session: %w", err)
	}
	var sess Session
	if err := json.Unmarshal(b, &sess); err != nil || sess.UserID <= 0 || sess.CSRF == "" {
		return nil, errNoSession
	}
	sess.id = id
	return &sess, nil
}

// startSession stores a new session for user under a fresh ID, deleting
// the request's previous session (rotation on login), and sets its cookie.
func (s *Server) startSession(ctx context.Context, w http.ResponseWriter, r *http.Request, sess Session) error {
	if old, err := s.session(ctx, r); err == nil {
		if err := s.deps.Redis.Del(ctx, sessionPrefix+old.id).Err(); err != nil {
			return fmt.Errorf("dashboard: rotating session: %w", err)
		}
	}
	sess.id, sess.CSRF, sess.Created = randomID(), randomID(), s.deps.Now()
	b, err := json.Marshal(sess)
	if err != nil {
		return err
	}
	if err := s.deps.Redis.Set(ctx, sessionPrefix+sess.id, b, s.cfg.SessionTTL).Err(); err != nil {
		return fmt.Errorf("dashboard: storing session: %w", err)
	}
	s.setCookie(w, s.sessionCookieName(), s.sign("session", sess.id), s.cfg.SessionTTL)
	return nil
}

// endSession deletes sess from Redis and expires its cookie.
func (s *Server) endSession(ctx context.Context, w http.ResponseWriter, sess *Session) error {
	s.setCookie(w, s.sessionCookieName(), "", 0)
	if err := s.deps.Redis.Del(ctx, sessionPrefix+sess.id).Err(); err != nil {
		return fmt.Errorf("dashboard: deleting session: %w", err)
	}
	return nil
}

// validCSRF reports whether the request carries sess's CSRF token, in the
// X-CSRF-Token header (the JavaScript) or the csrf_token form field (plain
// forms, such as the log-out button).
func validCSRF(r *http.Request, sess *Session) bool {
	tok := r.Header.Get("X-CSRF-Token")
	if tok == "" && strings.HasPrefix(r.Header.Get("Content-Type"), "application/x-www-form-urlencoded") {
		tok = r.PostFormValue("csrf_token")
	}
	return tok != "" && subtle.ConstantTimeCompare([]byte(tok), []byte(sess.CSRF)) == 1
}
