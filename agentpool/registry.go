// Package agentpool keeps Chopsticks' pool of agents: extra bot accounts
// that join voice channels to play music, one channel each per guild.
//
// This part is the registry in PostgreSQL. Agent tokens are stored only
// encrypted with AES-256-GCM under AGENT_TOKEN_KEY, with a fresh nonce per
// token and the agent's bot user ID as associated data. A check value sealed
// under the current key catches a wrong key before anything is written, and
// RotateKey re-encrypts every token in one transaction. Tokens never appear
// in errors, logs or fmt output: the Token type prints "[redacted]".
//
// The operator commands (chopsticks agents add|list|remove|enable|disable|
// rotate-key) are in Command.
package agentpool

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Errors of the registry.
var (
	// ErrDuplicate means the agent (its bot account or name) is registered.
	ErrDuplicate = errors.New("agent already registered")
	// ErrNotFound means there is no such agent.
	ErrNotFound = errors.New("no such agent")
	// ErrBadName means the agent name is empty or too long.
	ErrBadName = errors.New("invalid agent name")
)

// Agent is a registered agent, without its token.
type Agent struct {
	ID         int64
	BotUserID  string
	Name       string
	KeyVersion int
	Enabled    bool
	AddedAt    time.Time
}

// Checker verifies a token with Discord; *TokenChecker is the real one.
type Checker interface {
	Check(ctx context.Context, token Token) (BotUser, error)
}

// Registry is the agent registry in PostgreSQL. Run Migrate first.
type Registry struct {
	pool    *pgxpool.Pool
	key     Key
	checker Checker
}

// NewRegistry returns the registry in pool with tokens under key. checker
// verifies tokens on Add; it may be nil for a registry that never adds.
func NewRegistry(pool *pgxpool.Pool, key Key, checker Checker) *Registry {
	return &Registry{pool: pool, key: key, checker: checker}
}

// keyState reads (and locks, inside tx) the key row; ok is false before the
// first agent is added.
func keyState(ctx context.Context, tx pgx.Tx, lock bool) (version int, nonce, ct []byte, ok bool, err error) {
	q := `SELECT version, check_nonce, check_ciphertext FROM agent_token_key`
	if lock {
		q += ` FOR UPDATE`
	}
	err = tx.QueryRow(ctx, q).Scan(&version, &nonce, &ct)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, nil, nil, false, nil
	}
	if err != nil {
		return 0, nil, nil, false, fmt.Errorf("reading key state: %w", err)
	}
	return version, nonce, ct, true, nil
}

// verifyKey checks key against the registry's check value inside tx and
// returns the key version, creating the check value (version 1) if absent.
func verifyKey(ctx context.Context, tx pgx.Tx, key Key) (int, error) {
	if key.IsZero() {
		return 0, ErrNoKey
	}
	version, nonce, ct, ok, err := keyState(ctx, tx, true)
	if err != nil {
		return 0, err
	}
	if ok {
		if _, err := key.open(nonce, ct, checkAAD); err != nil {
			return 0, fmt.Errorf("%w (key version %d)", ErrWrongKey, version)
		}
		return version, nil
	}
	nonce, ct, err = key.seal(checkPlain, checkAAD)
	if err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, `INSERT INTO agent_token_key (version, check_nonce, check_ciphertext) VALUES (1, $1, $2)`, nonce, ct); err != nil {
		return 0, fmt.Errorf("storing key check: %w", err)
	}
	return 1, nil
}

// CheckKey reports whether the registry's key decrypts the registry (nil
// when no agent was ever added).
func (r *Registry) CheckKey(ctx context.Context) error {
	if r.key.IsZero() {
		return ErrNoKey
	}
	return pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		version, nonce, ct, ok, err := keyState(ctx, tx, false)
		if err != nil || !ok {
			return err
		}
		if _, err := r.key.open(nonce, ct, checkAAD); err != nil {
			return fmt.Errorf("%w (key version %d)", ErrWrongKey, version)
		}
		return nil
	})
}

