package economy

import (
	"sort"
	"strconv"
	"time"
)

// Timer is one of a user's cooldowns: what it gates and when it is ready
// again (zero, or not after now, when it is ready).
type Timer struct {
	// Action is the cooldown's action name (ActionDaily, ActionGather,
	// ActionWork(job), or "train:ID" / "breed:ID" for a companion).
	Action string
	// Label is how a user names it: "Daily reward", "Work: Miner".
	Label string
	Ready time.Time
}

// ReadyAt reports whether the timer is ready at now.
func (t Timer) ReadyAt(now time.Time) bool { return !t.Ready.After(now) }

// companionTimes are one companion's timers as stored.
type companionTimes struct {
	ID           int64
	Name         string
	Train, Breed *time.Time
}

// timersFrom lists every timer a user has at now: the daily reward (ready
// the UTC day after lastDaily), each job of the catalogue and gathering
// (from their stored ready times; never used means ready), and each
// companion's training and breeding when set. Ready timers come first,
// then the rest by time, so "what can I do now" reads at a glance.
func timersFrom(now time.Time, cat *Catalog, lastDaily *time.Time, stored map[string]time.Time, comps []companionTimes) []Timer {
	var out []Timer
	daily := Timer{Action: ActionDaily, Label: "Daily reward"}
	if lastDaily != nil && !utcDay(*lastDaily).Before(utcDay(now)) {
		daily.Ready = dailyNext(now)
	}
	out = append(out, daily)
	for _, j := range cat.Jobs {
		out = append(out, Timer{Action: ActionWork(j.Key), Label: "Work: " + j.Name, Ready: stored[ActionWork(j.Key)]})
	}
	out = append(out, Timer{Action: ActionGather, Label: "Gather", Ready: stored[ActionGather]})
	for _, c := range comps {
		if c.Train != nil {
			out = append(out, Timer{Action: "train:" + strconv.FormatInt(c.ID, 10), Label: "Train " + c.Name, Ready: *c.Train})
		}
		if c.Breed != nil {
			out = append(out, Timer{Action: "breed:" + strconv.FormatInt(c.ID, 10), Label: "Breed " + c.Name, Ready: *c.Breed})
		}
	}
	sort.SliceStable(out, func(a, b int) bool {
		ra, rb := out[a].ReadyAt(now), out[b].ReadyAt(now)
		if ra != rb {
			return ra
		}
		return !ra && out[a].Ready.Before(out[b].Ready)
	})
	return out
}
