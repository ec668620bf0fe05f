// Package discordsim is Discord, emulated from the published API documentation:
// the gateway (v9 and v10, JSON, optional zlib-stream), the REST API, interactions,
// OAuth2 and voice events, plus a driver API that tests use to create state,
// make users act, inject faults and read back what happened.
//
// It imports nothing of the bot. Where Discord rejects something, so does the
// emulator, with the documented close code, HTTP status and JSON error code.
package discordsim

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// The Sim itself: its configuration with Discord's defaults, its state,
// and its life (New, Start, Close). What the driver builds is in world.go.

// Config sets the emulator's initial state and its limits. Zero values take
// Discord's documented values (or the emulator's documented default).
type Config struct {
	// Guilds is how many guilds the default application's bot is in at start.
	Guilds int
	// Users is how many ordinary users are created and added to every initial guild (default 3).
	Users int
	// RecommendedShards is the shard count GET /gateway/bot returns. Unset,
	// it is one shard per 1000 guilds the bot is in at the time of the
	// request (at least 1); Config reports the count at start.
	RecommendedShards int
	// MaxConcurrency is session_start_limit.max_concurrency (default 1).
	MaxConcurrency int
	// SessionStartLimit is session_start_limit.total (default 1000).
	SessionStartLimit int
	// SessionStartReset is the period after which remaining resets (default 24h).
	SessionStartReset time.Duration
	// IdentifyWindow is the period in which one IDENTIFY per bucket is allowed (default 5s).
	IdentifyWindow time.Duration
	// HeartbeatInterval is sent in HELLO (default 41.25s).
	HeartbeatInterval time.Duration
	// HeartbeatTimeout closes a connection whose client has not heartbeaten for
	// this long (default 1.5 × HeartbeatInterval).
	HeartbeatTimeout time.Duration
	// ResumeWindow is how long a disconnected session stays resumable (default 3 min).
	ResumeWindow time.Duration
	// ReplayBuffer is the most dispatches a session keeps for RESUME (default 50000);
	// resuming from an older seq is answered with op 9 false.
	ReplayBuffer int
	// GatewaySendLimit and GatewaySendWindow bound client payloads (default 120 per 60s, then close 4008).
	GatewaySendLimit  int
	GatewaySendWindow time.Duration
	// MaxGuildsPerShard is the most guilds one shard may hold: an IDENTIFY
	// whose shard would hold more is closed with 4011 (default 2500).
	MaxGuildsPerShard int
	// InteractionDeadline is the time for the initial response (default 3s).
	InteractionDeadline time.Duration
	// InteractionTokenTTL is the lifetime of an interaction token (default 15 min).
	InteractionTokenTTL time.Duration
	// GlobalRateLimit requests per GlobalRateWindow per bot (default 50 per 1s).
	GlobalRateLimit  int
	GlobalRateWindow time.Duration
	// RouteRateLimit requests per RouteRateWindow per route bucket (default 5 per 5s).
	RouteRateLimit  int
	RouteRateWindow time.Duration
	// InvalidRequestLimit 401/403/429 responses per InvalidRequestWindow per client IP
	// lead to a ban of BanDuration (defaults 10000 per 10 min, 1h ban).
	InvalidRequestLimit  int
	InvalidRequestWindow time.Duration
	BanDuration          time.Duration
	// RequireUserAgent rejects REST requests whose User-Agent does not start
	// with "DiscordBot (" with 403 code 40333 (Discord "may" block them). Either
	// way such requests are recorded as ViolationUserAgent.
	RequireUserAgent bool
	// Token is the default bot's token (default: random, Discord-shaped).
	Token string
	// DeniedPrivilegedIntents are privileged intents NOT enabled for the default
	// application (by default all of GUILD_MEMBERS, GUILD_PRESENCES and MESSAGE_CONTENT are enabled).
	DeniedPrivilegedIntents uint64
	// FirehoseInterval, when positive, emits FirehoseBatch MESSAGE_CREATE and
	// GUILD_MEMBER_UPDATE events (alternating, round-robin over guilds) every interval.
	FirehoseInterval time.Duration
	FirehoseBatch    int
	// DisableDeliveryLog stops recording, per session, the seq of every dispatch
	// queued to a connection (see Deliveries); set it for big benchmarks.
	DisableDeliveryLog bool
	// SubscriptionPeriod is the length of an app subscription's period
	// (default DefaultSubscriptionPeriod, 30 days).
	SubscriptionPeriod time.Duration
	// Logger receives debug logs (default: discard).
	Logger *slog.Logger
}

