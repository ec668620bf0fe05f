package commands

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/diamondburned/arikawa/v3/api"
	"github.com/diamondburned/arikawa/v3/discord"
	"github.com/diamondburned/arikawa/v3/utils/json/option"
	"github.com/prometheus/client_golang/prometheus"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// Responder sends interaction responses to Discord; *api.Client is one.
type Responder interface {
	RespondInteraction(id discord.InteractionID, token string, resp api.InteractionResponse) error
	EditInteractionResponse(appID discord.AppID, token string, data api.EditInteractionResponseData) (*discord.Message, error)
}

// Claimer records that an interaction is being handled, so that a second
// delivery of it (a gateway replay after a resume, or two nodes briefly
// owning a shard) is dropped.
type Claimer interface {
	// Claim returns true the first time it is called for id.
	Claim(ctx context.Context, id discord.InteractionID, holder string) (bool, error)
}

// Limiter admits or refuses a user's use of a command. at is when the user
// acted (the interaction's creation, from its snowflake), so that a burst
// of late deliveries is judged by when the user sent them.
type Limiter interface {
	Admit(ctx context.Context, user discord.UserID, command string, at time.Time) (Admission, error)
}

// Admission is a Limiter's decision. A refused user is told RetryAfter on
// each attempt, up to 5 times in 10 seconds (the router counts them).
type Admission struct {
	Allowed    bool
	RetryAfter time.Duration
}

// Config holds a Router's collaborators.
type Config struct {
	Catalog   *Catalog
	Responder Responder
	Claimer   Claimer
	// Limiter is optional; without it every use is admitted.
	Limiter Limiter
	// Logger receives the router's logs; default slog.Default().
	Logger *slog.Logger
	// Registerer receives the router's metrics; nil means none are kept.
	Registerer prometheus.Registerer
	// NodeID names this node in claims and logs.
	NodeID string
	// DeferAfter is how long after the interaction's creation (its
	// snowflake's time) the router sends a deferred response for a handler
	// still running, to beat Discord's 3-second deadline (default 2 s).
	DeferAfter time.Duration
	// WriteBudget is the time a command that changes state is expected to
	// need; one created longer than DeferAfter-WriteBudget ago is
	// acknowledged with a deferred response before it runs (default 500 ms).
	WriteBudget time.Duration
	// SafetyMargin is taken off Discord's 3-second deadline: a command that
	// changes state reached later than that is dropped unrun (default 250 ms).
	SafetyMargin time.Duration
	// Timeout bounds a handler; the interaction token lives 15 minutes
	// (default 14 min).
	Timeout time.Duration
	// Seen, when set, is told of every admitted use before it runs (the
	// leaderboards learn who plays where, and their names).
	Seen func(ctx context.Context, inv *Invocation)
}

// Router routes interactions to the catalog's handlers and replies.
type Router struct {
	cfg     Config
	metrics *metrics
	// autocompleteSeconds times autocomplete answers, by outcome.
	autocompleteSeconds *prometheus.HistogramVec
	tracer              trace.Tracer
	notices             notices

	mu       sync.Mutex
	closed   bool
	inflight sync.WaitGroup
}

