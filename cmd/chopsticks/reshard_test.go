package main

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
)

// TestReshardCommand: `chopsticks reshard` refuses bad input with exit 2
// and changes nothing, starts a reshard that `status` shows, refuses a
// second one, and aborts it.
func TestReshardCommand(t *testing.T) {
	eps := servertest.Etcd(t)
	etcd := strings.Join(eps, ",")
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	ctx := context.Background()
	for k, v := range map[string]string{
		"/chopsticks/config/units":   `{"shard_count":4}`,
		"/chopsticks/identify/limit": `{"remaining":990,"total":1000,"reset_at_ms":0}`,
	} {
		if _, err := cli.Put(ctx, k, v); err != nil {
			t.Fatal(err)
		}
	}
	reshard := func() string {
		t.Helper()
		resp, err := cli.Get(ctx, "/chopsticks/reshard")
		if err != nil {
			t.Fatal(err)
		}
		if len(resp.Kvs) == 0 {
			return "<absent>"
		}
		return string(resp.Kvs[0].Value)
	}
	steps := []struct {
		name       string
		args       []string
		wantCode   int
		wantOutput string
		wantDoc    string // substring of the reshard document, or <absent>
	}{
		{"no flags", []string{"reshard"}, 2, "want a number from 1 to 4096", "<absent>"},
		{"zero", []string{"reshard", "--shards", "0"}, 2, "want a number from 1 to 4096", "<absent>"},
		{"too many", []string{"reshard", "--shards", "5000"}, 2, "want a number from 1 to 4096", "<absent>"},
		{"not a number", []string{"reshard", "--shards", "many"}, 2, "invalid value", "<absent>"},
		{"both", []string{"reshard", "--shards", "6", "--abort"}, 2, "exclude each other", "<absent>"},
		{"stray argument", []string{"reshard", "--shards", "6", "now"}, 2, "unexpected argument", "<absent>"},
		{"same count", []string{"reshard", "--shards", "4"}, 2, "already runs 4 shards", "<absent>"},
		{"over the budget", []string{"reshard", "--shards", "991"}, 2, "not enough identifies", "<absent>"},
		{"nothing to abort", []string{"reshard", "--abort"}, 2, "no reshard under way", "<absent>"},
		{"start", []string{"reshard", "--shards", "6"}, 0, "resharding to 6 shards", `"to":6`},
		{"status shows it", []string{"status"}, 0, "reshard: 4 -> 6 shards, warming (operator), ready 0/6", `"to":6`},
		{"a second one", []string{"reshard", "--shards", "8"}, 2, "already under way (4 to 6, warming)", `"to":6`},
		{"abort", []string{"reshard", "--abort"}, 0, "reshard aborted", "<absent>"},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, etcd, s.args...)
			if code != s.wantCode || !strings.Contains(stdout+stderr, s.wantOutput) {
				t.Fatalf("exit %d, want %d with %q\nstdout: %s\nstderr: %s", code, s.wantCode, s.wantOutput, stdout, stderr)
			}
			got := reshard()
			if (s.wantDoc == "<absent>") != (got == "<absent>") || !strings.Contains(got, s.wantDoc) {
				t.Errorf("reshard document %s, want %s", got, s.wantDoc)
			}
		})
	}
}

// oneMoreShard returns, as text, one more than the shard count of a
// `chopsticks status -json` output.
func oneMoreShard(t *testing.T, statusJSON string) string {
	t.Helper()
	var st struct {
		ShardCount int `json:"shard_count"`
	}
	if err := json.Unmarshal([]byte(statusJSON), &st); err != nil || st.ShardCount < 1 {
		t.Fatalf("status -json: %v (shard count %d)\n%s", err, st.ShardCount, statusJSON)
	}
	return strconv.Itoa(st.ShardCount + 1)
}
