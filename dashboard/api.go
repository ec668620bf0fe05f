package dashboard

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/refusal"
)

// parseID parses a Discord snowflake or a database ID given as a decimal
// string: digits only, positive, within int64.
func parseID(s string) (int64, bool) {
	if s == "" || len(s) > 20 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil && v > 0
}

// intParam reads an optional integer query parameter within [lo, hi].
func intParam(r *http.Request, name string, def, lo, hi int) (int, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return 0, badRequest("bad_"+name, fmt.Sprintf("%s must be a whole number from %d to %d.", name, lo, hi))
	}
	return n, nil
}

// subject is the user whose data a request reads: the session's user, or
// the user_id parameter, which only admins may set to someone else.
func (s *Server) subject(r *http.Request, sess *Session) (int64, error) {
	v := r.URL.Query().Get("user_id")
	if v == "" {
		return sess.UserID, nil
	}
	id, ok := parseID(v)
	if !ok {
		return 0, badRequest("bad_user_id", "user_id must be a Discord user ID (digits only).")
	}
	if id != sess.UserID && !s.admins[sess.UserID] {
		return 0, &errBadRequest{status: http.StatusForbidden, code: "wrong_user", message: "You can only see your own account."}
	}
	return id, nil
}

// badInput are the refusals of a malformed request (400); every other
// refusal is a conflict with the account's state (409).
var badInput = []error{economy.ErrBadPage, economy.ErrBadUser, economy.ErrBadAmount, economy.ErrBadQuantity,
	economy.ErrUnknownItem, economy.ErrNonPositive, economy.ErrBadOperation, economy.ErrOverflow}

// domainErr turns a refusal into a 4xx; other errors stay failures.
func domainErr(err error) error {
	rej, ok := refusal.As(err)
	if !ok {
		return err
	}
	status := http.StatusConflict
	for _, b := range badInput {
		if errors.Is(rej, b) {
			status = http.StatusBadRequest
		}
	}
	return &errBadRequest{status: status, code: rej.Code, message: rej.Message}
}

// answer writes v, or the error: a client error as its 4xx, anything else
// as 503 (the storage is unreachable or failing).
func (s *Server) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	var bad *errBadRequest
	switch {
	case err == nil:
		writeJSON(w, http.StatusOK, v)
	case errors.As(domainErr(err), &bad):
		writeError(w, bad.status, bad.code, bad.message)
	default:
		s.log.Error("dashboard: request failed", "path", r.URL.Path, "err", err)
		writeError(w, http.StatusServiceUnavailable, "unavailable", "That cannot be read right now; try again shortly.")
	}
}

// AccountView is an account as the API shows it (IDs as strings: they do
// not fit a JavaScript number).
type AccountView struct {
	UserID       string `json:"user_id"`
	Wallet       int64  `json:"wallet"`
	Bank         int64  `json:"bank"`
	BankCapacity int64  `json:"bank_capacity"`
	NetWorth     int64  `json:"net_worth"`
	Streak       int    `json:"streak"`
	// Premium is set while premium perks apply (BankCapacity includes them).
	Premium bool `json:"premium"`
}

func accountView(a economy.Account) AccountView {
	return AccountView{UserID: strconv.FormatInt(a.UserID, 10), Wallet: a.Wallet, Bank: a.Bank,
		BankCapacity: a.BankCapacity, NetWorth: a.NetWorth(), Streak: a.Streak, Premium: a.Premium}
}

func (s *Server) apiMe(w http.ResponseWriter, r *http.Request, sess *Session) {
	a, err := s.deps.Economy.Balance(r.Context(), sess.UserID)
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	s.answer(w, r, map[string]any{
		"user_id": strconv.FormatInt(sess.UserID, 10), "username": sess.Username, "guilds": sess.Guilds,
		"admin": s.admins[sess.UserID], "account": accountView(a),
	}, nil)
}

func (s *Server) apiBalance(w http.ResponseWriter, r *http.Request, sess *Session) {
	id, err := s.subject(r, sess)
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	a, err := s.deps.Economy.Balance(r.Context(), id)
	s.answer(w, r, accountView(a), err)
}

// PageView is one page of a listing, pages counted from 0.
type PageView[T any] struct {
	Rows  []T `json:"rows"`
	Page  int `json:"page"`
	Pages int `json:"pages"`
	Total int `json:"total"`
}

