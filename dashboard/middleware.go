package dashboard

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/chopsticks-bot/chopsticks/ratelimit"
)

// contentSecurityPolicy allows scripts, styles, images and fetches only from
// the dashboard itself: no inline script or style, no plugins, no framing.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
	"font-src 'self'; connect-src 'self'; manifest-src 'self'; form-action 'self'; frame-ancestors 'none'; " +
	"base-uri 'none'; object-src 'none'"

// secure sets the security headers on every response (as Helmet does) and
// turns a panic into a 500.
func (s *Server) secure(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		// same-origin, not no-referrer: with no-referrer browsers send
		// "Origin: null" on form posts, which the origin check refuses.
		h.Set("Referrer-Policy", "same-origin")
		h.Set("Cross-Origin-Opener-Policy", "same-origin")
		h.Set("Cross-Origin-Resource-Policy", "same-origin")
		h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
		h.Set("X-DNS-Prefetch-Control", "off")
		h.Set("X-Permitted-Cross-Domain-Policies", "none")
		if s.cfg.CookieSecure {
			h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
		}
		if !strings.HasPrefix(r.URL.Path, "/static/") {
			h.Set("Cache-Control", "no-store")
		}
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("dashboard: panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v))
				writeError(w, http.StatusInternalServerError, "internal", "Something went wrong.")
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// cors answers cross-origin requests: configured origins get credentialed
// CORS headers; other foreign origins get none, their preflights and their
// state-changing requests are refused with 403.
func (s *Server) cors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		origin := r.Header.Get("Origin")
		w.Header().Add("Vary", "Origin")
		if origin == "" || origin == s.self {
			next.ServeHTTP(w, r)
			return
		}
		allowed := s.origins[origin]
		if !allowed {
			if r.Method != http.MethodGet && r.Method != http.MethodHead {
				writeError(w, http.StatusForbidden, "origin_refused", "Cross-origin requests from this origin are not allowed.")
				return
			}
			next.ServeHTTP(w, r)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", origin)
		h.Set("Access-Control-Allow-Credentials", "true")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "GET, POST, DELETE")
			h.Set("Access-Control-Allow-Headers", "Content-Type, X-CSRF-Token")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// rateLimit applies the per-IP request limit to everything but the static
// files (cacheable, served from memory).
func (s *Server) rateLimit(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.URL.Path, "/static/") {
			next.ServeHTTP(w, r)
			return
		}
		d, err := s.deps.Limiter.AllowHTTP(r.Context(), s.clientIP(r))
		if err != nil {
			s.log.Error("dashboard: rate limiter", "err", err)
			writeError(w, http.StatusServiceUnavailable, "unavailable", "The dashboard cannot serve you right now; try again shortly.")
			return
		}
		if !d.Allowed {
			tooMany(w, d.RetryAfter)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func tooMany(w http.ResponseWriter, after time.Duration) {
	secs := max(1, int((after+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, "rate_limited", fmt.Sprintf("Too many requests; try again in %d s.", secs))
}

// limitBody refuses bodies over MaxBodyBytes: at once when Content-Length
// says so, else when reading passes the limit.
func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > s.cfg.MaxBodyBytes {
			writeError(w, http.StatusRequestEntityTooLarge, "too_large",
				fmt.Sprintf("The request body is over %d bytes.", s.cfg.MaxBodyBytes))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

var gzipPool = sync.Pool{New: func() any { w, _ := gzip.NewWriterLevel(io.Discard, gzip.DefaultCompression); return w }}

// compress gzips responses for clients that accept it.
func compress(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Add("Vary", "Accept-Encoding")
		if !acceptsGzip(r) || r.Method == http.MethodHead || r.Header.Get("Range") != "" {
			next.ServeHTTP(w, r)
			return
		}
		gw := &gzipWriter{ResponseWriter: w}
		defer gw.close()
		next.ServeHTTP(gw, r)
	})
}

func acceptsGzip(r *http.Request) bool {
	for _, part := range strings.Split(r.Header.Get("Accept-Encoding"), ",") {
		enc, q, _ := strings.Cut(strings.TrimSpace(part), ";")
		if strings.TrimSpace(enc) == "gzip" && strings.ReplaceAll(q, " ", "") != "q=0" {
			return true
		}
	}
	return false
}

type gzipWriter struct {
	http.ResponseWriter
	gz      *gzip.Writer
	decided bool
}

func (g *gzipWriter) WriteHeader(code int) {
	if !g.decided {
		g.decided = true
		h := g.Header()
		if code != http.StatusNoContent && code != http.StatusNotModified && code >= 200 &&
			code != http.StatusPartialContent && h.Get("Content-Encoding") == "" {
			h.Del("Content-Length")
			h.Set("Content-Encoding", "gzip")
			g.gz = gzipPool.Get().(*gzip.Writer)
			g.gz.Reset(g.ResponseWriter)
		}
	}
	g.ResponseWriter.WriteHeader(code)
}

func (g *gzipWriter) Write(b []byte) (int, error) {
	if !g.decided {
		g.WriteHeader(http.StatusOK)
	}
	if g.gz != nil {
		return g.gz.Write(b)
	}
	return g.ResponseWriter.Write(b)
}

func (g *gzipWriter) close() {
	if g.gz != nil {
		_ = g.gz.Close()
		gzipPool.Put(g.gz)
		g.gz = nil
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (g *gzipWriter) Unwrap() http.ResponseWriter { return g.ResponseWriter }

// apiError is the body of every 4xx/5xx JSON answer.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, status int, code, msg string) {
	var e apiError
	e.Error.Code, e.Error.Message = code, msg
	writeJSON(w, status, e)
}

// errBadRequest is a client error with an HTTP status, code and message.
type errBadRequest struct {
	status        int
	code, message string
}

func (e *errBadRequest) Error() string { return e.message }

func badRequest(code, msg string) error {
	return &errBadRequest{status: http.StatusBadRequest, code: code, message: msg}
}

// decodeJSON reads one JSON object into v: Content-Type application/json,
// no unknown fields, nothing after the object, within the body limit.
func decodeJSON(r *http.Request, v any) error {
	ct := r.Header.Get("Content-Type")
	if ct != "application/json" && !strings.HasPrefix(ct, "application/json;") {
		return &errBadRequest{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
			message: "Send the body as application/json."}
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var tooBig *http.MaxBytesError
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &tooBig):
			return &errBadRequest{status: http.StatusRequestEntityTooLarge, code: "too_large",
				message: fmt.Sprintf("The request body is over %d bytes.", tooBig.Limit)}
		case errors.As(err, &syntax), errors.Is(err, io.ErrUnexpectedEOF):
			return badRequest("bad_json", "The body is not valid JSON.")
		case errors.As(err, &typ):
			return badRequest("bad_json", fmt.Sprintf("The field %q has the wrong type.", typ.Field))
		case errors.Is(err, io.EOF):
			return badRequest("bad_json", "The body is empty; send a JSON object.")
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return badRequest("bad_json", "Unknown field "+strings.TrimPrefix(err.Error(), "json: unknown field ")+".")
		default:
			return badRequest("bad_json", "The body is not a valid JSON object.")
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			return &errBadRequest{status: http.StatusRequestEntityTooLarge, code: "too_large",
				message: fmt.Sprintf("The request body is over %d bytes.", tooBig.Limit)}
		}
		return badRequest("bad_json", "Send exactly one JSON object.")
	}
	return nil
}

type ctxKey struct{}

func withSession(r *http.Request, sess *Session) *http.Request {
	return r.WithContext(context.WithValue(r.Context(), ctxKey{}, sess))
}

func isAPI(r *http.Request) bool { return strings.HasPrefix(r.URL.Path, "/api/") }

// loadSession returns the session or answers the request (401 or a
// redirect to log in, 503 when Redis fails) and returns nil.
func (s *Server) loadSession(w http.ResponseWriter, r *http.Request) *Session {
	sess, err := s.session(r.Context(), r)
	switch {
	case err == nil:
		return sess
	case errors.Is(err, errNoSession):
		if isAPI(r) || r.Method != http.MethodGet {
			writeError(w, http.StatusUnauthorized, "unauthenticated", "Log in with Discord first.")
		} else {
			http.Redirect(w, r, "/auth/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusFound)
		}
	default:
		s.log.Error("dashboard: session", "err", err)
		s.unavailable(w, r)
	}
	return nil
}

func (s *Server) unavailable(w http.ResponseWriter, r *http.Request) {
	if isAPI(r) {
		writeError(w, http.StatusServiceUnavailable, "unavailable", "Try again shortly.")
		return
	}
	s.renderError(w, r, http.StatusServiceUnavailable, "The dashboard cannot answer right now; try again shortly.")
}

type sessionHandler func(w http.ResponseWriter, r *http.Request, sess *Session)

// user serves h to logged-in users.
func (s *Server) user(h sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if sess := s.loadSession(w, r); sess != nil {
			h(w, withSession(r, sess), sess)
		}
	})
}

// mutating serves h to logged-in users whose request carries the CSRF token.
func (s *Server) mutating(h sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess := s.loadSession(w, r)
		if sess == nil {
			return
		}
		if !validCSRF(r, sess) {
			if _, err := s.deps.Limiter.FailSensitive(r.Context(), ActionLogin, uint64(sess.UserID), s.clientIP(r)); err != nil {
				s.log.Error("dashboard: counting a bad CSRF token", "err", err)
			}
			writeError(w, http.StatusForbidden, "csrf", "The request is missing its CSRF token or the token is wrong; reload the page.")
			return
		}
		h(w, withSession(r, sess), sess)
	})
}

