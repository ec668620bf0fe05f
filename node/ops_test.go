package node_test

import (
	"testing"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/node"
)

// TestNodeStartsWithoutClientID: CLIENT_ID is optional; the node reads
// its application from the documented GET /applications/@me (arikawa's
// lookup asks for ".../api/v9//oauth2/applications/@me", which discordsim
// answers 404 as Discord does). It logs at info level, every line JSON with
// unique keys (logChecker), and answers /balance with an embed (sent
// without the null timestamp discordsim refuses, as Discord does).
func TestNodeStartsWithoutClientID(t *testing.T) {
	s := newStack(t, 1)
	s.startNode(t, "n1", func(c *node.Flags) { c.ClientID, c.LogLevel = "", "info" })
	g, u := guildAndUser(t, s.sim)
	_, msg := invoke(t, s.sim, discordsim.Invocation{GuildID: g, UserID: u, Command: "balance"})
	if len(msg.Embeds) != 1 {
		t.Errorf("/balance answered %+v, want one embed", msg)
	}
}
