package coordinator_test

import (
	"context"
	"log"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/coordinator"
)

// shardRunner stands for the node's Owner: it runs gateway shards.
type shardRunner struct{ gate *coordinator.Gate }

func (r *shardRunner) Start(ctx context.Context, u coordinator.Unit) error {
	// Resume from the Redis checkpoint if there is one; otherwise identify
	// through the gate:
	release, err := r.gate.Wait(ctx, u.ID)
	if err != nil {
		return err
	}
	defer release() // right after IDENTIFY is sent
	// ... send IDENTIFY ...
	return nil
}

func (r *shardRunner) Stop(ctx context.Context, u coordinator.Unit, reason coordinator.StopReason) error {
	// Checkpoint (session_id, seq, resume_gateway_url) and close with a
	// resumable close code; return once no more events are handled.
	return nil
}

// The node's wiring: join, run until SIGTERM, drain, leave.
func Example() {
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{"http://127.0.0.1:2379"}})
	if err != nil {
		log.Fatal(err)
	}
	defer cli.Close()
	gate, err := coordinator.NewGate(coordinator.GateConfig{Client: cli, MaxConcurrency: 1, Reserve: 50})
	if err != nil {
		log.Fatal(err)
	}
	defer gate.Close()
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	m, err := coordinator.Join(ctx, coordinator.Config{
		Client: cli, NodeID: "node-1", Owner: &shardRunner{gate}, ShardCount: 16,
		Addr: "127.0.0.1:8080", Registerer: prometheus.DefaultRegisterer,
		Gossip: &coordinator.GossipConfig{BindPort: 7946, Seeds: []string{"127.0.0.1:7947"}},
	})
	if err != nil {
		log.Fatal(err)
	}
	<-ctx.Done()
	dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := m.Drain(dctx); err != nil {
		log.Print(err)
	}
	if err := m.Close(); err != nil {
		log.Print(err)
	}
}
