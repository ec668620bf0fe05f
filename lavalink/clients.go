package lavalink

import (
	"errors"
	"fmt"
	"sync"
)

// Clients holds one Lavalink Client per Discord user: Lavalink keys voice
// connections by the User-Id of the websocket session, so every agent (bot
// account) needs its own sessions on the nodes.
type Clients struct {
	template  Config
	onEvent   func(userID string, ev Event)
	onSession func(userID, node, sessionID string)

	mu      sync.Mutex
	clients map[string]*Client
	closed  bool
}

// NewClients returns a set of clients configured like template (whose
// UserID, Resume, OnEvent and OnSession are ignored); onEvent receives every
// client's events and onSession (if not nil) every client's new sessions,
// with the user ID of the client.
func NewClients(template Config, onEvent func(userID string, ev Event), onSession func(userID, node, sessionID string)) (*Clients, error) {
	if len(template.Nodes) == 0 {
		return nil, fmt.Errorf("voice: %w: no nodes configured", ErrBadNodes)
	}
	if onEvent == nil {
		onEvent = func(string, Event) {}
	}
	return &Clients{template: template, onEvent: onEvent, onSession: onSession, clients: map[string]*Client{}}, nil
}

// Get returns userID's client, connecting it on first use.
func (cs *Clients) Get(userID string) (*Client, error) {
	return cs.get(userID, nil)
}

// ErrClientExists is returned by Resume for a user whose client is running.
var ErrClientExists = errors.New("a Lavalink client for this user is already running")

// Resume starts userID's client resuming the given Lavalink sessions (node
// name to session ID) and adopting their players.
func (cs *Clients) Resume(userID string, sessions map[string]string) (*Client, error) {
	return cs.get(userID, sessions)
}

func (cs *Clients) get(userID string, resume map[string]string) (*Client, error) {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	if cs.closed {
		return nil, ErrClosed
	}
	if c, ok := cs.clients[userID]; ok {
		if resume != nil {
			return nil, ErrClientExists
		}
		return c, nil
	}
	cfg := cs.template
	cfg.UserID = userID
	cfg.Resume = resume
	cfg.OnEvent = func(ev Event) { cs.onEvent(userID, ev) }
	cfg.OnSession = nil
	if cs.onSession != nil {
		cfg.OnSession = func(node, sid string) { cs.onSession(userID, node, sid) }
	}
	c, err := New(cfg)
	if err != nil {
		return nil, err
	}
	cs.clients[userID] = c
	return c, nil
}

// All returns every client, for metrics and status.
func (cs *Clients) All() map[string]*Client {
	cs.mu.Lock()
	defer cs.mu.Unlock()
	out := make(map[string]*Client, len(cs.clients))
	for k, v := range cs.clients {
		out[k] = v
	}
	return out
}

// Close closes every client.
func (cs *Clients) Close() {
	cs.mu.Lock()
	cs.closed = true
	all := cs.clients
	cs.clients = map[string]*Client{}
	cs.mu.Unlock()
	for _, c := range all {
		c.Close()
	}
}

// Drop closes userID's client and forgets it; its players keep playing on
// the nodes until the resume timeout, for another process to resume.
func (cs *Clients) Drop(userID string) {
	cs.mu.Lock()
	c := cs.clients[userID]
	delete(cs.clients, userID)
	cs.mu.Unlock()
	if c != nil {
		c.Close()
	}
}
