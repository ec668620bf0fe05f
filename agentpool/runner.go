package agentpool

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/diamondburned/arikawa/v3/gateway"
	"github.com/diamondburned/arikawa/v3/utils/ws"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/chopsticks-bot/chopsticks/shard"
)

// AgentIntents are the only intents an agent's gateway session asks for:
// its guilds (membership) and voice states (its own voice connection).
const AgentIntents = gateway.IntentGuilds | gateway.IntentGuildVoiceStates

// ErrAgentNotRunning means the agent has no gateway session on this node.
var ErrAgentNotRunning = errors.New("the agent is not running on this node")

// Music is what the Runner needs of the music service (*voice.Music): the
// agent's voice updates, and taking over or letting go of its players when
// the agent moves between nodes.
type Music interface {
	VoiceStateUpdate(ctx context.Context, agentUserID, guildID, sessionID, channelID string) error
	VoiceServerUpdate(ctx context.Context, agentUserID, guildID, token, endpoint string) error
	Adopt(ctx context.Context, agentUserID string) (int, error)
	Detach(agentUserID string) int
	AgentChannels(agentUserID string) map[string]string
}

// RunnerConfig configures a Runner.
type RunnerConfig struct {
	Registry *Registry
	// Node is this node's ID, recorded in the agents' checkpoints so that
	// the next node to run an agent can tell where its session was.
	Node string
	// GatewayURL is the gateway address (from GET /gateway/bot).
	GatewayURL string
	// Gate admits the agents' IDENTIFYs. Nil (recommended) gives every
	// agent its own gate of one IDENTIFY per 5 s: each agent is another bot
	// with its own identify limit and runs on one node at a time, whereas
	// the cluster's gate is the main bot's, and sharing it would queue every
	// agent (all shard 0) behind the main bot's bucket 0.
	Gate shard.Gate
	// MinBackoff and MaxBackoff bound the wait before restarting a session
	// that failed for good (bad token, disallowed intents); defaults 1 s and 2 min.
	MinBackoff, MaxBackoff time.Duration
	// ReadyTimeout bounds Start's wait for the session to be READY; default 15 s.
	ReadyTimeout time.Duration
	// Sessions, when set, keeps every agent's gateway session (checkpointed
	// every second and when the agent stops) so that the next node to run
	// the agent RESUMEs it instead of identifying; see NewRedisSessions.
	// Nil makes every Start identify.
	Sessions SessionStore
	// Registerer receives the metrics; nil registers nothing.
	Registerer prometheus.Registerer
	// PoolSizeMaxAge bounds how stale chopsticks_agent_pool_size_total may
	// be: scrapes count the registry at most once per period, so that
	// frequent or many scrapers cost the database nothing more; default 30 s.
	PoolSizeMaxAge time.Duration
	// Logger receives the runner's logs; default none.
	Logger *slog.Logger
}

// Runner runs the gateway sessions of the agents the cluster assigns to
// this node (coordinator units of kind "agent", ID = registry ID), forwards
// their voice updates to the music service, and sends them into voice
// channels for the Allocator (it implements Candidates and Joiner).
//
// Wiring: NewRunner, then NewAllocator with the runner as Candidates and
// Joiner, then voice.NewMusic with the allocator as Agents, then SetMusic.
type Runner struct {
	cfg   RunnerConfig
	log   *slog.Logger
	alloc *Allocator

	mu     sync.Mutex
	music  Music
	agents map[int64]*agentSession
	byUser map[string]*agentSession

	wg sync.WaitGroup

	now    func() time.Time // the clock of the pool size cache
	sizeMu sync.Mutex       // one count at a time; guards size and sizeAt
	size   float64
	sizeAt time.Time
}

// agentState is the health of a running agent.
type agentState string

const (
	agentConnecting agentState = "connecting"
	agentReady      agentState = "ready"
	agentFailed     agentState = "failed"
)