func (c *Config) fill() error {
	if c.Guilds < 0 || c.Users < 0 || c.RecommendedShards < 0 || c.MaxConcurrency < 0 {
		return errors.New("discordsim: negative count in Config")
	}
	def := func(v *int, d int) {
		if *v == 0 {
			*v = d
		}
	}
	defd := func(v *time.Duration, d time.Duration) {
		if *v == 0 {
			*v = d
		}
	}
	def(&c.Users, 3)
	if c.RecommendedShards == 0 {
		c.RecommendedShards = max(1, (c.Guilds+999)/1000)
	}
	def(&c.MaxConcurrency, 1)
	def(&c.SessionStartLimit, 1000)
	defd(&c.SessionStartReset, 24*time.Hour)
	defd(&c.IdentifyWindow, 5*time.Second)
	defd(&c.HeartbeatInterval, 41250*time.Millisecond)
	defd(&c.HeartbeatTimeout, c.HeartbeatInterval*3/2)
	defd(&c.ResumeWindow, 3*time.Minute)
	def(&c.ReplayBuffer, 50000)
	def(&c.GatewaySendLimit, 120)
	defd(&c.GatewaySendWindow, time.Minute)
	def(&c.MaxGuildsPerShard, 2500)
	defd(&c.InteractionDeadline, 3*time.Second)
	defd(&c.InteractionTokenTTL, 15*time.Minute)
	def(&c.GlobalRateLimit, 50)
	defd(&c.GlobalRateWindow, time.Second)
	def(&c.RouteRateLimit, 5)
	defd(&c.RouteRateWindow, 5*time.Second)
	def(&c.InvalidRequestLimit, 10000)
	defd(&c.InvalidRequestWindow, 10*time.Minute)
	defd(&c.BanDuration, time.Hour)
	def(&c.FirehoseBatch, 1)
	defd(&c.SubscriptionPeriod, DefaultSubscriptionPeriod)
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Channel types used by the emulator (Discord's values).
const (
	ChannelGuildText  = 0
	ChannelDM         = 1
	ChannelGuildVoice = 2
)

// Intents (Discord's bit values).
const (
	IntentGuilds           uint64 = 1 << 0
	IntentGuildMembers     uint64 = 1 << 1
	IntentGuildVoiceStates uint64 = 1 << 7
	IntentGuildPresences   uint64 = 1 << 8
	IntentGuildMessages    uint64 = 1 << 9
	IntentDirectMessages   uint64 = 1 << 12
	IntentMessageContent   uint64 = 1 << 15
	// IntentsPrivileged are the intents an application must have enabled.
	IntentsPrivileged = IntentGuildMembers | IntentGuildPresences | IntentMessageContent
	// IntentsValid are all intent bits Discord documents.
	IntentsValid uint64 = 0x1FFFF | 1<<20 | 1<<21 | 1<<24 | 1<<25
)

// Application is a Discord application with its bot user. Token is the bot token.
type Application struct {
	ID                Snowflake `json:"id"`
	Name              string    `json:"name"`
	BotUserID         Snowflake `json:"bot_user_id"`
	Token             string    `json:"token"`
	ClientSecret      string    `json:"client_secret"`
	RedirectURIs      []string  `json:"redirect_uris"`
	PrivilegedIntents uint64    `json:"privileged_intents"`
	MaxConcurrency    int       `json:"max_concurrency"`
}

// User is a Discord user (a person or a bot).
type User struct {
	ID         Snowflake `json:"id"`
	Username   string    `json:"username"`
	GlobalName string    `json:"global_name,omitempty"`
	Bot        bool      `json:"bot,omitempty"`
	Email      string    `json:"email,omitempty"`
}

// Guild is a Discord guild as the driver sees it.
type Guild struct {
	ID       Snowflake   `json:"id"`
	Name     string      `json:"name"`
	OwnerID  Snowflake   `json:"owner_id"`
	Channels []Channel   `json:"channels"`
	Members  []Snowflake `json:"members"`
}

// Channel is a guild text or voice channel, or a DM.
type Channel struct {
	ID      Snowflake `json:"id"`
	GuildID Snowflake `json:"guild_id,omitempty"`
	Name    string    `json:"name"`
	Type    int       `json:"type"`
}

type app struct {
	Application
	commands       map[Snowflake]*command // global
	guildCommands  map[Snowflake]map[Snowflake]*command
	startRemaining int
	startResetAt   time.Time
	lastIdentify   map[int]time.Time // bucket -> time
	sessions       map[string]*session
}

type guild struct {
	id          Snowflake
	name        string
	ownerID     Snowflake
	channels    []Snowflake
	members     map[Snowflake]time.Time // user -> joined
	memberOrder []Snowflake
	voice       map[Snowflake]Snowflake // user -> channel
}

type channel struct {
	Channel
	lastMessage Snowflake
}

// Sim is one emulated Discord. It is safe for concurrent use.
type Sim struct {
	cfg Config
	// fixedShards: Config.RecommendedShards was set, so GET /gateway/bot
	// does not follow the bot's growth.
	fixedShards bool
	ids         idGen
	log         *slog.Logger

	mu           sync.Mutex
	apps         map[Snowflake]*app
	appsByToken  map[string]*app
	users        map[Snowflake]*User
	userOrder    []Snowflake
	guilds       map[Snowflake]*guild
	guildOrder   []Snowflake
	channels     map[Snowflake]*channel
	messages     map[Snowflake]*Message
	interactions map[Snowflake]*Interaction
	byToken      map[string]*Interaction
	sessions     map[string]*session
	oauth        oauthState
	mon          monetization
	rec          records
	rl           rateLimiter
	defaultApp   *app
	defaultUsers []Snowflake

	connsMu sync.Mutex
	conns   map[*gwConn]struct{}

	baseURL string // set by Start; otherwise derived from the request Host
	srv     *http.Server
	ln      net.Listener
	handler http.Handler
	ctx     context.Context
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	closeMu sync.Once
}

// New builds an emulator with a default application, its bot, cfg.Users users
// and cfg.Guilds guilds with the bot and those users as members. Background
// work (session expiry, the firehose) runs until Close.
func New(cfg Config) (*Sim, error) {
	fixedShards := cfg.RecommendedShards != 0
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sim{
		cfg:          cfg,
		fixedShards:  fixedShards,
		log:          cfg.Logger,
		apps:         map[Snowflake]*app{},
		appsByToken:  map[string]*app{},
		users:        map[Snowflake]*User{},
		guilds:       map[Snowflake]*guild{},
		channels:     map[Snowflake]*channel{},
		messages:     map[Snowflake]*Message{},
		interactions: map[Snowflake]*Interaction{},
		byToken:      map[string]*Interaction{},
		sessions:     map[string]*session{},
		conns:        map[*gwConn]struct{}{},
		ctx:          ctx,
		cancel:       cancel,
	}
	s.oauth.init()
	s.mon.init()
	s.rl.init()
	a, err := s.CreateApplication(AppOptions{Name: "Chopsticks", Token: cfg.Token, DeniedPrivilegedIntents: cfg.DeniedPrivilegedIntents})
	if err != nil {
		cancel()
		return nil, err
	}
	s.defaultApp = s.apps[a.ID]
	for i := 0; i < cfg.Users; i++ {
		u, err := s.CreateUser(UserOptions{Username: fmt.Sprintf("user%d", i+1)})
		if err != nil {
			cancel()
			return nil, err
		}
		s.defaultUsers = append(s.defaultUsers, u.ID)
	}
	for i := 0; i < cfg.Guilds; i++ {
		owner := a.BotUserID
		if len(s.defaultUsers) > 0 {
			owner = s.defaultUsers[0]
		}
		g, err := s.CreateGuild(GuildOptions{Name: fmt.Sprintf("guild-%d", i+1), OwnerID: owner})
		if err != nil {
			cancel()
			return nil, err
		}
		for _, u := range s.defaultUsers[min(1, len(s.defaultUsers)):] {
			if err := s.AddMember(g.ID, u); err != nil {
				cancel()
				return nil, err
			}
		}
		if err := s.AddBot(g.ID, a.ID); err != nil {
			cancel()
			return nil, err
		}
	}
	s.handler = s.routes()
	s.wg.Add(1)
	go s.janitor()
	if cfg.FirehoseInterval > 0 {
		s.wg.Add(1)
		go s.firehose()
	}
	return s, nil
}

// Start listens on addr (use "127.0.0.1:0" for a free port) and serves the
// gateway, REST, OAuth2 and the /_sim/ driver API until ctx ends or Close.
func (s *Sim) Start(ctx context.Context, addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("discordsim: listen: %w", err)
	}
	s.mu.Lock()
	s.ln = ln
	s.baseURL = "http://" + ln.Addr().String()
	s.srv = &http.Server{Handler: s.handler, ReadHeaderTimeout: 10 * time.Second}
	s.mu.Unlock()
	s.wg.Add(2)
	go func() {
		defer s.wg.Done()
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("discordsim serve", "err", err)
		}
	}()
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
			s.shutdown()
		case <-s.ctx.Done():
		}
	}()
	return nil
}

