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
	// Speech mints the URLs of /say's clips; nil refuses /say.
	Speech SpeechURLs
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
			if err := m.startItem(ctx, s, *next); err != nil {
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
