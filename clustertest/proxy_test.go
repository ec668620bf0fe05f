package clustertest

import (
	"errors"
	"io"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"
)

// tcpProxy forwards loopback TCP connections to one target. Sever cuts
// every connection and refuses new ones until Heal, so that a test can cut
// one node off from etcd while the others keep talking to it. Hold keeps
// every connection open but forwards nothing until Release, as a frozen
// server or a network black hole does.
type tcpProxy struct {
	ln     net.Listener
	target string

	mu      sync.Mutex
	severed bool
	held    bool
	moved   *sync.Cond // signalled when held or severed changes
	cutAt   time.Time
	conns   map[net.Conn]struct{}
	wg      sync.WaitGroup
}

// newTCPProxy starts a proxy to target (host:port), closed when the test ends.
func newTCPProxy(t testing.TB, target string) *tcpProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &tcpProxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.moved = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// newEtcdProxy starts a proxy in front of the first etcd client URL and
// returns it; URL gives the endpoint to hand to the node.
func newEtcdProxy(t testing.TB, endpoints []string) *tcpProxy {
	t.Helper()
	u, err := url.Parse(endpoints[0])
	if err != nil {
		t.Fatal(err)
	}
	return newTCPProxy(t, u.Host)
}

// URL is the proxy as an etcd client URL.
func (p *tcpProxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *tcpProxy) serve() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.severed {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns[c] = struct{}{}
		p.mu.Unlock()
		p.wg.Add(1)
		go p.pipe(c)
	}
}

func (p *tcpProxy) pipe(c net.Conn) {
	defer p.wg.Done()
	defer p.forget(c)
	up, err := net.DialTimeout("tcp", p.target, 2*time.Second)
	if err != nil {
		return
	}
	p.mu.Lock()
	if p.severed {
		p.mu.Unlock()
		up.Close()
		return
	}
	p.conns[up] = struct{}{}
	p.mu.Unlock()
	defer p.forget(up)
	done := make(chan struct{}, 2)
	cp := func(dst, src net.Conn) {
		_, _ = io.Copy(dst, heldReader{p, src})
		done <- struct{}{}
	}
	go cp(up, c)
	go cp(c, up)
	<-done
	c.Close()
	up.Close()
	<-done
}

func (p *tcpProxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// Sever closes every forwarded connection at once and refuses new ones;
// it returns the instant of the cut.
func (p *tcpProxy) Sever() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.severed = true
	p.cutAt = time.Now()
	p.moved.Broadcast()
	for c := range p.conns {
		c.Close()
	}
	return p.cutAt
}

// Heal lets connections through again.
func (p *tcpProxy) Heal() {
	p.mu.Lock()
	p.severed = false
	p.mu.Unlock()
}

// Hold stops forwarding bytes, in both directions and on new connections,
// while keeping every connection open; it returns the instant of the hold.
func (p *tcpProxy) Hold() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = true
	return time.Now()
}

// Release forwards what was held and everything after it.
func (p *tcpProxy) Release() {
	p.mu.Lock()
	p.held = false
	p.moved.Broadcast()
	p.mu.Unlock()
}

// heldReader reads from a connection but hands nothing on while its proxy
// holds, unless the proxy is severed meanwhile.
type heldReader struct {
	p *tcpProxy
	r io.Reader
}

func (h heldReader) Read(b []byte) (int, error) {
	n, err := h.r.Read(b)
	h.p.mu.Lock()
	for h.p.held && !h.p.severed {
		h.p.moved.Wait()
	}
	h.p.mu.Unlock()
	return n, err
}

func (p *tcpProxy) close() {
	p.Release()
	p.Sever()
	p.ln.Close()
	p.wg.Wait()
}

func TestProxySeversAndHeals(t *testing.T) {
	echo, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { echo.Close() })
	go func() {
		for {
			c, err := echo.Accept()
			if err != nil {
				return
			}
			go func() { _, _ = io.Copy(c, c); c.Close() }()
		}
	}()
	p := newTCPProxy(t, echo.Addr().String())
	roundTrip := func() error {
		c, err := net.DialTimeout("tcp", p.ln.Addr().String(), time.Second)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(time.Second))
		if _, err := c.Write([]byte("hi")); err != nil {
			return err
		}
		b := make([]byte, 2)
		if _, err := io.ReadFull(c, b); err != nil {
			return err
		}
		if string(b) != "hi" {
			return errors.New("echo mismatch")
		}
		return nil
	}
	if err := roundTrip(); err != nil {
		t.Fatalf("before the cut: %v", err)
	}
	// An open connection dies with the cut.
	c, err := net.Dial("tcp", p.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if _, err := c.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 1)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatal(err)
	}
	p.Sever()
	_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.Read(b); err == nil {
		t.Fatal("an open connection survived the cut")
	}
	if err := roundTrip(); err == nil {
		t.Fatal("a new connection got through the cut")
	}
	p.Heal()
	if err := roundTrip(); err != nil {
		t.Fatalf("after healing: %v", err)
	}
	// A hold answers nothing, but keeps the connection open: what was held
	// arrives on release.
	held, err := net.Dial("tcp", p.ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	p.Hold()
	if err := roundTrip(); !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("a round trip through a hold: %v, want a deadline", err)
	}
	if _, err := held.Write([]byte("y")); err != nil {
		t.Fatal(err)
	}
	p.Release()
	_ = held.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := io.ReadFull(held, b); err != nil || b[0] != 'y' {
		t.Fatalf("after the release: %q, %v", b, err)
	}
}
