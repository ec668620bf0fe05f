package localserver

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// etcdMember is one member of a local etcd cluster: its name and loopback
// ports.
type etcdMember struct {
	name             string
	client, peerPort int
}

func (m etcdMember) clientURL() string { return fmt.Sprintf("http://127.0.0.1:%d", m.client) }
func (m etcdMember) peerURL() string   { return fmt.Sprintf("http://127.0.0.1:%d", m.peerPort) }

// initialCluster is etcd's --initial-cluster of members.
func initialCluster(members []etcdMember) string {
	parts := make([]string, len(members))
	for i, m := range members {
		parts[i] = m.name + "=" + m.peerURL()
	}
	return strings.Join(parts, ",")
}

// RunEtcdMember runs one member of a local etcd cluster until ctx ends,
// with the arguments EtcdCluster gives it: -name, -dir and -cluster
// (name=clientPort:peerPort,...). It is the body of the hidden
// `chopsticks etcd-member`, so that tests can SIGKILL one member of a real
// cluster; an in-process member cannot be killed without its peers being
// told.
func RunEtcdMember(ctx context.Context, args []string) error {
	fs := flag.NewFlagSet("etcd-member", flag.ContinueOnError)
	name := fs.String("name", "", "this member's name")
	dir := fs.String("dir", "", "data directory")
	spec := fs.String("cluster", "", "every member as name=clientPort:peerPort, comma-separated")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var members []etcdMember
	var self *etcdMember
	for _, part := range strings.Split(*spec, ",") {
		n, ports, ok1 := strings.Cut(part, "=")
		cp, pp, ok2 := strings.Cut(ports, ":")
		c, err1 := strconv.Atoi(cp)
		p, err2 := strconv.Atoi(pp)
		if !ok1 || !ok2 || err1 != nil || err2 != nil {
			return fmt.Errorf("-cluster: %q is not name=clientPort:peerPort", part)
		}
		members = append(members, etcdMember{name: n, client: c, peerPort: p})
	}
	for i := range members {
		if members[i].name == *name {
			self = &members[i]
		}
	}
	if self == nil || *dir == "" {
		return fmt.Errorf("-name must be one of -cluster's members and -dir is required")
	}
	cfg := embed.NewConfig()
	cfg.Name, cfg.Dir = self.name, *dir
	cu, _ := url.Parse(self.clientURL())
	pu, _ := url.Parse(self.peerURL())
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = initialCluster(members)
	cfg.InitialClusterToken = "chopsticks-local"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true
	srv, err := embed.StartEtcd(cfg)
	if err != nil {
		return fmt.Errorf("start etcd member %s: %w", self.name, err)
	}
	defer srv.Close()
	select {
	case <-ctx.Done():
		return nil
	case err := <-srv.Err():
		return fmt.Errorf("etcd member %s: %w", self.name, err)
	case <-srv.Server.StopNotify():
		return fmt.Errorf("etcd member %s stopped", self.name)
	}
}

// EtcdCluster is a local etcd cluster whose members are processes of a
// binary that runs RunEtcdMember (`chopsticks etcd-member`), so that a test
// can kill a member as a crash would, and start it again on its data.
type EtcdCluster struct {
	bin     string
	dir     string
	members []etcdMember

	mu    sync.Mutex
	procs []*process
}

// StartEtcdCluster starts n members (3 or 5) running bin etcd-member, with
// their data under dir, and waits until each is healthy (the cluster has a
// leader). The members die with the calling process and stop when ctx is
// cancelled.
func StartEtcdCluster(ctx context.Context, bin, dir string, n int) (*EtcdCluster, error) {
	c := &EtcdCluster{bin: bin, dir: dir, procs: make([]*process, n)}
	for i := range n {
		cp, err := FreePort()
		if err != nil {
			return nil, err
		}
		pp, err := FreePort()
		if err != nil {
			return nil, err
		}
		c.members = append(c.members, etcdMember{name: "m" + itoa(i), client: cp, peerPort: pp})
	}
	for i := range n {
		if err := c.start(ctx, i); err != nil {
			c.Stop()
			return nil, err
		}
	}
	for i := range n {
		if err := c.awaitHealthy(ctx, i); err != nil {
			c.Stop()
			return nil, err
		}
	}
	go func() {
		<-ctx.Done()
		c.Stop()
	}()
	return c, nil
}

