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
	"strconv"
	"strings"
	"sync"
	"time"
)

// Config sets the emulator's initial state and its limits. Zero values take
// Discord's documented values (or the emulator's documented default).
type Config struct {
	// Guilds is how many guilds the default application's bot is in at start.
	Guilds int
	// Users is how many ordinary users are created and added to every initial guild (default 3).
	Users int
	// RecommendedShards is the shard count GET /gateway/bot returns (default: enough for 1000 guilds per shard, at least 1).
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
	// MaxGuildsPerShard triggers close 4011 (default 2500).
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
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return nil
}

// Snowflake is a Discord ID. It encodes to JSON as a string, as Discord does,
// and decodes from a string or a number.
type Snowflake uint64

// MarshalJSON encodes s as a JSON string.
func (s Snowflake) MarshalJSON() ([]byte, error) {
	return []byte(`"` + strconv.FormatUint(uint64(s), 10) + `"`), nil
}

// UnmarshalJSON decodes s from a JSON string or number.
func (s *Snowflake) UnmarshalJSON(b []byte) error {
	str := strings.Trim(string(b), `"`)
	if str == "null" || str == "" {
		*s = 0
		return nil
	}
	v, err := strconv.ParseUint(str, 10, 64)
	if err != nil {
		return fmt.Errorf("invalid snowflake %s", b)
	}
	*s = Snowflake(v)
	return nil
}

// String returns the decimal form of s.
func (s Snowflake) String() string { return strconv.FormatUint(uint64(s), 10) }

// ParseSnowflake parses a decimal snowflake.
func ParseSnowflake(str string) (Snowflake, error) {
	v, err := strconv.ParseUint(str, 10, 64)
	if err != nil || v == 0 {
		return 0, fmt.Errorf("invalid snowflake %q", str)
	}
	return Snowflake(v), nil
}

// ShardFor returns the shard of guildID for shardCount shards, as Discord routes it.
func ShardFor(guildID Snowflake, shardCount int) int {
	if shardCount <= 0 {
		return 0
	}
	return int((uint64(guildID) >> 22) % uint64(shardCount))
}

const discordEpochMs = 1420070400000

// idGen makes unique snowflakes. Guild IDs take consecutive timestamps so that
// guilds created together spread evenly over any shard count.
type idGen struct {
	mu     sync.Mutex
	lastTs int64
	inc    int64
}

