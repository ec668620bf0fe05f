package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/node"
)

func init() {
	subcommands["shards"] = subcommand{summary: "shards set N | shards reset: change the shard count while every node is stopped (ETCD_ENDPOINTS)", run: runShards}
}

const shardsUsage = "usage: chopsticks shards set N | chopsticks shards reset [-etcd-endpoints URLS]"

// runShards changes the cluster's shard count in etcd during a cold
// restart: `set N` fixes it, `reset` forgets it so that the first node to
// start writes its SHARD_COUNT or Discord's recommendation.
func runShards(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 || (args[0] != "set" && args[0] != "reset") {
		return usagef("%s", shardsUsage)
	}
	sub, rest := args[0], args[1:]
	count := 0
	if sub == "set" {
		if len(rest) == 0 || strings.HasPrefix(rest[0], "-") {
			return usagef("shards set needs the new count: %s", shardsUsage)
		}
		n, err := strconv.Atoi(rest[0])
		if err != nil || n < 1 || n > 4096 {
			return usagef("shard count %q: want a number from 1 to 4096", rest[0])
		}
		count, rest = n, rest[1:]
	}
	fs := flag.NewFlagSet("shards "+sub, flag.ContinueOnError)
	endpoints := fs.String("etcd-endpoints", "", "comma-separated etcd client URLs (ETCD_ENDPOINTS)")
	if err := parseFlags(fs, rest, stderr); err != nil {
		return err
	}
	cli, err := etcdClient(*endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	err = coordinator.SetShardCount(ctx, cli, "", count)
	if errors.Is(err, coordinator.ErrNodesRunning) {
		return usageError{err}
	}
	if err != nil {
		return err
	}
	if count == 0 {
		fmt.Fprintln(stdout, "shard count cleared: the first node to start sets it from SHARD_COUNT or Discord's recommendation")
		return nil
	}
	fmt.Fprintf(stdout, "shard count set to %d: start the nodes (with SHARD_COUNT unset or %d)\n", count, count)
	return nil
}

// etcdClient connects to the comma-separated endpoints, a usage error when
// there are none.
func etcdClient(endpoints string) (*clientv3.Client, error) {
	eps, err := node.ParseEtcdEndpoints(endpoints)
	if err != nil {
		return nil, usageError{err}
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		return nil, usageError{fmt.Errorf("ETCD_ENDPOINTS: %w", err)}
	}
	return cli, nil
}