func (c *EtcdCluster) start(ctx context.Context, i int) error {
	m := c.members[i]
	spec := make([]string, len(c.members))
	for j, o := range c.members {
		spec[j] = fmt.Sprintf("%s=%d:%d", o.name, o.client, o.peerPort)
	}
	data := filepath.Join(c.dir, m.name)
	if err := os.MkdirAll(data, 0o700); err != nil {
		return fmt.Errorf("etcd member dir: %w", err)
	}
	logFile, err := os.OpenFile(filepath.Join(c.dir, m.name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("etcd member log: %w", err)
	}
	defer logFile.Close()
	cmd := exec.Command(c.bin, "etcd-member", "-name", m.name, "-dir", data, "-cluster", strings.Join(spec, ","))
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	p, err := startProcess(cmd)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.procs[i] = p
	c.mu.Unlock()
	return nil
}

func (c *EtcdCluster) proc(i int) *process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.procs[i]
}

// awaitHealthy waits until member i answers /health with a leader known.
func (c *EtcdCluster) awaitHealthy(ctx context.Context, i int) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	hc := http.Client{Timeout: time.Second}
	for {
		resp, err := hc.Get(c.members[i].clientURL() + "/health")
		if err == nil {
			var h struct{ Health string }
			derr := json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
			if derr == nil && h.Health == "true" {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("etcd member %s not healthy: %w (log: %s)", c.members[i].name, ctx.Err(),
				filepath.Join(c.dir, c.members[i].name+".log"))
		case <-c.proc(i).exited:
			return fmt.Errorf("etcd member %s exited: %v (log: %s)", c.members[i].name, c.proc(i).err,
				filepath.Join(c.dir, c.members[i].name+".log"))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Endpoints are the client URLs of every member.
func (c *EtcdCluster) Endpoints() []string {
	out := make([]string, len(c.members))
	for i, m := range c.members {
		out[i] = m.clientURL()
	}
	return out
}

// Leader returns the index of the member that leads, as the reachable
// members report it.
func (c *EtcdCluster) Leader(ctx context.Context) (int, error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 2 * time.Second})
	if err != nil {
		return -1, fmt.Errorf("etcd client: %w", err)
	}
	defer cli.Close()
	ids := make([]uint64, len(c.members))
	var leader uint64
	var errs []error
	for i, m := range c.members {
		sctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		st, err := cli.Status(sctx, m.clientURL())
		cancel()
		if err != nil {
			errs = append(errs, err)
			continue
		}
		ids[i], leader = st.Header.MemberId, st.Leader
	}
	for i, id := range ids {
		if id != 0 && id == leader {
			return i, nil
		}
	}
	return -1, fmt.Errorf("no etcd member names a reachable leader: %w", errors.Join(errs...))
}

// Kill sends SIGKILL to member i, as a crash would, and waits for its exit.
func (c *EtcdCluster) Kill(i int) {
	_ = c.proc(i).stop(syscall.SIGKILL, 10*time.Second)
}

// Restart starts the killed members is again on their data and waits
// until each is healthy (which needs a quorum of members running).
func (c *EtcdCluster) Restart(ctx context.Context, is ...int) error {
	for _, i := range is {
		if err := c.start(ctx, i); err != nil {
			return err
		}
	}
	for _, i := range is {
		if err := c.awaitHealthy(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// Stop stops every member.
func (c *EtcdCluster) Stop() {
	for i := range c.members {
		if p := c.proc(i); p != nil {
			_ = p.stop(syscall.SIGTERM, 5*time.Second)
		}
	}
}
