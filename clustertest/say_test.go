package clustertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/poll"
)

// TestSaySpeaksAcrossTheCluster: two nodes with music and the default
// speech (espeak-ng), one agent. A user in voice runs /say in a guild whose
// shard, where possible, runs on the node without the agent: that node
// speaks the text into the shared clip cache and forwards the clip to the
// agent's node, which signs a URL to itself; Lavalink (lavalinksim) loads
// it over HTTP and gets espeak-ng's WAV. The URL is refused once expired or
// forged (403), and a /say past the daily quota is refused, ephemeral.
func TestSaySpeaksAcrossTheCluster(t *testing.T) {
	c := newCluster(t, clusterOptions{})
	m := c.setupMusic(t)
	owner := c.startMusic(t, m, []string{"a", "b"}, "TTS_MAX_CHARS=30", "TTS_DAILY_CHARS=40", "TTS_URL_TTL=5s")
	l := c.joinAwayFrom(t, owner)
	t.Logf("the guild's shard runs on %s, the agent on %s", l.front, owner)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	say := func(text string) discordsim.Invocation {
		return discordsim.Invocation{Command: "say", Options: map[string]any{"text": text}}
	}
	// As in the /play test: until the agent's runner has adopted, /say is
	// refused as no agent free, and nothing is charged; the user retries.
	reply := l.invokeOnceAgentFree(ctx, t, c, say("hello from the cluster"))
	if !strings.Contains(reply, "Speaking") {
		t.Fatalf("/say reply %q", reply)
	}
	agentHTTP := c.Node(owner).HTTP
	var played lavalinksim.HTTPLoad
	poll.Eventually(t, 10*time.Second, func() bool {
		for _, lava := range m.lava {
			for _, ld := range lava.HTTPLoads() {
				if ld.Play && ld.Status == http.StatusOK && ld.Format == "wav" && ld.Length > 500 {
					played = ld
					return true
				}
			}
		}
		return false
	}, "Lavalink fetching the clip's WAV as it plays")
	if _, port, _ := strings.Cut(agentHTTP, ":"); !strings.HasPrefix(played.URL, "http://127.0.0.1:"+port+"/tts/clip/") {
		t.Fatalf("clip URL %s is not the agent node's (%s)", played.URL, agentHTTP)
	}

	// The URL, forged or expired, is refused by the node.
	get := func(u string) int {
		resp, err := http.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if st := get(strings.Replace(played.URL, "sig=", "sig=ff", 1)); st != http.StatusForbidden {
		t.Fatalf("forged URL: %d", st)
	}
	poll.Eventually(t, 10*time.Second, func() bool { return get(played.URL) == http.StatusForbidden }, "the URL expiring (TTS_URL_TTL=5s)")

	// 22 of 40 characters used: 20 more are refused, to the user alone.
	msg := l.invoke(ctx, t, c, say(strings.Repeat("y", 20)))
	if text := messageText(msg); !strings.Contains(text, "18 characters of speech left today") || msg.Flags&64 == 0 {
		t.Fatalf("over quota: %q (flags %d)", text, msg.Flags)
	}
}