// refuseAdmin answers a refused admin attempt and writes it to the audit log.
func (s *Server) refuseAdmin(w http.ResponseWriter, r *http.Request, sess *Session, action string, status int, code, msg string) {
	s.met.adminRefused.WithLabelValues(code).Inc()
	e := AuditEntry{Action: action, Target: r.Method + " " + r.URL.Path, Outcome: OutcomeRefused, Detail: code,
		IP: s.clientIP(r), UserAgent: r.UserAgent()}
	if sess != nil {
		e.ActorID, e.ActorName = sess.UserID, sess.Username
	}
	if err := s.audit.record(r.Context(), e); err != nil {
		s.log.Error("dashboard: audit of a refused admin attempt", "err", err, "action", action)
	}
	if isAPI(r) || r.Method != http.MethodGet {
		writeError(w, status, code, msg)
		return
	}
	if status == http.StatusUnauthorized {
		http.Redirect(w, r, "/auth/login?next="+urlQueryEscape(r.URL.RequestURI()), http.StatusFound)
		return
	}
	s.renderError(w, r, status, msg)
}

// admin serves the read-only admin view h to admins; other attempts are
// refused and audited.
func (s *Server) admin(action string, h sessionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r.Context(), r)
		if err != nil && !errors.Is(err, errNoSession) {
			s.log.Error("dashboard: session", "err", err)
			s.unavailable(w, r)
			return
		}
		if sess == nil {
			s.refuseAdmin(w, r, nil, action, http.StatusUnauthorized, "unauthenticated", "Log in with Discord first.")
			return
		}
		if !s.admins[sess.UserID] {
			s.refuseAdmin(w, r, sess, action, http.StatusForbidden, "forbidden", "This page is for dashboard admins.")
			return
		}
		h(w, withSession(r, sess), sess)
	})
}