func (g *idGen) next(fresh bool) Snowflake {
	g.mu.Lock()
	defer g.mu.Unlock()
	ts := time.Now().UnixMilli() - discordEpochMs
	switch {
	case fresh:
		ts = max(ts, g.lastTs+1)
		g.inc = 0
	case ts <= g.lastTs:
		ts = g.lastTs
		g.inc++
		if g.inc >= 4096 {
			ts++
			g.inc = 0
		}
	default:
		g.inc = 0
	}
	g.lastTs = ts
	return Snowflake(uint64(ts)<<22 | 1<<17 | uint64(g.inc))
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
	ids idGen
	log *slog.Logger

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
	if err := cfg.fill(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &Sim{
		cfg:          cfg,
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

// AppOptions describe a new application.
type AppOptions struct {
	Name string
	// Token is the bot token (default: random).
	Token string
	// DeniedPrivilegedIntents are privileged intents not enabled for the app.
	DeniedPrivilegedIntents uint64
	// MaxConcurrency overrides Config.MaxConcurrency for this app.
	MaxConcurrency int
	// RedirectURIs are the OAuth2 redirect URIs (exact match).
	RedirectURIs []string
}

// CreateApplication creates an application with a bot user and returns it.
func (s *Sim) CreateApplication(o AppOptions) (Application, error) {
	if o.Name == "" {
		o.Name = "app"
	}
	if o.MaxConcurrency < 0 {
		return Application{}, errors.New("discordsim: negative MaxConcurrency")
	}
	if o.MaxConcurrency == 0 {
		o.MaxConcurrency = s.cfg.MaxConcurrency
	}
	id := s.ids.next(false)
	bot, err := s.CreateUser(UserOptions{Username: o.Name, Bot: true})
	if err != nil {
		return Application{}, err
	}
	if o.Token == "" {
		o.Token = base64ID(id) + "." + randToken("")[:6] + "." + randToken("")[:27]
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, dup := s.appsByToken[o.Token]; dup {
		return Application{}, errors.New("discordsim: token already in use")
	}
	a := &app{
		Application: Application{
			ID: id, Name: o.Name, BotUserID: bot.ID, Token: o.Token,
			ClientSecret:      randToken("")[:32],
			RedirectURIs:      append([]string(nil), o.RedirectURIs...),
			PrivilegedIntents: IntentsPrivileged &^ o.DeniedPrivilegedIntents,
			MaxConcurrency:    o.MaxConcurrency,
		},
		commands:       map[Snowflake]*command{},
		guildCommands:  map[Snowflake]map[Snowflake]*command{},
		startRemaining: s.cfg.SessionStartLimit,
		startResetAt:   time.Now().Add(s.cfg.SessionStartReset),
		lastIdentify:   map[int]time.Time{},
		sessions:       map[string]*session{},
	}
	s.apps[id] = a
	s.appsByToken[o.Token] = a
	return a.Application, nil
}

func base64ID(id Snowflake) string {
	const enc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	src := []byte(id.String())
	var out []byte
	for i := 0; i < len(src); i += 3 {
		var b [3]byte
		n := copy(b[:], src[i:])
		v := uint(b[0])<<16 | uint(b[1])<<8 | uint(b[2])
		chars := []byte{enc[v>>18&63], enc[v>>12&63], enc[v>>6&63], enc[v&63]}
		out = append(out, chars[:n+1]...)
	}
	return string(out)
}

// SetRedirectURIs replaces an application's OAuth2 redirect URIs.
func (s *Sim) SetRedirectURIs(appID Snowflake, uris []string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return fmt.Errorf("discordsim: unknown application %s", appID)
	}
	a.RedirectURIs = append([]string(nil), uris...)
	return nil
}

// DefaultApp returns the default application (created by New).
func (s *Sim) DefaultApp() Application {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defaultApp.Application
}

// Token is the default bot's token.
func (s *Sim) Token() string { return s.DefaultApp().Token }

// AppID is the default application's ID.
func (s *Sim) AppID() Snowflake { return s.DefaultApp().ID }

// DefaultUsers are the users New created (the first owns the initial guilds).
func (s *Sim) DefaultUsers() []Snowflake {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Snowflake(nil), s.defaultUsers...)
}

// UserOptions describe a new user.
type UserOptions struct {
	Username string
	Bot      bool
	Email    string
}

// CreateUser creates a user.
func (s *Sim) CreateUser(o UserOptions) (User, error) {
	if o.Username == "" {
		return User{}, errors.New("discordsim: username required")
	}
	u := &User{ID: s.ids.next(false), Username: o.Username, Bot: o.Bot, Email: o.Email}
	if u.Email == "" && !o.Bot {
		u.Email = o.Username + "@example.invalid"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[u.ID] = u
	s.userOrder = append(s.userOrder, u.ID)
	return *u, nil
}

// GuildOptions describe a new guild. A text channel "general" and a voice
// channel "General" are created with it, and the owner becomes a member.
type GuildOptions struct {
	Name    string
	OwnerID Snowflake
}

// CreateGuild creates a guild (without the bot: see AddBot).
func (s *Sim) CreateGuild(o GuildOptions) (Guild, error) {
	if o.Name == "" {
		o.Name = "guild"
	}
	s.mu.Lock()
	if _, ok := s.users[o.OwnerID]; !ok {
		s.mu.Unlock()
		return Guild{}, fmt.Errorf("discordsim: unknown owner %s", o.OwnerID)
	}
	s.mu.Unlock()
	g := &guild{id: s.ids.next(true), name: o.Name, ownerID: o.OwnerID, members: map[Snowflake]time.Time{}, voice: map[Snowflake]Snowflake{}}
	text := &channel{Channel: Channel{ID: s.ids.next(false), GuildID: g.id, Name: "general", Type: ChannelGuildText}}
	voice := &channel{Channel: Channel{ID: s.ids.next(false), GuildID: g.id, Name: "General", Type: ChannelGuildVoice}}
	g.channels = []Snowflake{text.ID, voice.ID}
	g.members[o.OwnerID] = time.Now()
	g.memberOrder = []Snowflake{o.OwnerID}
	s.mu.Lock()
	s.guilds[g.id] = g
	s.guildOrder = append(s.guildOrder, g.id)
	s.channels[text.ID] = text
	s.channels[voice.ID] = voice
	out := s.guildViewLocked(g)
	s.mu.Unlock()
	return out, nil
}

func (s *Sim) guildViewLocked(g *guild) Guild {
	out := Guild{ID: g.id, Name: g.name, OwnerID: g.ownerID, Members: append([]Snowflake(nil), g.memberOrder...)}
	for _, c := range g.channels {
		out.Channels = append(out.Channels, s.channels[c].Channel)
	}
	return out
}

// Guild returns a guild by ID.
func (s *Sim) Guild(id Snowflake) (Guild, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.guilds[id]
	if !ok {
		return Guild{}, false
	}
	return s.guildViewLocked(g), true
}

// Guilds returns every guild in creation order.
func (s *Sim) Guilds() []Guild {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Guild, 0, len(s.guildOrder))
	for _, id := range s.guildOrder {
		out = append(out, s.guildViewLocked(s.guilds[id]))
	}
	return out
}

// BotGuilds returns the IDs of the guilds appID's bot is in and which belong
// to shard of shardCount (shardCount 0 means all).
func (s *Sim) BotGuilds(appID Snowflake, shard, shardCount int) []Snowflake {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return nil
	}
	return s.botGuildsLocked(a, shard, shardCount)
}

func (s *Sim) botGuildsLocked(a *app, shard, shardCount int) []Snowflake {
	var out []Snowflake
	for _, id := range s.guildOrder {
		g := s.guilds[id]
		if _, in := g.members[a.BotUserID]; !in {
			continue
		}
		if shardCount > 0 && ShardFor(id, shardCount) != shard {
			continue
		}
		out = append(out, id)
	}
	return out
}

// TextChannel returns the first text channel of a guild.
func (s *Sim) TextChannel(guildID Snowflake) (Snowflake, bool) {
	return s.firstChannel(guildID, ChannelGuildText)
}

// VoiceChannel returns the first voice channel of a guild.
func (s *Sim) VoiceChannel(guildID Snowflake) (Snowflake, bool) {
	return s.firstChannel(guildID, ChannelGuildVoice)
}

func (s *Sim) firstChannel(guildID Snowflake, typ int) (Snowflake, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g, ok := s.guilds[guildID]
	if !ok {
		return 0, false
	}
	for _, c := range g.channels {
		if s.channels[c].Type == typ {
			return c, true
		}
	}
	return 0, false
}

// ChannelOptions describe a new guild channel.
type ChannelOptions struct {
	Name string
	Type int // ChannelGuildText or ChannelGuildVoice
}

// CreateChannel adds a channel to a guild and dispatches CHANNEL_CREATE.
func (s *Sim) CreateChannel(guildID Snowflake, o ChannelOptions) (Channel, error) {
	if o.Type != ChannelGuildText && o.Type != ChannelGuildVoice {
		return Channel{}, fmt.Errorf("discordsim: unsupported channel type %d", o.Type)
	}
	if o.Name == "" {
		return Channel{}, errors.New("discordsim: channel name required")
	}
	s.mu.Lock()
	g, ok := s.guilds[guildID]
	if !ok {
		s.mu.Unlock()
		return Channel{}, fmt.Errorf("discordsim: unknown guild %s", guildID)
	}
	c := &channel{Channel: Channel{ID: s.ids.next(false), GuildID: guildID, Name: o.Name, Type: o.Type}}
	s.channels[c.ID] = c
	g.channels = append(g.channels, c.ID)
	data := channelJSON(c)
	s.mu.Unlock()
	s.dispatchGuild(guildID, "CHANNEL_CREATE", IntentGuilds, data)
	return c.Channel, nil
}

// AddMember makes a user a member of a guild and dispatches GUILD_MEMBER_ADD
// (GUILD_MEMBERS intent).
func (s *Sim) AddMember(guildID, userID Snowflake) error {
	s.mu.Lock()
	g, ok := s.guilds[guildID]
	u, uok := s.users[userID]
	if !ok || !uok {
		s.mu.Unlock()
		return fmt.Errorf("discordsim: unknown guild %s or user %s", guildID, userID)
	}
	if _, in := g.members[userID]; in {
		s.mu.Unlock()
		return nil
	}
	g.members[userID] = time.Now()
	g.memberOrder = append(g.memberOrder, userID)
	m := memberJSON(u, g.members[userID])
	m["guild_id"] = guildID
	s.mu.Unlock()
	s.dispatchGuild(guildID, "GUILD_MEMBER_ADD", IntentGuildMembers, m)
	return nil
}

// AddBot adds appID's bot to a guild; the shard that owns the guild receives GUILD_CREATE.
func (s *Sim) AddBot(guildID, appID Snowflake) error {
	s.mu.Lock()
	a, ok := s.apps[appID]
	g, gok := s.guilds[guildID]
	if !ok || !gok {
		s.mu.Unlock()
		return fmt.Errorf("discordsim: unknown guild %s or application %s", guildID, appID)
	}
	if _, in := g.members[a.BotUserID]; in {
		s.mu.Unlock()
		return nil
	}
	g.members[a.BotUserID] = time.Now()
	g.memberOrder = append(g.memberOrder, a.BotUserID)
	s.mu.Unlock()
	s.dispatchToApp(a, guildID, "GUILD_CREATE", IntentGuilds, func() any {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.guildCreateJSONLocked(g)
	})
	return nil
}

// RemoveBot removes appID's bot from a guild; its shard receives GUILD_DELETE.
func (s *Sim) RemoveBot(guildID, appID Snowflake) error {
	s.mu.Lock()
	a, ok := s.apps[appID]
	g, gok := s.guilds[guildID]
	if !ok || !gok {
		s.mu.Unlock()
		return fmt.Errorf("discordsim: unknown guild %s or application %s", guildID, appID)
	}
	if _, in := g.members[a.BotUserID]; !in {
		s.mu.Unlock()
		return nil
	}
	s.mu.Unlock()
	s.dispatchToApp(a, guildID, "GUILD_DELETE", IntentGuilds, func() any {
		return map[string]any{"id": guildID, "unavailable": false}
	})
	s.mu.Lock()
	delete(g.members, a.BotUserID)
	g.memberOrder = removeID(g.memberOrder, a.BotUserID)
	s.mu.Unlock()
	return nil
}

func removeID(ids []Snowflake, id Snowflake) []Snowflake {
	out := ids[:0]
	for _, x := range ids {
		if x != id {
			out = append(out, x)
		}
	}
	return out
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
			s.mu.Unlock()
		}
	}
}

