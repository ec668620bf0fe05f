package voice

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/lavalink"
)

// VoiceStates tells which voice channel a user is in; the gateway's voice
// state cache provides it.
type VoiceStates interface {
	// UserVoiceChannel returns the ID of the voice channel userID is in within
	// guildID, or "" when the user is not in voice.
	UserVoiceChannel(ctx context.Context, guildID, userID string) (string, error)
}

// Agents sends agents (extra bot accounts) into voice channels; agentpool
// provides it. Allocate makes a free agent join the channel (its gateway then
// reports VOICE_STATE_UPDATE and VOICE_SERVER_UPDATE, which the caller
// forwards to Music.VoiceStateUpdate and Music.VoiceServerUpdate) and returns
// the agent's user ID, or an error wrapping ErrNoAgentFree. Release makes it
// leave and frees it.
type Agents interface {
	Allocate(ctx context.Context, guildID, channelID string) (agentUserID string, err error)
	Release(ctx context.Context, guildID, channelID, agentUserID string) error
}

// MusicConfig configures Music.
type MusicConfig struct {
	// Lavalink is the node configuration shared by every agent's client
	// (UserID and OnEvent are set per agent).
	Lavalink lavalink.Config
	// BotUserID is the main bot's user ID; its client loads tracks.
	BotUserID string
	Queues    *Queues
	Voice     VoiceStates
	Agents    Agents
	// QueuePageSize is the number of tracks per /queue page; default 10.
	QueuePageSize int
	// VoiceTimeout is how long /play waits for a new agent's voice
	// connection to come up or fail, so that a failure is its answer;
	// default 5 s. When it passes, the music starts whenever voice is up.
	VoiceTimeout time.Duration
	// Search is the search prefixes tried in order for plain search terms
	// (MUSIC_SEARCH, see ParseSearch); default ytsearch, then scsearch.
	Search []string
	// SearchCacheTTL is how long search results are reused from Redis;
	// default DefaultSearchCacheTTL.
	SearchCacheTTL time.Duration
	// Registerer receives the music metrics; nil registers none.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

// Music implements the music commands. One voice channel plays one queue
// through one agent; the channel is the one the calling user is in.
type Music struct {
	cfg     MusicConfig
	log     *slog.Logger
	clients *lavalink.Clients

	mu       sync.Mutex
	sessions map[string]*session // by guild:channel
	byAgent  map[string]*session // by agent/guild

	wg      sync.WaitGroup
	ctx     context.Context
	cancel  context.CancelFunc
	metrics musicMetrics
	cache   *searchCache
}

// session is the music in one voice channel.
type session struct {
	op               sync.Mutex // serialises commands and events
	guildID, channel string
	agent            string
	player           *lavalink.Player
	filter           string
	fresh            bool // its agent has not played yet: /play waits for voice
	ended            bool
	stalled          bool // a restore could not start the track; retried when a node comes up
}

func (s *session) queueID() string { return s.guildID + ":" + s.channel }

type musicMetrics struct {
	trackErrors *prometheus.CounterVec
	moves       prometheus.Counter
	restores    prometheus.Counter
}

// NewMusic returns the music service. Close stops it.
func NewMusic(cfg MusicConfig) (*Music, error) {
	if cfg.Queues == nil || cfg.Voice == nil || cfg.Agents == nil || cfg.BotUserID == "" {
		return nil, errors.New("voice: MusicConfig needs Queues, Voice, Agents and BotUserID")
	}
	if cfg.QueuePageSize <= 0 {
		cfg.QueuePageSize = 10
	}
	if cfg.VoiceTimeout <= 0 {
		cfg.VoiceTimeout = 5 * time.Second
	}
	if len(cfg.Search) == 0 {
		cfg.Search, _ = ParseSearch(DefaultSearch)
	}
	if cfg.SearchCacheTTL <= 0 {
		cfg.SearchCacheTTL = DefaultSearchCacheTTL
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Lavalink.Logger == nil {
		cfg.Lavalink.Logger = cfg.Logger
	}
	ctx, cancel := context.WithCancel(context.Background())
	m := &Music{cfg: cfg, log: cfg.Logger, sessions: map[string]*session{}, byAgent: map[string]*session{}, ctx: ctx, cancel: cancel,
		cache: newSearchCache(cfg.Queues.rdb, cfg.SearchCacheTTL)}
	clients, err := lavalink.NewClients(cfg.Lavalink, m.handleEvent, m.saveSession)
	if err != nil {
		cancel()
		return nil, err
	}
	m.clients = clients
	if _, err := clients.Get(cfg.BotUserID); err != nil { // the loader connects now
		m.Close()
		return nil, err
	}
	m.metrics = musicMetrics{
		trackErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "chopsticks_music_track_errors_total",
			Help: "Tracks that failed (exception, stuck) or could not be loaded."}, []string{"kind"}),
		moves: prometheus.NewCounter(prometheus.CounterOpts{Name: "chopsticks_music_player_moves_total",
			Help: "Players moved to another Lavalink node after their node failed."}),
		restores: prometheus.NewCounter(prometheus.CounterOpts{Name: "chopsticks_music_players_restored_total",
			Help: "Players rebuilt from saved playback when an agent was adopted and no Lavalink node had kept them."}),
	}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{m.metrics.trackErrors, m.metrics.moves, m.metrics.restores, m.cache.lookups,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chopsticks_music_voice_connections_active",
				Help: "Voice channels with music on this node."}, func() float64 {
				m.mu.Lock()
				defer m.mu.Unlock()
				return float64(len(m.sessions))
			}),
			playersCollector{m}} {
			if err := cfg.Registerer.Register(c); err != nil {
				m.Close()
				return nil, fmt.Errorf("voice: registering metrics: %w", err)
			}
		}
	}
	return m, nil
}

