package loadgen

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
	"github.com/redis/go-redis/v9"

	"github.com/chopsticks-bot/chopsticks/bench/redisinfo"
)

// costs is a reading of the cluster's own counters.
type costs struct {
	nodes     map[string]NodeReport
	pgTx      int64 // -1: not read
	redisCmds int64 // -1: not read
}

// readCosts reads each node's /metrics, PostgreSQL's transaction counters
// and Redis's command count.
func readCosts(ctx context.Context, t Target) (costs, error) {
	c := costs{nodes: map[string]NodeReport{}, pgTx: -1, redisCmds: -1}
	for id, addr := range t.Nodes {
		n, err := nodeResources(ctx, id, addr)
		if err != nil {
			return c, err
		}
		c.nodes[id] = n
	}
	if t.PostgresURL != "" {
		conn, err := pgx.Connect(ctx, t.PostgresURL)
		if err != nil {
			return c, fmt.Errorf("loadgen: PostgreSQL: %w", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		if err := conn.QueryRow(ctx, `SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()`).Scan(&c.pgTx); err != nil {
			return c, fmt.Errorf("loadgen: pg_stat_database: %w", err)
		}
	}
	if t.RedisAddr != "" {
		rdb := redis.NewClient(&redis.Options{Addr: t.RedisAddr})
		defer rdb.Close()
		n, err := redisinfo.CommandsProcessed(ctx, rdb)
		if err != nil {
			return c, fmt.Errorf("loadgen: Redis: %w", err)
		}
		c.redisCmds = n
	}
	return c, nil
}

// nodeResources reads a node's RSS and CPU seconds from its Prometheus
// process collector.
func nodeResources(ctx context.Context, id, addr string) (NodeReport, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return NodeReport{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return NodeReport{}, fmt.Errorf("loadgen: node %s metrics: %w", id, err)
	}
	defer resp.Body.Close()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return NodeReport{}, fmt.Errorf("loadgen: node %s metrics: %w", id, err)
	}
	n := NodeReport{ID: id}
	if f, ok := fams["process_resident_memory_bytes"]; ok && len(f.Metric) > 0 {
		n.RSSBytes = int64(f.Metric[0].GetGauge().GetValue())
	}
	if f, ok := fams["process_cpu_seconds_total"]; ok && len(f.Metric) > 0 {
		n.CPUSeconds = f.Metric[0].GetCounter().GetValue()
	}
	return n, nil
}

// costs fills in what the run cost, from readings before and after.
func (r *Report) costs(before, after costs) {
	for id, a := range after.nodes {
		n := a
		n.CPUSeconds = a.CPUSeconds - before.nodes[id].CPUSeconds
		r.Nodes = append(r.Nodes, n)
	}
	sort.Slice(r.Nodes, func(i, j int) bool { return r.Nodes[i].ID < r.Nodes[j].ID })
	if r.Interactions == 0 {
		return
	}
	per := func(b, a int64) *float64 {
		if b < 0 || a < 0 {
			return nil
		}
		v := float64(a-b) / float64(r.Interactions)
		return &v
	}
	r.PostgresTxPerInteraction = per(before.pgTx, after.pgTx)
	r.RedisCmdsPerInteraction = per(before.redisCmds, after.redisCmds)
}
