package dashboard

import (
	"context"
	"embed"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/schema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable records the dashboard schema version (tern's bookkeeping).
const versionTable = "public.dashboard_schema_version"

// Migrate brings the dashboard's schema (the audit log) to the newest
// version. It is idempotent and safe when several nodes call it at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return schema.Migrate(ctx, pool, migrationFiles, "migrations", versionTable)
}

// Audit outcomes.
const (
	OutcomeOK      = "ok"
	OutcomeRefused = "refused"
	OutcomeFailed  = "failed"
)

// AuditEntry is one row of the audit log: who did what, when, from where,
// and how it ended.
type AuditEntry struct {
	ID        int64     `json:"id,string"`
	At        time.Time `json:"at"`
	ActorID   int64     `json:"actor_id,string"` // 0: not logged in
	ActorName string    `json:"actor_name"`
	Action    string    `json:"action"`
	Target    string    `json:"target"`
	Outcome   string    `json:"outcome"`
	Detail    string    `json:"detail"`
	IP        string    `json:"ip"`
	UserAgent string    `json:"user_agent"`
}

// auditLog writes dashboard.audit_log on pool and lists it on the pool
// reads picks, or on pool when reads is nil.
type auditLog struct {
	pool  *pgxpool.Pool
	reads economy.ReadRouter
}

func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	// Cut on a rune boundary.
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n]
}

// record appends e; the database sets ID and At.
func (a *auditLog) record(ctx context.Context, e AuditEntry) error {
	_, err := a.pool.Exec(context.WithoutCancel(ctx), `INSERT INTO dashboard.audit_log
		(actor_id, actor_name, action, target, outcome, detail, ip, user_agent)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		max(e.ActorID, 0), clip(e.ActorName, 100), clip(e.Action, 100), clip(e.Target, 200), e.Outcome,
		clip(e.Detail, 2000), clip(e.IP, 64), clip(e.UserAgent, 300))
	if err != nil {
		return fmt.Errorf("dashboard audit: %w", err)
	}
	return nil
}

// list returns up to limit entries older than before (0: the newest),
// newest first.
func (a *auditLog) list(ctx context.Context, before int64, limit int) ([]AuditEntry, error) {
	if before <= 0 {
		before = 1<<63 - 1
	}
	if a.reads == nil {
		return listAudit(ctx, a.pool, before, limit)
	}
	var out []AuditEntry
	err := a.reads.Read(ctx, func(ctx context.Context, pool *pgxpool.Pool) error {
		var err error
		out, err = listAudit(ctx, pool, before, limit)
		return err
	})
	return out, err
}

// listAudit lists the audit log on pool.
func listAudit(ctx context.Context, pool *pgxpool.Pool, before int64, limit int) ([]AuditEntry, error) {
	rows, err := pool.Query(ctx, `SELECT id, at, actor_id, actor_name, action, target, outcome, detail, ip, user_agent
		FROM dashboard.audit_log WHERE id < $1 ORDER BY id DESC LIMIT $2`, before, limit)
	if err != nil {
		return nil, fmt.Errorf("dashboard audit: %w", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (AuditEntry, error) {
		var e AuditEntry
		err := r.Scan(&e.ID, &e.At, &e.ActorID, &e.ActorName, &e.Action, &e.Target, &e.Outcome, &e.Detail, &e.IP, &e.UserAgent)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("dashboard audit: %w", err)
	}
	return out, nil
}
