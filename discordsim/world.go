package discordsim

import (
	"errors"
	"fmt"
	"time"
)

// The world the driver builds: applications and their bots, users,
// guilds, channels and members. Each change dispatches the gateway events
// Discord would send.

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
