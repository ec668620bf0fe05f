// Package lavalink is a Lavalink v4 client: one websocket session per node
// (resumed after a drop), REST calls for every player change, placement of
// new players on the least loaded node, and moving players off a node that
// fails at the position they had. It knows nothing of music commands or
// queues; package voice builds those on it.
//
// The client is our own rather than github.com/disgoorg/disgolink/v3. We
// need three things disgolink does not give us as-is: a rotation filter with
// a float rotationHz (8D uses 0.2 Hz; disgolink's takes an int), moving a
// player to another node at the position it had when its node died (which
// needs the client to remember and extrapolate each player's state), and no
// second Discord type system beside arikawa's (disgolink brings disgo's
// snowflakes and JSON types). Lavalink v4's protocol is small (REST for
// every change, a receive-only websocket for ready, stats, playerUpdate and
// events). The client is tested against lavalinksim, a server written from
// the Lavalink v4 documentation, in the dialects of Lavalink 4.2 and
// NodeLink.
//
// The files follow the layers: config.go (nodes and options), client.go
// (the client over several nodes: placement, failover), node.go (one node's
// websocket session), rest.go (REST calls and their errors), player.go (a
// guild's player and what the client remembers of it), clients.go (one
// client per Discord user), and the wire types in track.go, events.go,
// stats.go and filters.go.
package lavalink
