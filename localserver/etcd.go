package localserver

import (
	"context"
	"fmt"
	"net/url"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// Etcd is an embedded single-member etcd server. It is for tests and the
// sandbox only: production nodes talk to an external etcd cluster.
type Etcd struct {
	srv      *embed.Etcd
	endpoint string
}

// StartEtcd starts an embedded etcd with its data in dir, serving clients on
// the loopback port (0 picks a free one).
func StartEtcd(ctx context.Context, dir string, port int) (*Etcd, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		cp, pp := port, 0
		var err error
		if cp == 0 {
			if cp, err = FreePort(); err != nil {
				return nil, err
			}
		}
		if pp, err = FreePort(); err != nil {
			return nil, err
		}
		e, err := startEtcd(ctx, dir, cp, pp)
		if err == nil {
			return e, nil
		}
		lastErr = err
		if port != 0 {
			break
		}
	}
	return nil, lastErr
}

func startEtcd(ctx context.Context, dir string, clientPort, peerPort int) (*Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "local"
	cfg.Dir = dir
	cu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", clientPort))
	pu, _ := url.Parse(fmt.Sprintf("http://127.0.0.1:%d", peerPort))
	cfg.ListenClientUrls, cfg.AdvertiseClientUrls = []url.URL{*cu}, []url.URL{*cu}
	cfg.ListenPeerUrls, cfg.AdvertisePeerUrls = []url.URL{*pu}, []url.URL{*pu}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	cfg.LogLevel = "error"
	cfg.UnsafeNoFsync = true
	srv, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("start etcd: %w", err)
	}
	select {
	case <-srv.Server.ReadyNotify():
	case <-time.After(30 * time.Second):
		srv.Close()
		return nil, fmt.Errorf("etcd did not become ready within 30s")
	case <-ctx.Done():
		srv.Close()
		return nil, ctx.Err()
	}
	e := &Etcd{srv: srv, endpoint: cu.String()}
	go func() {
		select {
		case <-ctx.Done():
			e.Stop()
		case <-srv.Server.StopNotify():
		}
	}()
	return e, nil
}

// Endpoints are the client URLs of the server.
func (e *Etcd) Endpoints() []string { return []string{e.endpoint} }

// Stop shuts the server down.
func (e *Etcd) Stop() { e.srv.Close() }
