package main

import (
	"context"
	"errors"
	"flag"
	"io"
	"os"

	"github.com/peterbourgon/ff/v3"

	"github.com/chopsticks-bot/chopsticks/node"
)

func init() {
	subcommands["node"] = subcommand{summary: "run a cluster node (configured by flags or environment)", run: runNode}
}

// parseFlags parses args, then the environment (FLAG_NAME for -flag-name),
// turning bad flags into usage errors.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := ff.Parse(fs, args, ff.WithEnvVars()); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return usageError{err}
	}
	if fs.NArg() > 0 {
		return usagef("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

func runNode(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var flags node.Flags
	fs := flag.NewFlagSet("node", flag.ContinueOnError)
	flags.RegisterFlags(fs)
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	cfg, err := flags.Load()
	if err == nil {
		cfg.Logs = stdout
		cfg.Clock = node.TestClock(cfg.NodeEnv, os.Getenv) // test-only: nil unless NODE_ENV=test
		err = node.Run(ctx, cfg)
	}
	var ce *node.ConfigError
	if errors.As(err, &ce) {
		return usageError{err}
	}
	return err
}