// NewRouter returns a Router; Catalog, Responder and Claimer are required.
func NewRouter(cfg Config) (*Router, error) {
	if cfg.Catalog == nil || cfg.Responder == nil || cfg.Claimer == nil {
		return nil, errors.New("commands: router needs a catalog, a responder and a claimer")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.DeferAfter <= 0 {
		cfg.DeferAfter = defaultDeferAfter
	}
	if cfg.WriteBudget <= 0 {
		cfg.WriteBudget = defaultWriteBudget
	}
	if cfg.SafetyMargin <= 0 {
		cfg.SafetyMargin = defaultSafetyMargin
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 14 * time.Minute
	}
	m, err := newMetrics(cfg.Registerer, cfg.Catalog.Names())
	if err != nil {
		return nil, err
	}
	ac, err := newAutocompleteSeconds(cfg.Registerer)
	if err != nil {
		return nil, err
	}
	return &Router{cfg: cfg, metrics: m, autocompleteSeconds: ac, tracer: otel.Tracer("github.com/chopsticks-bot/chopsticks/commands")}, nil
}

// Dispatch claims ev at once, on the caller's goroutine, and handles the
// rest in a goroutine owned by the router. Claiming before returning means
// that once the shard's sequence number moves past the event (and is
// checkpointed), the event is known to this cluster: a resume elsewhere that
// replays it finds the claim. An autocomplete is not claimed: it changes
// nothing and Discord does not retry it. It returns false when the router
// is shutting down or the event was a duplicate.
func (r *Router) Dispatch(ctx context.Context, ev *discord.InteractionEvent, shard int) bool {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return false
	}
	r.inflight.Add(1)
	r.mu.Unlock()
	received := time.Now()
	ctx, span := r.startSpan(ctx, ev, shard)
	takenOver := false
	if !isAutocomplete(ev) {
		var claimed bool
		if claimed, takenOver = r.claim(ctx, ev, shard); !claimed {
			span.End()
			r.inflight.Done()
			return false
		}
	}
	go func() {
		defer r.inflight.Done()
		defer span.End()
		r.process(context.WithoutCancel(ctx), ev, shard, received, takenOver)
	}()
	return true
}

// claim claims the interaction; false means another delivery of it was
// claimed already. takenOver says the claim was taken over from a holder
// proven dead (ClaimTaker): the interaction must be acknowledged before
// anything runs.
func (r *Router) claim(ctx context.Context, ev *discord.InteractionEvent, shard int) (claimed, takenOver bool) {
	// The claim outlives the caller's context: a shard that stops (handed
	// off, or retired at the end of a reshard) while it dispatches still
	// has its event claimed, not handled unclaimed beside the other
	// generation's copy. The Claimer's own timeout bounds it.
	ctx = context.WithoutCancel(ctx)
	holder := fmt.Sprintf("%s/%d", r.cfg.NodeID, shard)
	claimed, err := r.cfg.Claimer.Claim(ctx, ev.ID, holder)
	if err == nil && !claimed {
		if tc, ok := r.cfg.Claimer.(ClaimTaker); ok {
			took, terr := tc.TakeOver(ctx, ev.ID, holder)
			if terr != nil {
				r.cfg.Logger.Warn("interaction claim takeover failed; dropping the replay", "interaction", ev.ID.String(), "err", terr)
			}
			if took {
				r.cfg.Logger.Info("interaction claim of a dead node taken over", "interaction", ev.ID.String())
				r.metrics.takeovers.Inc()
				return true, true
			}
		}
	}
	switch {
	case err != nil:
		// Without the claim store a duplicate cannot be told apart; carry
		// on, since value-bearing effects are idempotent by interaction ID
		// and Discord refuses a second response to one interaction.
		r.cfg.Logger.Warn("interaction claim unavailable; handling anyway", "interaction", ev.ID.String(), "err", err)
		r.metrics.claimErrors.Inc()
		return true, false
	case !claimed:
		r.metrics.duplicates.Inc()
		r.cfg.Logger.Debug("duplicate interaction dropped", "interaction", ev.ID.String())
		return false, false
	}
	return true, false
}

// markAnswered tells a ClaimTaker that Discord accepted an initial
// response to id, so that no replay of it takes its claim over.
func (r *Router) markAnswered(ctx context.Context, id discord.InteractionID) {
	tc, ok := r.cfg.Claimer.(ClaimTaker)
	if !ok {
		return
	}
	if err := tc.Answered(context.WithoutCancel(ctx), id); err != nil {
		r.cfg.Logger.Warn("marking the interaction answered", "interaction", id.String(), "err", err)
	}
}

// Shutdown stops accepting interactions and waits for the ones in flight,
// or for ctx to end.
func (r *Router) Shutdown(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	done := make(chan struct{})
	go func() { r.inflight.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("commands: interactions still in flight: %w", ctx.Err())
	}
}

// Handle processes one interaction to its end on the caller's goroutine:
// claim (except an autocomplete), decode, rate limit, run and reply. It
// never panics.
func (r *Router) Handle(ctx context.Context, ev *discord.InteractionEvent, shard int) {
	received := time.Now()
	ctx, span := r.startSpan(ctx, ev, shard)
	defer span.End()
	if isAutocomplete(ev) {
		r.process(ctx, ev, shard, received, false)
		return
	}
	if claimed, takenOver := r.claim(ctx, ev, shard); claimed {
		r.process(ctx, ev, shard, received, takenOver)
	}
}

