package economy

import (
	"bytes"
	"context"
	_ "embed"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

//go:embed events.json
var eventsJSON []byte

// DefaultCalendar returns the embedded calendar (events.json) checked
// against cat.
func DefaultCalendar(cat *Catalog) (*Calendar, error) { return ParseCalendar(eventsJSON, cat) }

// Events holds the calendar a node plays by and reloads it from its file
// without a restart: Reload on demand (SIGHUP), and Run on a period. A
// file that fails to parse or validate keeps the calendar in use, so a
// typo never ends a running event. It is safe for concurrent use.
type Events struct {
	path string // "" is the embedded calendar
	cat  *Catalog
	cur  atomic.Pointer[Calendar]

	mu   sync.Mutex // serialises reloads
	last []byte     // the file's bytes in use
}

// LoadEvents reads the calendar at path (the embedded one when path is
// "") checked against cat; an unreadable or invalid file is an error.
func LoadEvents(path string, cat *Catalog) (*Events, error) {
	e := &Events{path: path, cat: cat}
	if _, err := e.Reload(); err != nil {
		return nil, err
	}
	return e, nil
}

// StaticEvents holds c and never reloads; for tests and tools.
func StaticEvents(c *Calendar) *Events {
	e := &Events{}
	e.cur.Store(c)
	return e
}

// Current returns the calendar in use (never nil).
func (e *Events) Current() *Calendar {
	if e == nil {
		return &Calendar{}
	}
	if c := e.cur.Load(); c != nil {
		return c
	}
	return &Calendar{}
}

// Path is the calendar's file, or "" for the embedded one.
func (e *Events) Path() string { return e.path }

// Reload reads the file again and, when it changed and is valid, puts it
// in use; changed reports that. On error the calendar in use stays.
func (e *Events) Reload() (changed bool, err error) {
	if e.cat == nil {
		return false, nil // StaticEvents
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	data := eventsJSON
	if e.path != "" {
		if data, err = os.ReadFile(e.path); err != nil {
			return false, fmt.Errorf("events: %w", err)
		}
	}
	if e.cur.Load() != nil && bytes.Equal(data, e.last) {
		return false, nil
	}
	c, err := ParseCalendar(data, e.cat)
	if err != nil {
		if e.path != "" {
			err = fmt.Errorf("%s: %w", e.path, err)
		}
		return false, err
	}
	e.cur.Store(c)
	e.last = data
	return true, nil
}

// Run reloads the calendar every period and whenever hup receives, until
// ctx ends; it reports each reload that changed the calendar to loaded and
// each failure to fail (both may be nil).
func (e *Events) Run(ctx context.Context, period time.Duration, hup <-chan os.Signal, loaded func(*Calendar), fail func(error)) {
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-hup:
		}
		changed, err := e.Reload()
		switch {
		case err != nil && fail != nil:
			fail(err)
		case changed && loaded != nil:
			loaded(e.Current())
		}
	}
}