// Close stops event handling and disconnects from Lavalink. Players keep
// playing on the nodes until the resume timeout.
func (m *Music) Close() {
	m.cancel()
	m.wg.Wait()
	m.clients.Close()
}

// Clients returns the per-agent Lavalink clients.
func (m *Music) Clients() *lavalink.Clients { return m.clients }

// playersCollector reports chopsticks_music_lavalink_players per node.
type playersCollector struct{ m *Music }

var playersDesc = prometheus.NewDesc("chopsticks_music_lavalink_players", "Players on each Lavalink node.", []string{"node"}, nil)

// Describe sends the metric's description.
func (c playersCollector) Describe(ch chan<- *prometheus.Desc) { ch <- playersDesc }

// Collect counts the players of each configured node.
func (c playersCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[string]int{}
	for _, n := range c.m.cfg.Lavalink.Nodes {
		counts[n.Name] = 0
	}
	c.m.mu.Lock()
	for _, s := range c.m.sessions {
		if name := s.player.Node(); name != "" {
			counts[name]++
		}
	}
	c.m.mu.Unlock()
	for name, n := range counts {
		ch <- prometheus.MustNewConstMetric(playersDesc, prometheus.GaugeValue, float64(n), name)
	}
}

// userChannel returns the caller's voice channel or ErrNotInVoice.
func (m *Music) userChannel(ctx context.Context, guildID, userID string) (string, error) {
	ch, err := m.cfg.Voice.UserVoiceChannel(ctx, guildID, userID)
	if err != nil {
		return "", fmt.Errorf("looking up your voice channel: %w", err)
	}
	if ch == "" {
		return "", ErrNotInVoice
	}
	return ch, nil
}

// current returns the session of the caller's voice channel, locked, or
// ErrNothingPlaying. The caller unlocks s.op.
func (m *Music) current(ctx context.Context, guildID, userID string) (*session, error) {
	ch, err := m.userChannel(ctx, guildID, userID)
	if err != nil {
		return nil, err
	}
	m.mu.Lock()
	s := m.sessions[guildID+":"+ch]
	m.mu.Unlock()
	if s == nil {
		return nil, ErrNothingPlaying
	}
	s.op.Lock()
	if s.ended {
		s.op.Unlock()
		return nil, ErrNothingPlaying
	}
	return s, nil
}

// PlayRequest is /play.
type PlayRequest struct {
	GuildID string `json:"guild"`
	UserID  string `json:"user"`
	// Query is a URL or search terms (searched with MusicConfig.Search).
	Query string `json:"query"`
	// Pick chooses among search results (1-based); 0 takes the first.
	Pick int `json:"pick,omitempty"`
}

