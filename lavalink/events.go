package lavalink

import (
	"time"
)

// Event is something that happened to a guild's player.
type Event interface {
	Guild() string
}

// TrackEndReason says why a track ended.
type TrackEndReason string

// The track end reasons of Lavalink v4.
const (
	EndFinished   TrackEndReason = "finished"
	EndLoadFailed TrackEndReason = "loadFailed"
	EndStopped    TrackEndReason = "stopped"
	EndReplaced   TrackEndReason = "replaced"
	EndCleanup    TrackEndReason = "cleanup"
)

// MayStartNext reports whether the next queued track should start.
func (r TrackEndReason) MayStartNext() bool { return r == EndFinished || r == EndLoadFailed }

// TrackStartEvent: a track started playing.
type TrackStartEvent struct {
	GuildID string
	Track   Track
}

// TrackEndEvent: a track ended.
type TrackEndEvent struct {
	GuildID string
	Track   Track
	Reason  TrackEndReason
}

// TrackExceptionEvent: a track failed.
type TrackExceptionEvent struct {
	GuildID   string
	Track     Track
	Exception Exception
}

// TrackStuckEvent: a track stopped producing audio.
type TrackStuckEvent struct {
	GuildID   string
	Track     Track
	Threshold time.Duration
}

// WebSocketClosedEvent: Discord closed the voice connection.
type WebSocketClosedEvent struct {
	GuildID  string
	Code     int
	Reason   string
	ByRemote bool
}

// PlayerMovedEvent: the client moved a player from a failed node to another,
// resuming at Position.
type PlayerMovedEvent struct {
	GuildID  string
	From, To string
	Position time.Duration
}

// Guild returns the guild ID of the event.
func (e TrackStartEvent) Guild() string { return e.GuildID }

// Guild returns the guild ID of the event.
func (e TrackEndEvent) Guild() string { return e.GuildID }

// Guild returns the guild ID of the event.
func (e TrackExceptionEvent) Guild() string { return e.GuildID }

// Guild returns the guild ID of the event.
func (e TrackStuckEvent) Guild() string { return e.GuildID }

// Guild returns the guild ID of the event.
func (e WebSocketClosedEvent) Guild() string { return e.GuildID }

// Guild returns the guild ID of the event.
func (e PlayerMovedEvent) Guild() string { return e.GuildID }