// StackView is one kind of item in an inventory.
type StackView struct {
	Item       string `json:"item"`
	Name       string `json:"name"`
	Type       string `json:"type"`
	Rarity     string `json:"rarity"`
	Count      int    `json:"count"`
	Vaulted    int    `json:"vaulted"`
	Durability int    `json:"durability"`
}

func (s *Server) inventory(r *http.Request, user int64) (PageView[StackView], error) {
	page, err := intParam(r, "page", 0, 0, 100000)
	if err != nil {
		return PageView[StackView]{}, err
	}
	p, err := s.deps.Economy.Inventory(r.Context(), user, page)
	if err != nil {
		return PageView[StackView]{}, err
	}
	out := PageView[StackView]{Rows: []StackView{}, Page: p.Page, Pages: p.Pages, Total: p.Total}
	for _, st := range p.Rows {
		out.Rows = append(out.Rows, StackView(st))
	}
	return out, nil
}

func (s *Server) apiInventory(w http.ResponseWriter, r *http.Request, sess *Session) {
	id, err := s.subject(r, sess)
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	v, err := s.inventory(r, id)
	s.answer(w, r, v, err)
}

// CollectionView is a user's finds among the collectibles.
type CollectionView struct {
	Filter   string                    `json:"filter"`
	Have     int                       `json:"have"`
	Total    int                       `json:"total"`
	Complete int                       `json:"complete_percent"`
	Entries  []economy.CollectionEntry `json:"entries"`
}

var filterRE = regexp.MustCompile(`^[a-z_]{0,32}$`)

func (s *Server) apiCollection(w http.ResponseWriter, r *http.Request, sess *Session) {
	id, err := s.subject(r, sess)
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	f := r.URL.Query().Get("filter")
	if !filterRE.MatchString(f) {
		s.answer(w, r, nil, badRequest("bad_filter", "filter must be a rarity or kind, in lower case."))
		return
	}
	c, err := s.deps.Economy.Collection(r.Context(), id, f)
	s.answer(w, r, collectionView(c), err)
}

func collectionView(c economy.Collection) CollectionView {
	v := CollectionView{Filter: c.Filter, Have: c.Have, Total: c.Total, Complete: c.Complete(), Entries: c.Entries}
	if v.Entries == nil {
		v.Entries = []economy.CollectionEntry{}
	}
	return v
}

// apiVault shows a vault: anyone's, as vaults are on show.
func (s *Server) apiVault(w http.ResponseWriter, r *http.Request, sess *Session) {
	id := sess.UserID
	if v := r.URL.Query().Get("user_id"); v != "" {
		var ok bool
		if id, ok = parseID(v); !ok {
			s.answer(w, r, nil, badRequest("bad_user_id", "user_id must be a Discord user ID (digits only)."))
			return
		}
	}
	v, err := s.deps.Economy.Vault(r.Context(), id)
	if v == nil {
		v = []economy.VaultEntry{}
	}
	s.answer(w, r, v, err)
}

// LogView is one ledger leg of the user.
type LogView struct {
	TxID   string    `json:"tx_id"`
	Kind   string    `json:"kind"`
	Memo   string    `json:"memo"`
	Amount int64     `json:"amount"`
	At     time.Time `json:"at"`
}

func (s *Server) transactions(r *http.Request, user int64) (PageView[LogView], error) {
	page, err := intParam(r, "page", 0, 0, 100000)
	if err != nil {
		return PageView[LogView]{}, err
	}
	p, err := s.deps.Economy.CurrencyLog(r.Context(), user, page)
	if err != nil {
		return PageView[LogView]{}, err
	}
	out := PageView[LogView]{Rows: []LogView{}, Page: p.Page, Pages: p.Pages, Total: p.Total}
	for _, e := range p.Rows {
		out.Rows = append(out.Rows, LogView{TxID: strconv.FormatInt(e.TxID, 10), Kind: e.Kind, Memo: e.Memo, Amount: e.Amount, At: e.At})
	}
	return out, nil
}