// PlayResult says what /play did.
type PlayResult struct {
	// Added are the queued items (one, or a playlist's tracks).
	Added []QueueItem
	// Playlist is the playlist's name when one was loaded.
	Playlist string
	// Started is true when the first added track started right away;
	// otherwise Position is its place in the queue.
	Started  bool
	Position int
}

// Play loads the query and queues the result in the caller's voice channel,
// sending an agent there if none is, and starts playing if idle.
func (m *Music) Play(ctx context.Context, req PlayRequest) (PlayResult, error) {
	q := strings.TrimSpace(req.Query)
	if q == "" || len(q) > 500 {
		return PlayResult{}, ErrBadArgument.With("Give a search or a URL (at most 500 characters).")
	}
	ch, err := m.userChannel(ctx, req.GuildID, req.UserID)
	if err != nil {
		return PlayResult{}, err
	}
	items, playlist, err := m.load(ctx, q, req.Pick, req.UserID)
	if err != nil {
		return PlayResult{}, err
	}
	s, err := m.session(ctx, req.GuildID, ch)
	if err != nil {
		return PlayResult{}, err
	}
	defer s.op.Unlock()
	pos, err := m.cfg.Queues.Add(ctx, s.queueID(), items...)
	if err != nil {
		return PlayResult{}, err
	}
	res := PlayResult{Added: items, Playlist: playlist, Position: pos}
	now, err := m.cfg.Queues.NowPlaying(ctx, s.queueID())
	if err != nil {
		return res, err
	}
	if now == nil {
		next, err := m.cfg.Queues.Advance(ctx, s.queueID(), false)
		if err != nil {
			return res, err
		}
		if next != nil {
			if err := m.start(ctx, s, next.Track); err != nil {
				if errors.Is(err, lavalink.ErrVoiceFailed) {
					return PlayResult{}, m.voiceFailed(ctx, s, err)
				}
				return res, fmt.Errorf("starting playback: %w", err)
			}
			res.Started, res.Position = true, 0
		}
	}
	if s.fresh {
		// A new agent's voice connection: its failure is this /play's answer.
		s.fresh = false
		wait, cancel := context.WithTimeout(ctx, m.cfg.VoiceTimeout)
		err := s.player.WaitVoice(wait)
		cancel()
		if errors.Is(err, lavalink.ErrVoiceFailed) {
			return PlayResult{}, m.voiceFailed(ctx, s, err)
		}
	}
	return res, nil
}

// voiceFailed ends s, whose voice connection failed (err), and returns the
// refusal for the user: the agent is released and nothing is retried; s.op
// is held.
func (m *Music) voiceFailed(ctx context.Context, s *session, err error) error {
	m.log.Warn("voice connection failed; music session ended", "guild", s.guildID, "err", err)
	if eerr := m.end(context.WithoutCancel(ctx), s); eerr != nil {
		m.log.Warn("ending a session whose voice failed", "guild", s.guildID, "err", eerr)
	}
	return fmt.Errorf("%w: %w", ErrVoiceFailed, err)
}

// endOnVoiceFailure ends, on a goroutine Music owns, the agent's session in
// guildID if its voice connection failed and no /play is handling that.
func (m *Music) endOnVoiceFailure(agentUserID, guildID string) {
	m.mu.Lock()
	s := m.byAgent[agentUserID+"/"+guildID]
	m.mu.Unlock()
	if s == nil || m.ctx.Err() != nil {
		return
	}
	m.wg.Go(func() {
		ctx, cancel := context.WithTimeout(m.ctx, 30*time.Second)
		defer cancel()
		s.op.Lock()
		defer s.op.Unlock()
		if s.ended || s.player.VoiceErr() == nil {
			return
		}
		m.voiceFailed(ctx, s, s.player.VoiceErr())
	})
}