// agentSession is one agent's gateway session on this node.
type agentSession struct {
	id     int64
	userID string
	name   string
	sh     *shard.Shard
	cancel context.CancelFunc
	done   chan struct{}
	events chan func(context.Context)
	ready  chan struct{} // closed at the first READY or RESUMED
	once   sync.Once
	// guildsDirty signals that guilds changed and must be saved for the
	// next owner (capacity 1: signals coalesce).
	guildsDirty chan struct{}

	mu      sync.Mutex
	state   agentState
	guilds  map[string]bool
	voice   map[string]string // guild -> channel, from its own voice states
	joining map[string]string // guild -> channel asked for by Join
	adopted bool              // adoption is done; only then is it a candidate
}

// NewRunner returns a runner. Call SetMusic before the first Start.
func NewRunner(cfg RunnerConfig) (*Runner, error) {
	if cfg.Registry == nil || cfg.GatewayURL == "" {
		return nil, errors.New("agentpool: RunnerConfig needs Registry and GatewayURL")
	}
	if cfg.MinBackoff <= 0 {
		cfg.MinBackoff = time.Second
	}
	if cfg.MaxBackoff < cfg.MinBackoff {
		cfg.MaxBackoff = max(cfg.MinBackoff, 2*time.Minute)
	}
	if cfg.ReadyTimeout <= 0 {
		cfg.ReadyTimeout = 15 * time.Second
	}
	if cfg.PoolSizeMaxAge <= 0 {
		cfg.PoolSizeMaxAge = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	r := &Runner{cfg: cfg, log: cfg.Logger, agents: map[int64]*agentSession{}, byUser: map[string]*agentSession{},
		now: time.Now}
	if cfg.Registerer != nil {
		for _, c := range []prometheus.Collector{
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "chopsticks_agent_pool_size_total",
				Help: "Agents in the registry (the whole cluster's pool)."}, r.poolSize),
			poolCollector{r},
		} {
			if err := cfg.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("agentpool: registering metrics: %w", err)
			}
		}
	}
	return r, nil
}

// SetMusic connects the runner to the music service and the allocator that
// serves it (used to re-claim the channels of adopted agents).
func (r *Runner) SetMusic(m Music, a *Allocator) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.music, r.alloc = m, a
}