// auditNote is what an admin action reports for the audit log. Replayed
// marks an answer repeated from an earlier success of the same op.
type auditNote struct {
	Target   string
	Detail   string
	Replayed bool
}

// actionHandler performs an admin action. It returns the status and body of
// the answer, and what to audit; err is a client error (errBadRequest) or a
// failure.
type actionHandler func(r *http.Request, sess *Session) (status int, body any, note auditNote, err error)

// adminAction serves a state-changing admin action: a running failure
// block of the admin or IP, session, CSRF token, admin, and the ordinary
// admin rate, in that order. Every refusal and every outcome goes to the
// audit log; refusals the caller could have avoided (not logged in, bad
// CSRF token, not an admin, a rejected request) count as sensitive
// failures, and the failure that uses up the allowance blocks the admin
// and IP from admin actions (1 h by default). Successes count only toward
// the ordinary rate, which never blocks.
func (s *Server) adminAction(action string, h actionHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sess, err := s.session(r.Context(), r)
		if err != nil && !errors.Is(err, errNoSession) {
			s.log.Error("dashboard: session", "err", err)
			s.unavailable(w, r)
			return
		}
		ip := s.clientIP(r)
		var uid uint64
		if sess != nil {
			uid = uint64(sess.UserID)
		}
		d, err := s.deps.Limiter.SensitiveBlocked(r.Context(), ActionAdmin, uid, ip)
		if err != nil {
			s.log.Error("dashboard: sensitive-action limiter", "err", err)
			s.refuseAdmin(w, r, sess, action, http.StatusServiceUnavailable, "unavailable", "Admin actions are unavailable right now; try again shortly.")
			return
		}
		if !d.Allowed && d.Rule == ratelimit.RuleUnavailable {
			s.refuseAdmin(w, r, sess, action, http.StatusServiceUnavailable, "unavailable", "Admin actions are unavailable right now; try again shortly.")
			return
		}
		if !d.Allowed {
			s.refuseAdminLimited(w, r, sess, action, "blocked", d.RetryAfter,
				"Admin actions are blocked after too many refused attempts")
			return
		}
		if sess == nil {
			s.adminFailure(r.Context(), 0, ip)
			s.refuseAdmin(w, r, nil, action, http.StatusUnauthorized, "unauthenticated", "Log in with Discord first.")
			return
		}
		if !validCSRF(r, sess) {
			s.adminFailure(r.Context(), uid, ip)
			s.refuseAdmin(w, r, sess, action, http.StatusForbidden, "csrf", "The request is missing its CSRF token or the token is wrong; reload the page.")
			return
		}
		if !s.admins[sess.UserID] {
			s.adminFailure(r.Context(), uid, ip)
			s.refuseAdmin(w, r, sess, action, http.StatusForbidden, "forbidden", "This action is for dashboard admins.")
			return
		}
		if d, err = s.deps.Limiter.AllowAdmin(r.Context(), uid); err != nil {
			s.log.Error("dashboard: admin rate limiter", "err", err)
			s.refuseAdmin(w, r, sess, action, http.StatusServiceUnavailable, "unavailable", "Admin actions are unavailable right now; try again shortly.")
			return
		}
		if !d.Allowed {
			s.refuseAdminLimited(w, r, sess, action, "rate_limited", d.RetryAfter, s.adminRateText)
			return
		}
		r = withSession(r, sess)
		status, body, note, err := h(r, sess)
		e := AuditEntry{ActorID: sess.UserID, ActorName: sess.Username, Action: action, Target: note.Target,
			Detail: note.Detail, Outcome: OutcomeOK, IP: ip, UserAgent: r.UserAgent()}
		if note.Replayed {
			e.Outcome = OutcomeReplayed
		}
		var bad *errBadRequest
		switch {
		case errors.As(err, &bad):
			e.Outcome, e.Detail = OutcomeRefused, strings.TrimSpace(note.Detail+" "+bad.code+": "+bad.message)
		case err != nil:
			e.Outcome, e.Detail = OutcomeFailed, strings.TrimSpace(note.Detail+" error")
		}
		if aerr := s.audit.record(r.Context(), e); aerr != nil {
			// The action happened (or failed) already; say so loudly.
			s.log.Error("dashboard: AUDIT WRITE FAILED for an admin action", "err", aerr, "action", action,
				"actor", sess.UserID, "outcome", e.Outcome)
		}
		switch {
		case bad != nil:
			if bad.status < 500 && bad.code != codeOpInProgress {
				s.adminFailure(r.Context(), uid, ip)
			}
			writeError(w, bad.status, bad.code, bad.message)
		case err != nil:
			s.log.Error("dashboard: admin action", "action", action, "err", err)
			writeError(w, http.StatusInternalServerError, "internal", "The action failed; nothing was changed if it could not complete. Try again shortly.")
		default:
			writeJSON(w, status, body)
		}
	})
}

