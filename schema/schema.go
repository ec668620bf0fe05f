// Package schema applies a package's embedded SQL migrations with tern,
// each package with its own version table, safely when several nodes start
// at once.
package schema

import (
	"context"
	"fmt"
	"hash/fnv"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/tern/v2/migrate"
)

// Migrate applies the migrations in dir of fsys (files named 001_x.sql,
// 002_y.sql, ...) that versionTable does not record yet. Callers queue on
// an advisory lock derived from versionTable, so of several nodes starting
// together one migrates and the others then find nothing to do.
func Migrate(ctx context.Context, pool *pgxpool.Pool, fsys fs.FS, dir, versionTable string) error {
	sub, err := fs.Sub(fsys, dir)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", versionTable, err)
	}
	conn, err := pool.Acquire(ctx)
	if err != nil {
		return fmt.Errorf("migrate %s: acquire: %w", versionTable, err)
	}
	defer conn.Release()
	h := fnv.New64a()
	h.Write([]byte(versionTable))
	lock := int64(h.Sum64())
	if _, err := conn.Exec(ctx, "SELECT pg_advisory_lock($1)", lock); err != nil {
		return fmt.Errorf("migrate %s: lock: %w", versionTable, err)
	}
	defer func() {
		// A failed unlock would leave the lock on the pooled session: drop
		// the connection instead.
		if _, err := conn.Exec(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", lock); err != nil {
			_ = conn.Conn().Close(context.WithoutCancel(ctx))
		}
	}()
	m, err := migrate.NewMigrator(ctx, conn.Conn(), versionTable)
	if err != nil {
		return fmt.Errorf("migrate %s: %w", versionTable, err)
	}
	if err := m.LoadMigrations(sub); err != nil {
		return fmt.Errorf("migrate %s: load: %w", versionTable, err)
	}
	if err := m.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate %s: %w", versionTable, err)
	}
	return nil
}