// load resolves a query to queue items.
func (m *Music) load(ctx context.Context, query string, pick int, requester string) ([]QueueItem, string, error) {
	loader, err := m.clients.Get(m.cfg.BotUserID)
	if err != nil {
		return nil, "", err
	}
	var res lavalink.LoadResult
	if strings.HasPrefix(query, "https://") || strings.HasPrefix(query, "http://") {
		res, err = loader.LoadTracks(ctx, query)
	} else {
		res, err = m.search(ctx, loader, query)
	}
	if err != nil {
		return nil, "", fmt.Errorf("loading tracks: %w", err)
	}
	now := time.Now().UTC()
	item := func(t lavalink.Track) QueueItem { return QueueItem{Track: t, RequesterID: requester, AddedAt: now} }
	switch res.Type {
	case lavalink.LoadEmpty:
		return nil, "", ErrNoResults
	case lavalink.LoadError:
		m.metrics.trackErrors.WithLabelValues("load").Inc()
		return nil, "", fmt.Errorf("%w (%v)", ErrLoadFailed, res.Exception)
	case lavalink.LoadSearch:
		if pick < 0 || pick > len(res.Tracks) {
			return nil, "", ErrBadArgument.Withf("Pick %d is not one of the %d results.", pick, len(res.Tracks))
		}
		return []QueueItem{item(res.Tracks[max(pick, 1)-1])}, "", nil
	case lavalink.LoadPlaylist:
		items := make([]QueueItem, len(res.Tracks))
		for i, t := range res.Tracks {
			items[i] = item(t)
		}
		if len(items) == 0 {
			return nil, "", ErrNoResults
		}
		return items, res.Playlist.Name, nil
	default:
		return []QueueItem{item(res.Tracks[0])}, "", nil
	}
}

// session returns the channel's session, locked, allocating an agent for a
// new one. The caller unlocks s.op.
func (m *Music) session(ctx context.Context, guildID, channel string) (*session, error) {
	key := guildID + ":" + channel
	for {
		m.mu.Lock()
		s := m.sessions[key]
		if s == nil {
			s = &session{guildID: guildID, channel: channel}
			s.op.Lock()
			m.sessions[key] = s
			m.mu.Unlock()
			break
		}
		m.mu.Unlock()
		s.op.Lock()
		if !s.ended {
			return s, nil
		}
		s.op.Unlock() // ended meanwhile: start a new one
	}
	m.mu.Lock()
	s := m.sessions[key]
	m.mu.Unlock()
	fail := func(err error) (*session, error) {
		m.mu.Lock()
		delete(m.sessions, key)
		m.mu.Unlock()
		s.ended = true
		s.op.Unlock()
		return nil, err
	}
	agent, err := m.cfg.Agents.Allocate(ctx, guildID, channel)
	if err != nil {
		return fail(err)
	}
	client, err := m.clients.Get(agent)
	if err != nil {
		m.cfg.Agents.Release(context.WithoutCancel(ctx), guildID, channel, agent)
		return fail(err)
	}
	s.agent, s.player, s.fresh = agent, client.Player(guildID), true
	m.mu.Lock()
	m.byAgent[agent+"/"+guildID] = s
	m.mu.Unlock()
	if err := m.cfg.Queues.SaveAgentChannel(ctx, agent, guildID, channel); err != nil {
		m.log.Warn("recording the agent's channel", "guild", guildID, "err", err) // only a restore needs it
	}
	return s, nil
}

// end finishes a session: the queue is cleared, the player destroyed and the
// agent released; s.op is held.
func (m *Music) end(ctx context.Context, s *session) error {
	if s.ended {
		return nil
	}
	s.ended = true
	m.mu.Lock()
	delete(m.sessions, s.queueID())
	delete(m.byAgent, s.agent+"/"+s.guildID)
	m.mu.Unlock()
	return errors.Join(
		m.cfg.Queues.Clear(ctx, s.queueID()),
		m.cfg.Queues.DropAgentChannel(ctx, s.agent, s.guildID),
		s.player.Destroy(ctx),
		m.cfg.Agents.Release(ctx, s.guildID, s.channel, s.agent),
	)
}

// saveSession records an agent's Lavalink session for Adopt, and retries
// the agent's stalled restores now that one of its nodes is up.
func (m *Music) saveSession(agentUserID, node, sessionID string) {
	if agentUserID == m.cfg.BotUserID || m.ctx.Err() != nil {
		return
	}
	m.retryStalled(agentUserID)
	m.wg.Go(func() {
		ctx, cancel := context.WithTimeout(m.ctx, 5*time.Second)
		defer cancel()
		if err := m.cfg.Queues.SaveLavalinkSession(ctx, agentUserID, node, sessionID); err != nil {
			m.log.Warn("saving Lavalink session", "node", node, "err", err)
		}
	})
}

