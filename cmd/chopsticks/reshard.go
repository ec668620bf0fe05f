package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/chopsticks-bot/chopsticks/coordinator"
)

func init() {
	subcommands["reshard"] = subcommand{summary: "reshard --shards N | reshard --abort: change the shard count while the cluster serves (ETCD_ENDPOINTS)", run: runReshard}
}

const reshardUsage = "usage: chopsticks reshard --shards N | chopsticks reshard --abort [-etcd-endpoints URLS]"

// runReshard starts an online reshard to N shards, or aborts the one under
// way; the leader does the work and `chopsticks status` shows its progress.
func runReshard(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("reshard", flag.ContinueOnError)
	shards := fs.Int("shards", 0, "the new shard count, from 1 to 4096")
	abort := fs.Bool("abort", false, "abort the reshard under way: the old generation serves on")
	endpoints := fs.String("etcd-endpoints", "", "comma-separated etcd client URLs (ETCD_ENDPOINTS)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q: %s", fs.Arg(0), reshardUsage)
	}
	switch {
	case *abort && *shards != 0:
		return usagef("--shards and --abort exclude each other: %s", reshardUsage)
	case !*abort && (*shards < 1 || *shards > coordinator.MaxShardCount):
		return usagef("--shards %d: want a number from 1 to %d: %s", *shards, coordinator.MaxShardCount, reshardUsage)
	}
	cli, err := etcdClient(*endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if *abort {
		err := coordinator.AbortReshard(ctx, cli, "")
		if errors.Is(err, coordinator.ErrNoReshard) {
			return usageError{err}
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, "reshard aborted: the next generation's sessions end, the old generation serves on")
		return nil
	}
	err = coordinator.StartReshard(ctx, cli, "", *shards, "operator")
	for _, refusal := range []error{coordinator.ErrBadShardCount, coordinator.ErrReshardInProgress, coordinator.ErrNotEnoughIdentifies} {
		if errors.Is(err, refusal) {
			return usageError{err}
		}
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "resharding to %d shards: `chopsticks status` shows the progress; `chopsticks reshard --abort` returns to the old count until the switch completes\n", *shards)
	return nil
}
