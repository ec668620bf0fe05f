package coordinator

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/hashicorp/memberlist"
)

// Liveness streams: besides memberlist's probes, every member holds one TCP
// connection to each peer's gossip port, on which the peer writes a byte
// every heartbeatEvery. When a peer's process dies the kernel closes its
// sockets at once, so the reader sees the end of the stream within
// milliseconds instead of after a probe cycle; a frozen peer (SIGSTOP, a
// stalled VM) keeps its sockets open but stops writing, and the reader
// times out after heartbeatTimeout. Either way the member only suspects the
// peer: see failover.go for the checks that must pass before its lease is
// revoked.
//
// The streams share the gossip port with memberlist: liveTransport wraps
// memberlist's own TCP/UDP transport and takes the connections whose first
// byte is liveMagic, handing every other one to memberlist unchanged.
const (
	// liveMagic opens a liveness stream. memberlist's message types are
	// small integers (and 244 for a label header), so none starts so.
	liveMagic byte = 0xA5

	heartbeatEvery   = 100 * time.Millisecond
	heartbeatTimeout = 600 * time.Millisecond
	// probeTimeout bounds a direct check: connect plus the first heartbeat.
	probeTimeout = 400 * time.Millisecond
)

// liveTransport is memberlist's NetTransport plus the liveness streams.
type liveTransport struct {
	*memberlist.NetTransport
	streams chan net.Conn
	stop    chan struct{}
	once    sync.Once
	wg      sync.WaitGroup
}

var _ memberlist.NodeAwareTransport = (*liveTransport)(nil)

// newLiveTransport listens on addr:port (TCP and UDP; port 0 picks a free
// one, retried as memberlist does when the UDP port is taken).
func newLiveTransport(addr string, port int, logger *log.Logger) (*liveTransport, error) {
	var nt *memberlist.NetTransport
	var err error
	for range 10 {
		nt, err = memberlist.NewNetTransport(&memberlist.NetTransportConfig{BindAddrs: []string{addr}, BindPort: port, Logger: logger})
		if err == nil || port != 0 || !strings.Contains(err.Error(), "address already in use") {
			break
		}
	}
	if err != nil {
		return nil, err
	}
	t := &liveTransport{NetTransport: nt, streams: make(chan net.Conn), stop: make(chan struct{})}
	t.wg.Go(t.sort)
	return t, nil
}

// StreamCh implements memberlist.Transport: memberlist's own streams only.
func (t *liveTransport) StreamCh() <-chan net.Conn { return t.streams }

// Shutdown implements memberlist.Transport. It also ends every liveness
// stream this node serves, which peers see as this node going away.
func (t *liveTransport) Shutdown() error {
	// The listeners first: NetTransport's accept loop hands connections to
	// sort, which must still be reading.
	err := t.NetTransport.Shutdown()
	t.once.Do(func() { close(t.stop) })
	t.wg.Wait()
	return err
}

// sort reads every accepted connection and routes it by its first byte.
func (t *liveTransport) sort() {
	for {
		select {
		case <-t.stop:
			return
		case c := <-t.NetTransport.StreamCh():
			t.wg.Go(func() { t.route(c) })
		}
	}
}

func (t *liveTransport) route(c net.Conn) {
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil {
		c.Close()
		return
	}
	_ = c.SetReadDeadline(time.Time{})
	if b[0] == liveMagic {
		t.serve(c)
		return
	}
	select {
	case t.streams <- &peekedConn{Conn: c, first: b[0]}:
	case <-t.stop:
		c.Close()
	}
}

// serve writes a heartbeat every heartbeatEvery until the peer goes or the
// transport shuts down.
func (t *liveTransport) serve(c net.Conn) {
	defer c.Close()
	tick := time.NewTicker(heartbeatEvery)
	defer tick.Stop()
	for {
		_ = c.SetWriteDeadline(time.Now().Add(heartbeatTimeout))
		if _, err := c.Write([]byte{liveMagic}); err != nil {
			return
		}
		select {
		case <-t.stop:
			return
		case <-tick.C:
		}
	}
}

// peekedConn gives back the byte route read before handing it on.
type peekedConn struct {
	net.Conn
	first byte
	read  bool
}

func (p *peekedConn) Read(b []byte) (int, error) {
	if !p.read && len(b) > 0 {
		p.read = true
		b[0] = p.first
		return 1, nil
	}
	return p.Conn.Read(b)
}

// ProbeResult is what a direct check found.
type ProbeResult int

// Results of a direct check.
const (
	// ProbeAlive: the peer answered with a heartbeat.
	ProbeAlive ProbeResult = iota
	// ProbeGone: the peer's host refused the connection: nothing listens on
	// its gossip port, so its process is gone.
	ProbeGone
	// ProbeSilent: no answer in time (frozen, overloaded or cut off).
	ProbeSilent
)

func (r ProbeResult) String() string {
	switch r {
	case ProbeAlive:
		return "alive"
	case ProbeGone:
		return "gone"
	default:
		return "silent"
	}
}

// probe checks a peer's gossip address directly: connect, ask for a
// liveness stream and wait for the first heartbeat, within probeTimeout.
func probe(ctx context.Context, addr string) ProbeResult {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		if errors.Is(err, syscall.ECONNREFUSED) {
			return ProbeGone
		}
		return ProbeSilent
	}
	defer c.Close()
	dl, _ := ctx.Deadline()
	_ = c.SetDeadline(dl)
	if _, err := c.Write([]byte{liveMagic}); err != nil {
		return ProbeSilent
	}
	var b [1]byte
	if _, err := io.ReadFull(c, b[:]); err != nil || b[0] != liveMagic {
		return ProbeSilent
	}
	return ProbeAlive
}

// Suspicion says that a peer may be dead, and why.
type Suspicion struct {
	ID     NodeID
	Gossip string // the peer's gossip address when suspected
	Reason string
}

// watchPeer holds a liveness stream to a peer and reports a suspicion when
// the stream ends or falls silent, then reconnects, until stop closes.
func (g *Gossip) watchPeer(id NodeID, addr string, stop <-chan struct{}) {
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-stop:
			return false
		case <-t.C:
			return true
		}
	}
	for {
		c, err := net.DialTimeout("tcp", addr, probeTimeout)
		if err != nil {
			g.suspect(Suspicion{id, addr, fmt.Sprintf("liveness stream: %v", err)})
			if !wait(200 * time.Millisecond) {
				return
			}
			continue
		}
		done := make(chan struct{})
		go func() {
			select {
			case <-stop:
				c.Close()
			case <-done:
			}
		}()
		reason := g.readHeartbeats(c)
		close(done)
		c.Close()
		select {
		case <-stop:
			return
		default:
		}
		g.suspect(Suspicion{id, addr, reason})
		if !wait(100 * time.Millisecond) {
			return
		}
	}
}

// readHeartbeats reads until the stream fails and says how.
func (g *Gossip) readHeartbeats(c net.Conn) string {
	_ = c.SetWriteDeadline(time.Now().Add(probeTimeout))
	if _, err := c.Write([]byte{liveMagic}); err != nil {
		return fmt.Sprintf("liveness stream: %v", err)
	}
	var b [64]byte
	for {
		_ = c.SetReadDeadline(time.Now().Add(heartbeatTimeout))
		if _, err := c.Read(b[:]); err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return "liveness stream: no heartbeat for " + heartbeatTimeout.String()
			}
			return fmt.Sprintf("liveness stream closed: %v", err)
		}
	}
}
