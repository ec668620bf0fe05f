package schema_test

import (
	"context"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/schema"
)

func TestMain(m *testing.M) { servertest.Main(m) }

func TestMigrateConcurrentlyAndAgain(t *testing.T) {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, servertest.Postgres(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	fsys := fstest.MapFS{
		"m/001_things.sql": {Data: []byte("CREATE TABLE things (id int PRIMARY KEY);")},
		"m/002_more.sql":   {Data: []byte("INSERT INTO things VALUES (1);")},
	}
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = schema.Migrate(ctx, pool, fsys, "m", "things_version")
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatalf("concurrent migrate: %v", err)
		}
	}
	if err := schema.Migrate(ctx, pool, fsys, "m", "things_version"); err != nil {
		t.Fatalf("migrate again: %v", err)
	}
	var n, version int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM things").Scan(&n); err != nil || n != 1 {
		t.Fatalf("things has %d rows (err %v): a migration ran more than once or not at all", n, err)
	}
	if err := pool.QueryRow(ctx, "SELECT version FROM things_version").Scan(&version); err != nil || version != 2 {
		t.Fatalf("version = %d (err %v), want 2", version, err)
	}
	bad := fstest.MapFS{"m/001_bad.sql": {Data: []byte("CREATE TABLE oops (")}}
	if err := schema.Migrate(ctx, pool, bad, "m", "bad_version"); err == nil {
		t.Fatal("a broken migration was accepted")
	}
}
