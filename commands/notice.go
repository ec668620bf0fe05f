package commands

import (
	"sync"
	"time"

	"github.com/diamondburned/arikawa/v3/discord"
)

// A blocked user is told the time left on every attempt, up to
// noticeBurst times per noticeWindow; a flood beyond that is dropped
// silently, so that a user scripting attempts cannot make the bot spend
// its REST budget on replies.
const (
	noticeBurst  = 5
	noticeWindow = 10 * time.Second
)

// notices counts the refusal replies sent to each user in the current
// window. It is this node's own count: no Redis call is made to reply to
// a refusal.
type notices struct {
	mu    sync.Mutex
	users map[discord.UserID]noticeWindowState
	ops   int
}

type noticeWindowState struct {
	start time.Time
	n     int
}

// allow reports whether user may be sent another refusal reply at now.
func (ns *notices) allow(user discord.UserID, now time.Time) bool {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	if ns.users == nil {
		ns.users = map[discord.UserID]noticeWindowState{}
	}
	if ns.ops++; ns.ops%1024 == 0 {
		for u, w := range ns.users {
			if now.Sub(w.start) >= noticeWindow {
				delete(ns.users, u)
			}
		}
	}
	w := ns.users[user]
	if now.Sub(w.start) >= noticeWindow {
		w = noticeWindowState{start: now}
	}
	if w.n >= noticeBurst {
		return false
	}
	w.n++
	ns.users[user] = w
	return true
}
