package discordrest

import (
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/localserver"
)

// TestScriptKeysShareASlot: the keys each script takes (the global
// budget, the invalid-request budget, bucket states and the bucket map)
// carry the application's hash tag, so each script runs on one Redis
// Cluster slot.
func TestScriptKeysShareASlot(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"}) // New makes no call
	t.Cleanup(func() { _ = rdb.Close() })
	tr, err := New(nil, rdb, Config{Name: "123456789012345678"})
	if err != nil {
		t.Fatal(err)
	}
	tat, gb, inv := tr.keys()
	state, _ := tr.stateKey(classify("POST", "/api/v10/channels/42/messages"))
	groups := []struct {
		op   string
		keys []string
	}{
		{"acquireScript", []string{tat, gb, state}},
		{"observeScript", []string{state, tr.prefix + "s:b:abcdef|channels/42", gb, inv, tr.prefix + "map"}},
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
