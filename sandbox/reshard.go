package sandbox

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/chopsticks-bot/chopsticks/coordinator"
)

// The playground's reshard control: change the cluster's shard count
// while it serves, abort, and watch the progress.

// reshardControl talks to the sandbox's etcd for the reshard control.
type reshardControl struct {
	etcd *clientv3.Client
}

// connect opens the etcd client; the returned func closes it.
func (c *reshardControl) connect(endpoints []string) (func(), error) {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		return nil, fmt.Errorf("sandbox: etcd client: %w", err)
	}
	c.etcd = cli
	return func() { cli.Close() }, nil
}

// reshardView is what the playground shows of the shard count.
type reshardView struct {
	ShardCount int                        `json:"shard_count"`
	Reshard    *coordinator.ReshardStatus `json:"reshard"`
}

// handleReshardState answers GET /api/reshard.
func (s *Sandbox) handleReshardState(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	st, err := coordinator.ReadStatus(ctx, s.reshard.etcd, "")
	if err != nil {
		writeJSON(w, http.StatusServiceUnavailable, apiError{err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, reshardView{ShardCount: st.ShardCount, Reshard: st.Reshard})
}

// handleReshard answers POST /api/reshard {"shards": N}: it starts an
// online reshard, as `chopsticks reshard --shards N` does. A bad count is
// a 400, a reshard already under way a 409.
func (s *Sandbox) handleReshard(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Shards int `json:"shards"`
	}
	if !s.decodeBody(w, r, &req) {
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	err := coordinator.StartReshard(ctx, s.reshard.etcd, "", req.Shards, "operator")
	switch {
	case errors.Is(err, coordinator.ErrBadShardCount), errors.Is(err, coordinator.ErrNotEnoughIdentifies):
		writeJSON(w, http.StatusBadRequest, apiError{err.Error()})
	case errors.Is(err, coordinator.ErrReshardInProgress):
		writeJSON(w, http.StatusConflict, apiError{err.Error()})
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, apiError{err.Error()})
	default:
		s.handleReshardState(w, r)
	}
}

// handleReshardAbort answers POST /api/reshard/abort, as `chopsticks
// reshard --abort` does; nothing to abort is a 409.
func (s *Sandbox) handleReshardAbort(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	err := coordinator.AbortReshard(ctx, s.reshard.etcd, "")
	switch {
	case errors.Is(err, coordinator.ErrNoReshard):
		writeJSON(w, http.StatusConflict, apiError{err.Error()})
	case err != nil:
		writeJSON(w, http.StatusServiceUnavailable, apiError{err.Error()})
	default:
		s.handleReshardState(w, r)
	}
}
