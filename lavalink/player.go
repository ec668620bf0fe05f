package lavalink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Player is one guild's Lavalink player. The client remembers its state
// (track, position, pause, volume, filters, voice) so that it can rebuild the
// player on another node when its node fails.
type Player struct {
	c       *Client
	guildID string

	op sync.Mutex // serialises REST changes and moves

	mu         sync.Mutex
	node       *Node
	track      *Track
	position   int64 // ms at positionAt
	positionAt time.Time
	connected  bool
	paused     bool
	volume     int
	filters    Filters
	voice      VoiceState
	destroyed  bool
	// pending is a track the node accepted without starting it (NodeLink
	// before the voice connection is up); the next voice update sends it again.
	pending *pendingTrack
	// voiceUp is whether the node reported the voice connection up since
	// the last voice update; voiceErr why it failed instead. voiceSig is
	// closed (and replaced) when either changes.
	voiceUp  bool
	voiceErr error
	voiceSig chan struct{}
	// afterPlay, set by tests, runs when Play's update has been answered,
	// before Play returns: where a voice update may land.
	afterPlay func()
}

type pendingTrack struct {
	track    Track
	position time.Duration
}

// GuildID returns the player's guild.
func (p *Player) GuildID() string { return p.guildID }

// Node returns the name of the node the player is on ("" if none yet).
func (p *Player) Node() string {
	if n := p.currentNode(); n != nil {
		return n.cfg.Name
	}
	return ""
}

func (p *Player) currentNode() *Node {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.node
}

// Track returns the current track, or nil.
func (p *Player) Track() *Track {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.track == nil {
		return nil
	}
	t := *p.track
	return &t
}

// Paused reports whether the player is paused.
func (p *Player) Paused() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.paused
}

// Volume returns the player's volume in percent.
func (p *Player) Volume() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.volume
}

// Filters returns the player's filters.
func (p *Player) Filters() Filters {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.filters
}

// Voice returns the voice state last forwarded to Lavalink.
func (p *Player) Voice() VoiceState {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.voice
}

// Position estimates the current track position from the last state
// Lavalink reported and the time since.
func (p *Player) Position() time.Duration {
	p.mu.Lock()
	defer p.mu.Unlock()
	return time.Duration(p.positionAtLocked(time.Now())) * time.Millisecond
}

func (p *Player) positionAtLocked(at time.Time) int64 {
	if p.track == nil {
		return 0
	}
	pos := p.position
	if p.connected && !p.paused && at.After(p.positionAt) {
		pos += int64(float64(at.Sub(p.positionAt).Milliseconds()) * p.filters.Rate())
	}
	if p.track.Info.KnownLength() && pos > p.track.Info.Length {
		pos = p.track.Info.Length
	}
	return max(pos, 0)
}

// playerBody is the Update Player request.
type playerBody struct {
	Track    *trackUpdate `json:"track,omitempty"`
	Position *int64       `json:"position,omitempty"`
	Volume   *int         `json:"volume,omitempty"`
	Paused   *bool        `json:"paused,omitempty"`
	Filters  *Filters     `json:"filters,omitempty"`
	Voice    *VoiceState  `json:"voice,omitempty"`
}

type trackUpdate struct {
	Encoded  *string         `json:"encoded"`
	UserData json.RawMessage `json:"userData,omitempty"`
}

// playerResponse is the part of the Player object the client reads back.
// It is decoded leniently: a field that is missing or in a shape the client
// does not know (servers differ) is left nil, and the call still succeeds.
type playerResponse struct {
	HasTrack bool // "track" was in the answer (Track nil: no track)
	Track    *Track
	Paused   *bool
	Volume   *int
	Filters  *Filters
	Voice    *VoiceState
	State    *playerState
}

type playerState struct {
	Position  int64 `json:"position"`
	Connected bool  `json:"connected"`
}

// decodeLenient makes the answer to a player update lenient (do).
func (r *playerResponse) decodeLenient(raw []byte) { r.UnmarshalJSON(raw) }

