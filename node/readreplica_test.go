package node_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/node"
)

// TestNodeReadsTheCurrencyLogFromTheReplica: with POSTGRES_READ_URL naming
// a streaming replica, /daily writes on the primary (a standby refuses
// writes) and /currencylog, which tolerates lag, is read on the replica,
// as the node's per-pool metric shows.
func TestNodeReadsTheCurrencyLogFromTheReplica(t *testing.T) {
	primary := servertest.PostgresServer(t)
	replica := servertest.ReplicaServer(t, primary)
	s := newStack(t, 1)
	s.pg = primary.DSN("chopsticks")
	addr := s.startNode(t, "n1", func(f *node.Flags) { f.PostgresReadURL = replica.DSN("chopsticks") })
	guild, user := guildAndUser(t, s.sim)
	if _, msg := invoke(t, s.sim, discordsim.Invocation{Command: "daily", GuildID: guild, UserID: user}); msg.Ephemeral() {
		t.Fatalf("/daily with a read replica was refused: %q", msg.Content)
	}
	replicaReads := func() float64 {
		mf := scrape(t, "http://"+addr+"/metrics")["chopsticks_db_lag_tolerant_reads_total"]
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "pool" && l.GetValue() == "replica" {
					return m.GetCounter().GetValue()
				}
			}
		}
		return 0
	}
	// The replica is used once the node's first check finds it caught up;
	// it may show the daily a moment after the primary does (within
	// POSTGRES_READ_MAX_LAG).
	deadline := time.Now().Add(10 * time.Second)
	for {
		before := replicaReads()
		_, msg := invoke(t, s.sim, discordsim.Invocation{Command: "currencylog", GuildID: guild, UserID: user})
		b, err := json.Marshal(msg)
		if err != nil {
			t.Fatal(err)
		}
		last := string(b)
		if replicaReads() > before && strings.Contains(strings.ToLower(last), "daily") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("no /currencylog read on the replica showed the daily within 10s (last reply: %s)", last)
		}
		time.Sleep(150 * time.Millisecond) // under the default limit of 10 commands a second
	}
}