// poolSize is the number of agents in the registry, counted at most once
// per PoolSizeMaxAge (a failed count, -1, is kept as long, so that scrapes
// do not pile onto a failing database).
func (r *Runner) poolSize() float64 {
	r.sizeMu.Lock()
	defer r.sizeMu.Unlock()
	if !r.sizeAt.IsZero() && r.now().Sub(r.sizeAt) < r.cfg.PoolSizeMaxAge {
		return r.size
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	var n int
	r.size = -1
	if err := r.cfg.Registry.pool.QueryRow(ctx, `SELECT count(*) FROM agents`).Scan(&n); err == nil {
		r.size = float64(n)
	}
	r.sizeAt = r.now()
	return r.size
}

// poolCollector reports chopsticks_agent_pool_agents{state} for the agents
// this node runs.
type poolCollector struct{ r *Runner }

var poolAgentsDesc = prometheus.NewDesc("chopsticks_agent_pool_agents",
	"Agents running on this node by state: available (ready, no channel), busy (in a channel), unhealthy (not connected).",
	[]string{"state"}, nil)

// Describe implements prometheus.Collector.
func (c poolCollector) Describe(ch chan<- *prometheus.Desc) { ch <- poolAgentsDesc }

// Collect implements prometheus.Collector.
func (c poolCollector) Collect(ch chan<- prometheus.Metric) {
	counts := c.r.States()
	for _, st := range []string{"available", "busy", "unhealthy"} {
		ch <- prometheus.MustNewConstMetric(poolAgentsDesc, prometheus.GaugeValue, float64(counts[st]), st)
	}
}

// States counts this node's agents as available, busy or unhealthy.
func (r *Runner) States() map[string]int {
	r.mu.Lock()
	all := make([]*agentSession, 0, len(r.agents))
	for _, a := range r.agents {
		all = append(all, a)
	}
	r.mu.Unlock()
	out := map[string]int{}
	for _, a := range all {
		a.mu.Lock()
		switch {
		case a.state != agentReady:
			out["unhealthy"]++
		case len(a.voice) > 0 || len(a.joining) > 0:
			out["busy"]++
		default:
			out["available"]++
		}
		a.mu.Unlock()
	}
	return out
}

// Start opens agent id's gateway session (it must be registered and
// enabled), resuming the session a previous owner left when Sessions has
// it, and returns once it is READY (or RESUMED); after ReadyTimeout, or when ctx
// ends first, it stops the session again and returns an error. A session
// that later fails for good is restarted with backoff until Stop.
// The agent's players left by a previous owner are adopted, and its
// channels re-joined, before it is offered for new channels.
func (r *Runner) Start(ctx context.Context, id int64) error {
	r.mu.Lock()
	music := r.music
	_, running := r.agents[id]
	r.mu.Unlock()
	if music == nil {
		return errors.New("agentpool: Runner.SetMusic was not called")
	}
	if running {
		return nil
	}
	agent, err := r.cfg.Registry.Lookup(ctx, fmt.Sprint(id))
	if err != nil {
		return err
	}
	if agent.ID != id {
		return fmt.Errorf("%w: id %d", ErrNotFound, id)
	}
	if !agent.Enabled {
		return fmt.Errorf("agentpool: agent %d (%s) is disabled", id, agent.Name)
	}
	token, err := r.cfg.Registry.Token(ctx, id)
	if err != nil {
		return err
	}
	from, guilds := r.resumePoint(ctx, id)
	runCtx, cancel := context.WithCancel(context.Background())
	a := &agentSession{id: id, userID: agent.BotUserID, name: agent.Name, cancel: cancel, done: make(chan struct{}),
		events: make(chan func(context.Context), 256), ready: make(chan struct{}), state: agentConnecting,
		guildsDirty: make(chan struct{}, 1),
		guilds:      map[string]bool{}, voice: map[string]string{}, joining: map[string]string{}}
	for _, g := range guilds {
		a.guilds[g] = true
	}
	gate := r.cfg.Gate
	if gate == nil {
		gate = shard.NewLocalGate(1)
	}
	var cps shard.CheckpointStore
	if r.cfg.Sessions != nil {
		cps = agentCheckpoints{store: r.cfg.Sessions, id: id}
	}
	a.sh, err = shard.New(shard.Config{Token: token.Reveal(), ID: 0, Count: 1, Intents: AgentIntents,
		GatewayURL: r.cfg.GatewayURL, Gate: gate, Node: r.cfg.Node, Checkpoints: cps,
		Handler: func(ctx context.Context, _ int, ev ws.Event) { r.handle(a, ev) },
		Logger:  r.log.With("agent", agent.Name)})
	if err != nil {
		cancel()
		return err
	}
	r.mu.Lock()
	r.agents[id] = a
	r.byUser[a.userID] = a
	r.mu.Unlock()
	r.wg.Go(func() { r.work(runCtx, a) })
	r.wg.Go(func() {
		defer close(a.done)
		var wg sync.WaitGroup
		wg.Go(func() { r.supervise(runCtx, a, from) })
		wg.Go(func() { r.keepGuilds(runCtx, a) })
		wg.Wait()
	})
	r.wg.Go(func() { r.adopt(runCtx, a, music) })
	var fail error
	select {
	case <-a.ready:
		return nil
	case <-ctx.Done():
		fail = ctx.Err()
	case <-time.After(r.cfg.ReadyTimeout):
		fail = fmt.Errorf("agentpool: agent %d (%s) not ready after %s", id, agent.Name, r.cfg.ReadyTimeout)
	}
	// The coordinator releases a unit whose Start failed without calling
	// Stop: nothing of the agent may keep running.
	stopCtx, stopCancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer stopCancel()
	return errors.Join(fail, r.Stop(stopCtx, id))
}

// resumePoint returns the session a previous owner of agent id left (a
// planned stop or a crash) with the guilds it is in, or a zero checkpoint,
// meaning identify, when there is none or its guilds are unknown.
func (r *Runner) resumePoint(ctx context.Context, id int64) (shard.Checkpoint, []string) {
	if r.cfg.Sessions == nil {
		return shard.Checkpoint{}, nil
	}
	cp, err := r.cfg.Sessions.Load(ctx, int(id))
	if err != nil {
		if !errors.Is(err, shard.ErrNoCheckpoint) {
			r.log.Warn("agent checkpoint not loaded; identifying", "agent", id, "err", err)
		}
		return shard.Checkpoint{}, nil
	}
	if !cp.Valid() {
		return shard.Checkpoint{}, nil
	}
	g, err := r.cfg.Sessions.LoadGuilds(ctx, id)
	if err != nil || g.SessionID != cp.SessionID {
		// Without its guilds a resumed agent would never be offered for a
		// channel: a new session's READY lists them.
		r.log.Info("guilds of the agent's session unknown; identifying", "agent", id, "err", err)
		return shard.Checkpoint{}, nil
	}
	r.log.Info("resuming the agent's session", "agent", id, "seq", cp.Seq, "from", cp.Node)
	return cp, g.Guilds
}

// supervise runs the session, from the checkpoint when it is valid, and
// restarts it with backoff when it ends for good (the shard itself
// reconnects and resumes after ordinary drops, and identifies when a resume
// is refused).
func (r *Runner) supervise(ctx context.Context, a *agentSession, from shard.Checkpoint) {
	wait := r.cfg.MinBackoff
	for {
		err := a.sh.Run(ctx, from)
		if ctx.Err() != nil {
			return
		}
		// The session ended for good (bad token, disallowed intents): the
		// next one identifies.
		from = shard.Checkpoint{}
		a.mu.Lock()
		a.state = agentFailed
		a.mu.Unlock()
		r.log.Warn("agent session failed; restarting", "agent", a.name, "in", wait, "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, r.cfg.MaxBackoff)
	}
}

// keepGuilds saves the agent's guilds with its session ID whenever they
// change, for the node that resumes the session next (a RESUME does not
// resend them); once more when the agent stops, if they changed.
func (r *Runner) keepGuilds(ctx context.Context, a *agentSession) {
	if r.cfg.Sessions == nil {
		return
	}
	save := func(ctx context.Context) {
		sid := a.sh.Checkpoint().SessionID
		a.mu.Lock()
		guilds := slices.Sorted(maps.Keys(a.guilds))
		a.mu.Unlock()
		if sid == "" {
			return
		}
		if err := r.cfg.Sessions.SaveGuilds(ctx, a.id, SessionGuilds{SessionID: sid, Guilds: guilds}); err != nil {
			r.log.Warn("saving the agent's guilds", "agent", a.name, "err", err)
		}
	}
	for {
		select {
		case <-ctx.Done():
			select {
			case <-a.guildsDirty:
				sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
				save(sctx)
				cancel()
			default:
			}
			return
		case <-a.guildsDirty:
			// A save under way finishes even when the agent stops.
			sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			save(sctx)
			cancel()
		}
	}
}

// guildsChanged asks keepGuilds to save the agent's guilds.
func guildsChanged(a *agentSession) {
	select {
	case a.guildsDirty <- struct{}{}:
	default:
	}
}

// work runs an agent's forwarded events in order, off the gateway reader.
func (r *Runner) work(ctx context.Context, a *agentSession) {
	for {
		select {
		case <-ctx.Done():
			return
		case f := <-a.events:
			fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
			f(fctx)
			cancel()
		}
	}
}

// adopt takes over the agent's players once its session is ready: players a
// previous owner left on Lavalink are resumed, their allocations claimed and
// their channels re-joined (so Discord sends fresh voice credentials);
// allocations of the agent that no player backs are freed.
func (r *Runner) adopt(ctx context.Context, a *agentSession, music Music) {
	select {
	case <-ctx.Done():
		return
	case <-a.ready:
	}
	actx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if n, err := music.Adopt(actx, a.userID); err != nil {
		r.log.Warn("adopting agent players", "agent", a.name, "err", err)
	} else if n > 0 {
		r.log.Info("adopted agent players", "agent", a.name, "players", n)
	}
	channels := music.AgentChannels(a.userID)
	r.mu.Lock()
	alloc := r.alloc
	r.mu.Unlock()
	if alloc != nil {
		if al, ok, err := alloc.Of(actx, a.userID); err == nil && ok && channels[al.Guild] != al.Channel {
			if err := alloc.Release(actx, al.Guild, al.Channel, a.userID); err != nil {
				r.log.Warn("freeing a stale allocation", "agent", a.name, "err", err)
			}
		}
	}
	for guild, channel := range channels {
		if alloc != nil {
			if err := alloc.Claim(actx, guild, channel, a.userID); err != nil {
				r.log.Warn("claiming an adopted channel", "agent", a.name, "err", err)
			}
		}
		if err := r.Join(actx, a.userID, guild, channel); err != nil {
			r.log.Warn("re-joining an adopted channel", "agent", a.name, "err", err)
		}
	}
	a.mu.Lock()
	a.adopted = true
	a.mu.Unlock()
}

// handle receives the agent's gateway events on its reading goroutine.
func (r *Runner) handle(a *agentSession, ev ws.Event) {
	switch e := ev.(type) {
	case *gateway.ReadyEvent:
		a.mu.Lock()
		a.state = agentReady
		clear(a.guilds)
		for _, g := range e.Guilds {
			a.guilds[g.ID.String()] = true
		}
		a.mu.Unlock()
		guildsChanged(a)
		first := false
		a.once.Do(func() { close(a.ready); first = true })
		if !first {
			// A new session after a failure: Discord's voice credentials
			// of the old one are void, so re-join every channel the agent
			// plays in to send Lavalink fresh ones.
			r.forward(a, func(ctx context.Context, m Music) error {
				var errs []error
				for guild, channel := range m.AgentChannels(a.userID) {
					errs = append(errs, r.Join(ctx, a.userID, guild, channel))
				}
				return errors.Join(errs...)
			})
		}
	case *gateway.ResumedEvent:
		a.mu.Lock()
		a.state = agentReady
		a.mu.Unlock()
		// A session resumed from a previous owner's checkpoint is ready:
		// adoption re-joins its channels.
		a.once.Do(func() { close(a.ready) })
	case *gateway.GuildCreateEvent:
		a.mu.Lock()
		a.guilds[e.ID.String()] = true
		for _, vs := range e.VoiceStates {
			if vs.UserID.String() == a.userID && vs.ChannelID.IsValid() {
				a.voice[e.ID.String()] = vs.ChannelID.String()
			}
		}
		a.mu.Unlock()
		guildsChanged(a)
	case *gateway.GuildDeleteEvent:
		if !e.Unavailable {
			a.mu.Lock()
			delete(a.guilds, e.ID.String())
			delete(a.voice, e.ID.String())
			a.mu.Unlock()
			guildsChanged(a)
		}
	case *gateway.VoiceStateUpdateEvent:
		if e.UserID.String() != a.userID {
			return
		}
		guild, session := e.GuildID.String(), e.SessionID
		channel := ""
		if e.ChannelID.IsValid() {
			channel = e.ChannelID.String()
		}
		a.mu.Lock()
		if channel == "" {
			delete(a.voice, guild)
		} else {
			a.voice[guild] = channel
		}
		if a.joining[guild] == channel || channel == "" {
			delete(a.joining, guild)
		}
		a.mu.Unlock()
		r.forward(a, func(ctx context.Context, m Music) error {
			return m.VoiceStateUpdate(ctx, a.userID, guild, session, channel)
		})
	case *gateway.VoiceServerUpdateEvent:
		guild, token, endpoint := e.GuildID.String(), e.Token, e.Endpoint
		r.forward(a, func(ctx context.Context, m Music) error {
			return m.VoiceServerUpdate(ctx, a.userID, guild, token, endpoint)
		})
	}
}

func (r *Runner) forward(a *agentSession, f func(context.Context, Music) error) {
	r.mu.Lock()
	m := r.music
	r.mu.Unlock()
	select {
	case a.events <- func(ctx context.Context) {
		if err := f(ctx, m); err != nil {
			r.log.Warn("forwarding a voice update", "agent", a.name, "err", err)
		}
	}:
	default:
		r.log.Error("agent voice update queue full; update dropped", "agent", a.name)
	}
}

// Stop closes agent id's session resumably and lets go of its players
// (they keep playing on Lavalink for the next owner to adopt). With
// Sessions, the session's final checkpoint and guilds are saved before Stop
// returns, so the next owner RESUMEs it. Allocations in etcd are left for
// the next owner, which claims or frees them.
func (r *Runner) Stop(ctx context.Context, id int64) error {
	r.mu.Lock()
	a := r.agents[id]
	delete(r.agents, id)
	if a != nil {
		delete(r.byUser, a.userID)
	}
	music := r.music
	r.mu.Unlock()
	if a == nil {
		return nil
	}
	a.cancel()
	var err error
	select {
	case <-a.done:
	case <-ctx.Done():
		err = fmt.Errorf("agentpool: agent %d did not stop in time: %w", id, ctx.Err())
	}
	if music != nil {
		music.Detach(a.userID)
	}
	return err
}

// Close stops every agent.
func (r *Runner) Close() {
	r.mu.Lock()
	ids := make([]int64, 0, len(r.agents))
	for id := range r.agents {
		ids = append(ids, id)
	}
	r.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, id := range ids {
		_ = r.Stop(ctx, id)
	}
	r.wg.Wait()
}

// Running returns the registry IDs of the agents running here.
func (r *Runner) Running() []int64 {
	r.mu.Lock()
	defer r.mu.Unlock()
	ids := make([]int64, 0, len(r.agents))
	for id := range r.agents {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

// Candidates implements Candidates: the agents running here that are ready,
// adopted, members of guildID and in no voice channel.
func (r *Runner) Candidates(guildID string) []string {
	r.mu.Lock()
	all := make([]*agentSession, 0, len(r.agents))
	for _, a := range r.agents {
		all = append(all, a)
	}
	r.mu.Unlock()
	var out []string
	for _, a := range all {
		a.mu.Lock()
		if a.state == agentReady && a.adopted && a.guilds[guildID] && len(a.voice) == 0 && len(a.joining) == 0 {
			out = append(out, a.userID)
		}
		a.mu.Unlock()
	}
	return out
}

// Join implements Joiner: it sends the agent's op 4 for the channel ("" to
// leave the guild's voice).
func (r *Runner) Join(ctx context.Context, agentUserID, guildID, channelID string) error {
	r.mu.Lock()
	a := r.byUser[agentUserID]
	r.mu.Unlock()
	if a == nil {
		return fmt.Errorf("agent %s: %w", agentUserID, ErrAgentNotRunning)
	}
	cmd, err := voiceStateCommand(guildID, channelID)
	if err != nil {
		return fmt.Errorf("agent %s: %w", a.name, err)
	}
	a.mu.Lock()
	if channelID != "" {
		a.joining[guildID] = channelID
	} else {
		delete(a.joining, guildID)
	}
	a.mu.Unlock()
	if err := a.sh.Send(cmd); err != nil {
		a.mu.Lock()
		delete(a.joining, guildID)
		a.mu.Unlock()
		return fmt.Errorf("agent %s: %w", a.name, err)
	}
	return nil
}

// voiceStateCommand is the op 4 an agent sends to join channelID of guildID,
// deafened (it only plays), or to leave the guild's voice when channelID is
// "".
func voiceStateCommand(guildID, channelID string) (*gateway.UpdateVoiceStateCommand, error) {
	g, err := discord.ParseSnowflake(guildID)
	if err != nil || !g.IsValid() {
		return nil, fmt.Errorf("bad guild ID %q", guildID)
	}
	cmd := &gateway.UpdateVoiceStateCommand{GuildID: discord.GuildID(g), SelfDeaf: true}
	if channelID != "" {
		c, err := discord.ParseSnowflake(channelID)
		if err != nil || !c.IsValid() {
			return nil, fmt.Errorf("bad channel ID %q", channelID)
		}
		cmd.ChannelID = discord.ChannelID(c)
	}
	return cmd, nil
}
