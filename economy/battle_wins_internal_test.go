package economy

import (
	"context"
	"io/fs"
	"path"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/schema"
)

// Migration 013 moves the wins from an index of economy.battles to
// economy.battle_wins: the wins of battles settled before it are copied,
// and the wins after it are written by the battle's end.
func TestBattleWinsKeptAcrossMigration013(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	before := fstest.MapFS{}
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() >= "013" {
			continue
		}
		data, err := fs.ReadFile(migrationFiles, path.Join("migrations", e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		before[path.Join("migrations", e.Name())] = &fstest.MapFile{Data: data}
	}
	if err := schema.Migrate(ctx, pool, before, "migrations", versionTable); err != nil {
		t.Fatal(err)
	}
	// Battles as 012 left them: two won by 11, one by 12, one declined.
	if _, err := pool.Exec(ctx, `INSERT INTO economy.battles (id, challenger, challenged, challenger_companion, wager,
			state, deadline, winner, fee, created_at)
		VALUES (1, 11, 12, 1, 0, 'done', now(), 11, 0, now()), (2, 12, 11, 2, 0, 'done', now(), 11, 0, now()),
			(3, 11, 12, 1, 0, 'done', now(), 12, 0, now()), (4, 11, 12, 1, 0, 'declined', now(), NULL, NULL, now()),
			(5, 11, 12, 1, 0, 'active', now(), NULL, NULL, now())`); err != nil {
		t.Fatal(err)
	}
	if err := Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	// A battle ending after the migration is a win too, and queues its
	// winner for achievements and the boards.
	if _, err := pool.Exec(ctx, `UPDATE economy.battles SET state = 'done', winner = 12, fee = 0 WHERE id = 5`); err != nil {
		t.Fatal(err)
	}
	wins := map[int64]int64{}
	rows, err := pool.Query(ctx, `SELECT winner, count(*) FROM economy.battle_wins GROUP BY winner`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var w, n int64
		if err := rows.Scan(&w, &n); err != nil {
			t.Fatal(err)
		}
		wins[w] = n
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(wins) != 2 || wins[11] != 2 || wins[12] != 2 {
		t.Errorf("wins %v, want 11: 2, 12: 2", wins)
	}
	var queued, boards int
	if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM economy.achievement_outbox WHERE user_id = 12 AND tx_id = -5),
		(SELECT count(*) FROM economy.board_outbox WHERE user_id = 12)`).Scan(&queued, &boards); err != nil {
		t.Fatal(err)
	}
	if queued != 1 || boards != 1 {
		t.Errorf("battle 5's winner queued %d times for achievements and %d for the boards, want 1 and 1", queued, boards)
	}
}