// startSpan starts the interaction's span, before the claim, so that the
// claim, the rate limit, the command and the reply are all in one trace.
func (r *Router) startSpan(ctx context.Context, ev *discord.InteractionEvent, shard int) (context.Context, trace.Span) {
	return r.tracer.Start(ctx, "interaction", trace.WithSpanKind(trace.SpanKindServer),
		trace.WithAttributes(attribute.Int("discord.shard", shard), attribute.String("discord.interaction_id", ev.ID.String())))
}

// responder returns the Responder bound to ctx when it can be (as
// *api.Client can), so that REST calls join the interaction's trace.
func (r *Router) responder(ctx context.Context) Responder { return bound(ctx, r.cfg.Responder) }

// bound returns resp bound to ctx when it can be.
func bound(ctx context.Context, resp Responder) Responder {
	if c, ok := resp.(interface {
		WithContext(context.Context) *api.Client
	}); ok {
		return c.WithContext(ctx)
	}
	return resp
}

// process handles a claimed interaction inside the span startSpan put in ctx;
// takenOver: its claim was taken over from a dead holder (see claim).
func (r *Router) process(ctx context.Context, ev *discord.InteractionEvent, shard int, received time.Time, takenOver bool) {
	span := trace.SpanFromContext(ctx)
	log := r.cfg.Logger.With("interaction", ev.ID.String(), "shard", shard)
	if sc := span.SpanContext(); sc.IsValid() {
		log = log.With("trace_id", sc.TraceID().String())
	}

	inv := &Invocation{
		ID: ev.ID, AppID: ev.AppID, Token: ev.Token, GuildID: ev.GuildID, ChannelID: ev.ChannelID,
		Shard: shard, Created: born(ev.ID, received), Received: received, Node: r.cfg.NodeID, catalog: r.cfg.Catalog,
	}
	if u := ev.Sender(); u != nil {
		inv.User = *u
	}

	var (
		cmd       *Command
		decodeErr error
	)
	switch data := ev.Data.(type) {
	case *discord.PingInteraction:
		_ = r.responder(ctx).RespondInteraction(ev.ID, ev.Token, api.InteractionResponse{Type: api.PongInteraction})
		return
	case *discord.CommandInteraction:
		var path string
		var opts map[string]value
		cmd, path, opts, decodeErr = r.cfg.Catalog.decode(data)
		inv.Command, inv.options, inv.users = path, opts, data.Resolved.Users
		if decodeErr != nil {
			inv.Command = data.Name
		}
	case *discord.AutocompleteInteraction:
		span.SetName("autocomplete /" + data.Name)
		r.autocomplete(ctx, log, inv, data)
		return
	case discord.ComponentInteraction:
		inv.CustomID, inv.onMessage = string(data.ID()), true
		inv.Values = selectValues(data)
		cmd, decodeErr = r.componentCommand(ctx, log, inv)
	case *discord.ModalInteraction:
		inv.CustomID, inv.onMessage = string(data.CustomID), ev.Message != nil
		inv.Fields = modalFields(data.Components)
		cmd, decodeErr = r.componentCommand(ctx, log, inv)
	default:
		log.Warn("interaction type not handled", "type", fmt.Sprintf("%T", ev.Data))
		return
	}
	label := r.metrics.label(inv.Command)
	span.SetName("/" + inv.Command)
	span.SetAttributes(attribute.String("chopsticks.command", label))

	start := time.Now()
	status := "ok"
	defer func() {
		r.metrics.total.WithLabelValues(label, status).Inc()
		r.metrics.duration.WithLabelValues(label).Observe(time.Since(start).Seconds())
	}()

	if decodeErr != nil {
		status = "invalid"
		r.reply(ctx, log, inv, false, Reply{Content: decodeErr.Error(), Ephemeral: true})
		return
	}

	// A command that changes state runs only while Discord will still take
	// its answer: late, it is dropped before it costs the user any budget.
	if cmd.Writes && r.paceAt(inv.Created, time.Now()) == paceExpired {
		status = "expired"
		r.expire(log, inv, ExpiredDeadline)
		return
	}

	if r.cfg.Limiter != nil && !inv.User.Bot {
		adm, err := r.cfg.Limiter.Admit(ctx, inv.User.ID, strings.Fields(inv.Command)[0], inv.Created)
		if err != nil {
			log.Warn("rate limiter failed; admitting", "err", err)
		} else if !adm.Allowed {
			status = "rate_limited"
			span.SetAttributes(attribute.Bool("chopsticks.rate_limited", true))
			if r.notices.allow(inv.User.ID, time.Now()) {
				r.reply(ctx, log, inv, false, Reply{
					Content:   fmt.Sprintf("You're going too fast. Try again in %s.", roundUp(adm.RetryAfter)),
					Ephemeral: true,
				})
			}
			return
		}
	}

	if r.cfg.Seen != nil && !inv.User.Bot {
		r.cfg.Seen(ctx, inv)
	}

	deferred := false
	// A taken-over interaction is acknowledged first as well: if its dead
	// holder answered it after all, Discord refuses, and nothing runs twice.
	if p := r.paceAt(inv.Created, time.Now()); cmd.Defer || (cmd.Writes && p != paceFresh) || takenOver {
		// Past the deadline Discord takes no answer; a taken-over one may
		// have been answered by its holder, so it costs no call either.
		if (cmd.Writes || takenOver) && p == paceExpired {
			status = "expired"
			r.expire(log, inv, ExpiredDeadline)
			return
		}
		// Acknowledge first: a change of state is applied only once
		// Discord has accepted that the interaction is being answered.
		err := r.sendDeferred(ctx, inv, cmd.Ephemeral)
		if err != nil && (cmd.Writes || takenOver) {
			status = "expired"
			r.expire(log, inv, ExpiredDeferRefused)
			return
		}
		// A read whose deferral failed still tries to answer directly.
		deferred = err == nil
	}

	reply, deferred, err := r.run(ctx, cmd, inv, deferred)
	if err != nil {
		if inv.onceHeld {
			// Refused or failed, the operation changed nothing: the
			// press may be tried again.
			r.releaseOnce(ctx, log, inv)
		}
		if msg, ok := UserMessage(err); ok {
			status = "rejected"
			reply = Reply{Content: msg, Ephemeral: true}
		} else {
			status = "error"
			span.RecordError(err)
			span.SetStatus(codes.Error, "command failed")
			log.Error("command failed", "command", inv.Command, "err", err)
			reply = Reply{Content: "Something went wrong on our side. Please try again in a moment.", Ephemeral: true}
		}
	}
	if cmd.Ephemeral {
		reply.Ephemeral = true
	}
	r.reply(ctx, log, inv, deferred, reply)
}