// Adopt takes over the music of an agent whose previous owner (another
// Chopsticks node) died: it resumes the agent's Lavalink sessions saved in
// Redis, so its players never stopped, and rebuilds a session for each voice
// channel it plays in. A track that ended during the takeover is followed by
// the next in the queue. Channels whose players no Lavalink node kept are
// restored from their saved playback (see restore). It returns the number of
// channels adopted.
func (m *Music) Adopt(ctx context.Context, agentUserID string) (int, error) {
	sessions, err := m.cfg.Queues.LavalinkSessions(ctx, agentUserID)
	if err != nil {
		return 0, err
	}
	client, err := m.clients.Resume(agentUserID, sessions)
	if err != nil {
		return 0, err
	}
	// Only the nodes holding a saved session can have players to adopt;
	// one that refuses the connection is down and not waited for.
	wait, cancel := context.WithTimeout(ctx, 5*time.Second)
	client.WaitResumed(wait, sessions)
	cancel()
	n := 0
	for _, p := range client.Players() {
		channel := p.Voice().ChannelID
		if channel == "" {
			continue
		}
		key := p.GuildID() + ":" + channel
		s := &session{guildID: p.GuildID(), channel: channel, agent: agentUserID, player: p}
		s.op.Lock()
		m.mu.Lock()
		if m.sessions[key] != nil {
			m.mu.Unlock()
			s.op.Unlock()
			continue
		}
		m.sessions[key] = s
		m.byAgent[agentUserID+"/"+p.GuildID()] = s
		m.mu.Unlock()
		n++
		// The filter's name lives only in the saved playback: Lavalink
		// keeps the filters, not which preset they came from.
		if pb, ok, err := m.cfg.Queues.SavedPlayback(ctx, s.queueID()); err == nil && ok {
			s.filter = pb.Filter
		}
		if p.Track() == nil {
			if err := m.advance(ctx, s, false); err != nil {
				m.log.Warn("adopted session: advancing queue", "guild", s.guildID, "err", err)
			}
		} else {
			m.savePlayback(ctx, s)
		}
		s.op.Unlock()
	}
	return n + m.restore(ctx, agentUserID, client), nil
}

// restore rebuilds the sessions of the agent's recorded channels that no
// Lavalink node kept a player for (the nodes that held them went down with
// the agent's previous owner): each track restarts on a live node where
// its saved playback says it stands now, with its volume, filter and pause.
// The agent's re-join of its channels (agentpool's Runner does it after
// Adopt) brings the voice credentials the new player connects with. It
// returns the number of sessions restored.
func (m *Music) restore(ctx context.Context, agentUserID string, client *lavalink.Client) int {
	saved, err := m.cfg.Queues.SavedAgentChannels(ctx, agentUserID)
	if err != nil {
		m.log.Warn("reading the agent's channels", "err", err)
		return 0
	}
	n := 0
	for guild, channel := range saved {
		s := &session{guildID: guild, channel: channel, agent: agentUserID, player: client.Player(guild)}
		s.op.Lock()
		m.mu.Lock()
		if m.sessions[s.queueID()] != nil || m.byAgent[agentUserID+"/"+guild] != nil {
			m.mu.Unlock()
			s.op.Unlock()
			continue
		}
		m.sessions[s.queueID()] = s
		m.byAgent[agentUserID+"/"+guild] = s
		m.mu.Unlock()
		if err := m.replay(ctx, s); err != nil {
			s.stalled = true
			m.log.Warn("restoring a channel's music; retrying when a Lavalink node comes up", "guild", guild, "err", err)
		} else if !s.ended {
			n++
		}
		s.op.Unlock()
	}
	if n > 0 {
		m.metrics.restores.Add(float64(n))
	}
	return n
}

// retryStalled restarts, each on a goroutine Music owns, the agent's
// sessions whose restore found no Lavalink node up.
func (m *Music) retryStalled(agentUserID string) {
	for _, s := range m.agentSessions(agentUserID) {
		m.wg.Go(func() {
			ctx, cancel := context.WithTimeout(m.ctx, 15*time.Second)
			defer cancel()
			s.op.Lock()
			defer s.op.Unlock()
			if !s.stalled || s.ended {
				return
			}
			if err := m.replay(ctx, s); err != nil {
				m.log.Warn("restoring a channel's music again", "guild", s.guildID, "err", err)
				return
			}
			s.stalled = false
			if !s.ended {
				m.metrics.restores.Inc()
			}
		})
	}
}

