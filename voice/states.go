package voice

import (
	"context"
	"fmt"

	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/diamondburned/arikawa/v3/utils/ws"
	"github.com/redis/go-redis/v9"
)

// StateCache is the users' voice states, kept in Redis from the main bot's
// gateway events so that any node can tell where a user is, whichever node
// owns the user's guild's shard. It implements VoiceStates.
//
// Each guild is one hash (user ID -> voice channel ID). The node passes its
// shards' VOICE_STATE_UPDATE, GUILD_CREATE (its voice_states replace the
// guild's hash) and GUILD_DELETE (a guild the bot left is dropped) to Handle.
type StateCache struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ VoiceStates = (*StateCache)(nil)

// NewStateCache returns a voice state cache in rdb.
func NewStateCache(rdb redis.UniversalClient) *StateCache {
	return &StateCache{rdb: rdb, prefix: "chopsticks:voice:states:"}
}

func (c *StateCache) key(guildID string) string { return c.prefix + "{" + guildID + "}" }

// Handle updates the cache from a gateway event; events of other types are
// ignored. It reports whether the event was one it keeps.
func (c *StateCache) Handle(ctx context.Context, ev ws.Event) (bool, error) {
	var err error
	switch e := ev.(type) {
	case *gateway.VoiceStateUpdateEvent:
		if !e.GuildID.IsValid() || !e.UserID.IsValid() {
			return true, nil
		}
		k := c.key(e.GuildID.String())
		if e.ChannelID.IsValid() {
			err = c.rdb.HSet(ctx, k, e.UserID.String(), e.ChannelID.String()).Err()
		} else {
			err = c.rdb.HDel(ctx, k, e.UserID.String()).Err()
		}
	case *gateway.GuildCreateEvent:
		if e.Unavailable {
			return true, nil
		}
		k := c.key(e.ID.String())
		_, err = c.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
			p.Del(ctx, k)
			var pairs []any
			for _, vs := range e.VoiceStates {
				if vs.ChannelID.IsValid() && vs.UserID.IsValid() {
					pairs = append(pairs, vs.UserID.String(), vs.ChannelID.String())
				}
			}
			if len(pairs) > 0 {
				p.HSet(ctx, k, pairs...)
			}
			return nil
		})
	case *gateway.GuildDeleteEvent:
		if e.Unavailable {
			return true, nil // an outage: the states come back with GUILD_CREATE
		}
		err = c.rdb.Del(ctx, c.key(e.ID.String())).Err()
	default:
		return false, nil
	}
	if err != nil {
		return true, fmt.Errorf("voice: caching voice state: %w", err)
	}
	return true, nil
}

// UserVoiceChannel implements VoiceStates.
func (c *StateCache) UserVoiceChannel(ctx context.Context, guildID, userID string) (string, error) {
	ch, err := c.rdb.HGet(ctx, c.key(guildID), userID).Result()
	if err == redis.Nil {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("voice: reading voice state: %w", err)
	}
	return ch, nil
}

// ChannelMembers returns the users in a voice channel.
func (c *StateCache) ChannelMembers(ctx context.Context, guildID, channelID string) ([]string, error) {
	all, err := c.rdb.HGetAll(ctx, c.key(guildID)).Result()
	if err != nil {
		return nil, fmt.Errorf("voice: reading voice states: %w", err)
	}
	var users []string
	for u, ch := range all {
		if ch == channelID {
			users = append(users, u)
		}
	}
	return users, nil
}