// run calls the handler and, unless the response is deferred already,
// sends a deferred response when the handler is still running DeferAfter
// after the interaction's creation. If Discord refuses that deferral for a
// command that changes state, the handler's context is cancelled, so that
// its change is not committed when it can still be stopped. It returns the
// handler's reply, whether the response is now deferred, and the handler's
// error.
func (r *Router) run(ctx context.Context, cmd *Command, inv *Invocation, deferred bool) (Reply, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	type result struct {
		reply Reply
		err   error
	}
	done := make(chan result, 1)
	go func() {
		defer func() {
			if p := recover(); p != nil {
				done <- result{err: fmt.Errorf("handler panic: %v\n%s", p, debug.Stack())}
			}
		}()
		rep, err := cmd.Run(ctx, inv)
		done <- result{rep, err}
	}()
	var timer <-chan time.Time
	// Past Discord's deadline a deferral cannot help: the reply is tried once.
	if !deferred && time.Since(inv.Created) < responseWindow {
		t := time.NewTimer(max(0, r.cfg.DeferAfter-time.Since(inv.Created)))
		defer t.Stop()
		timer = t.C
	}
	for {
		select {
		case res := <-done:
			return res.reply, deferred, res.err
		case <-timer:
			timer = nil
			if err := r.sendDeferred(ctx, inv, cmd.Ephemeral); err != nil {
				if cmd.Writes {
					cancel()
				}
				continue
			}
			deferred = true
		}
	}
}

