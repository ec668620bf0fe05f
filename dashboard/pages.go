package dashboard

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"strconv"
	"time"

	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/economy"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// faviconHandler answers browsers that ask for /favicon.ico with the icon.
func faviconHandler(w http.ResponseWriter, r *http.Request) {
	b, _ := staticFiles.ReadFile("static/icon.svg")
	w.Header().Set("Content-Type", "image/svg+xml")
	w.Header().Set("Cache-Control", "public, max-age=86400")
	_, _ = w.Write(b)
}

// staticHandler serves the embedded CSS, JavaScript and icon.
func staticHandler() http.Handler {
	sub, _ := fs.Sub(staticFiles, "static")
	fsrv := http.StripPrefix("/static/", http.FileServerFS(sub))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "public, max-age=3600")
		fsrv.ServeHTTP(w, r)
	})
}

type pages struct{ t map[string]*template.Template }

var pageNames = []string{"home.html", "login.html", "leaderboard.html", "transactions.html", "cluster.html",
	"agents.html", "economy.html", "audit.html", "error.html", "events.html"}

func loadPages() (*pages, error) {
	funcs := template.FuncMap{
		"credits": formatCredits,
		"signed": func(v int64) string {
			if v > 0 {
				return "+" + formatCredits(v)
			}
			return formatCredits(v)
		},
		"when": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") },
		"add":  func(a, b int) int { return a + b },
		"id":   func(v int64) string { return strconv.FormatInt(v, 10) },
	}
	p := &pages{t: map[string]*template.Template{}}
	for _, name := range pageNames {
		t, err := template.New("layout.html").Funcs(funcs).ParseFS(templateFiles, "templates/layout.html", "templates/"+name)
		if err != nil {
			return nil, fmt.Errorf("dashboard: templates: %w", err)
		}
		p.t[name] = t
	}
	return p, nil
}

// formatCredits writes v with thousands separators.
func formatCredits(v int64) string {
	s := strconv.FormatInt(v, 10)
	neg := s[0] == '-'
	if neg {
		s = s[1:]
	}
	var b []byte
	for i := range len(s) {
		if i > 0 && (len(s)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, s[i])
	}
	if neg {
		return "-" + string(b)
	}
	return string(b)
}

// view is what every page template gets.
type view struct {
	Title   string
	Active  string
	Session *Session
	Admin   bool
	Status  int
	Message string
	Data    any
}