// UnmarshalJSON decodes what it can of a Player object and never fails.
func (r *playerResponse) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if json.Unmarshal(b, &m) != nil {
		return nil
	}
	field := func(key string, v any) bool {
		raw, ok := m[key]
		return ok && json.Unmarshal(raw, v) == nil
	}
	var t *Track
	if field("track", &t) {
		r.HasTrack, r.Track = true, t
	}
	var paused bool
	if field("paused", &paused) {
		r.Paused = &paused
	}
	var volume int
	if field("volume", &volume) {
		r.Volume = &volume
	}
	var f Filters
	if field("filters", &f) {
		r.Filters = &f
	}
	var v VoiceState
	if field("voice", &v) {
		r.Voice = &v
	}
	var st playerState
	if field("state", &st) {
		r.State = &st
	}
	return nil
}

// isNodeFailure reports whether err from a call to a node means the node is
// unreachable: a transport error. An answer (APIError), our own
// cancellation and a timeout (the node may be holding the call, as servers
// do while connecting to voice) are not.
func isNodeFailure(ctx context.Context, err error) bool {
	var api *APIError
	var ne net.Error
	switch {
	case err == nil, ctx.Err() != nil, errors.As(err, &api):
		return false
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return false
	}
	return true
}

// ErrPlayerDestroyed is returned by operations on a destroyed player.
var ErrPlayerDestroyed = errors.New("player destroyed")

// update sends body to the player's node (placing the player on the least
// loaded node first if needed) and records the result. apply runs under
// p.mu after success to record what was sent.
func (p *Player) update(ctx context.Context, body playerBody, noReplace bool, apply func()) error {
	p.op.Lock()
	defer p.op.Unlock()
	p.mu.Lock()
	if p.destroyed {
		p.mu.Unlock()
		return ErrPlayerDestroyed
	}
	n, voice := p.node, p.voice
	p.mu.Unlock()
	if n == nil || !n.Ready() {
		best, err := p.c.readyNode(ctx)
		if err != nil {
			return err
		}
		if n == nil && body.Voice == nil && voice.complete() {
			// The voice state came while no node was ready and reached
			// none: the player's first node gets it with this change.
			body.Voice = &voice
		}
		if n != nil {
			// The node is down: move first so that the change lands on a live node.
			since, _ := n.down()
			if err := p.moveLocked(ctx, n, best, since); err != nil {
				return err
			}
		}
		n = best
		p.mu.Lock()
		p.node = n
		p.mu.Unlock()
	}
	path := "/v4/sessions/" + n.SessionID() + "/players/" + p.guildID
	if noReplace {
		path += "?noReplace=true"
	}
	if body.Voice != nil {
		p.mu.Lock()
		p.voiceUp, p.voiceErr = false, nil
		p.voiceChangedLocked()
		p.mu.Unlock()
	}
	var resp playerResponse
	err := n.do(ctx, http.MethodPatch, path, body, &resp)
	if isNodeFailure(ctx, err) {
		// The node did not answer: it is probably dying. Move the player to
		// another node now and apply the change there.
		to, berr := p.c.bestNodeExcept(n)
		if berr != nil {
			return err
		}
		if merr := p.moveLocked(ctx, n, to, time.Now()); merr != nil {
			return errors.Join(err, merr)
		}
		path = "/v4/sessions/" + to.SessionID() + "/players/" + p.guildID
		if noReplace {
			path += "?noReplace=true"
		}
		err = to.do(ctx, http.MethodPatch, path, body, &resp)
	}
	var api *APIError
	if body.Voice != nil && errors.As(err, &api) && api.Status >= 500 {
		// Lavalink 4.2 connects to voice while answering and reports
		// "Failed to connect to voice server" this way.
		p.mu.Lock()
		p.voiceErr = fmt.Errorf("%w (%s)", ErrVoiceFailed, api.Message)
		p.voiceChangedLocked()
		p.mu.Unlock()
		return fmt.Errorf("%w: %w", ErrVoiceFailed, err)
	}
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if apply != nil {
		apply()
	}
	p.record(resp)
	if body.Track != nil && body.Track.Encoded != nil && !noReplace {
		if resp.HasTrack && resp.Track == nil {
			// Accepted without a track: the node did not start it, and
			// it stays pending (Play's apply) for the next voice update.
			return fmt.Errorf("lavalink %s: %w", n.cfg.Name, ErrTrackNotStarted)
		}
		p.pending = nil
	}
	return nil
}