func userJSON(u *User) map[string]any {
	m := map[string]any{"id": u.ID, "username": u.Username, "discriminator": "0", "global_name": nil, "avatar": nil}
	if u.GlobalName != "" {
		m["global_name"] = u.GlobalName
	}
	if u.Bot {
		m["bot"] = true
	}
	return m
}

func memberJSON(u *User, joined time.Time) map[string]any {
	return map[string]any{"user": userJSON(u), "roles": []string{}, "joined_at": joined.UTC().Format(time.RFC3339Nano), "deaf": false, "mute": false, "flags": 0, "nick": nil}
}

func channelJSON(c *channel) map[string]any {
	m := map[string]any{"id": c.ID, "type": c.Type, "name": c.Name, "position": 0, "permission_overwrites": []any{}, "flags": 0}
	if c.GuildID != 0 {
		m["guild_id"] = c.GuildID
	}
	if c.Type == ChannelGuildVoice {
		m["bitrate"] = 64000
		m["user_limit"] = 0
		m["rtc_region"] = nil
	}
	if c.Type == ChannelGuildText {
		m["last_message_id"] = nil
		if c.lastMessage != 0 {
			m["last_message_id"] = c.lastMessage
		}
		m["nsfw"] = false
		m["topic"] = nil
		m["rate_limit_per_user"] = 0
	}
	return m
}

