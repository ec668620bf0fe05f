package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/node"
)

// lavalinkNodes starts two Lavalink test servers, so that a person can
// also watch a player move when one is stopped, and returns them with
// their LAVALINK_NODES value.
func lavalinkNodes() ([]*lavalinksim.Server, string, error) {
	var servers []*lavalinksim.Server
	var nodes []map[string]any
	for _, name := range []string{"lavalink-a", "lavalink-b"} {
		srv, err := lavalinksim.Start(lavalinksim.Config{})
		if err != nil {
			for _, s := range servers {
				s.Close()
			}
			return nil, "", err
		}
		servers = append(servers, srv)
		nodes = append(nodes, map[string]any{"name": name, "address": srv.Addr(), "password": srv.Password(), "secure": false})
	}
	b, _ := json.Marshal(nodes)
	return servers, string(b), nil
}

// setupAgents makes two voice agent bots in discordsim, adds them to every
// guild and registers them, replacing the agents of an earlier run (whose
// bots do not exist in this run's emulator).
func (s *Sandbox) setupAgents(ctx context.Context, dsn, key string) error {
	pool, err := pgxpool.New(ctx, dsn)
	if err != nil {
		return err
	}
	defer pool.Close()
	if err := node.Migrate(ctx, pool); err != nil {
		return err
	}
	k, err := agentpool.ParseKey(key)
	if err != nil {
		return err
	}
	checker, err := agentpool.NewTokenChecker(s.sim.URL(), nil)
	if err != nil {
		return err
	}
	reg := agentpool.NewRegistry(pool, k, checker)
	old, err := reg.List(ctx)
	if err != nil {
		return err
	}
	for _, a := range old {
		if err := reg.Remove(ctx, a.ID); err != nil {
			return err
		}
	}
	for i := 1; i <= 2; i++ {
		app, err := s.sim.CreateApplication(discordsim.AppOptions{Name: fmt.Sprintf("chopsticks-agent-%d", i)})
		if err != nil {
			return err
		}
		for _, g := range s.demo.guilds {
			if err := s.sim.AddBot(g.ID, app.ID); err != nil {
				return err
			}
		}
		if _, err := reg.Add(ctx, fmt.Sprintf("agent-%d", i), agentpool.NewToken(app.Token)); err != nil {
			return fmt.Errorf("register agent %d: %w", i, err)
		}
	}
	return nil
}

// handleVoice puts a user into the guild's voice channel or takes them out.
func (s *Sandbox) handleVoice(w http.ResponseWriter, r *http.Request) {
	var req struct {
		actor
		Join bool `json:"join"`
	}
	user, guild, ok := s.decodeActing(w, r, &req)
	if !ok {
		return
	}
	var err error
	if req.Join {
		ch, ok := s.sim.VoiceChannel(guild)
		if !ok {
			writeJSON(w, http.StatusConflict, apiError{"that guild has no voice channel"})
			return
		}
		err = s.sim.JoinVoice(guild, user, ch)
	} else {
		err = s.sim.LeaveVoice(guild, user)
	}
	if err != nil {
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"in_voice": s.sim.VoiceChannelOf(guild, user) != 0})
}
