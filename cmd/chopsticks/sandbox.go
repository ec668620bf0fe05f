package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/chopsticks-bot/chopsticks/sandbox"
)

func init() {
	subcommands["sandbox"] = subcommand{summary: "run a local cluster against discordsim, with a playground page", run: runSandbox}
}

func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	opts := sandbox.Config{Out: stdout}
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&opts.Dir, "dir", ".sandbox", "folder for the data of PostgreSQL, Redis and etcd, and the logs")
	fs.StringVar(&opts.Listen, "listen", "127.0.0.1:8080", "playground address")
	fs.IntVar(&opts.Nodes, "nodes", 3, "how many nodes to run (1-9)")
	fs.IntVar(&opts.Guilds, "guilds", 3, "how many guilds the demo bot is in")
	fs.IntVar(&opts.Shards, "shards", 2, "how many shards discordsim recommends")
	fs.BoolVar(&opts.Reset, "reset", false, "clear the data folder first")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	if opts.Nodes < 1 || opts.Nodes > 9 {
		return usagef("--nodes must be between 1 and 9")
	}
	if opts.Guilds < 1 || opts.Guilds > 10000 {
		return usagef("--guilds must be between 1 and 10000")
	}
	if opts.Shards < 1 || opts.Shards > 64 {
		return usagef("--shards must be between 1 and 64")
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	opts.Binary = bin
	return sandbox.Run(ctx, opts)
}