func (s *Server) apiTransactions(w http.ResponseWriter, r *http.Request, sess *Session) {
	id, err := s.subject(r, sess)
	if err != nil {
		s.answer(w, r, nil, err)
		return
	}
	v, err := s.transactions(r, id)
	s.answer(w, r, v, err)
}

var errNotAvailable = errors.New("not available on this node")

// RankView is one row of the leaderboard: a player's rank, name (empty
// when never seen using the bot) and net worth.
type RankView struct {
	Rank     int64  `json:"rank"`
	UserID   string `json:"user_id"`
	Name     string `json:"name"`
	NetWorth int64  `json:"net_worth"`
}

func (s *Server) leaderboard(r *http.Request) ([]RankView, error) {
	limit, err := intParam(r, "limit", 10, 1, 100)
	if err != nil {
		return nil, err
	}
	if s.deps.Leaderboard == nil {
		return nil, errNotAvailable
	}
	top, err := s.deps.Leaderboard.Top(r.Context(), limit)
	if err != nil {
		return nil, err
	}
	out := []RankView{}
	for _, e := range top {
		out = append(out, RankView{Rank: e.Rank, UserID: strconv.FormatInt(e.UserID, 10), Name: e.Name, NetWorth: e.Value})
	}
	return out, nil
}

func (s *Server) apiLeaderboard(w http.ResponseWriter, r *http.Request, sess *Session) {
	v, err := s.leaderboard(r)
	s.answer(w, r, v, err)
}

// --- admin ---

func (s *Server) apiCluster(w http.ResponseWriter, r *http.Request, sess *Session) {
	if s.deps.Cluster == nil {
		writeError(w, http.StatusServiceUnavailable, "not_available", "The cluster view is not available on this node.")
		return
	}
	st, err := s.deps.Cluster.Status(r.Context())
	s.answer(w, r, st, err)
}

// AgentView is an agent as the dashboard shows it: never its token.
type AgentView struct {
	ID         string    `json:"id"`
	BotUserID  string    `json:"bot_user_id"`
	Name       string    `json:"name"`
	KeyVersion int       `json:"key_version"`
	Enabled    bool      `json:"enabled"`
	AddedAt    time.Time `json:"added_at"`
}

func agentView(a agentpool.Agent) AgentView {
	return AgentView{ID: strconv.FormatInt(a.ID, 10), BotUserID: a.BotUserID, Name: a.Name,
		KeyVersion: a.KeyVersion, Enabled: a.Enabled, AddedAt: a.AddedAt}
}

func (s *Server) agents(r *http.Request) ([]AgentView, error) {
	if s.deps.Agents == nil {
		return nil, errNotAvailable
	}
	list, err := s.deps.Agents.List(r.Context())
	if err != nil {
		return nil, err
	}
	out := []AgentView{}
	for _, a := range list {
		out = append(out, agentView(a))
	}
	return out, nil
}

func (s *Server) apiAgents(w http.ResponseWriter, r *http.Request, sess *Session) {
	if s.deps.Agents == nil {
		writeError(w, http.StatusServiceUnavailable, "not_available", "The agent pool is not available on this node.")
		return
	}
	v, err := s.agents(r)
	s.answer(w, r, v, err)
}

var errNoService = &errBadRequest{status: http.StatusServiceUnavailable, code: "not_available", message: "That service is not available on this node."}

// agentErr maps registry errors to client errors; tokens never appear in them.
func agentErr(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, agentpool.ErrNotFound):
		return &errBadRequest{status: http.StatusNotFound, code: "not_found", message: "There is no such agent."}
	case errors.Is(err, agentpool.ErrDuplicate):
		return &errBadRequest{status: http.StatusConflict, code: "duplicate", message: "That agent or name is already registered."}
	case errors.Is(err, agentpool.ErrBadName):
		return badRequest("bad_name", "Give the agent a name of 1-64 characters.")
	case errors.Is(err, agentpool.ErrBadToken):
		return badRequest("bad_token", "Discord does not accept that bot token.")
	case errors.Is(err, agentpool.ErrNoKey), errors.Is(err, agentpool.ErrWrongKey), errors.Is(err, agentpool.ErrBadKey):
		return &errBadRequest{status: http.StatusServiceUnavailable, code: "no_key", message: "The agent token key (AGENT_TOKEN_KEY) is missing or wrong on this node."}
	case errors.Is(err, agentpool.ErrDiscordUnavailable):
		return &errBadRequest{status: http.StatusBadGateway, code: "discord_unavailable", message: "Discord could not check the token; try again shortly."}
	}
	return err
}

