// Package voice is Chopsticks' music: the music commands (Music), each
// voice channel's queue in Redis, the agents (extra bot accounts) sent into
// voice channels, the users' voice states, the freeing of idle agents, the
// adoption and restoring of an agent's music when its node dies, and the
// Router that runs a command on whichever node plays in the caller's
// channel. It plays through package lavalink, the Lavalink v4 client, with
// one client per agent.
//
// Files: music.go (Music and its commands), say.go (/say: clips queued
// ahead of the songs), session.go (a channel's
// session: agent, player, start and end), events.go (player events and
// voice updates), restore.go (Adopt, restore, Detach), queue.go (queues and
// saved playback in Redis), search.go and presets.go (what /play and
// /filter accept), states.go (voice states), idle.go, errors.go (the
// refusals), and route.go with ops.go (the music RPC and its op table).
package voice