// replay restarts s's track from its saved playback, or moves the queue on
// when the track would have ended meanwhile; s.op is held.
func (m *Music) replay(ctx context.Context, s *session) error {
	item, err := m.cfg.Queues.NowPlaying(ctx, s.queueID())
	if err != nil {
		return err
	}
	pb, ok, err := m.cfg.Queues.SavedPlayback(ctx, s.queueID())
	if err != nil {
		return err
	}
	var pos time.Duration
	if ok {
		pos = pb.PositionAt(time.Now())
	}
	if item == nil || (item.Track.Info.KnownLength() && pos >= item.Track.Info.Duration()) {
		return m.advance(ctx, s, false)
	}
	if !item.Track.Info.Seekable() {
		pos = 0
	}
	if err := s.player.Play(ctx, item.Track, pos); err != nil {
		return err
	}
	if ok && pb.Volume != s.player.Volume() && pb.Volume >= 0 && pb.Volume <= 200 {
		if err := s.player.SetVolume(ctx, pb.Volume); err != nil {
			return err
		}
	}
	if ok && pb.Filter != "" {
		if f, err := Preset(pb.Filter); err == nil {
			if err := s.player.SetFilters(ctx, f); err != nil {
				return err
			}
			s.filter = pb.Filter
		}
	}
	if ok && pb.Paused {
		if err := s.player.SetPaused(ctx, true); err != nil {
			return err
		}
	}
	m.savePlayback(ctx, s)
	return nil
}

// VoiceStateUpdate forwards an agent's VOICE_STATE_UPDATE for guildID. An
// empty channelID (the agent was disconnected) ends its session.
func (m *Music) VoiceStateUpdate(ctx context.Context, agentUserID, guildID, sessionID, channelID string) error {
	if channelID == "" {
		m.mu.Lock()
		s := m.byAgent[agentUserID+"/"+guildID]
		m.mu.Unlock()
		if s == nil {
			return nil
		}
		s.op.Lock()
		defer s.op.Unlock()
		return m.end(ctx, s)
	}
	c, err := m.clients.Get(agentUserID)
	if err != nil {
		return err
	}
	err = c.Player(guildID).VoiceStateUpdate(ctx, sessionID, channelID)
	if errors.Is(err, lavalink.ErrVoiceFailed) {
		m.endOnVoiceFailure(agentUserID, guildID)
	}
	return err
}

// VoiceServerUpdate forwards an agent's VOICE_SERVER_UPDATE for guildID.
func (m *Music) VoiceServerUpdate(ctx context.Context, agentUserID, guildID, token, endpoint string) error {
	c, err := m.clients.Get(agentUserID)
	if err != nil {
		return err
	}
	err = c.Player(guildID).VoiceServerUpdate(ctx, token, endpoint)
	if errors.Is(err, lavalink.ErrVoiceFailed) {
		m.endOnVoiceFailure(agentUserID, guildID)
	}
	return err
}

// handleEvent receives every agent client's events; work happens on a
// goroutine owned by Music so the client's reader never blocks.
func (m *Music) handleEvent(agentUserID string, ev lavalink.Event) {
	switch e := ev.(type) {
	case lavalink.TrackExceptionEvent:
		m.metrics.trackErrors.WithLabelValues("exception").Inc()
		m.log.Warn("track exception", "guild", e.GuildID, "err", e.Exception.Error())
		return
	case lavalink.PlayerMovedEvent:
		m.metrics.moves.Inc()
		return
	case lavalink.WebSocketClosedEvent:
		m.log.Warn("voice websocket closed", "guild", e.GuildID, "code", e.Code, "reason", e.Reason)
		m.endOnVoiceFailure(agentUserID, e.GuildID)
		return
	case lavalink.TrackEndEvent:
		if !e.Reason.MayStartNext() {
			return
		}
		if e.Reason == lavalink.EndLoadFailed {
			m.metrics.trackErrors.WithLabelValues("load_failed").Inc()
		}
	case lavalink.TrackStuckEvent:
		m.metrics.trackErrors.WithLabelValues("stuck").Inc()
	default:
		return
	}
	m.mu.Lock()
	s := m.byAgent[agentUserID+"/"+ev.Guild()]
	m.mu.Unlock()
	if s == nil || m.ctx.Err() != nil {
		return
	}
	_, stuck := ev.(lavalink.TrackStuckEvent)
	m.wg.Go(func() {
		ctx, cancel := context.WithTimeout(m.ctx, 30*time.Second)
		defer cancel()
		s.op.Lock()
		defer s.op.Unlock()
		if s.ended || (!stuck && s.player.Track() != nil) {
			return // over, or something already started the next track
		}
		if err := m.advance(ctx, s, stuck); err != nil {
			m.log.Warn("advancing queue", "guild", s.guildID, "err", err)
		}
	})
}

