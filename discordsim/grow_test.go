package discordsim

import (
	"testing"
)

// TestGrowGuilds: the driver grows the bot while it runs; GET /gateway/bot
// recommends one shard per 1,000 guilds as the bot is now, and an IDENTIFY
// whose shard would hold more than MaxGuildsPerShard is closed with 4011
// while a larger shard count is accepted.
func TestGrowGuilds(t *testing.T) {
	cfg := fastConfig()
	cfg.Guilds, cfg.RecommendedShards, cfg.MaxGuildsPerShard, cfg.MaxConcurrency = 3, 0, 4, 4
	s := startSim(t, cfg)
	recommended := func() int {
		var gb struct {
			Shards int `json:"shards"`
		}
		do(t, "GET", s.APIURL(10)+"/gateway/bot", "Bot "+s.Token(), nil, &gb)
		return gb.Shards
	}
	if got := recommended(); got != 1 {
		t.Fatalf("recommended %d shards for 3 guilds, want 1", got)
	}
	c, _, _ := identify(t, s, 0, 1, IntentGuilds)
	_ = c.conn.Close()

	grow := "/_sim/applications/" + s.AppID().String() + "/guilds"
	var out struct {
		Guilds      []Snowflake `json:"guilds"`
		BotGuilds   int         `json:"bot_guilds"`
		Recommended int         `json:"recommended_shards"`
	}
	if resp := do(t, "POST", s.URL()+grow, "", map[string]int{"count": 2}, &out); resp.StatusCode != 200 {
		t.Fatalf("grow: status %d", resp.StatusCode)
	}
	if len(out.Guilds) != 2 || out.BotGuilds != 5 || out.Recommended != 1 {
		t.Fatalf("grow by 2 = %+v, want 2 new guilds, 5 in all, 1 shard recommended", out)
	}

	// 5 guilds on one shard is over the cap of 4: sharding required.
	c = dialGW(t, s, "")
	c.hello()
	c.send(identifyPayload(s.Token(), 0, 1, IntentGuilds))
	if code := c.closeCode(); code != CloseShardingRequired {
		t.Fatalf("identify [0,1] with 5 guilds: close %d, want %d", code, CloseShardingRequired)
	}
	// Two shards hold at most 3 each (guild IDs spread evenly); shard 1
	// (bucket 1, whose window is free) is accepted.
	for sh := range 2 {
		if n := len(s.BotGuilds(s.AppID(), sh, 2)); n > 4 {
			t.Fatalf("shard %d of 2 holds %d guilds", sh, n)
		}
	}
	identify(t, s, 1, 2, IntentGuilds)

	if resp := do(t, "POST", s.URL()+grow, "", map[string]int{"count": 1000}, &out); resp.StatusCode != 200 {
		t.Fatalf("grow: status %d", resp.StatusCode)
	}
	if out.BotGuilds != 1005 || out.Recommended != 2 || recommended() != 2 {
		t.Fatalf("after growing to %d guilds: recommended %d (%d by GET /gateway/bot), want 2", out.BotGuilds, out.Recommended, recommended())
	}
}

// TestGrowGuildsRefusesBadInput: a count outside 1..100000 or an unknown
// application answers 400 and adds nothing.
func TestGrowGuildsRefusesBadInput(t *testing.T) {
	s := startSim(t, fastConfig())
	before := len(s.Guilds())
	app := s.AppID().String()
	cases := []struct {
		name, app string
		body      any
	}{
		{"zero", app, map[string]int{"count": 0}},
		{"negative", app, map[string]int{"count": -3}},
		{"too many", app, map[string]int{"count": maxGrow + 1}},
		{"unknown app", "12345", map[string]int{"count": 1}},
		{"not json", app, "seven"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var e map[string]string
			resp := do(t, "POST", s.URL()+"/_sim/applications/"+tc.app+"/guilds", "", tc.body, &e)
			if resp.StatusCode != 400 || e["error"] == "" {
				t.Fatalf("status %d body %v, want 400 with an error", resp.StatusCode, e)
			}
			if after := len(s.Guilds()); after != before {
				t.Fatalf("guilds %d -> %d", before, after)
			}
		})
	}
}

// TestRecommendedShardsFixed: a configured recommendation does not follow
// growth.
func TestRecommendedShardsFixed(t *testing.T) {
	s := startSim(t, fastConfig()) // RecommendedShards 2
	if _, err := s.GrowGuilds(s.AppID(), 1500); err != nil {
		t.Fatal(err)
	}
	if got := s.RecommendedShards(s.AppID()); got != 2 {
		t.Fatalf("recommended %d, want the configured 2", got)
	}
}
