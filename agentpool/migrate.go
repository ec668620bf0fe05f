package agentpool

import (
	"context"
	"embed"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/schema"
)

//go:embed migrations/*.sql
var migrations embed.FS

// VersionTable is the tern version table of this package's migrations, apart
// from other packages' so that each migrates on its own.
const VersionTable = "agentpool_schema_version"

// Migrate brings the agent registry's tables up to date. It is safe to run
// from several nodes at once.
func Migrate(ctx context.Context, pool *pgxpool.Pool) error {
	return schema.Migrate(ctx, pool, migrations, "migrations", VersionTable)
}
