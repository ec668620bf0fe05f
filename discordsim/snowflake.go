package discordsim

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Snowflakes: Discord's IDs, their JSON form, and the generator that makes
// the emulator's.

// Snowflake is a Discord ID. It encodes to JSON as a string, as Discord does,
// and decodes from a string or a number.
type Snowflake uint64

// MarshalJSON encodes s as a JSON string.
func (s Snowflake) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatUint(uint64(s), 10) + `"`), nil
}

// UnmarshalJSON decodes s from a JSON string or number.
func (s *Snowflake) UnmarshalJSON(b []byte) error {
	str := strings.Trim(string(b), `"`)
	if str == "null" || str == "" {
		*s = 0
		return nil
	}
	v, err := strconv.ParseUint(str, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid snowflake %s", b)
	}
	*s = Snowflake(v)
	return nil
}

// String returns the decimal form of s.
func (s Snowflake) String() string { return strconv.FormatUint(uint64(s), 10) }

// ParseSnowflake parses a decimal snowflake.
func ParseSnowflake(str string) (Snowflake, error) {
	v, err := strconv.ParseUint(str, 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("invalid snowflake %q", str)
	}
	return Snowflake(v), nil
}

// ShardFor returns the shard of guildID for shardCount shards, as Discord routes it.
func ShardFor(guildID Snowflake, shardCount int) int {
	if shardCount <= 0 {
		return 0
	}
	return int((uint64(guildID) >> 22) % uint64(shardCount))
}

const discordEpochMs = 1420070400000

// idGen makes unique snowflakes. Guild IDs take consecutive timestamps so that
// guilds created together spread evenly over any shard count.
type idGen struct {
	mu     sync.Mutex
	lastTs int64
	inc    int64
}

func (g *idGen) next(fresh bool) Snowflake {
	g.mu.Lock()
	defer g.mu.Unlock()
	ts := time.Now().UnixMilli() - discordEpochMs
	switch {
	case fresh:
		ts = max(ts, g.lastTs+1)
		g.inc = 0
	case ts <= g.lastTs:
		ts = g.lastTs
		g.inc++
		if g.inc >= 4096 {
			ts++
			g.inc = 0
		}
	default:
		g.inc = 0
	}
	g.lastTs = ts
	return Snowflake(uint64(ts)<<22 | 1<<17 | uint64(g.inc))
}