// component tells whether the interaction came from a message component
// (a button or select), or from a modal opened by one: its answer may
// update that message (response types 6 and 7).
func (inv *Invocation) component() bool { return inv.onMessage }

// expire drops an interaction that can no longer be answered, counting it.
func (r *Router) expire(log *slog.Logger, inv *Invocation, reason string) {
	r.metrics.expired.WithLabelValues(reason).Inc()
	log.Warn("interaction dropped unanswered: too late to acknowledge", "command", inv.Command, "reason", reason,
		"age", time.Since(inv.Created).Round(time.Millisecond).String())
}

// sendDeferred acknowledges the interaction with a deferred response
// (type 5, or 6 for a button) and returns Discord's refusal, if any.
func (r *Router) sendDeferred(ctx context.Context, inv *Invocation, ephemeral bool) error {
	resp := api.InteractionResponse{Type: api.DeferredMessageInteractionWithSource}
	if inv.component() {
		resp.Type = api.DeferredMessageUpdate
	}
	if ephemeral {
		resp.Data = &api.InteractionResponseData{Flags: discord.EphemeralMessage}
	}
	if err := r.responder(ctx).RespondInteraction(inv.ID, inv.Token, resp); err != nil {
		r.metrics.replyErrors.Inc()
		r.cfg.Logger.Warn("deferred response failed", "interaction", inv.ID.String(), "err", err)
		return err
	}
	r.metrics.deferred.Inc()
	r.markAnswered(ctx, inv.ID)
	return nil
}

// reply sends the reply as the first response, or as an edit of the
// deferred one.
func (r *Router) reply(ctx context.Context, log *slog.Logger, inv *Invocation, deferred bool, rep Reply) {
	rep = rep.fit()
	var err error
	if rep.Modal != nil {
		if deferred {
			// A modal is only ever a first response.
			log.Error("a modal cannot answer a deferred interaction", "command", inv.Command)
			rep = Reply{Content: "Something went wrong on our side. Please try again in a moment.", Ephemeral: true}
		} else {
			if err = r.responder(ctx).RespondInteraction(inv.ID, inv.Token, modalResponse(rep.Modal)); err != nil {
				r.metrics.replyErrors.Inc()
				log.Warn("modal failed", "err", err)
			} else {
				r.markAnswered(ctx, inv.ID)
			}
			return
		}
	}
	if deferred {
		data := api.EditInteractionResponseData{Content: option.NewNullableString(rep.Content)}
		if rep.Embeds != nil {
			data.Embeds = &rep.Embeds
		}
		if rep.Components != nil {
			data.Components = &rep.Components
		}
		_, err = r.responder(ctx).EditInteractionResponse(inv.AppID, inv.Token, data)
	} else {
		resp := api.InteractionResponse{Type: api.MessageInteractionWithSource, Data: responseData(rep)}
		// A button's own reply replaces its message, unless it is a
		// private notice for the presser.
		if inv.component() && !rep.Ephemeral {
			resp.Type = api.UpdateMessage
		}
		if err = r.responder(ctx).RespondInteraction(inv.ID, inv.Token, resp); err == nil {
			r.markAnswered(ctx, inv.ID)
		}
	}
	if err != nil {
		r.metrics.replyErrors.Inc()
		log.Warn("reply failed", "deferred", deferred, "err", err)
	}
}

func responseData(rep Reply) *api.InteractionResponseData {
	data := &api.InteractionResponseData{}
	if rep.Content != "" || (rep.Embeds == nil && rep.Components == nil) {
		data.Content = option.NewNullableString(rep.Content)
	}
	if rep.Embeds != nil {
		data.Embeds = &rep.Embeds
	}
	if rep.Components != nil {
		data.Components = &rep.Components
	}
	if rep.Ephemeral {
		data.Flags = discord.EphemeralMessage
	}
	return data
}

// roundUp shows a wait as whole seconds, never "0s".
func roundUp(d time.Duration) time.Duration {
	s := (d + time.Second - 1) / time.Second
	if s < 1 {
		s = 1
	}
	return s * time.Second
}
