package servertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

func TestMain(m *testing.M) { servertest.Main(m) }

func TestServersAnswer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)

	t.Run("postgres databases are separate", func(t *testing.T) {
		a, b := servertest.Postgres(t), servertest.Postgres(t)
		if a == b {
			t.Fatalf("two calls returned the same database %s", a)
		}
		conn, err := pgx.Connect(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "CREATE TABLE x (id int)"); err != nil {
			t.Fatal(err)
		}
		conn2, err := pgx.Connect(ctx, b)
		if err != nil {
			t.Fatal(err)
		}
		defer conn2.Close(ctx)
		var n int
		if err := conn2.QueryRow(ctx, "SELECT count(*) FROM pg_tables WHERE tablename = 'x'").Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Fatalf("table from database a visible in database b")
		}
	})
	t.Run("redis", func(t *testing.T) {
		rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
		defer rdb.Close()
		if err := rdb.Set(ctx, "k", "v", 0).Err(); err != nil {
			t.Fatal(err)
		}
		if got := rdb.Get(ctx, "k").Val(); got != "v" {
			t.Fatalf("get k = %q, want v", got)
		}
	})
	t.Run("etcd", func(t *testing.T) {
		cli, err := clientv3.New(clientv3.Config{Endpoints: servertest.Etcd(t), DialTimeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer cli.Close()
		if _, err := cli.Put(ctx, "k", "v"); err != nil {
			t.Fatal(err)
		}
		resp, err := cli.Get(ctx, "k")
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) != 1 || string(resp.Kvs[0].Value) != "v" {
			t.Fatalf("get k = %v", resp.Kvs)
		}
	})
}