// Handler returns the emulator's HTTP handler (gateway websocket, REST, OAuth2
// and driver API), for use with httptest.Server. URLs are derived from the Host header.
func (s *Sim) Handler() http.Handler { return s.handler }

// URL is the HTTP base URL (http://127.0.0.1:port) after Start.
func (s *Sim) URL() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.baseURL
}

// APIURL is the REST base for version v (9 or 10), e.g. http://127.0.0.1:port/api/v10.
func (s *Sim) APIURL(v int) string { return fmt.Sprintf("%s/api/v%d", s.URL(), v) }

// GatewayURL is the websocket URL GET /gateway returns (ws://127.0.0.1:port).
func (s *Sim) GatewayURL() string { return "ws" + strings.TrimPrefix(s.URL(), "http") }

// Close stops serving, closes every gateway connection (without ending the
// sessions' records) and stops background work.
func (s *Sim) Close() error {
	s.shutdown()
	s.wg.Wait()
	return nil
}

func (s *Sim) shutdown() {
	s.closeMu.Do(func() {
		s.cancel()
		s.mu.Lock()
		srv := s.srv
		var conns []*gwConn
		for _, ss := range s.sessions {
			ss.mu.Lock()
			if ss.conn != nil {
				conns = append(conns, ss.conn)
			}
			ss.mu.Unlock()
		}
		for _, i := range s.interactions {
			i.timer.Stop()
		}
		s.mu.Unlock()
		if srv != nil {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			_ = srv.Shutdown(ctx)
			cancel()
		}
		s.connsMu.Lock()
		for c := range s.conns {
			conns = append(conns, c)
		}
		s.connsMu.Unlock()
		for _, c := range conns {
			c.closeWith(1001, "server shutting down", false)
		}
	})
}

// Config returns the effective configuration (defaults filled in).
func (s *Sim) Config() Config { return s.cfg }

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func randToken(prefix string) string {
	b := make([]byte, 32)
	_, _ = rand.Read(b)
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = alphabet[int(c)%len(alphabet)]
	}
	return prefix + string(out)
}

// Await polls cond every few milliseconds until it returns true or ctx ends.
// Tests use it to wait for the emulator to observe something.
func (s *Sim) Await(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if cond() {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// janitor retires expired sessions: they stop receiving dispatches and their
// replay buffers are freed, but their records (Sessions, Deliveries) stay.
func (s *Sim) janitor() {
	defer s.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case now := <-t.C:
			s.mu.Lock()
			for _, a := range s.apps {
				for id, ss := range a.sessions {
					if ss.expired(now) {
						ss.mu.Lock()
						ss.ended = true
						ss.buffer = nil
						ss.mu.Unlock()
						delete(a.sessions, id)
					}
				}
			}
			evs := s.settleSubscriptionsLocked(s.nowLocked())
			s.mu.Unlock()
			s.sendMonEvents(evs)
		}
	}
}
