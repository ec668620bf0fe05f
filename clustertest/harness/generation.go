package harness

import (
	"fmt"

	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/discordsim"
)

// ServesGeneration reports, with a reason when false, whether the cluster
// serves count shards alone: etcd's shard count is count with no reshard
// under way, every shard unit runs on its planned node, and discordsim has
// exactly one live session per shard of count and none of another count.
func (c *Cluster) ServesGeneration(count int) (bool, string) {
	st := c.Status()
	if st.ShardCount != count || st.Reshard != nil {
		return false, fmt.Sprintf("shard count %d, reshard %+v", st.ShardCount, st.Reshard)
	}
	running := 0
	for _, u := range st.Units {
		switch {
		case u.Kind == coordinator.KindNext:
			return false, fmt.Sprintf("next/%d still placed (%s)", u.ID, u.State)
		case u.Kind == coordinator.KindShard && u.State != "running":
			return false, fmt.Sprintf("shard %d is %s", u.ID, u.State)
		case u.Kind == coordinator.KindShard:
			running++
		}
	}
	if running != count {
		return false, fmt.Sprintf("%d of %d shards running", running, count)
	}
	return GenerationLive(c.Sim, count)
}

// GenerationLive reports whether discordsim has exactly one live session
// of the bot for each shard of count, and none of another count.
func GenerationLive(sim *discordsim.Sim, count int) (bool, string) {
	live := map[int]int{}
	for _, s := range sim.Sessions() {
		if s.AppID != sim.AppID() || !s.Live {
			continue
		}
		if s.Shard[1] != count {
			return false, fmt.Sprintf("session %s of shard %v is still live", s.ID, s.Shard)
		}
		live[s.Shard[0]]++
	}
	for sh := range count {
		if live[sh] != 1 {
			return false, fmt.Sprintf("shard %d of %d has %d live sessions", sh, count, live[sh])
		}
	}
	return true, ""
}
