package voice

import (
	"encoding/json"
	"fmt"
	"time"
)

// Track is a Lavalink track: the encoded blob Lavalink plays and its info.
type Track struct {
	Encoded    string          `json:"encoded"`
	Info       TrackInfo       `json:"info"`
	PluginInfo json.RawMessage `json:"pluginInfo,omitempty"`
	UserData   json.RawMessage `json:"userData,omitempty"`
}

// TrackInfo describes a track.
type TrackInfo struct {
	Identifier string  `json:"identifier"`
	IsSeekable bool    `json:"isSeekable"`
	Author     string  `json:"author"`
	Length     int64   `json:"length"` // milliseconds
	IsStream   bool    `json:"isStream"`
	Position   int64   `json:"position"`
	Title      string  `json:"title"`
	URI        *string `json:"uri"`
	ArtworkURL *string `json:"artworkUrl"`
	ISRC       *string `json:"isrc"`
	SourceName string  `json:"sourceName"`
}

// Duration returns the track's length; see KnownLength.
func (i TrackInfo) Duration() time.Duration { return time.Duration(i.Length) * time.Millisecond }

// KnownLength reports whether Length is a length: servers send -1 (or 0)
// for streams and for files whose length they cannot tell.
func (i TrackInfo) KnownLength() bool { return i.Length > 0 }

// Seekable reports whether a position can be set in the track: never for a
// stream, whatever isSeekable says.
func (i TrackInfo) Seekable() bool { return i.IsSeekable && !i.IsStream }

// Exception is Lavalink's exception object.
type Exception struct {
	Message         *string `json:"message"`
	Severity        string  `json:"severity"`
	Cause           string  `json:"cause"`
	CauseStackTrace string  `json:"causeStackTrace"`
}

// Error describes the exception for people.
func (e Exception) Error() string {
	if e.Message != nil {
		return fmt.Sprintf("%s (%s)", *e.Message, e.Severity)
	}
	return fmt.Sprintf("%s (%s)", e.Cause, e.Severity)
}

// LoadType is the loadType of a load result.
type LoadType string

// The load types of Lavalink v4.
const (
	LoadTrack    LoadType = "track"
	LoadPlaylist LoadType = "playlist"
	LoadSearch   LoadType = "search"
	LoadEmpty    LoadType = "empty"
	LoadError    LoadType = "error"
)

// LoadResult is the outcome of LoadTracks. Tracks holds the track, the
// playlist's tracks or the search results.
type LoadResult struct {
	Type      LoadType
	Tracks    []Track
	Playlist  *PlaylistInfo
	Exception *Exception
}

// PlaylistInfo names a loaded playlist.
type PlaylistInfo struct {
	Name          string `json:"name"`
	SelectedTrack int    `json:"selectedTrack"`
}

// VoiceState is what Lavalink needs to join a Discord voice channel, taken
// from VOICE_STATE_UPDATE (SessionID, ChannelID) and VOICE_SERVER_UPDATE
// (Token, Endpoint).
type VoiceState struct {
	Token     string `json:"token"`
	Endpoint  string `json:"endpoint"`
	SessionID string `json:"sessionId"`
	ChannelID string `json:"channelId"`
}

func (v VoiceState) complete() bool {
	return v.Token != "" && v.Endpoint != "" && v.SessionID != "" && v.ChannelID != ""
}

// String hides the voice token, which grants access to the voice session.
func (v VoiceState) String() string {
	return fmt.Sprintf("{endpoint:%s session:%s channel:%s token:[redacted]}", v.Endpoint, v.SessionID, v.ChannelID)
}

// Stats is a Lavalink node's stats op.
type Stats struct {
	Players        int   `json:"players"`
	PlayingPlayers int   `json:"playingPlayers"`
	Uptime         int64 `json:"uptime"`
	Memory         struct {
		Free       int64 `json:"free"`
		Used       int64 `json:"used"`
		Allocated  int64 `json:"allocated"`
		Reservable int64 `json:"reservable"`
	} `json:"memory"`
	CPU struct {
		Cores        int     `json:"cores"`
		SystemLoad   float64 `json:"systemLoad"`
		LavalinkLoad float64 `json:"lavalinkLoad"`
	} `json:"cpu"`
	FrameStats *struct {
		Sent    int `json:"sent"`
		Nulled  int `json:"nulled"`
		Deficit int `json:"deficit"`
	} `json:"frameStats"`
}

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
