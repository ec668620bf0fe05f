// Package shard runs one Discord gateway shard: it identifies only through
// the cluster's identify gate, tracks the sequence number, checkpoints
// (session_id, seq, resume_gateway_url) so another node can resume it, and
// hands off by closing with a resumable close code.
//
// The connection loop is written here on gorilla/websocket rather than taken
// from arikawa's gateway.Gateway, whose loop identifies again on its own after
// an invalid session (bypassing any cluster-wide gate), always closes with
// 1000 (which ends the session) and ignores resume_gateway_url. Events are
// still decoded into arikawa's types, so handlers see *gateway.ReadyEvent,
// *gateway.InteractionCreateEvent and so on.
package shard