// ErrTrackNotStarted means the node accepted a track but answered without
// it (NodeLink does so before the voice connection is up). The player sends
// it again with the next voice update.
var ErrTrackNotStarted = errors.New("the node accepted the track but did not start it")

// ErrVoiceFailed means the node could not connect to the Discord voice
// channel (a 5xx answer to the voice update, or the voice websocket closed
// before it was ever up).
var ErrVoiceFailed = errors.New("lavalink: the node could not connect to the Discord voice channel")

// voiceChangedLocked wakes WaitVoice; p.mu is held.
func (p *Player) voiceChangedLocked() {
	if p.voiceSig != nil {
		close(p.voiceSig)
	}
	p.voiceSig = make(chan struct{})
}

// voiceUpLocked records that the node reported the voice connection up; p.mu is held.
func (p *Player) voiceUpLocked() {
	if !p.voiceUp {
		p.voiceUp = true
		p.voiceChangedLocked()
	}
}

// VoiceErr returns why the voice connection failed since the last voice
// update (wrapping ErrVoiceFailed), or nil.
func (p *Player) VoiceErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.voiceErr
}

// WaitVoice waits until the node reports the voice connection up (nil) or
// failed (an error wrapping ErrVoiceFailed), or ctx ends.
func (p *Player) WaitVoice(ctx context.Context) error {
	for {
		p.mu.Lock()
		up, err := p.voiceUp, p.voiceErr
		if p.voiceSig == nil {
			p.voiceSig = make(chan struct{})
		}
		sig := p.voiceSig
		p.mu.Unlock()
		switch {
		case err != nil:
			return err
		case up:
			return nil
		}
		select {
		case <-sig:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// record takes the node's view of the player, as far as the answer gave
// it; p.mu is held.
func (p *Player) record(resp playerResponse) {
	if resp.HasTrack {
		p.track = resp.Track
	}
	if st := resp.State; st != nil {
		p.position, p.positionAt = max(st.Position, 0), time.Now()
		p.connected = st.Connected
		if st.Connected {
			p.voiceUpLocked()
		}
	}
	if resp.Paused != nil {
		p.paused = *resp.Paused
	}
	if resp.Volume != nil {
		p.volume = *resp.Volume
	}
}

// UpdateVoice forwards the voice connection details (from the agent's
// VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE) to Lavalink.
func (p *Player) UpdateVoice(ctx context.Context, token, endpoint, sessionID, channelID string) error {
	v := VoiceState{Token: token, Endpoint: endpoint, SessionID: sessionID, ChannelID: channelID}
	if !v.complete() {
		return fmt.Errorf("%w: voice update needs token, endpoint, session ID and channel ID", ErrInvalid)
	}
	if err := p.update(ctx, playerBody{Voice: &v}, false, func() { p.voice = v }); err != nil {
		return err
	}
	p.mu.Lock()
	pend := p.pending
	p.mu.Unlock()
	if pend == nil {
		return nil
	}
	// A track the node did not start for want of voice: start it now.
	if err := p.Play(ctx, pend.track, pend.position); err != nil && !errors.Is(err, ErrTrackNotStarted) {
		return fmt.Errorf("starting the track that waited for voice: %w", err)
	}
	return nil
}

// VoiceStateUpdate records the session and channel of the agent's
// VOICE_STATE_UPDATE and forwards the voice state once the server half is
// known too.
func (p *Player) VoiceStateUpdate(ctx context.Context, sessionID, channelID string) error {
	p.mu.Lock()
	v := p.voice
	v.SessionID, v.ChannelID = sessionID, channelID
	p.voice = v
	p.mu.Unlock()
	if !v.complete() {
		return nil
	}
	return p.UpdateVoice(ctx, v.Token, v.Endpoint, v.SessionID, v.ChannelID)
}

// VoiceServerUpdate records the token and endpoint of VOICE_SERVER_UPDATE
// and forwards the voice state once the session half is known too. An empty
// endpoint (Discord has no server yet) is kept until the next update.
func (p *Player) VoiceServerUpdate(ctx context.Context, token, endpoint string) error {
	p.mu.Lock()
	v := p.voice
	v.Token, v.Endpoint = token, endpoint
	p.voice = v
	p.mu.Unlock()
	if !v.complete() {
		return nil
	}
	return p.UpdateVoice(ctx, v.Token, v.Endpoint, v.SessionID, v.ChannelID)
}

// Play starts t at position, replacing the current track. A position is
// sent only for a seekable track. When the node accepts the track without
// starting it (voice not connected yet), Play returns an error wrapping
// ErrTrackNotStarted and the track is sent again with the next voice update.
func (p *Player) Play(ctx context.Context, t Track, position time.Duration) error {
	enc := t.Encoded
	body := playerBody{Track: &trackUpdate{Encoded: &enc, UserData: t.UserData}}
	if pos := position.Milliseconds(); pos > 0 && t.Info.Seekable() {
		body.Position = &pos
	}
	// The track is pending from the moment the node answers (update clears
	// it if the node started it), so that a voice update racing this call
	// sends it again.
	err := p.update(ctx, body, false, func() { p.pending = &pendingTrack{track: t, position: position} })
	if p.afterPlay != nil {
		p.afterPlay()
	}
	return err
}

// Stop stops the current track (Lavalink sends TrackEndEvent "stopped").
// Stopping an idle player is not an error, though some servers (NodeLink)
// answer 400 "The player is not playing.".
func (p *Player) Stop(ctx context.Context) error {
	p.mu.Lock()
	idle := p.track == nil
	p.pending = nil
	p.mu.Unlock()
	err := p.update(ctx, playerBody{Track: &trackUpdate{Encoded: nil}}, false, nil)
	var api *APIError
	if errors.As(err, &api) && api.Status == http.StatusBadRequest &&
		(idle || strings.Contains(strings.ToLower(api.Message), "not playing")) {
		p.mu.Lock()
		p.track = nil
		p.mu.Unlock()
		return nil
	}
	return err
}

// SetPaused pauses or resumes playback.
func (p *Player) SetPaused(ctx context.Context, paused bool) error {
	return p.update(ctx, playerBody{Paused: &paused}, false, nil)
}

// Seek moves to position in the current track.
func (p *Player) Seek(ctx context.Context, position time.Duration) error {
	pos := position.Milliseconds()
	return p.update(ctx, playerBody{Position: &pos}, false, nil)
}

// SetVolume sets the volume in percent (Lavalink accepts 0-1000).
func (p *Player) SetVolume(ctx context.Context, volume int) error {
	if volume < 0 || volume > 1000 {
		return fmt.Errorf("%w: volume %d outside 0-1000", ErrInvalid, volume)
	}
	return p.update(ctx, playerBody{Volume: &volume}, false, nil)
}

// SetFilters replaces all filters.
func (p *Player) SetFilters(ctx context.Context, f Filters) error {
	return p.update(ctx, playerBody{Filters: &f}, false, func() { p.filters = f })
}

// Destroy removes the player from its node and from the client.
func (p *Player) Destroy(ctx context.Context) error {
	p.op.Lock()
	defer p.op.Unlock()
	p.mu.Lock()
	n := p.node
	p.destroyed = true
	p.mu.Unlock()
	p.c.forget(p)
	if n == nil || n.SessionID() == "" {
		return nil
	}
	err := n.do(ctx, http.MethodDelete, "/v4/sessions/"+n.SessionID()+"/players/"+p.guildID, nil, nil)
	var api *APIError
	if errors.As(err, &api) && api.Status == http.StatusNotFound {
		return nil
	}
	return err
}

// moveFrom moves the player off from if it is still there.
func (p *Player) moveFrom(ctx context.Context, from *Node, downSince time.Time) error {
	p.op.Lock()
	defer p.op.Unlock()
	if p.currentNode() != from {
		return nil
	}
	to, err := p.c.bestNodeExcept(from)
	if err != nil {
		if !from.Ready() {
			return err
		}
		to = from // the node came back without our session: rebuild there
	}
	return p.moveLocked(ctx, from, to, downSince)
}

// moveLocked rebuilds the player on to at the position it had at downSince;
// p.op is held.
func (p *Player) moveLocked(ctx context.Context, from, to *Node, downSince time.Time) error {
	p.mu.Lock()
	if p.destroyed {
		p.mu.Unlock()
		return ErrPlayerDestroyed
	}
	at := time.Now()
	if downSince.Before(at) {
		at = downSince
	}
	pos := p.positionAtLocked(at)
	vol, paused, filters := p.volume, p.paused, p.filters
	body := playerBody{Volume: &vol, Paused: &paused, Filters: &filters}
	if p.track != nil {
		enc := p.track.Encoded
		body.Track = &trackUpdate{Encoded: &enc, UserData: p.track.UserData}
		if pos > 0 && p.track.Info.Seekable() {
			body.Position = &pos // a stream restarts live
		}
	}
	if p.voice.complete() {
		v := p.voice
		body.Voice = &v
	}
	p.mu.Unlock()
	var resp playerResponse
	if err := to.do(ctx, http.MethodPatch, "/v4/sessions/"+to.SessionID()+"/players/"+p.guildID, body, &resp); err != nil {
		return fmt.Errorf("moving player to %s: %w", to.cfg.Name, err)
	}
	p.mu.Lock()
	p.node = to
	p.record(resp)
	p.mu.Unlock()
	if from != to {
		p.c.async(func(ctx context.Context) { p.deleteStale(ctx, from) })
	}
	p.c.log.Info("player moved", "guild", p.guildID, "from", from.cfg.Name, "to", to.cfg.Name, "position_ms", pos)
	p.c.cfg.OnEvent(PlayerMovedEvent{GuildID: p.guildID, From: from.cfg.Name, To: to.cfg.Name, Position: time.Duration(pos) * time.Millisecond})
	return nil
}

// deleteStale deletes the player from a node it was moved away from, in
// case that node is alive but unreachable over the websocket, so that it
// stops playing there too. It gives up after 500 ms: a node that is gone
// fails fast, and one that kept the player destroys it when our session
// resumes (syncPlayers).
func (p *Player) deleteStale(ctx context.Context, from *Node) {
	sid := from.SessionID()
	if sid == "" {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 500*time.Millisecond)
	defer cancel()
	err := from.do(ctx, http.MethodDelete, "/v4/sessions/"+sid+"/players/"+p.guildID, nil, nil)
	var api *APIError
	if err != nil && !(errors.As(err, &api) && api.Status == http.StatusNotFound) {
		p.c.log.Info("deleting a moved player from its old node failed", "guild", p.guildID, "lavalink_node", from.cfg.Name, "err", err)
	}
}

// observe records a playerUpdate from n.
func (p *Player) observe(n *Node, position int64, connected bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.node != n {
		return
	}
	p.position, p.positionAt, p.connected = max(position, 0), time.Now(), connected
	if connected {
		p.voiceUpLocked()
	}
}

// started records a TrackStartEvent from n.
func (p *Player) started(n *Node, t Track) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.node != n {
		return
	}
	if p.track == nil || p.track.Encoded != t.Encoded {
		tt := t
		p.track, p.position = &tt, 0
	}
	p.positionAt, p.connected = time.Now(), true
	p.voiceUpLocked()
}

// ended records a TrackEndEvent from n.
func (p *Player) ended(n *Node, t Track, reason TrackEndReason) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.node != n || reason == EndReplaced {
		return
	}
	if p.track != nil && p.track.Encoded == t.Encoded {
		p.track, p.position = nil, 0
	}
}

// disconnected records a WebSocketClosedEvent from n. A close before the
// voice connection was ever up since the last voice update (NodeLink sends
// 4006 then) means the voice connection failed.
func (p *Player) disconnected(n *Node, code int, reason string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.node != n {
		return
	}
	p.position, p.positionAt = p.positionAtLocked(time.Now()), time.Now()
	p.connected = false
	if !p.voiceUp && p.voiceErr == nil {
		p.voiceErr = fmt.Errorf("%w (voice websocket closed: %d %s)", ErrVoiceFailed, code, reason)
		p.voiceChangedLocked()
	}
}
