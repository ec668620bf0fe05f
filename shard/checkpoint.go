package shard

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Checkpoint is what another process needs to resume a shard's session.
type Checkpoint struct {
	SessionID string
	Seq       int64
	ResumeURL string
	// Count is the shard count the session was identified with (0:
	// unknown, from before counts were recorded). A session of one count
	// cannot be resumed by a shard of another.
	Count int
	// Node is the node that wrote the checkpoint; At is when.
	Node string
	At   time.Time
}

// Valid reports whether the checkpoint names a session to resume.
func (c Checkpoint) Valid() bool { return c.SessionID != "" && c.Seq > 0 }

// CheckpointStore keeps checkpoints where every node can read them.
type CheckpointStore interface {
	Save(ctx context.Context, shard int, cp Checkpoint) error
	Load(ctx context.Context, shard int) (Checkpoint, error)
	Clear(ctx context.Context, shard int) error
}

// ErrNoCheckpoint is returned by Load when a shard has no checkpoint.
var ErrNoCheckpoint = errors.New("no checkpoint")

// RedisCheckpoints stores checkpoints in Redis hashes, one per shard at
// "<prefix>:{<shard>}:checkpoint".
type RedisCheckpoints struct {
	rdb    redis.UniversalClient
	prefix string
	// TTL bounds how long a checkpoint is kept; Discord's resume window is
	// minutes, so an older checkpoint is useless.
	TTL time.Duration
}

// DefaultCheckpointPrefix is the key prefix of the main bot's shards.
const DefaultCheckpointPrefix = "chopsticks:shard"

// NewRedisCheckpoints returns the main bot's store on rdb: keys
// "chopsticks:shard:{<shard>}:checkpoint".
func NewRedisCheckpoints(rdb redis.UniversalClient) *RedisCheckpoints {
	return NewRedisCheckpointsPrefix(rdb, DefaultCheckpointPrefix)
}

// NewRedisCheckpointsPrefix returns a store on rdb whose keys start with
// prefix instead of DefaultCheckpointPrefix, for sessions of other bot
// accounts (such as voice agents, each numbered by its own ID) that must
// not share the main bot's keys.
func NewRedisCheckpointsPrefix(rdb redis.UniversalClient, prefix string) *RedisCheckpoints {
	return &RedisCheckpoints{rdb: rdb, prefix: prefix, TTL: 10 * time.Minute}
}

func (s *RedisCheckpoints) key(shard int) string {
	return s.prefix + ":{" + strconv.Itoa(shard) + "}:checkpoint"
}

// Save implements CheckpointStore. A checkpoint never moves the sequence
// backwards for the same session, so a late write from a stopping node
// cannot undo a newer one.
func (s *RedisCheckpoints) Save(ctx context.Context, shard int, cp Checkpoint) error {
	err := saveScript.Run(ctx, s.rdb, []string{s.key(shard)},
		cp.SessionID, cp.Seq, cp.ResumeURL, cp.Node, cp.At.UnixMilli(), int64(s.TTL/time.Millisecond), cp.Count).Err()
	if err != nil {
		return fmt.Errorf("save checkpoint %s: %w", s.key(shard), err)
	}
	return nil
}

var saveScript = redis.NewScript(`
local cur = redis.call('HMGET', KEYS[1], 'session', 'seq')
if cur[1] == ARGV[1] and tonumber(cur[2]) ~= nil and tonumber(cur[2]) > tonumber(ARGV[2]) then
  return 0
end
redis.call('HSET', KEYS[1], 'session', ARGV[1], 'seq', ARGV[2], 'url', ARGV[3], 'node', ARGV[4], 'at', ARGV[5], 'count', ARGV[7])
redis.call('PEXPIRE', KEYS[1], ARGV[6])
return 1`)

// Load implements CheckpointStore.
func (s *RedisCheckpoints) Load(ctx context.Context, shard int) (Checkpoint, error) {
	m, err := s.rdb.HGetAll(ctx, s.key(shard)).Result()
	if err != nil {
		return Checkpoint{}, fmt.Errorf("load checkpoint %s: %w", s.key(shard), err)
	}
	if len(m) == 0 {
		return Checkpoint{}, ErrNoCheckpoint
	}
	seq, _ := strconv.ParseInt(m["seq"], 10, 64)
	at, _ := strconv.ParseInt(m["at"], 10, 64)
	count, _ := strconv.Atoi(m["count"])
	return Checkpoint{SessionID: m["session"], Seq: seq, ResumeURL: m["url"], Count: count, Node: m["node"], At: time.UnixMilli(at)}, nil
}

// Clear implements CheckpointStore.
func (s *RedisCheckpoints) Clear(ctx context.Context, shard int) error {
	if err := s.rdb.Del(ctx, s.key(shard)).Err(); err != nil {
		return fmt.Errorf("clear checkpoint %s: %w", s.key(shard), err)
	}
	return nil
}
