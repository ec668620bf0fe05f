package dashboard

import (
	"context"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/readreplica"
)

// TestAuditListingReadsTheReplica: with Deps.Reads, the audit log is
// written on the primary and listed on the streaming replica (seen by
// listing what the paused replica has not replayed yet).
func TestAuditListingReadsTheReplica(t *testing.T) {
	ctx := context.Background()
	primarySrv := servertest.PostgresServer(t)
	connect := func(dsn string) *pgxpool.Pool {
		p, err := pgxpool.New(ctx, dsn)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(p.Close)
		return p
	}
	primary := connect(primarySrv.DSN("chopsticks"))
	if err := Migrate(ctx, primary); err != nil {
		t.Fatal(err)
	}
	replica := connect(servertest.ReplicaServer(t, primarySrv).DSN("chopsticks"))
	router, err := readreplica.New(primary, replica, readreplica.Config{MaxLag: time.Hour, CheckEvery: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { defer close(done); router.Run(runCtx) }()
	t.Cleanup(func() { cancel(); <-done })

	routed, direct := &auditLog{pool: primary, reads: router}, &auditLog{pool: primary}
	count := func(a *auditLog) int {
		t.Helper()
		rows, err := a.list(ctx, 0, 50)
		if err != nil {
			t.Fatal(err)
		}
		return len(rows)
	}
	if err := routed.record(ctx, AuditEntry{ActorID: 1, Action: "first", Outcome: "ok"}); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for !router.Usable() || count(routed) != 1 {
		if time.Now().After(deadline) {
			t.Fatal("the replica never listed the first entry")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := replica.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	if err := routed.record(ctx, AuditEntry{ActorID: 1, Action: "second", Outcome: "ok"}); err != nil {
		t.Fatalf("recording with a replica: %v", err)
	}
	if got := count(direct); got != 2 {
		t.Fatalf("primary lists %d entries, want 2", got)
	}
	if got := count(routed); got != 1 {
		t.Fatalf("routed listing shows %d entries, want the paused replica's 1", got)
	}
}
