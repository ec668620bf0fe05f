package agentpool

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/shard"
)

// SessionStore keeps the agents' gateway sessions where every node can read
// them, so that the node taking an agent over (after a planned move or a
// crash) RESUMEs its session instead of identifying again. Its
// shard.CheckpointStore methods are keyed by the agent's registry ID in
// place of a shard number. A RESUME does not resend the agent's guilds, so
// the store also keeps the guilds the session is in.
type SessionStore interface {
	shard.CheckpointStore
	// SaveGuilds records the guilds session sessionID of agent agentID is in.
	SaveGuilds(ctx context.Context, agentID int64, g SessionGuilds) error
	// LoadGuilds returns what SaveGuilds recorded last, or an error
	// wrapping shard.ErrNoCheckpoint.
	LoadGuilds(ctx context.Context, agentID int64) (SessionGuilds, error)
}

// SessionGuilds are the guilds an agent's gateway session is in.
type SessionGuilds struct {
	SessionID string   `json:"session"`
	Guilds    []string `json:"guilds"`
}

// AgentCheckpointPrefix is the key prefix of the agents' checkpoints in
// Redis: "chopsticks:agent:{<registry ID>}:checkpoint", apart from the main
// bot's shard checkpoints.
const AgentCheckpointPrefix = "chopsticks:agent"

// RedisSessions is a SessionStore in Redis.
type RedisSessions struct {
	*shard.RedisCheckpoints
	rdb redis.UniversalClient
}

var _ SessionStore = (*RedisSessions)(nil)

// NewRedisSessions returns a store on rdb.
func NewRedisSessions(rdb redis.UniversalClient) *RedisSessions {
	return &RedisSessions{RedisCheckpoints: shard.NewRedisCheckpointsPrefix(rdb, AgentCheckpointPrefix), rdb: rdb}
}

func guildsKey(agentID int64) string {
	return AgentCheckpointPrefix + ":{" + strconv.FormatInt(agentID, 10) + "}:guilds"
}

// SaveGuilds implements SessionStore. The record has no expiry: it is
// useful as long as the session lives, and the next READY replaces it.
func (s *RedisSessions) SaveGuilds(ctx context.Context, agentID int64, g SessionGuilds) error {
	b, err := json.Marshal(g)
	if err != nil {
		return fmt.Errorf("save guilds of agent %d: %w", agentID, err)
	}
	if err := s.rdb.Set(ctx, guildsKey(agentID), b, 0).Err(); err != nil {
		return fmt.Errorf("save guilds of agent %d: %w", agentID, err)
	}
	return nil
}

// LoadGuilds implements SessionStore.
func (s *RedisSessions) LoadGuilds(ctx context.Context, agentID int64) (SessionGuilds, error) {
	b, err := s.rdb.Get(ctx, guildsKey(agentID)).Bytes()
	if errors.Is(err, redis.Nil) {
		return SessionGuilds{}, fmt.Errorf("guilds of agent %d: %w", agentID, shard.ErrNoCheckpoint)
	}
	if err != nil {
		return SessionGuilds{}, fmt.Errorf("load guilds of agent %d: %w", agentID, err)
	}
	var g SessionGuilds
	if err := json.Unmarshal(b, &g); err != nil {
		return SessionGuilds{}, fmt.Errorf("load guilds of agent %d: %w", agentID, err)
	}
	return g, nil
}

// agentCheckpoints adapts a SessionStore to the agent's one-shard session:
// shard 0 of the agent is stored under the agent's ID.
type agentCheckpoints struct {
	store SessionStore
	id    int64
}

func (c agentCheckpoints) Save(ctx context.Context, _ int, cp shard.Checkpoint) error {
	return c.store.Save(ctx, int(c.id), cp)
}

func (c agentCheckpoints) Load(ctx context.Context, _ int) (shard.Checkpoint, error) {
	return c.store.Load(ctx, int(c.id))
}

func (c agentCheckpoints) Clear(ctx context.Context, _ int) error {
	return c.store.Clear(ctx, int(c.id))
}
