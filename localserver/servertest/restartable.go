package servertest

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/localserver"
)

// RestartableRedis is a Redis server of one test's own that the test may
// kill and start again on the same port, empty, as a crashed Redis without
// persistence comes back, and freeze. Tests of outages use it; the
// address never changes, so clients made before an outage reconnect to
// the restarted server.
type RestartableRedis struct {
	t    testing.TB
	ctx  context.Context
	dir  string
	port int

	mu  sync.Mutex
	srv *localserver.Redis
}

// OwnRedis starts a RestartableRedis for t, killed (thawed first) when t
// ends.
func OwnRedis(t testing.TB) *RestartableRedis {
	t.Helper()
	srv, d, c := newRedis(t)
	r := &RestartableRedis{t: t, ctx: c, dir: d, port: srv.Port(), srv: srv}
	t.Cleanup(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.srv != nil {
			_ = r.srv.Thaw()
			_ = r.srv.Kill()
		}
	})
	return r
}

// Addr is the server's host:port, the same across restarts.
func (r *RestartableRedis) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.srv.Addr()
}

// Kill kills the server (SIGKILL) and waits for it to end.
func (r *RestartableRedis) Kill() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.srv.Kill(); err != nil {
		r.t.Fatalf("servertest: kill Redis: %v", err)
	}
}

// Restart starts a new, empty server on the killed one's port, trying
// again for up to two seconds while the kernel still holds the port.
func (r *RestartableRedis) Restart() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	var err error
	for attempt := 0; attempt < 20; attempt++ {
		var srv *localserver.Redis
		if srv, err = localserver.StartRedis(r.ctx, r.dir, r.port, false); err == nil {
			r.srv = srv
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	r.t.Fatalf("servertest: restart Redis on port %d: %v", r.port, err)
}

// Freeze stops the server (SIGSTOP: alive, answering nothing) until Thaw.
func (r *RestartableRedis) Freeze() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.srv.Freeze(); err != nil {
		r.t.Fatalf("servertest: freeze Redis: %v", err)
	}
}

// Thaw resumes a frozen server.
func (r *RestartableRedis) Thaw() {
	r.t.Helper()
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.srv.Thaw(); err != nil {
		r.t.Fatalf("servertest: thaw Redis: %v", err)
	}
}