func (s *Server) render(w http.ResponseWriter, r *http.Request, status int, name string, v view) {
	if v.Session == nil {
		if sess, err := s.session(r.Context(), r); err == nil {
			v.Session = sess
		}
	}
	if v.Session != nil {
		v.Admin = s.admins[v.Session.UserID]
	}
	var buf bytes.Buffer
	if err := s.pages.t[name].Execute(&buf, v); err != nil {
		s.log.Error("dashboard: rendering", "page", name, "err", err)
		writeError(w, http.StatusInternalServerError, "internal", "The page could not be rendered.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, _ = buf.WriteTo(w)
}

func (s *Server) renderError(w http.ResponseWriter, r *http.Request, status int, msg string) {
	if isAPI(r) {
		code := map[int]string{400: "bad_request", 401: "unauthenticated", 403: "forbidden", 404: "not_found",
			429: "rate_limited", 502: "bad_gateway", 503: "unavailable"}[status]
		if code == "" {
			code = "error"
		}
		writeError(w, status, code, msg)
		return
	}
	s.render(w, r, status, "error.html", view{Title: http.StatusText(status), Status: status, Message: msg})
}

// pageErr renders err: a client error as its status, others as 503.
func (s *Server) pageErr(w http.ResponseWriter, r *http.Request, err error) {
	var bad *errBadRequest
	if errors.As(domainErr(err), &bad) {
		s.renderError(w, r, bad.status, bad.message)
		return
	}
	s.log.Error("dashboard: page failed", "path", r.URL.Path, "err", err)
	s.renderError(w, r, http.StatusServiceUnavailable, "That cannot be shown right now; try again shortly.")
}

// homeData is the profile page.
type homeData struct {
	Account    AccountView
	Inventory  PageView[StackView]
	Collection CollectionView
	Vault      []economy.VaultEntry
	Companions []CompanionView
}

func (s *Server) pageHome(w http.ResponseWriter, r *http.Request) {
	sess, err := s.session(r.Context(), r)
	if errors.Is(err, errNoSession) {
		s.render(w, r, http.StatusOK, "login.html", view{Title: "Log in"})
		return
	}
	if err != nil {
		s.log.Error("dashboard: session", "err", err)
		s.unavailable(w, r)
		return
	}
	ctx := r.Context()
	var d homeData
	a, err := s.deps.Economy.Balance(ctx, sess.UserID)
	if err != nil {
		s.pageErr(w, r, err)
		return
	}
	d.Account = accountView(a)
	if d.Inventory, err = s.inventory(r, sess.UserID); err != nil {
		s.pageErr(w, r, err)
		return
	}
	c, err := s.deps.Economy.Collection(ctx, sess.UserID, "")
	if err != nil {
		s.pageErr(w, r, err)
		return
	}
	d.Collection = collectionView(c)
	if d.Vault, err = s.deps.Economy.Vault(ctx, sess.UserID); err != nil {
		s.pageErr(w, r, err)
		return
	}
	if d.Companions, err = s.companions(ctx, sess.UserID); err != nil {
		s.pageErr(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "home.html", view{Title: "Profile", Active: "home", Session: sess, Data: d})
}

type leaderboardData struct {
	Rows      []RankView
	Available bool
	You       string
}

func (s *Server) pageLeaderboard(w http.ResponseWriter, r *http.Request, sess *Session) {
	rows, err := s.leaderboard(r)
	d := leaderboardData{Rows: rows, Available: !errors.Is(err, errNotAvailable), You: strconv.FormatInt(sess.UserID, 10)}
	if err != nil && d.Available {
		s.pageErr(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "leaderboard.html", view{Title: "Leaderboard", Active: "leaderboard", Session: sess, Data: d})
}

type transactionsData struct {
	Log        PageView[LogView]
	Prev, Next int
}

func (s *Server) pageTransactions(w http.ResponseWriter, r *http.Request, sess *Session) {
	p, err := s.transactions(r, sess.UserID)
	if err != nil {
		s.pageErr(w, r, err)
		return
	}
	d := transactionsData{Log: p, Prev: p.Page - 1, Next: p.Page + 1}
	if d.Next >= p.Pages {
		d.Next = -1
	}
	s.render(w, r, http.StatusOK, "transactions.html", view{Title: "Transactions", Active: "transactions", Session: sess, Data: d})
}

type clusterData struct {
	Available bool
	Status    coordinator.Status
	Shards    int
	Agents    int
	Running   int
}

func (s *Server) pageCluster(w http.ResponseWriter, r *http.Request, sess *Session) {
	d := clusterData{Available: s.deps.Cluster != nil}
	if d.Available {
		st, err := s.deps.Cluster.Status(r.Context())
		if err != nil {
			s.pageErr(w, r, err)
			return
		}
		d.Status = st
		for _, u := range st.Units {
			if u.Kind == coordinator.KindShard {
				d.Shards++
			} else {
				d.Agents++
			}
			if u.State == "running" {
				d.Running++
			}
		}
	}
	s.render(w, r, http.StatusOK, "cluster.html", view{Title: "Cluster", Active: "cluster", Session: sess, Data: d})
}

type agentsData struct {
	Available bool
	Agents    []AgentView
}

func (s *Server) pageAgents(w http.ResponseWriter, r *http.Request, sess *Session) {
	list, err := s.agents(r)
	d := agentsData{Available: !errors.Is(err, errNotAvailable), Agents: list}
	if err != nil && d.Available {
		s.pageErr(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "agents.html", view{Title: "Agents", Active: "agents", Session: sess, Data: d})
}

func (s *Server) pageEconomy(w http.ResponseWriter, r *http.Request, sess *Session) {
	s.render(w, r, http.StatusOK, "economy.html", view{Title: "Economy", Active: "economy", Session: sess,
		Data: map[string]any{"Available": s.deps.Ledger != nil, "Max": int64(MaxAdjustCredits)}})
}

type auditData struct {
	Entries []AuditEntry
	Older   int64
}

func (s *Server) pageAudit(w http.ResponseWriter, r *http.Request, sess *Session) {
	entries, err := s.auditPage(r)
	if err != nil {
		s.pageErr(w, r, err)
		return
	}
	d := auditData{Entries: entries}
	if n := len(entries); n > 0 && entries[n-1].ID > 1 {
		d.Older = entries[n-1].ID
	}
	s.render(w, r, http.StatusOK, "audit.html", view{Title: "Audit log", Active: "audit", Session: sess, Data: d})
}