// adminFailure counts a refused admin attempt against the admin (when
// known) and the IP.
func (s *Server) adminFailure(ctx context.Context, uid uint64, ip string) {
	if _, err := s.deps.Limiter.FailSensitive(ctx, ActionAdmin, uid, ip); err != nil {
		s.log.Error("dashboard: counting a refused admin attempt", "err", err)
	}
}

func (s *Server) refuseAdminLimited(w http.ResponseWriter, r *http.Request, sess *Session, action, code string, after time.Duration, why string) {
	s.met.adminRefused.WithLabelValues(code).Inc()
	e := AuditEntry{Action: action, Target: r.Method + " " + r.URL.Path,
		Outcome: OutcomeRefused, Detail: code, IP: s.clientIP(r), UserAgent: r.UserAgent()}
	if sess != nil {
		e.ActorID, e.ActorName = sess.UserID, sess.Username
	}
	if err := s.audit.record(r.Context(), e); err != nil {
		s.log.Error("dashboard: audit of a refused admin attempt", "err", err, "action", action)
	}
	secs := max(1, int((after+time.Second-1)/time.Second))
	w.Header().Set("Retry-After", strconv.Itoa(secs))
	writeError(w, http.StatusTooManyRequests, code, fmt.Sprintf("%s; try again in %s.", why, waitText(secs)))
}