type agentAddRequest struct {
	Name  string `json:"name"`
	Token string `json:"token"`
}

func (s *Server) apiAgentAdd(r *http.Request, sess *Session) (int, any, auditNote, error) {
	if s.deps.Agents == nil {
		return 0, nil, auditNote{}, errNoService
	}
	var req agentAddRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, auditNote{}, err
	}
	req.Name = strings.TrimSpace(req.Name)
	note := auditNote{Target: "agent " + clip(req.Name, 64)}
	if req.Name == "" || utf8.RuneCountInString(req.Name) > 64 {
		return 0, nil, note, badRequest("bad_name", "Give the agent a name of 1-64 characters.")
	}
	if req.Token == "" || len(req.Token) > 200 {
		return 0, nil, note, badRequest("bad_token", "Give the agent's bot token.")
	}
	a, err := s.deps.Agents.Add(r.Context(), req.Name, agentpool.NewToken(req.Token))
	if err != nil {
		return 0, nil, note, agentErr(err)
	}
	note.Target = fmt.Sprintf("agent %d (%s)", a.ID, a.Name)
	note.Detail = "bot user " + a.BotUserID
	return http.StatusCreated, agentView(a), note, nil
}

func (s *Server) apiAgentEnable(enabled bool) actionHandler {
	return func(r *http.Request, sess *Session) (int, any, auditNote, error) {
		note := auditNote{Target: "agent " + clip(r.PathValue("id"), 24)}
		if s.deps.Agents == nil {
			return 0, nil, note, errNoService
		}
		id, ok := parseID(r.PathValue("id"))
		if !ok {
			return 0, nil, note, badRequest("bad_id", "The agent ID must be a positive number.")
		}
		if err := s.deps.Agents.SetEnabled(r.Context(), id, enabled); err != nil {
			return 0, nil, note, agentErr(err)
		}
		return http.StatusOK, map[string]any{"id": strconv.FormatInt(id, 10), "enabled": enabled}, note, nil
	}
}

func (s *Server) apiAgentRemove(r *http.Request, sess *Session) (int, any, auditNote, error) {
	note := auditNote{Target: "agent " + clip(r.PathValue("id"), 24)}
	if s.deps.Agents == nil {
		return 0, nil, note, errNoService
	}
	id, ok := parseID(r.PathValue("id"))
	if !ok {
		return 0, nil, note, badRequest("bad_id", "The agent ID must be a positive number.")
	}
	if err := s.deps.Agents.Remove(r.Context(), id); err != nil {
		return 0, nil, note, agentErr(err)
	}
	return http.StatusOK, map[string]any{"id": strconv.FormatInt(id, 10), "removed": true}, note, nil
}

// MaxAdjustCredits bounds one admin credit adjustment.
const MaxAdjustCredits = 1_000_000_000_000

var opRE = regexp.MustCompile(`^[A-Za-z0-9_-]{8,64}$`)