func (s *Sim) guildJSONLocked(g *guild) map[string]any {
	return map[string]any{
		"id": g.id, "name": g.name, "icon": nil, "splash": nil, "discovery_splash": nil,
		"owner_id": g.ownerID, "afk_channel_id": nil, "afk_timeout": 300,
		"verification_level": 0, "default_message_notifications": 0, "explicit_content_filter": 0,
		"roles":  []any{map[string]any{"id": g.id, "name": "@everyone", "permissions": "2248473465835073", "position": 0, "color": 0, "hoist": false, "managed": false, "mentionable": false, "flags": 0}},
		"emojis": []any{}, "features": []string{}, "mfa_level": 0, "application_id": nil,
		"system_channel_id": nil, "system_channel_flags": 0, "rules_channel_id": nil,
		"vanity_url_code": nil, "description": nil, "banner": nil, "premium_tier": 0,
		"preferred_locale": "en-US", "public_updates_channel_id": nil, "nsfw_level": 0,
		"stickers": []any{}, "premium_progress_bar_enabled": false, "safety_alerts_channel_id": nil,
	}
}

func (s *Sim) guildCreateJSONLocked(g *guild) map[string]any {
	m := s.guildJSONLocked(g)
	chans := []any{}
	for _, c := range g.channels {
		cj := channelJSON(s.channels[c])
		delete(cj, "guild_id")
		chans = append(chans, cj)
	}
	members := []any{}
	for _, uid := range g.memberOrder {
		members = append(members, memberJSON(s.users[uid], g.members[uid]))
	}
	vs := []any{}
	for uid, cid := range g.voice {
		vs = append(vs, voiceStateJSON(0, cid, uid, ""))
	}
	m["joined_at"] = time.Now().UTC().Format(time.RFC3339Nano)
	m["large"] = false
	m["unavailable"] = false
	m["member_count"] = len(g.members)
	m["channels"] = chans
	m["threads"] = []any{}
	m["members"] = members
	m["voice_states"] = vs
	m["presences"] = []any{}
	m["stage_instances"] = []any{}
	m["guild_scheduled_events"] = []any{}
	m["soundboard_sounds"] = []any{}
	return m
}

func voiceStateJSON(guildID, channelID, userID Snowflake, sessionID string) map[string]any {
	m := map[string]any{
		"channel_id": nil, "user_id": userID, "session_id": sessionID, "deaf": false, "mute": false,
		"self_deaf": false, "self_mute": false, "self_video": false, "suppress": false, "request_to_speak_timestamp": nil,
	}
	if guildID != 0 {
		m["guild_id"] = guildID
	}
	if channelID != 0 {
		m["channel_id"] = channelID
	}
	return m
}
