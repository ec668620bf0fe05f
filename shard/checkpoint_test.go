package shard_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/shard"
)

func TestMain(m *testing.M) { servertest.Main(m) }

func TestRedisCheckpoints(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	store := shard.NewRedisCheckpoints(rdb)
	ctx := context.Background()
	if _, err := store.Load(ctx, 3); !errors.Is(err, shard.ErrNoCheckpoint) {
		t.Fatalf("Load of nothing = %v, want ErrNoCheckpoint", err)
	}
	at := time.UnixMilli(time.Now().UnixMilli())
	steps := []struct {
		name    string
		save    shard.Checkpoint
		wantSeq int64
		wantSes string
	}{
		{"first", shard.Checkpoint{SessionID: "s1", Seq: 10, ResumeURL: "ws://r", Node: "a", At: at}, 10, "s1"},
		{"forward", shard.Checkpoint{SessionID: "s1", Seq: 12, ResumeURL: "ws://r", Node: "a", At: at}, 12, "s1"},
		{"a late older write does not go back", shard.Checkpoint{SessionID: "s1", Seq: 11, Node: "b", At: at}, 12, "s1"},
		{"a new session replaces the old", shard.Checkpoint{SessionID: "s2", Seq: 3, Node: "b", At: at}, 3, "s2"},
	}
	for _, st := range steps {
		if err := store.Save(ctx, 3, st.save); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		got, err := store.Load(ctx, 3)
		if err != nil || got.Seq != st.wantSeq || got.SessionID != st.wantSes {
			t.Fatalf("%s: loaded %+v (err %v), want session %s seq %d", st.name, got, err, st.wantSes, st.wantSeq)
		}
	}
	if err := store.Clear(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Load(ctx, 3); !errors.Is(err, shard.ErrNoCheckpoint) {
		t.Fatalf("Load after Clear = %v", err)
	}
}

func TestRedisCheckpointsPrefix(t *testing.T) {
	t.Parallel()
	rdb := redis.NewClient(&redis.Options{Addr: servertest.Redis(t)})
	t.Cleanup(func() { rdb.Close() })
	ctx := context.Background()
	for _, tt := range []struct {
		name  string
		store *shard.RedisCheckpoints
		key   string
	}{
		{"main bot", shard.NewRedisCheckpoints(rdb), "chopsticks:shard:{5}:checkpoint"},
		{"agents", shard.NewRedisCheckpointsPrefix(rdb, "chopsticks:agent"), "chopsticks:agent:{5}:checkpoint"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if err := tt.store.Save(ctx, 5, shard.Checkpoint{SessionID: tt.name, Seq: 7}); err != nil {
				t.Fatal(err)
			}
			if got, err := rdb.HGet(ctx, tt.key, "session").Result(); err != nil || got != tt.name {
				t.Fatalf("%s holds session %q (%v), want %q", tt.key, got, err, tt.name)
			}
			if cp, err := tt.store.Load(ctx, 5); err != nil || cp.SessionID != tt.name {
				t.Fatalf("Load = %+v %v", cp, err)
			}
		})
	}
	// Each store sees only its own checkpoint of number 5.
	if err := shard.NewRedisCheckpointsPrefix(rdb, "chopsticks:agent").Clear(ctx, 5); err != nil {
		t.Fatal(err)
	}
	if cp, err := shard.NewRedisCheckpoints(rdb).Load(ctx, 5); err != nil || cp.SessionID != "main bot" {
		t.Fatalf("clearing the agent's checkpoint touched the shard's: %+v %v", cp, err)
	}
}
