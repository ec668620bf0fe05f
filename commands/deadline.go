package commands

import (
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
)

// Discord accepts the initial response to an interaction for 3 seconds
// from its creation; after that the token answers 404 Unknown interaction
// and the user sees "The application did not respond".
const responseWindow = 3 * time.Second

// Defaults of the deadline settings in Config.
const (
	defaultDeferAfter   = 2 * time.Second
	defaultSafetyMargin = 250 * time.Millisecond
	defaultWriteBudget  = 500 * time.Millisecond
)

// Reasons an interaction expired unhandled, the values of
// chopsticks_interactions_expired_total's reason label.
const (
	// ExpiredDeadline: a command that changes state arrived, or was
	// reached, past Discord's deadline less the safety margin.
	ExpiredDeadline = "deadline"
	// ExpiredDeferRefused: the deferred response sent before a command
	// that changes state was not accepted, so the command did not run.
	ExpiredDeferRefused = "defer_refused"
)

// expiredReasons are every value of the reason label, so that each series
// exists from the start.
var expiredReasons = []string{ExpiredDeadline, ExpiredDeferRefused}

// born is when Discord created the interaction, from its snowflake: the
// deadline runs on Discord's clock, not on when the event reached us (a
// RESUME replay, or a backlog behind a stalled Redis, arrives late). A time
// in the future (clock skew) is taken as now: never trust it to extend the
// deadline.
func born(id discord.InteractionID, now time.Time) time.Time {
	t := discord.Snowflake(id).Time()
	if t.After(now) {
		return now
	}
	return t
}

// pace is where an interaction stands against its deadline.
type pace int

const (
	paceFresh   pace = iota // a command that changes state may run and reply
	paceLate                // acknowledge first (deferred response), then run
	paceExpired             // too late to be answered: drop a change of state
)

// paceAt tells where an interaction created at created stands at now.
func (r *Router) paceAt(created, now time.Time) pace {
	age := now.Sub(created)
	switch {
	case age >= responseWindow-r.cfg.SafetyMargin:
		return paceExpired
	case age+r.cfg.WriteBudget >= r.cfg.DeferAfter:
		return paceLate
	}
	return paceFresh
}
