package servertest_test

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// TestFreezeAndThaw checks that a frozen server holds its connections open
// and answers nothing, and answers again once thawed.
func TestFreezeAndThaw(t *testing.T) {
	type server interface {
		Freeze() error
		Thaw() error
	}
	tests := []struct {
		name string
		// start starts the server and returns it with a function that
		// pings it over a new connection.
		start func(t *testing.T) (server, func(context.Context) error)
	}{
		{"redis", func(t *testing.T) (server, func(context.Context) error) {
			r := servertest.RedisServer(t)
			return r, func(ctx context.Context) error {
				rdb := redis.NewClient(&redis.Options{Addr: r.Addr(), ContextTimeoutEnabled: true, MaxRetries: -1})
				defer rdb.Close()
				return rdb.Ping(ctx).Err()
			}
		}},
		{"postgres", func(t *testing.T) (server, func(context.Context) error) {
			pg := servertest.PostgresServer(t)
			return pg, func(ctx context.Context) error {
				conn, err := pgx.Connect(ctx, pg.DSN("chopsticks"))
				if err != nil {
					return err
				}
				defer conn.Close(context.Background())
				return conn.Ping(ctx)
			}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			srv, ping := tc.start(t)
			within := func(d time.Duration) error {
				ctx, cancel := context.WithTimeout(context.Background(), d)
				defer cancel()
				return ping(ctx)
			}
			if err := within(5 * time.Second); err != nil {
				t.Fatalf("before the freeze: %v", err)
			}
			if err := srv.Freeze(); err != nil {
				t.Fatal(err)
			}
			if err := within(300 * time.Millisecond); err == nil {
				t.Error("a frozen server answered")
			}
			if err := srv.Thaw(); err != nil {
				t.Fatal(err)
			}
			if err := within(5 * time.Second); err != nil {
				t.Errorf("after the thaw: %v", err)
			}
		})
	}
}
