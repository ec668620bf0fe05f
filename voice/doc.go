// Package voice is Chopsticks' music: a Lavalink v4 client over several
// nodes with least-loaded placement and failover, forwarding of Discord
// voice updates to Lavalink, guild queues in Redis, and the music command
// logic (Music).
//
// The Lavalink client is our own rather than github.com/disgoorg/disgolink/v3.
// We need three things disgolink does not give us as-is: a rotation filter
// with a float rotationHz (8D uses 0.2 Hz; disgolink's takes an int), moving a
// player to another node at the position it had when its node died (which
// needs the client to remember and extrapolate each player's state), and
// no second Discord type system beside arikawa's (disgolink brings disgo's
// snowflakes and JSON types). Lavalink v4's protocol is small (REST for
// every change, a receive-only websocket for ready, stats, playerUpdate and
// events), so the client is a few hundred lines that we test against
// lavalinksim, a server written from the Lavalink v4 documentation.
//
// Configuration of real nodes comes from LAVALINK_NODES; see ParseNodes.
package voice

import "errors"

// ErrBadArgument marks a caller's invalid input (a volume out of range, an
// unknown filter, a position past the end): nothing was changed.
var ErrBadArgument = errors.New("invalid argument")