// advance plays the next item, or ends the session when the queue is done;
// s.op is held.
func (m *Music) advance(ctx context.Context, s *session, skip bool) error {
	next, err := m.cfg.Queues.Advance(ctx, s.queueID(), skip)
	if err != nil {
		return err
	}
	if next == nil {
		return m.end(ctx, s)
	}
	return m.start(ctx, s, next.Track)
}

// start plays t from its beginning and saves the playback; s.op is held.
// A track the node accepted but did not start for want of voice is not an
// error: the player starts it when the voice connection is up.
func (m *Music) start(ctx context.Context, s *session, t lavalink.Track) error {
	err := s.player.Play(ctx, t, 0)
	if errors.Is(err, lavalink.ErrTrackNotStarted) {
		m.log.Info("track waits for the voice connection", "guild", s.guildID)
		err = nil
	}
	return m.saved(ctx, s, err)
}

// Skip skips the current track. It returns the track now playing, or nil
// when the queue ended (the agent then leaves).
func (m *Music) Skip(ctx context.Context, guildID, userID string) (*QueueItem, error) {
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return nil, err
	}
	defer s.op.Unlock()
	if err := m.advance(ctx, s, true); err != nil {
		return nil, err
	}
	return m.cfg.Queues.NowPlaying(ctx, s.queueID())
}

// Pause pauses playback.
func (m *Music) Pause(ctx context.Context, guildID, userID string) error {
	return m.setPaused(ctx, guildID, userID, true)
}

// Resume resumes paused playback.
func (m *Music) Resume(ctx context.Context, guildID, userID string) error {
	return m.setPaused(ctx, guildID, userID, false)
}

func (m *Music) setPaused(ctx context.Context, guildID, userID string, paused bool) error {
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return err
	}
	defer s.op.Unlock()
	switch {
	case paused && s.player.Paused():
		return ErrAlreadyPaused
	case !paused && !s.player.Paused():
		return ErrNotPaused
	}
	return m.saved(ctx, s, s.player.SetPaused(ctx, paused))
}

// Stop stops the music, clears the queue and frees the agent.
func (m *Music) Stop(ctx context.Context, guildID, userID string) error {
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return err
	}
	defer s.op.Unlock()
	return m.end(ctx, s)
}

// NowPlayingInfo is /nowplaying.
type NowPlayingInfo struct {
	Item     QueueItem
	Position time.Duration
	Paused   bool
	Volume   int
	Loop     LoopMode
	Filter   string
	// Node is the Lavalink node playing it.
	Node string
}

// NowPlaying describes the track playing in the caller's channel.
func (m *Music) NowPlaying(ctx context.Context, guildID, userID string) (NowPlayingInfo, error) {
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return NowPlayingInfo{}, err
	}
	defer s.op.Unlock()
	return m.nowPlaying(ctx, s)
}

func (m *Music) nowPlaying(ctx context.Context, s *session) (NowPlayingInfo, error) {
	now, err := m.cfg.Queues.NowPlaying(ctx, s.queueID())
	if err != nil {
		return NowPlayingInfo{}, err
	}
	if now == nil {
		return NowPlayingInfo{}, ErrNothingPlaying
	}
	loop, err := m.cfg.Queues.Loop(ctx, s.queueID())
	if err != nil {
		return NowPlayingInfo{}, err
	}
	filter := s.filter
	if filter == "" {
		filter = "off"
	}
	return NowPlayingInfo{Item: *now, Position: s.player.Position(), Paused: s.player.Paused(), Volume: s.player.Volume(),
		Loop: loop, Filter: filter, Node: s.player.Node()}, nil
}

