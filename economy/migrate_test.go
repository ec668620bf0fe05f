package economy_test

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/economy"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMigrateConcurrentAndIdempotent(t *testing.T) {
	ctx := context.Background()
	dsn := servertest.Postgres(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			pool, err := pgxpool.New(ctx, dsn)
			if err != nil {
				errs[i] = err
				return
			}
			defer pool.Close()
			errs[i] = economy.Migrate(ctx, pool)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatalf("node %d: %v", i, err)
		}
	}
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := economy.Migrate(ctx, pool); err != nil {
		t.Fatalf("second run: %v", err)
	}
	var v int
	if err := pool.QueryRow(ctx, "SELECT version FROM public.economy_schema_version").Scan(&v); err != nil || v < 1 {
		t.Fatalf("version %d, %v", v, err)
	}
}

func TestLedgerRejectsUnbalancedAndEdits(t *testing.T) {
	e := newEnv(t)
	ctx := context.Background()
	e.fund(t, 10, 100)
	cases := []struct {
		name string
		sql  string
	}{
		{"unbalanced legs", `INSERT INTO economy.ledger_legs (account_id, tx_id, amount) VALUES (10, 999, 5), (-1, 999, -4)`},
		{"one-sided leg", `INSERT INTO economy.ledger_legs (account_id, tx_id, amount) VALUES (10, 998, 5)`},
		{"update leg", `UPDATE economy.ledger_legs SET amount = amount + 1`},
		{"delete leg", `DELETE FROM economy.ledger_legs`},
		{"negative wallet", `UPDATE economy.accounts SET wallet = -1 WHERE user_id = 10`},
		{"bank past capacity", `UPDATE economy.accounts SET bank = bank_capacity + 1 WHERE user_id = 10`},
		{"system account row", `INSERT INTO economy.accounts (user_id) VALUES (-1)`},
		{"unknown system account", `INSERT INTO economy.ledger_legs (account_id, tx_id, amount) VALUES (-3, 997, 5), (10, 997, -5)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := e.pool.Exec(ctx, c.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) || pgErr.Code != "23514" {
				t.Fatalf("want check_violation, got %v", err)
			}
		})
	}
	// A balanced insert is accepted.
	if _, err := e.pool.Exec(ctx, `INSERT INTO economy.ledger_legs (account_id, tx_id, amount) VALUES (-1, 996, 5), (-2, 996, -5)`); err != nil {
		t.Fatalf("balanced legs refused: %v", err)
	}
}
