package node

import "testing"

// TestAutoShardCount: an automatic reshard aims for Discord's recommended
// fill (40% of the cap) on the fullest shard, adds at least one shard, and
// stays within the coordinator's limit.
func TestAutoShardCount(t *testing.T) {
	for _, tc := range []struct {
		name                   string
		count, busiest, capped int
		want                   int
	}{
		{"8 shards at 80% of 2500", 8, 2001, 2500, 17},
		{"16 shards just over", 16, 2010, 2500, 33},
		{"small cap in tests", 8, 4, 4, 20},
		{"at least one more", 3, 2, 100, 4},
		{"bounded", 4000, 2500, 2500, 4096},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := autoShardCount(tc.count, tc.busiest, tc.capped); got != tc.want {
				t.Fatalf("autoShardCount(%d, %d, %d) = %d, want %d", tc.count, tc.busiest, tc.capped, got, tc.want)
			}
		})
	}
}