// adjustRequest is an admin economy adjustment. Op, when given, makes the
// request idempotent and binds it to its parameters (see Server.once): the
// form sends a fresh one per submission, and after each refusal.
type adjustRequest struct {
	UserID   string `json:"user_id"`
	Amount   int64  `json:"amount"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
	Reason   string `json:"reason"`
	Op       string `json:"op"`
}

func (req *adjustRequest) validate() (user int64, err error) {
	user, ok := parseID(req.UserID)
	if !ok {
		return 0, badRequest("bad_user_id", "user_id must be a Discord user ID (digits only).")
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if n := utf8.RuneCountInString(req.Reason); n < 3 || n > 200 || strings.ContainsAny(req.Reason, "\r\n\x00") {
		return 0, badRequest("bad_reason", "Give a reason of 3-200 characters on one line.")
	}
	if req.Op == "" {
		req.Op = randomID()[:32]
	} else if !opRE.MatchString(req.Op) {
		return 0, badRequest("bad_op", "op must be 8-64 letters, digits, '-' or '_'.")
	}
	return user, nil
}

func (s *Server) apiCredits(r *http.Request, sess *Session) (int, any, auditNote, error) {
	var req adjustRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, auditNote{}, err
	}
	user, err := req.validate()
	note := auditNote{Target: "user " + clip(req.UserID, 24), Detail: fmt.Sprintf("credits %+d, reason %q", req.Amount, req.Reason)}
	if err != nil {
		return 0, nil, note, err
	}
	if req.Item != "" || req.Quantity != 0 {
		return 0, nil, note, badRequest("bad_json", "Credits take amount, not item or quantity.")
	}
	if req.Amount == 0 || req.Amount > MaxAdjustCredits || req.Amount < -MaxAdjustCredits {
		return 0, nil, note, badRequest("bad_amount", fmt.Sprintf("amount must be a non-zero whole number from -%d to %d.", MaxAdjustCredits, MaxAdjustCredits))
	}
	if s.deps.Ledger == nil {
		return 0, nil, note, errNoService
	}
	note.Detail += ", op " + req.Op
	params := fmt.Sprintf("user %d, credits %+d, reason %q", user, req.Amount, req.Reason)
	res, replayed, err := s.once(r.Context(), req.Op, sess.UserID, "credits_adjust", params, func(op economy.Op) (opResult, error) {
		a, err := s.deps.Ledger.AdjustCredits(r.Context(), op, sess.UserID, user, req.Amount, req.Reason)
		if err != nil {
			return opResult{}, domainErr(err)
		}
		return opResult{http.StatusOK, accountView(a)}, nil
	})
	note.Replayed = replayed
	return res.status, res.body, note, err
}

var itemRE = regexp.MustCompile(`^[a-z0-9_]{1,64}$`)

func (s *Server) apiItems(r *http.Request, sess *Session) (int, any, auditNote, error) {
	var req adjustRequest
	if err := decodeJSON(r, &req); err != nil {
		return 0, nil, auditNote{}, err
	}
	user, err := req.validate()
	note := auditNote{Target: "user " + clip(req.UserID, 24), Detail: fmt.Sprintf("item %s %+d, reason %q", clip(req.Item, 64), req.Quantity, req.Reason)}
	if err != nil {
		return 0, nil, note, err
	}
	if req.Amount != 0 {
		return 0, nil, note, badRequest("bad_json", "Items take item and quantity, not amount.")
	}
	if !itemRE.MatchString(req.Item) {
		return 0, nil, note, badRequest("bad_item", "item must be an item key (lower case, digits, '_').")
	}
	if req.Quantity == 0 || req.Quantity > 100 || req.Quantity < -100 {
		return 0, nil, note, badRequest("bad_quantity", "quantity must be a non-zero whole number from -100 to 100.")
	}
	if s.deps.Ledger == nil {
		return 0, nil, note, errNoService
	}
	note.Detail += ", op " + req.Op
	params := fmt.Sprintf("user %d, item %s %+d, reason %q", user, req.Item, req.Quantity, req.Reason)
	res, replayed, err := s.once(r.Context(), req.Op, sess.UserID, "items_adjust", params, func(op economy.Op) (opResult, error) {
		if err := s.deps.Ledger.AdjustItems(r.Context(), op, sess.UserID, user, req.Item, req.Quantity, req.Reason); err != nil {
			return opResult{}, domainErr(err)
		}
		return opResult{http.StatusOK, map[string]any{"user_id": strconv.FormatInt(user, 10), "item": req.Item, "quantity": req.Quantity}}, nil
	})
	note.Replayed = replayed
	return res.status, res.body, note, err
}

func (s *Server) auditPage(r *http.Request) ([]AuditEntry, error) {
	limit, err := intParam(r, "limit", 50, 1, 200)
	if err != nil {
		return nil, err
	}
	var before int64
	if v := r.URL.Query().Get("before"); v != "" {
		var ok bool
		if before, ok = parseID(v); !ok {
			return nil, badRequest("bad_before", "before must be an audit entry ID.")
		}
	}
	out, err := s.audit.list(r.Context(), before, limit)
	if out == nil && err == nil {
		out = []AuditEntry{}
	}
	return out, err
}

func (s *Server) apiAudit(w http.ResponseWriter, r *http.Request, sess *Session) {
	v, err := s.auditPage(r)
	s.answer(w, r, v, err)
}
