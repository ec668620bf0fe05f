package main

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// runCLI runs the command line with ETCD_ENDPOINTS set and returns its exit
// status and output.
func runCLI(t *testing.T, etcd string, args ...string) (int, string, string) {
	t.Helper()
	t.Setenv("ETCD_ENDPOINTS", etcd)
	var stdout, stderr bytes.Buffer
	code := run(args, &stdout, &stderr)
	return code, stdout.String(), stderr.String()
}

// TestShardsSetAndReset: `chopsticks shards set N` and `shards reset`, the
// steps of "Changing the shard count", against a real etcd. They refuse
// while a node runs, and change the configuration and the plan only,
// leaving the identify budget, the election and the registrations alone
// (the raw `etcdctl del` the guide gave deleted those instead).
func TestShardsSetAndReset(t *testing.T) {
	eps := servertest.Etcd(t)
	etcd := strings.Join(eps, ",")
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx := context.Background()
	put := func(k, v string, opts ...clientv3.OpOption) {
		t.Helper()
		if _, err := cli.Put(ctx, k, v, opts...); err != nil {
			t.Fatal(err)
		}
	}
	get := func(k string) string {
		t.Helper()
		resp, err := cli.Get(ctx, k)
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 0 {
			return "<absent>"
		}
		return string(resp.Kvs[0].Value)
	}
	put("/chopsticks/config/units", `{"shard_count":4,"agents":[1,2]}`)
	put("/chopsticks/plan", `{"version":3,"leader":"n1","assign":{"shard 0":"n1"}}`)
	put("/chopsticks/identify/limit", `{"remaining":990,"total":1000,"reset_at_ms":0}`)
	lease, err := cli.Grant(ctx, 60)
	if err != nil {
		t.Fatal(err)
	}
	put("/chopsticks/nodes/n1", `{"id":"n1","weight":1}`, clientv3.WithLease(lease.ID))
	put("/chopsticks/shards/0/owner", "n1", clientv3.WithLease(lease.ID))

	steps := []struct {
		name       string
		before     func()
		args       []string
		wantCode   int
		wantOutput string
		wantUnits  string
		wantPlan   string
	}{
		{"no subcommand", nil, []string{"shards"}, 2, "usage: chopsticks shards", `{"shard_count":4,"agents":[1,2]}`, "present"},
		{"no count", nil, []string{"shards", "set"}, 2, "needs the new count", `{"shard_count":4,"agents":[1,2]}`, "present"},
		{"count zero", nil, []string{"shards", "set", "0"}, 2, "from 1 to 4096", `{"shard_count":4,"agents":[1,2]}`, "present"},
		{"count not a number", nil, []string{"shards", "set", "many"}, 2, "from 1 to 4096", `{"shard_count":4,"agents":[1,2]}`, "present"},
		{"refused while a node runs", nil, []string{"shards", "set", "8"}, 2, "[n1] registered; stop every node first", `{"shard_count":4,"agents":[1,2]}`, "present"},
		{"refused while a unit is owned", func() {
			if _, err := cli.Delete(ctx, "/chopsticks/nodes/n1"); err != nil {
				t.Fatal(err)
			}
		}, []string{"shards", "set", "8"}, 2, "units are still owned", `{"shard_count":4,"agents":[1,2]}`, "present"},
		{"set once every node stopped", func() {
			if _, err := cli.Revoke(ctx, lease.ID); err != nil {
				t.Fatal(err)
			}
		}, []string{"shards", "set", "8"}, 0, "shard count set to 8", `{"shard_count":8,"agents":[1,2]}`, "<absent>"},
		{"reset", nil, []string{"shards", "reset"}, 0, "shard count cleared", "<absent>", "<absent>"},
		{"set after a reset", nil, []string{"shards", "set", "2", "-etcd-endpoints", etcd}, 0, "shard count set to 2", `{"shard_count":2}`, "<absent>"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			if s.before != nil {
				s.before()
			}
			code, stdout, stderr := runCLI(t, etcd, s.args...)
			if code != s.wantCode || !strings.Contains(stdout+stderr, s.wantOutput) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, s.wantCode, s.wantOutput, stdout, stderr)
			}
			if got := get("/chopsticks/config/units"); got != s.wantUnits {
				t.Errorf("units %s, want %s", got, s.wantUnits)
			}
			if got := get("/chopsticks/plan"); (got == "<absent>") != (s.wantPlan == "<absent>") {
				t.Errorf("plan %s, want %s", got, s.wantPlan)
			}
			if got := get("/chopsticks/identify/limit"); got == "<absent>" {
				t.Error("the identify budget was deleted")
			}
		})
	}
}

// TestStatusShowsIdentifiesLeft: the text status names the session starts
// left today, where the alert runbook and the scaling guide send operators.
func TestStatusShowsIdentifiesLeft(t *testing.T) {
	eps := servertest.Etcd(t)
	etcd := strings.Join(eps, ",")
	if code, stdout, stderr := runCLI(t, etcd, "status"); code != 0 || !strings.Contains(stdout, "identifies left today: unknown") {
		t.Fatalf("before any node: exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	gate, err := coordinator.NewGate(coordinator.GateConfig{Client: cli, MaxConcurrency: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := gate.SetSessionStartLimit(context.Background(), 987, 1000, time.Hour); err != nil {
		t.Fatal(err)
	}
	if code, stdout, stderr := runCLI(t, etcd, "status"); code != 0 || !strings.Contains(stdout, "identifies left today: 987") {
		t.Fatalf("exit %d\nstdout: %s\nstderr: %s", code, stdout, stderr)
	}
}
