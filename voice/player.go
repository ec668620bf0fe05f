package voice

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
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
		pos += int64(float64(at.Sub(p.positionAt).Milliseconds()) * p.filters.rate())
	}
	if !p.track.Info.IsStream && pos > p.track.Info.Length {
		pos = p.track.Info.Length
	}
	return pos
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
type playerResponse struct {
	Track   *Track     `json:"track"`
	Paused  bool       `json:"paused"`
	Volume  int        `json:"volume"`
	Filters Filters    `json:"filters"`
	Voice   VoiceState `json:"voice"`
	State   struct {
		Position  int64 `json:"position"`
		Connected bool  `json:"connected"`
	} `json:"state"`
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
	var resp playerResponse
	err := n.do(ctx, http.MethodPatch, path, body, &resp)
	var api *APIError
	if err != nil && !errors.As(err, &api) && ctx.Err() == nil {
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
	if err != nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if apply != nil {
		apply()
	}
	p.record(resp)
	return nil
}

// record takes the node's view of the player; p.mu is held.
func (p *Player) record(resp playerResponse) {
	p.track = resp.Track
	p.position, p.positionAt = resp.State.Position, time.Now()
	p.connected = resp.State.Connected
	p.paused, p.volume = resp.Paused, resp.Volume
}

// UpdateVoice forwards the voice connection details (from the agent's
// VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE) to Lavalink.
func (p *Player) UpdateVoice(ctx context.Context, token, endpoint, sessionID, channelID string) error {
	v := VoiceState{Token: token, Endpoint: endpoint, SessionID: sessionID, ChannelID: channelID}
	if !v.complete() {
		return fmt.Errorf("%w: voice update needs token, endpoint, session ID and channel ID", ErrBadArgument)
	}
	return p.update(ctx, playerBody{Voice: &v}, false, func() { p.voice = v })
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

// Play starts t at position, replacing the current track.
func (p *Player) Play(ctx context.Context, t Track, position time.Duration) error {
	enc := t.Encoded
	pos := position.Milliseconds()
	return p.update(ctx, playerBody{Track: &trackUpdate{Encoded: &enc, UserData: t.UserData}, Position: &pos}, false, nil)
}

// Stop stops the current track (Lavalink sends TrackEndEvent "stopped").
func (p *Player) Stop(ctx context.Context) error {
	return p.update(ctx, playerBody{Track: &trackUpdate{Encoded: nil}}, false, nil)
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
		return fmt.Errorf("%w: volume %d outside 0-1000", ErrBadArgument, volume)
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
		body.Position = &pos
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
		// If the old node is alive but unreachable over the websocket, stop it
		// from playing too; it fails fast when the node is gone.
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
			defer cancel()
			if sid := from.SessionID(); sid != "" {
				from.do(ctx, http.MethodDelete, "/v4/sessions/"+sid+"/players/"+p.guildID, nil, nil)
			}
		}()
	}
	p.c.log.Info("player moved", "guild", p.guildID, "from", from.cfg.Name, "to", to.cfg.Name, "position_ms", pos)
	p.c.cfg.OnEvent(PlayerMovedEvent{GuildID: p.guildID, From: from.cfg.Name, To: to.cfg.Name, Position: time.Duration(pos) * time.Millisecond})
	return nil
}

// observe records a playerUpdate from n.
func (p *Player) observe(n *Node, position int64, connected bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.node != n {
		return
	}
	p.position, p.positionAt, p.connected = position, time.Now(), connected
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

// disconnected records a WebSocketClosedEvent from n.
func (p *Player) disconnected(n *Node) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.node == n {
		p.position, p.positionAt = p.positionAtLocked(time.Now()), time.Now()
		p.connected = false
	}
}
