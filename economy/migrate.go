package economy

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/schema"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// versionTable records the economy schema version (tern's bookkeeping).
const versionTable = "public.economy_schema_version"

// Migrate brings the economy schema to the newest version. It is idempotent
// and safe when several nodes call it at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return schema.Migrate(ctx, pool, migrationFiles, "migrations", versionTable)
}
