package node

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/commands"
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
}

// startMusic builds the agent pool and the music service. Music needs
// Lavalink nodes and the agent token key; without them music commands
// answer that music is not set up.
func (n *Node) startMusic(ctx context.Context) error {
	n.voice.states = voice.NewStateCache(n.rdb)
	if n.cfg.AgentTokenKey != "" {
		key, err := agentpool.ParseKey(n.cfg.AgentTokenKey)
		if err != nil {
			return &ConfigError{Setting: "AGENT_TOKEN_KEY", Reason: err.Error()}
		}
		n.voice.registry = agentpool.NewRegistry(n.pool, key, nil)
	}
	if n.cfg.LavalinkNodes == "" || n.voice.registry == nil {
		n.log.Info("music off: set LAVALINK_NODES and AGENT_TOKEN_KEY to play music")
		return nil
	}
	nodes, err := voice.ParseNodes(n.cfg.LavalinkNodes)
	if err != nil {
		return &ConfigError{Setting: "LAVALINK_NODES", Reason: err.Error()}
	}
	if n.voice.runner, err = agentpool.NewRunner(agentpool.RunnerConfig{
		Registry: n.voice.registry, GatewayURL: n.gatewayURL, Registerer: n.reg, Logger: n.log,
	}); err != nil {
		return err
	}
	if n.voice.alloc, err = agentpool.NewAllocator(ctx, agentpool.AllocatorConfig{
		Client: n.etcd, Node: n.cfg.NodeID, Candidates: n.voice.runner, Joiner: n.voice.runner, Logger: n.log,
	}); err != nil {
		return err
	}
	if n.voice.music, err = voice.NewMusic(voice.MusicConfig{
		Lavalink: voice.Config{Nodes: nodes}, BotUserID: n.botUserID, Queues: voice.NewQueues(n.rdb, 0),
		Voice: n.voice.states, Agents: n.voice.alloc, Registerer: n.reg, Logger: n.log,
	}); err != nil {
		return err
	}
	n.voice.runner.SetMusic(n.voice.music, n.voice.alloc)
	n.bg.Add(1)
	go func() {
		defer n.bg.Done()
		n.voice.music.ReapIdle(ctx, n.voice.states, 2*time.Minute)
	}()
	return nil
}

// stopMusic ends the agent sessions and the music service, in the order
// the agent pool needs.
func (n *Node) stopMusic() {
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
// session per enabled agent.
func (n *Node) syncAgents(ctx context.Context) {
	if n.voice.registry == nil || n.voice.runner == nil {
		return
	}
	t := time.NewTicker(15 * time.Second)
	defer t.Stop()
	for {
		if m := n.member.Load(); m != nil && m.IsLeader() {
			agents, err := n.voice.registry.List(ctx)
			if err == nil {
				var ids []int
				for _, a := range agents {
					if a.Enabled {
						ids = append(ids, int(a.ID))
					}
				}
				err = m.SetUnits(ctx, n.shardCount, ids)
			}
			if err != nil && ctx.Err() == nil {
				n.log.Warn("agent units not updated", "err", err)
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// musicCommands are the music slash commands; without music they answer
// that music is not set up, so the catalog is the same on every node.
func (n *Node) musicCommands() []*commands.Command {
	cmds := commands.Music(n.voice.music)
	if n.voice.music == nil {
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
