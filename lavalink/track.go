package lavalink

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
