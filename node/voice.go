package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/commands"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/lavalink"
	"github.com/chopsticks-bot/chopsticks/voice"
)

// musicParts are the voice agents and the music service; all nil when
// music is off (no LAVALINK_NODES or no AGENT_TOKEN_KEY).
type musicParts struct {
	registry *agentpool.Registry
	states   *voice.StateCache
	runner   *agentpool.Runner
	alloc    *agentpool.Allocator
	music    *voice.Music
	// router runs music commands on the node playing in the caller's
	// channel; stopRouter stops its serving of forwarded commands.
	router     *voice.Router
	stopRouter func()
	speech     speechParts // /say's
}

// startMusic builds the agent pool and the music service. Music needs
// Lavalink nodes and the agent token key; without them music commands
// answer that music is not set up.
func (n *Node) startMusic(ctx context.Context) error {
	n.voice.states = voice.NewStateCache(n.rdb)
	if !n.cfg.AgentTokenKey.IsZero() {
		n.voice.registry = agentpool.NewRegistry(n.pool, n.cfg.AgentTokenKey, nil)
	}
	if len(n.cfg.LavalinkNodes) == 0 || n.voice.registry == nil {
		// Config.Disabled has said so at start, at warn level.
		return nil
	}
	if err := n.startSpeech(); err != nil {
		return err
	}
	var err error
	if n.voice.runner, err = agentpool.NewRunner(agentpool.RunnerConfig{
		Registry: n.voice.registry, Node: n.cfg.NodeID, GatewayURL: n.gatewayURL, Registerer: n.reg, Logger: n.log,
		Sessions: agentpool.NewRedisSessions(n.rdb),
	}); err != nil {
		return err
	}
	if n.voice.alloc, err = agentpool.NewAllocator(ctx, agentpool.AllocatorConfig{
		Client: n.etcd, Node: n.cfg.NodeID, Candidates: n.voice.runner, Joiner: n.voice.runner, Logger: n.log,
	}); err != nil {
		return err
	}
	if n.voice.music, err = voice.NewMusic(voice.MusicConfig{
		Lavalink: lavalink.Config{Nodes: n.cfg.LavalinkNodes}, BotUserID: n.botUserID, Queues: voice.NewQueues(n.sessRedis, 0),
		Voice: n.voice.states, Agents: n.voice.alloc, Registerer: n.reg, Logger: n.log, Search: n.cfg.MusicSearch,
		Speech: n.speechURLs(),
	}); err != nil {
		return err
	}
	n.voice.runner.SetMusic(n.voice.music, n.voice.alloc)
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		n.voice.music.ReapIdle(ctx, n.voice.states, 2*time.Minute)
	}()
	return n.startMusicRouter(ctx)
}

// stopMusic ends the agent sessions and the music service, in the order
// the agent pool needs.
func (n *Node) stopMusic() {
	if n.voice.stopRouter != nil {
		n.voice.stopRouter() // no forwarded command runs on a closing Music
	}
	if n.voice.runner != nil {
		n.voice.runner.Close()
	}
	if n.voice.music != nil {
		n.voice.music.Close()
	}
	if n.voice.alloc != nil {
		n.voice.alloc.Close()
	}
}

// syncAgents keeps the cluster's agent units equal to the enabled agents in
// the registry; the leader writes them, so the planner places one agent
// session per enabled agent. It checks every second, and writes at once
// when this node becomes leader and every 15 s after, so agents start
// within a second of a leader being elected rather than a period later.
func (n *Node) syncAgents(ctx context.Context) {
	if n.voice.registry == nil || n.voice.runner == nil {
		return
	}
	const every = 15 * time.Second
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var last time.Time // last successful write while leader; zero when not leader
	for {
		m := n.member.Load()
		switch {
		case m == nil || !m.IsLeader():
			last = time.Time{}
		case time.Since(last) >= every:
			if err := n.writeAgentUnits(ctx, m); err != nil {
				if ctx.Err() == nil {
					n.log.Warn("agent units not updated", "err", err)
				}
			} else {
				last = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// writeAgentUnits sets the cluster's agent units to the enabled agents.
func (n *Node) writeAgentUnits(ctx context.Context, m *coordinator.Member) error {
	agents, err := n.voice.registry.List(ctx)
	if err != nil {
		return err
	}
	var ids []int
	for _, a := range agents {
		if a.Enabled {
			ids = append(ids, int(a.ID))
		}
	}
	return m.SetAgents(ctx, ids)
}

// musicCommands are the music slash commands; without music they answer
// that music is not set up, so the catalog is the same on every node.
func (n *Node) musicCommands() []*commands.Command {
	var svc commands.MusicService
	if n.voice.router != nil {
		svc = n.voice.router
	}
	cmds := commands.Music(svc)
	if n.voice.router == nil {
		off := func(ctx context.Context, inv *commands.Invocation) (commands.Reply, error) {
			return commands.Reply{}, commands.Explain(errMusicOff, "Music isn't set up on this bot yet (the operator sets LAVALINK_NODES and adds agents).")
		}
		for _, c := range cmds {
			c.Run = off
			for _, s := range c.Subcommands {
				s.Run = off
			}
		}
	}
	return cmds
}

var errMusicOff = errors.New("music is not configured")

// startAgent and stopAgent run voice agent units for the coordinator.
func (n *Node) startAgent(ctx context.Context, id int) error {
	if n.voice.runner == nil {
		return fmt.Errorf("agent %d: music is off on this node", id)
	}
	return n.voice.runner.Start(ctx, int64(id))
}

func (n *Node) stopAgent(ctx context.Context, id int) error {
	if n.voice.runner == nil {
		return nil
	}
	return n.voice.runner.Stop(ctx, int64(id))
}

// startMusicRouter builds the music router and serves the commands other
// nodes forward here, on a goroutine the node owns until stopMusic or the
// end of ctx.
func (n *Node) startMusicRouter(ctx context.Context) error {
	var err error
	if n.voice.router, err = voice.NewRouter(voice.RouterConfig{
		Music: n.voice.music, Locator: n.voice.alloc, Redis: n.rdb, Node: n.cfg.NodeID,
		LiveNodes: n.musicNodes, Registerer: n.reg, Logger: n.log,
	}); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	n.voice.stopRouter = func() { cancel(); <-done }
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		defer close(done)
		if err := n.voice.router.Serve(ctx); err != nil {
			n.log.Warn("music routing stopped", "err", err)
		}
	}()
	return nil
}

// musicNodes lists the nodes that run voice agents, from the cluster's
// state in etcd (gossip may not have met every node yet), which /play asks
// for a free agent when this node has none.
func (n *Node) musicNodes() []string {
	m := n.member.Load()
	if m == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	st, err := m.Status(ctx)
	if err != nil {
		n.log.Warn("music: listing the nodes that run agents", "err", err)
		return nil
	}
	seen := map[coordinator.NodeID]bool{}
	var ids []string
	for _, u := range st.Units {
		if u.Kind == coordinator.KindAgent && u.Owner != "" && !seen[u.Owner] {
			seen[u.Owner] = true
			ids = append(ids, string(u.Owner))
		}
	}
	return ids
}
