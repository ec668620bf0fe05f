package coordinator

import (
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/poll"
)

func startGossip(t *testing.T, id NodeID, weight int, seeds ...string) *Gossip {
	t.Helper()
	g, err := StartGossip(GossipConfig{NodeID: id, Weight: weight, Addr: "127.0.0.1:80" + string(id[len(id)-1]), Seeds: seeds})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { g.Shutdown() })
	return g
}

func peerSummary(g *Gossip) string {
	s := ""
	for _, p := range g.Peers() {
		s += fmt.Sprintf("%s(w%d,l%d) ", p.ID, p.Weight, p.Load)
	}
	return s
}

func TestGossipMembership(t *testing.T) {
	a := startGossip(t, "g1", 1)
	b := startGossip(t, "g2", 2, a.Address())
	c := startGossip(t, "g3", 3, a.Address())
	all := []*Gossip{a, b, c}
	for _, g := range all {
		poll.Eventually(t, 5*time.Second, func() (bool, string) {
			s := peerSummary(g)
			return s == "g1(w1,l0) g2(w2,l0) g3(w3,l0) ", s
		}, "3 peers with metadata")
	}
	if p := a.Peers()[1]; p.Addr != "127.0.0.1:802" || p.Gossip != b.Address() {
		t.Errorf("peer g2 = %+v", p)
	}

	// Load travels.
	if err := b.SetLoad(7, 2); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 5*time.Second, func() (bool, string) {
		s := peerSummary(c)
		return s == "g1(w1,l0) g2(w2,l7) g3(w3,l0) ", s
	}, "g2's load seen by g3")

	// A graceful leave is seen at once; a silent death by the detector.
	select {
	case <-a.Changed():
	default:
	}
	if err := c.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 3*time.Second, func() (bool, string) {
		s := peerSummary(a)
		return s == "g1(w1,l0) g2(w2,l7) ", s
	}, "g3 gone after leaving")
	select {
	case <-a.Changed():
	default:
		t.Error("no change signalled for a leave")
	}
	start := time.Now()
	if err := b.Shutdown(); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 5*time.Second, func() (bool, string) {
		s := peerSummary(a)
		return s == "g1(w1,l0) ", s
	}, "g2 detected dead")
	t.Logf("silent death detected in %v", time.Since(start))
}

func TestGossipJoinsSeedsThatStartLater(t *testing.T) {
	// Nodes that start together may name seeds that do not listen yet.
	port := freeUDPAndTCPPort(t)
	late := fmt.Sprintf("127.0.0.1:%d", port)
	a, err := StartGossip(GossipConfig{NodeID: "a", Seeds: []string{late}, ProbeInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatalf("a seed that does not answer yet must not stop the start: %v", err)
	}
	t.Cleanup(func() { _ = a.Shutdown() })
	b, err := StartGossip(GossipConfig{NodeID: "b", BindPort: port, ProbeInterval: 100 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = b.Shutdown() })
	poll.Eventually(t, 10*time.Second, func() (bool, string) {
		return len(a.Peers()) >= 2 && len(b.Peers()) >= 2, fmt.Sprintf("a sees %v, b sees %v", a.Peers(), b.Peers())
	}, "a and b to see both")
}

// freeUDPAndTCPPort finds a port free for both TCP and UDP on loopback.
func freeUDPAndTCPPort(t *testing.T) int {
	t.Helper()
	for i := 0; i < 20; i++ {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := ln.Addr().(*net.TCPAddr).Port
		pc, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		ln.Close()
		if err == nil {
			pc.Close()
			return port
		}
	}
	t.Fatal("no port free for TCP and UDP")
	return 0
}

// TestGossipSettingsMismatch: nodes share a digest of the settings every
// node must apply; each lists the peers whose digest differs, and a peer
// that shares none (an older version) is not counted.
func TestGossipSettingsMismatch(t *testing.T) {
	start := func(id NodeID, settings string, seeds ...string) *Gossip {
		g, err := StartGossip(GossipConfig{NodeID: id, Weight: 1, Settings: settings, Seeds: seeds})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Shutdown() })
		return g
	}
	a := start("s1", "ratelimit:aaaa")
	b := start("s2", "ratelimit:aaaa", a.Address())
	c := start("s3", "ratelimit:cccc", a.Address())
	d := start("s4", "", a.Address())
	for _, tt := range []struct {
		g    *Gossip
		want string
	}{{a, "[s3]"}, {b, "[s3]"}, {c, "[s1 s2]"}, {d, "[]"}} {
		poll.Eventually(t, 5*time.Second, func() (bool, string) {
			got := fmt.Sprint(tt.g.MismatchedPeers())
			return got == tt.want && len(tt.g.Peers()) == 4, got
		}, "mismatched peers")
	}
	if p := a.Peers()[2]; p.ID != "s3" || p.Settings != "ratelimit:cccc" {
		t.Errorf("peer s3 = %+v", p)
	}
	if err := c.Leave(time.Second); err != nil {
		t.Fatal(err)
	}
	poll.Eventually(t, 3*time.Second, func() (bool, string) {
		got := fmt.Sprint(a.MismatchedPeers())
		return got == "[]", got
	}, "no mismatch once s3 left")
}

// TestGossipReportsSettingsDiffer: SettingsDiffer hears once of each peer
// whose settings differ, with the peer's digest, and not again when that
// peer's other metadata changes; a peer with the same settings is never
// reported.
func TestGossipReportsSettingsDiffer(t *testing.T) {
	type report struct {
		peer     NodeID
		settings string
	}
	reports := make(chan report, 16)
	start := func(cfg GossipConfig) *Gossip {
		g, err := StartGossip(cfg)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { g.Shutdown() })
		return g
	}
	a := start(GossipConfig{NodeID: "r1", Weight: 1, Settings: "x:1",
		SettingsDiffer: func(p NodeID, s string) { reports <- report{p, s} }})
	start(GossipConfig{NodeID: "r2", Weight: 1, Settings: "x:1", Seeds: []string{a.Address()}})
	other := start(GossipConfig{NodeID: "r3", Weight: 1, Settings: "x:2", Seeds: []string{a.Address()}})
	select {
	case r := <-reports:
		if want := (report{"r3", "x:2"}); r != want {
			t.Fatalf("reported %+v, want %+v", r, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the peer with other settings was not reported")
	}
	if err := other.SetLoad(5, 1); err != nil {
		t.Fatal(err)
	}
	deadline := time.After(5 * time.Second)
	for seen := false; !seen; {
		ps := a.Peers()
		seen = len(ps) == 3 && ps[2].ID == "r3" && ps[2].Load == 5
		if !seen {
			select {
			case <-a.Changed():
			case <-deadline:
				t.Fatalf("r1 sees %+v; want r1, r2 and r3 with load 5", ps)
			}
		}
	}
	select {
	case r := <-reports:
		t.Errorf("reported again: %+v", r)
	default:
	}
}
