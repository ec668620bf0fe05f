package harness

import (
	"io"
	"net"
	"net/url"
	"sync"
	"time"
)

// Proxy forwards loopback TCP connections to one target. Sever cuts
// every connection and refuses new ones until Heal, so that a test can cut
// one node off from etcd while the others keep talking to it. Hold keeps
// every connection open but forwards nothing until Release, as a frozen
// server or a network black hole does.
type Proxy struct {
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

// NewProxy starts a proxy to target (host:port), closed when the test ends.
func NewProxy(t TB, target string) *Proxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.moved = sync.NewCond(&p.mu)
	p.wg.Add(1)
	go p.serve()
	t.Cleanup(p.close)
	return p
}

// NewEtcdProxy starts a proxy in front of the first etcd client URL and
// returns it; URL gives the endpoint to hand to the node.
func NewEtcdProxy(t TB, endpoints []string) *Proxy {
	t.Helper()
	u, err := url.Parse(endpoints[0])
	if err != nil {
		t.Fatalf("proxy: %v", err)
	}
	return NewProxy(t, u.Host)
}

// Addr is the proxy's listening address.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// URL is the proxy as an etcd client URL.
func (p *Proxy) URL() string { return "http://" + p.ln.Addr().String() }

func (p *Proxy) serve() {
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

func (p *Proxy) pipe(c net.Conn) {
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

func (p *Proxy) forget(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
	c.Close()
}

// Sever closes every forwarded connection at once and refuses new ones;
// it returns the instant of the cut.
func (p *Proxy) Sever() time.Time {
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
func (p *Proxy) Heal() {
	p.mu.Lock()
	p.severed = false
	p.mu.Unlock()
}

// Hold stops forwarding bytes, in both directions and on new connections,
// while keeping every connection open; it returns the instant of the hold.
func (p *Proxy) Hold() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.held = true
	return time.Now()
}

// Release forwards what was held and everything after it.
func (p *Proxy) Release() {
	p.mu.Lock()
	p.held = false
	p.moved.Broadcast()
	p.mu.Unlock()
}

// heldReader reads from a connection but hands nothing on while its proxy
// holds, unless the proxy is severed meanwhile.
type heldReader struct {
	p *Proxy
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

func (p *Proxy) close() {
	p.Release()
	p.Sever()
	p.ln.Close()
	p.wg.Wait()
}
