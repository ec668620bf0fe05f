// Package benchdb is the PostgreSQL server a benchmark runs on: the one it
// is given, or a local one started for the run, with a fresh database per
// benchmark.
package benchdb

import (
	"context"
	"fmt"
	"net/url"
	"os"

	"github.com/jackc/pgx/v5"

	"github.com/chopsticks-bot/chopsticks/localserver"
)

// Server returns the URL of the superuser connection to a PostgreSQL
// server: dsn when set, else a server started from the local binaries in a
// temporary directory, which stop stops and removes.
func Server(ctx context.Context, dsn string) (server string, stop func(), err error) {
	if dsn != "" {
		return dsn, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "chopsticks-bench-")
	if err != nil {
		return "", nil, err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	pg, err := localserver.StartPostgres(ctx, dir, 0)
	if err != nil {
		os.RemoveAll(dir)
		return "", nil, err
	}
	fmt.Printf("started PostgreSQL on 127.0.0.1:%d\n", pg.Port())
	return pg.DSN("postgres"), func() { _ = pg.Stop(); os.RemoveAll(dir) }, nil
}

// Fresh drops and creates database name on server and returns its URL.
func Fresh(ctx context.Context, server, name string) (string, error) {
	conn, err := pgx.Connect(ctx, server)
	if err != nil {
		return "", err
	}
	defer conn.Close(ctx)
	ident := pgx.Identifier{name}.Sanitize()
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+ident); err != nil {
		return "", err
	}
	u, err := url.Parse(server)
	if err != nil {
		return "", err
	}
	u.Path = "/" + name
	return u.String(), nil
}
