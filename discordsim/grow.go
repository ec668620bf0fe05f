package discordsim

import (
	"fmt"
	"net/http"
)

// Growth: the driver adds guilds to a bot while it runs, and GET
// /gateway/bot recommends a shard count from the bot's guilds as they are
// now, so that tests can grow a bot into resharding.

// guildsPerRecommendedShard is how many guilds Discord's recommendation
// gives each shard ("shards": one per 1,000 guilds).
const guildsPerRecommendedShard = 1000

// maxGrow bounds one GrowGuilds call, so a typo cannot exhaust memory.
const maxGrow = 100_000

// RecommendedShards is the shard count GET /gateway/bot returns to appID's
// bot: Config.RecommendedShards when it was set, otherwise one shard per
// 1,000 guilds the bot is in now (at least 1).
func (s *Sim) RecommendedShards(appID Snowflake) int {
	if s.fixedShards {
		return s.cfg.RecommendedShards
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return 1
	}
	return recommendFor(len(s.botGuildsLocked(a, 0, 0)))
}

// recommendFor is Discord's recommendation for a bot in guilds guilds.
func recommendFor(guilds int) int {
	return max(1, (guilds+guildsPerRecommendedShard-1)/guildsPerRecommendedShard)
}

// GrowGuilds creates n guilds, owned by the first default user, with the
// default users as members and appID's bot in them; the shards that own
// them receive GUILD_CREATE. It returns the new guilds' IDs.
func (s *Sim) GrowGuilds(appID Snowflake, n int) ([]Snowflake, error) {
	if n < 1 || n > maxGrow {
		return nil, fmt.Errorf("discordsim: grow by %d guilds: want 1 to %d", n, maxGrow)
	}
	s.mu.Lock()
	a, ok := s.apps[appID]
	s.mu.Unlock()
	if !ok {
		return nil, fmt.Errorf("discordsim: unknown application %s", appID)
	}
	owner := a.BotUserID
	if len(s.defaultUsers) > 0 {
		owner = s.defaultUsers[0]
	}
	ids := make([]Snowflake, 0, n)
	for i := range n {
		g, err := s.CreateGuild(GuildOptions{Name: fmt.Sprintf("grown-%d", i+1), OwnerID: owner})
		if err != nil {
			return ids, err
		}
		for _, u := range s.defaultUsers[min(1, len(s.defaultUsers)):] {
			if err := s.AddMember(g.ID, u); err != nil {
				return ids, err
			}
		}
		if err := s.AddBot(g.ID, appID); err != nil {
			return ids, err
		}
		ids = append(ids, g.ID)
	}
	return ids, nil
}

// driverGrow answers POST /_sim/applications/{app}/guilds {"count": n}
// (GrowGuilds) with the new guilds, the bot's guild count and the
// recommendation that follows.
func (s *Sim) driverGrow(w http.ResponseWriter, r *http.Request) {
	appID, ok := pathID(w, r, "app")
	if !ok {
		return
	}
	var in struct {
		Count int `json:"count"`
	}
	if !decodeDriver(w, r, &in) {
		return
	}
	ids, err := s.GrowGuilds(appID, in.Count)
	if err != nil {
		driverErr(w, 400, err)
		return
	}
	writeJSON(w, 200, map[string]any{
		"guilds": ids, "bot_guilds": len(s.BotGuilds(appID, 0, 0)),
		"recommended_shards": s.RecommendedShards(appID),
	})
}