func validName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 64 {
		return "", fmt.Errorf("%w: give a name of 1-64 characters", ErrBadName)
	}
	return name, nil
}

// Add checks token with Discord and registers it as agent name. It refuses a
// missing or wrong key, a bad token, and an agent or name already registered.
func (r *Registry) Add(ctx context.Context, name string, token Token) (Agent, error) {
	name, err := validName(name)
	if err != nil {
		return Agent{}, err
	}
	if r.key.IsZero() {
		return Agent{}, ErrNoKey
	}
	if err := r.CheckKey(ctx); err != nil {
		return Agent{}, err
	}
	var exists bool
	if err := r.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM agents WHERE name = $1)`, name).Scan(&exists); err != nil {
		return Agent{}, fmt.Errorf("agentpool: %w", err)
	}
	if exists {
		return Agent{}, fmt.Errorf("%w: the name %q is taken", ErrDuplicate, name)
	}
	if r.checker == nil {
		return Agent{}, errors.New("agentpool: no token checker configured")
	}
	user, err := r.checker.Check(ctx, token)
	if err != nil {
		return Agent{}, err
	}
	botID, err := strconv.ParseInt(user.ID, 10, 64)
	if err != nil {
		return Agent{}, fmt.Errorf("%w: Discord returned a non-numeric user ID", ErrDiscordUnavailable)
	}
	var a Agent
	err = pgx.BeginFunc(ctx, r.pool, func(tx pgx.Tx) error {
		version, err := verifyKey(ctx, tx, r.key)
		if err != nil {
			return err
		}
		nonce, ct, err := r.key.seal([]byte(token.Reveal()), tokenAAD(botID))
		if err != nil {
			return err
		}
		a = Agent{BotUserID: user.ID, Name: name, KeyVersion: version, Enabled: true}
		return tx.QueryRow(ctx, `INSERT INTO agents (bot_user_id, name, token_ciphertext, token_nonce, key_version)
			VALUES ($1, $2, $3, $4, $5) RETURNING id, added_at`, botID, name, ct, nonce, version).Scan(&a.ID, &a.AddedAt)
	})
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" {
		if strings.Contains(pgErr.ConstraintName, "name") {
			return Agent{}, fmt.Errorf("%w: the name %q is taken", ErrDuplicate, name)
		}
		return Agent{}, fmt.Errorf("%w: bot account %s (%s) is already an agent", ErrDuplicate, user.ID, user.Username)
	}
	if err != nil {
		return Agent{}, fmt.Errorf("agentpool: adding agent: %w", err)
	}
	return a, nil
}

// List returns every agent, ordered by ID.
func (r *Registry) List(ctx context.Context) ([]Agent, error) {
	rows, err := r.pool.Query(ctx, `SELECT id, bot_user_id, name, key_version, enabled, added_at FROM agents ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("agentpool: listing agents: %w", err)
	}
	agents, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (Agent, error) {
		var a Agent
		var bot int64
		err := row.Scan(&a.ID, &bot, &a.Name, &a.KeyVersion, &a.Enabled, &a.AddedAt)
		a.BotUserID = strconv.FormatInt(bot, 10)
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("agentpool: listing agents: %w", err)
	}
	return agents, nil
}

// Lookup finds an agent by ID, bot user ID or name (in that order).
func (r *Registry) Lookup(ctx context.Context, ref string) (Agent, error) {
	agents, err := r.List(ctx)
	if err != nil {
		return Agent{}, err
	}
	for _, match := range []func(Agent) bool{
		func(a Agent) bool { return strconv.FormatInt(a.ID, 10) == ref },
		func(a Agent) bool { return a.BotUserID == ref },
		func(a Agent) bool { return a.Name == ref },
	} {
		for _, a := range agents {
			if match(a) {
				return a, nil
			}
		}
	}
	return Agent{}, fmt.Errorf("%w: %q is not an agent ID, bot user ID or name", ErrNotFound, ref)
}

