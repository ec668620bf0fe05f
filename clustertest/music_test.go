package clustertest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/clustertest/harness"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// music is a cluster's music setup: Lavalink test servers and one voice
// agent registered in the cluster's registry and added to every guild.
type music struct {
	lava    []*lavalinksim.Server
	env     []string // AGENT_TOKEN_KEY and LAVALINK_NODES for the nodes
	app     discordsim.Application
	agentID int64
}

func (c *cluster) setupMusic(t *testing.T) *music {
	t.Helper()
	ctx := context.Background()
	m := &music{}
	var nodes []map[string]any
	for _, name := range []string{"lavalink-a", "lavalink-b"} {
		l, err := lavalinksim.Start(lavalinksim.Config{PlayerUpdateInterval: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { l.Close() })
		m.lava = append(m.lava, l)
		nodes = append(nodes, map[string]any{"name": name, "address": l.Addr(), "password": l.Password(), "secure": false})
	}
	lavalinkNodes, _ := json.Marshal(nodes)
	keyBytes := make([]byte, 32)
	rand.Read(keyBytes)
	key := hex.EncodeToString(keyBytes)
	m.env = []string{"AGENT_TOKEN_KEY=" + key, "LAVALINK_NODES=" + string(lavalinkNodes)}

	var err error
	if m.app, err = c.Sim.CreateApplication(discordsim.AppOptions{Name: "chopsticks-agent-1"}); err != nil {
		t.Fatal(err)
	}
	for _, g := range c.Sim.Guilds() {
		if err := c.Sim.AddBot(g.ID, m.app.ID); err != nil {
			t.Fatal(err)
		}
	}
	pool, err := pgxpool.New(ctx, c.Postgres)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	if err := agentpool.Migrate(ctx, pool); err != nil {
		t.Fatal(err)
	}
	k, err := agentpool.ParseKey(key)
	if err != nil {
		t.Fatal(err)
	}
	checker, err := agentpool.NewTokenChecker(c.Sim.URL(), nil)
	if err != nil {
		t.Fatal(err)
	}
	a, err := agentpool.NewRegistry(pool, k, checker).Add(ctx, "agent-1", agentpool.NewToken(m.app.Token))
	if err != nil {
		t.Fatal(err)
	}
	m.agentID = a.ID
	return m
}

// agentOwner returns the node holding the agent's unit while it runs.
func (c *cluster) agentOwner(id int64) (string, bool) {
	for _, u := range c.Status().Units {
		if u.Kind == coordinator.KindAgent && u.ID == int(id) && u.State == "running" {
			return string(u.Owner), u.Owner != ""
		}
	}
	return "", false
}

// liveSessionOf returns the live gateway session of app.
func liveSessionOf(sim *discordsim.Sim, app discordsim.Snowflake) (discordsim.SessionInfo, bool) {
	for _, s := range sim.Sessions() {
		if s.AppID == app && s.Live {
			return s, true
		}
	}
	return discordsim.SessionInfo{}, false
}

// allocations reads the voice allocations from etcd: agent -> allocation
// and "guild/channel" -> agent.
func (c *cluster) allocations() (map[string]agentpool.Allocation, map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	resp, err := c.EtcdClient.Get(ctx, agentpool.DefaultAllocPrefix+"/", clientv3.WithPrefix())
	if err != nil {
		return nil, nil, err
	}
	agents, channels := map[string]agentpool.Allocation{}, map[string]string{}
	for _, kv := range resp.Kvs {
		k := strings.TrimPrefix(string(kv.Key), agentpool.DefaultAllocPrefix+"/")
		if id, ok := strings.CutPrefix(k, "agents/"); ok {
			var al agentpool.Allocation
			if err := json.Unmarshal(kv.Value, &al); err != nil {
				return nil, nil, fmt.Errorf("allocation of %s: %w", id, err)
			}
			agents[id] = al
		} else if gc, ok := strings.CutPrefix(k, "channels/"); ok {
			channels[gc] = string(kv.Value)
		}
	}
	return agents, channels, nil
}

// voiceWatch polls etcd and discordsim every 20 ms for the allocation
// invariants: an agent is in at most one voice channel (by Discord and by
// etcd), a channel has at most one agent, the two etcd indexes agree, and
// the agent has at most one live gateway session.
type voiceWatch struct {
	stop context.CancelFunc
	done chan struct{}
	mu   sync.Mutex
	bad  []string
}

func (c *cluster) watchVoice(m *music) *voiceWatch {
	ctx, cancel := context.WithCancel(context.Background())
	w := &voiceWatch{stop: cancel, done: make(chan struct{})}
	guilds := c.Sim.Guilds()
	agentUser := m.app.BotUserID
	report := func(format string, args ...any) {
		w.mu.Lock()
		defer w.mu.Unlock()
		if len(w.bad) < 20 {
			w.bad = append(w.bad, time.Now().Format("15:04:05.000 ")+fmt.Sprintf(format, args...))
		}
	}
	go func() {
		defer close(w.done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			var in []string
			for _, g := range guilds {
				if ch := c.Sim.VoiceChannelOf(g.ID, agentUser); ch != 0 {
					in = append(in, g.ID.String()+"/"+ch.String())
				}
			}
			if len(in) > 1 {
				report("the agent is in %d voice channels: %v", len(in), in)
			}
			live := 0
			for _, s := range c.Sim.Sessions() {
				if s.AppID == m.app.ID && s.Live {
					live++
				}
			}
			if live > 1 {
				report("the agent has %d live gateway sessions", live)
			}
			if agents, channels, err := c.allocations(); err == nil {
				for gc, agent := range channels {
					if al, ok := agents[agent]; ok && al.Guild+"/"+al.Channel != gc {
						report("channel %s names agent %s, whose allocation is %s/%s", gc, agent, al.Guild, al.Channel)
					}
				}
				for agent, al := range agents {
					if a, ok := channels[al.Guild+"/"+al.Channel]; ok && a != agent {
						report("agent %s is allocated to %s/%s, which names agent %s", agent, al.Guild, al.Channel, a)
					}
				}
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	c.t.Cleanup(w.halt)
	return w
}

func (w *voiceWatch) halt() { w.stop(); <-w.done }

func (w *voiceWatch) violations() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.bad)
}

// player returns the player of guild on whichever Lavalink server
// holds it.
func (m *music) player(guild string) (lavalinksim.PlayerSnapshot, bool) {
	for _, l := range m.lava {
		if p, ok := l.Player(guild); ok {
			return p, true
		}
	}
	return lavalinksim.PlayerSnapshot{}, false
}

// agentLavalinkConnected reports whether the agent's Lavalink session is
// connected on every server that holds one.
func (m *music) agentLavalinkConnected() bool {
	n := 0
	for _, l := range m.lava {
		for _, s := range l.Sessions() {
			if s.UserID == m.app.BotUserID.String() {
				if !s.Connected {
					return false
				}
				n++
			}
		}
	}
	return n > 0
}

// messageText is the content and embeds of a message, for matching.
func messageText(msg discordsim.Message) string {
	var b strings.Builder
	b.WriteString(msg.Content)
	for _, e := range msg.Embeds {
		b.Write(e)
	}
	return b.String()
}

// startMusic starts nodes ids with music on (m's settings, then extra)
// and waits until they share the shards and the agent's unit runs; it
// returns the agent's node.
func (c *cluster) startMusic(t *testing.T, m *music, ids []string, extra ...string) string {
	t.Helper()
	for _, id := range ids {
		c.Start(id, false, append(slices.Clone(m.env), extra...)...)
	}
	start := time.Now()
	c.AwaitSteady(40*time.Second, ids...)
	var owner string
	poll.Eventually(t, 30*time.Second, func() bool {
		var ok bool
		owner, ok = c.agentOwner(m.agentID)
		_, live := liveSessionOf(c.Sim, m.app.ID)
		return ok && live
	}, "the agent's unit running")
	t.Logf("cluster steady and agent running on %s %v after start", owner, time.Since(start).Round(time.Millisecond))
	return owner
}

// listener is a user in a voice channel, and the node that runs the
// guild's shard (front).
type listener struct {
	guild, channel, user discordsim.Snowflake
	front                string
}

// joinAwayFrom puts the first default user in the voice channel of a guild
// whose shard a node other than owner runs (the first guild when every
// shard is on owner: front is then owner), and waits until the user's voice
// state is in the cache the music commands read.
func (c *cluster) joinAwayFrom(t *testing.T, owner string) listener {
	t.Helper()
	own := harness.Owners(c.Status())
	l := listener{guild: c.Sim.Guilds()[0].ID, user: c.Sim.DefaultUsers()[0]}
	l.front = own[discordsim.ShardFor(l.guild, c.Shards)]
	for _, g := range c.Sim.Guilds() {
		if o := own[discordsim.ShardFor(g.ID, c.Shards)]; o != owner {
			l.guild, l.front = g.ID, o
			break
		}
	}
	vc, ok := c.Sim.VoiceChannel(l.guild)
	if !ok {
		t.Fatal("the guild has no voice channel")
	}
	l.channel = vc
	if err := c.Sim.JoinVoice(l.guild, l.user, vc); err != nil {
		t.Fatal(err)
	}
	states := voice.NewStateCache(c.RDB)
	poll.Eventually(t, 10*time.Second, func() bool {
		ch, _ := states.UserVoiceChannel(context.Background(), l.guild.String(), l.user.String())
		return ch == vc.String()
	}, "the user's voice state in the cache")
	return l
}

// invoke sends inv as the listener and returns the bot's message.
func (l listener) invoke(ctx context.Context, t *testing.T, c *cluster, inv discordsim.Invocation) discordsim.Message {
	t.Helper()
	inv.GuildID, inv.UserID = l.guild, l.user
	it, err := c.Sim.Invoke(ctx, inv)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := it.WaitMessage(ctx)
	if err != nil {
		t.Fatalf("/%s: %v", inv.Command, err)
	}
	return msg
}

// invokeOnceAgentFree is invoke for /play and /say. The runner offers an
// agent only once its adoption step has run, a moment after its session
// is READY: until then the command is refused as a user would see it, and
// the user tries again (for up to 10 s), at a human pace that stays under
// the per-user command limit (10 per second). It returns the last reply.
func (l listener) invokeOnceAgentFree(ctx context.Context, t *testing.T, c *cluster, inv discordsim.Invocation) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(300 * time.Millisecond) {
		reply := messageText(l.invoke(ctx, t, c, inv))
		if !strings.Contains(reply, "No music agent is free") || time.Now().After(deadline) {
			return reply
		}
	}
}

// TestMusicAgentSurvivesNodeKill: three nodes with music on, one agent.
// A user in voice runs /play in a guild whose shard runs on a node without
// the agent, so the command is forwarded to the agent's node, as is /queue.
// The agent's node is SIGKILLed. The agent comes back on another node by
// RESUME (no second IDENTIFY), the Lavalink player keeps its track and its
// position advances, the channel's allocation names the new node, and the
// agent is never in two channels nor a channel given two agents. Finally
// /nowplaying, answered wherever the guild's shard now runs, names the
// track. In the double fault the Lavalink node holding the player dies with
// the agent's node: the new owner restores the track, from about where it
// was, on the other Lavalink node.
func TestMusicAgentSurvivesNodeKill(t *testing.T) {
	for _, tt := range []struct {
		name         string
		killLavalink bool
	}{
		{"lavalink up", false},
		{"its lavalink node killed too", true},
	} {
		t.Run(tt.name, func(t *testing.T) { musicAgentSurvivesNodeKill(t, tt.killLavalink) })
	}
}

func musicAgentSurvivesNodeKill(t *testing.T, killLavalink bool) {
	c := newCluster(t, clusterOptions{})
	m := c.setupMusic(t)
	ids := []string{"a", "b", "c"}
	owner := c.startMusic(t, m, ids)
	watch := c.watchVoice(m)

	// A guild whose shard another node runs: that node has no agent, so
	// it offers /play to the agent's node, and forwards /queue there.
	l := c.joinAwayFrom(t, owner)
	guild, vc, front := l.guild, l.channel, l.front
	if front == owner {
		t.Fatalf("every guild's shard is on the agent's node %s: %v", owner, harness.Owners(c.Status()))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	reply := l.invokeOnceAgentFree(ctx, t, c, discordsim.Invocation{Command: "play",
		Options: map[string]any{"query": "https://example.com/long.mp3?length=600000"}})
	if !strings.Contains(reply, "long.mp3") {
		t.Fatalf("/play reply %q", reply)
	}
	poll.Eventually(t, 10*time.Second, func() bool {
		p, ok := m.player(guild.String())
		return ok && p.Connected && p.Track != nil && p.Position > 0 &&
			c.Sim.VoiceChannelOf(guild, m.app.BotUserID) == vc
	}, "the agent playing in the channel")
	agents, channels, err := c.allocations()
	agentUser := m.app.BotUserID.String()
	if err != nil || agents[agentUser].Node != owner || channels[guild.String()+"/"+vc.String()] != agentUser {
		t.Fatalf("allocation before the kill: %v %v %v", agents, channels, err)
	}
	if msg := l.invoke(ctx, t, c, discordsim.Invocation{Command: "queue"}); !strings.Contains(messageText(msg), "long.mp3") {
		t.Fatalf("/queue on %s, forwarded to %s: %q", front, owner, messageText(msg))
	}
	t.Logf("/play and /queue answered by %s, played by the agent on %s", front, owner)
	// The agent's session is checkpointed (every second) before the crash.
	session, _ := liveSessionOf(c.Sim, m.app.ID)
	poll.Eventually(t, 5*time.Second, func() bool {
		cp, err := c.RDB.HGetAll(context.Background(), fmt.Sprintf("%s:{%d}:checkpoint", agentpool.AgentCheckpointPrefix, m.agentID)).Result()
		return err == nil && cp["session"] == session.ID && cp["seq"] != "" && cp["seq"] != "0"
	}, "the agent's session checkpointed")

	before, _ := m.player(guild.String())
	killedAt := c.Kill(owner)
	if killLavalink {
		for i, l := range m.lava {
			if _, ok := l.Player(guild.String()); ok {
				l.Kill()
				m.lava = slices.Delete(slices.Clone(m.lava), i, i+1)
				t.Logf("killed Lavalink node %d with the player, at the same time", i)
				break
			}
		}
	}
	var survivors []string
	for _, id := range ids {
		if id != owner {
			survivors = append(survivors, id)
		}
	}
	var newOwner, why string
	poll.Eventually(t, 20*time.Second, func() bool {
		c.CheckAlive(survivors...)
		var ok bool
		if newOwner, ok = c.agentOwner(m.agentID); !ok || newOwner == owner {
			why = fmt.Sprintf("agent unit owner %q", newOwner)
			return false
		}
		agents, channels, err := c.allocations()
		if err != nil || agents[agentUser].Node != newOwner || channels[guild.String()+"/"+vc.String()] != agentUser {
			why = fmt.Sprintf("allocation %v %v %v", agents, channels, err)
			return false
		}
		if !m.agentLavalinkConnected() {
			why = "the agent's Lavalink session is not connected"
			return false
		}
		p, ok := m.player(guild.String())
		if !ok || !p.Connected || p.Track == nil || p.Position <= before.Position {
			why = fmt.Sprintf("player %+v", p)
			return false
		}
		return true
	}, "the agent adopted on a survivor (last: %s)", &why)
	adopted := time.Since(killedAt)
	// Playback confirmed: the same track, its position advancing under the
	// new owner.
	p1, _ := m.player(guild.String())
	poll.Eventually(t, 5*time.Second, func() bool {
		p2, ok := m.player(guild.String())
		return ok && p2.Connected && p2.Track != nil && p2.Position > p1.Position
	}, "the position to advance on the new owner")
	confirmed := time.Since(killedAt)
	after, _ := m.player(guild.String())
	resumed, ok := c.Sim.ResumedAt(session.ID, killedAt)
	t.Logf("SIGKILL of %s: agent session resumed on %s after %v, adopted with its channel after %v, playback confirmed after %v (LEASE_TTL %v)",
		owner, newOwner, resumed.Sub(killedAt).Round(time.Millisecond), adopted.Round(time.Millisecond), confirmed.Round(time.Millisecond), c.LeaseTTL)
	t.Logf("track %s at %v before the kill, %v after", before.Track.Info.Title, before.Position, after.Position)
	if !ok {
		t.Errorf("the agent's session %s was not resumed after the kill", session.ID)
	}
	if now, ok := liveSessionOf(c.Sim, m.app.ID); !ok || now.ID != session.ID {
		t.Errorf("the agent's live session is %+v, want %s resumed", now, session.ID)
	}
	for _, id := range c.Sim.Identifies() {
		if id.AppID == m.app.ID && id.Accepted && !id.Time.Before(killedAt) {
			t.Errorf("the agent identified again after the kill: %+v", id)
		}
	}
	if after.Track.Info.Title != before.Track.Info.Title || after.Track.Info.Identifier != before.Track.Info.Identifier {
		t.Errorf("track changed from %s to %s", before.Track.Info.Title, after.Track.Info.Title)
	}
	if ch := c.Sim.VoiceChannelOf(guild, m.app.BotUserID); ch != vc {
		t.Errorf("the agent is in channel %s, want %s", ch, vc)
	}

	// /nowplaying goes to whichever survivor now runs the guild's shard,
	// which need not be the agent's node.
	c.AwaitSteady(20*time.Second, survivors...)
	shardOwner := harness.Owners(c.Status())[discordsim.ShardFor(guild, c.Shards)]
	if msg := l.invoke(ctx, t, c, discordsim.Invocation{Command: "nowplaying"}); !strings.Contains(messageText(msg), "long.mp3") {
		t.Errorf("/nowplaying answered by %s (agent on %s): %q", shardOwner, newOwner, messageText(msg))
	} else {
		t.Logf("/nowplaying answered by %s, the agent's node being %s", shardOwner, newOwner)
	}
	watch.halt()
	for _, v := range watch.violations() {
		t.Errorf("voice invariant: %s", v)
	}
	checkNoViolations(t, c.Sim)
}
