package voice

import (
	"testing"

	"github.com/chopsticks-bot/chopsticks/localserver"
)

// TestMultiKeyOperationsShareASlot lists the music keys used together in
// one script, DEL, WATCH or MULTI, and checks that each group shares one
// Redis Cluster slot by its hash tag (the queue or guild ID), not by luck.
func TestMultiKeyOperationsShareASlot(t *testing.T) {
	states := NewStateCache(nil)
	for _, id := range []string{"1", "9876543210", "guild:with:colons"} {
		qk, nk, lk := keys(id)
		groups := []struct {
			op   string
			keys []string
		}{
			{"advanceScript (queue, now playing, loop)", []string{qk, nk, lk}},
			{"Clear's DEL (queue, now playing, loop, playback)", []string{qk, nk, lk, playbackKey(id)}},
			{"Shuffle's WATCH and MULTI", []string{qk}},
			{"voice states' MULTI (DEL, HSET)", []string{states.key(id)}},
			{"RPC reply's MULTI (RPUSH, EXPIRE)", []string{rpcReplyPrefix + id}},
		}
		for _, g := range groups {
			want := localserver.KeySlot(g.keys[0])
			for _, k := range g.keys[1:] {
				if got := localserver.KeySlot(k); got != want {
					t.Errorf("%s: %s is in slot %d, %s in %d", g.op, k, got, g.keys[0], want)
				}
			}
		}
	}
}