// Remove deletes agent id.
func (r *Registry) Remove(ctx context.Context, id int64) error {
	tag, err := r.pool.Exec(ctx, `DELETE FROM agents WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("agentpool: removing agent: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: id %d", ErrNotFound, id)
	}
	return nil
}

// SetEnabled enables or disables agent id; a disabled agent is never allocated.
func (r *Registry) SetEnabled(ctx context.Context, id int64, enabled bool) error {
	tag, err := r.pool.Exec(ctx, `UPDATE agents SET enabled = $2 WHERE id = $1`, id, enabled)
	if err != nil {
		return fmt.Errorf("agentpool: updating agent: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("%w: id %d", ErrNotFound, id)
	}
	return nil
}

// Token decrypts agent id's token, for opening its gateway session.
func (r *Registry) Token(ctx context.Context, id int64) (Token, error) {
	var bot int64
	var nonce, ct []byte
	err := r.pool.QueryRow(ctx, `SELECT bot_user_id, token_nonce, token_ciphertext FROM agents WHERE id = $1`, id).Scan(&bot, &nonce, &ct)
	if errors.Is(err, pgx.ErrNoRows) {
		return Token{}, fmt.Errorf("%w: id %d", ErrNotFound, id)
	}
	if err != nil {
		return Token{}, fmt.Errorf("agentpool: reading token: %w", err)
	}
	pt, err := r.key.open(nonce, ct, tokenAAD(bot))
	if err != nil {
		return Token{}, fmt.Errorf("agentpool: agent %d: %w", id, err)
	}
	return NewToken(string(pt)), nil
}

// RotateKey re-encrypts every token from oldKey to newKey in one transaction
// and returns how many it re-encrypted. If oldKey does not decrypt the
// registry, or any token, nothing changes. Afterwards use a Registry with
// newKey.
func RotateKey(ctx context.Context, pool *pgxpool.Pool, oldKey, newKey Key) (int, error) {
	if oldKey.IsZero() || newKey.IsZero() {
		return 0, ErrNoKey
	}
	if oldKey.Equal(newKey) {
		return 0, fmt.Errorf("%w: the new key is the same as the old one", ErrBadKey)
	}
	n := 0
	err := pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		version, err := verifyKey(ctx, tx, oldKey)
		if err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT id, bot_user_id, token_nonce, token_ciphertext FROM agents ORDER BY id FOR UPDATE`)
		if err != nil {
			return err
		}
		type sealed struct {
			id, bot   int64
			nonce, ct []byte
		}
		all, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (sealed, error) {
			var s sealed
			return s, row.Scan(&s.id, &s.bot, &s.nonce, &s.ct)
		})
		if err != nil {
			return err
		}
		for _, s := range all {
			pt, err := oldKey.open(s.nonce, s.ct, tokenAAD(s.bot))
			if err != nil {
				return fmt.Errorf("agent %d: %w", s.id, err)
			}
			nonce, ct, err := newKey.seal(pt, tokenAAD(s.bot))
			clear(pt)
			if err != nil {
				return err
			}
			if _, err := tx.Exec(ctx, `UPDATE agents SET token_nonce = $2, token_ciphertext = $3, key_version = $4 WHERE id = $1`,
				s.id, nonce, ct, version+1); err != nil {
				return err
			}
			n++
		}
		nonce, ct, err := newKey.seal(checkPlain, checkAAD)
		if err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `UPDATE agent_token_key SET version = $1, check_nonce = $2, check_ciphertext = $3, rotated_at = now()`, version+1, nonce, ct)
		return err
	})
	if err != nil {
		return 0, fmt.Errorf("agentpool: rotating key: %w", err)
	}
	return n, nil
}

// RotateKey re-encrypts the registry from r's key to newKey; see RotateKey.
func (r *Registry) RotateKey(ctx context.Context, oldKey, newKey Key) (int, error) {
	return RotateKey(ctx, r.pool, oldKey, newKey)
}
