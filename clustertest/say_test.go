package clustertest

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/voice"
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
	env := append(m.env, "TTS_MAX_CHARS=30", "TTS_DAILY_CHARS=40", "TTS_URL_TTL=5s")
	ids := []string{"a", "b"}
	for _, id := range ids {
		c.Start(id, false, env...)
	}
	c.AwaitSteady(40*time.Second, ids...)
	var owner string
	poll.Eventually(t, 30*time.Second, func() bool {
		var ok bool
		owner, ok = c.agentOwner(m.agentID)
		_, live := liveSessionOf(c.Sim, m.app.ID)
		return ok && live
	}, "the agent's unit running")
	guild := c.Sim.Guilds()[0].ID
	own := harness.Owners(c.Status())
	for _, g := range c.Sim.Guilds() {
		if own[int((uint64(g.ID)>>22)%shardCount)] != owner {
			guild = g.ID
			break
		}
	}
	t.Logf("the guild's shard runs on %s, the agent on %s", own[int((uint64(guild)>>22)%shardCount)], owner)
	vc, ok := c.Sim.VoiceChannel(guild)
	if !ok {
		t.Fatal("the guild has no voice channel")
	}
	user := c.Sim.DefaultUsers()[0]
	if err := c.Sim.JoinVoice(guild, user, vc); err != nil {
		t.Fatal(err)
	}
	states := voice.NewStateCache(c.RDB)
	poll.Eventually(t, 10*time.Second, func() bool {
		ch, _ := states.UserVoiceChannel(context.Background(), guild.String(), user.String())
		return ch == vc.String()
	}, "the user's voice state in the cache")

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	say := func(text string) discordsim.Message {
		t.Helper()
		it, err := c.Sim.Invoke(ctx, discordsim.Invocation{GuildID: guild, UserID: user, Command: "say", Options: map[string]any{"text": text}})
		if err != nil {
			t.Fatal(err)
		}
		msg, err := it.WaitMessage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return msg
	}
	// As in the /play test: until the agent's runner has adopted, /say is
	// refused as no agent free, and nothing is charged; the user retries.
	var reply string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		reply = messageText(say("hello from the cluster"))
		if !strings.Contains(reply, "No music agent is free") || time.Now().After(deadline) {
			break
		}
	}
	if !strings.Contains(reply, "Speaking") {
		t.Fatalf("/say reply %q", reply)
	}
	agentHTTP := c.Node(owner).HTTP
	var played lavalinksim.HTTPLoad
	poll.Eventually(t, 10*time.Second, func() bool {
		for _, l := range m.lava {
			for _, ld := range l.HTTPLoads() {
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
	msg := say(strings.Repeat("y", 20))
	if text := messageText(msg); !strings.Contains(text, "18 characters of speech left today") || msg.Flags&64 == 0 {
		t.Fatalf("over quota: %q (flags %d)", text, msg.Flags)
	}
}