// QueueView is /queue: what plays now and one page of what comes next.
type QueueView struct {
	NowPlaying NowPlayingInfo
	QueuePage
}

// Queue returns page (1-based) of the caller's channel's queue.
func (m *Music) Queue(ctx context.Context, guildID, userID string, page int) (QueueView, error) {
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return QueueView{}, err
	}
	defer s.op.Unlock()
	np, err := m.nowPlaying(ctx, s)
	if err != nil {
		return QueueView{}, err
	}
	p, err := m.cfg.Queues.List(ctx, s.queueID(), page, m.cfg.QueuePageSize)
	if err != nil {
		return QueueView{}, err
	}
	return QueueView{NowPlaying: np, QueuePage: p}, nil
}

// Volume sets the volume, 0-200 percent.
func (m *Music) Volume(ctx context.Context, guildID, userID string, volume int) error {
	if volume < 0 || volume > 200 {
		return ErrBadArgument.With("The volume must be between 0 and 200.")
	}
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return err
	}
	defer s.op.Unlock()
	return m.saved(ctx, s, s.player.SetVolume(ctx, volume))
}

// Seek jumps to position in the current track.
func (m *Music) Seek(ctx context.Context, guildID, userID string, position time.Duration) error {
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return err
	}
	defer s.op.Unlock()
	t := s.player.Track()
	if t == nil {
		return ErrNothingPlaying
	}
	switch {
	case !t.Info.Seekable():
		return ErrBadArgument.With("This track is a stream and cannot be seeked.")
	case position < 0 || (t.Info.KnownLength() && position >= t.Info.Duration()):
		return ErrBadArgument.Withf("The track is %s long.", t.Info.Duration().Round(time.Second))
	}
	return m.saved(ctx, s, s.player.Seek(ctx, position))
}

// Loop sets the loop mode (off, track or queue).
func (m *Music) Loop(ctx context.Context, guildID, userID, mode string) (LoopMode, error) {
	lm, err := ParseLoopMode(mode)
	if err != nil {
		return "", err
	}
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return "", err
	}
	defer s.op.Unlock()
	return lm, m.cfg.Queues.SetLoop(ctx, s.queueID(), lm)
}

// Shuffle shuffles the queue and returns its length.
func (m *Music) Shuffle(ctx context.Context, guildID, userID string) (int, error) {
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return 0, err
	}
	defer s.op.Unlock()
	return m.cfg.Queues.Shuffle(ctx, s.queueID())
}

// Remove takes the track at position (1-based, as /queue shows) out of the queue.
func (m *Music) Remove(ctx context.Context, guildID, userID string, position int) (QueueItem, error) {
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return QueueItem{}, err
	}
	defer s.op.Unlock()
	return m.cfg.Queues.Remove(ctx, s.queueID(), position)
}

// Filter applies a filter preset: bassboost, nightcore, 8d or off.
func (m *Music) Filter(ctx context.Context, guildID, userID, name string) error {
	f, err := Preset(name)
	if err != nil {
		return err
	}
	s, err := m.current(ctx, guildID, userID)
	if err != nil {
		return err
	}
	defer s.op.Unlock()
	if err := s.player.SetFilters(ctx, f); err != nil {
		return err
	}
	s.filter = strings.ToLower(strings.TrimSpace(name))
	m.savePlayback(ctx, s)
	return nil
}

// savePlayback records where s's track stands, for a node that may have to
// restore it (see restore); s.op is held. A failure costs only that
// restore, so it is logged rather than returned.
func (m *Music) savePlayback(ctx context.Context, s *session) {
	p := Playback{Position: s.player.Position(), At: time.Now(), Paused: s.player.Paused(),
		Volume: s.player.Volume(), Filter: s.filter, Rate: s.player.Filters().Rate()}
	if err := m.cfg.Queues.SavePlayback(ctx, s.queueID(), p); err != nil {
		m.log.Warn("saving playback", "guild", s.guildID, "err", err)
	}
}

// saved saves s's playback after a change that succeeded (err nil) and
// returns err.
func (m *Music) saved(ctx context.Context, s *session, err error) error {
	if err == nil {
		m.savePlayback(ctx, s)
	}
	return err
}
