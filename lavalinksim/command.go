package lavalinksim

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"
)

// Command runs a simulator until ctx ends, for `chopsticks lavalinksim` and
// the sandbox: flags -addr, -password, -stats-interval,
// -player-update-interval and -speed.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lavalinksim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:2333", "listen address (loopback)")
	fs.StringVar(&cfg.Password, "password", "youshallnotpass", "Authorization password")
	fs.DurationVar(&cfg.StatsInterval, "stats-interval", time.Minute, "interval of the stats op")
	fs.DurationVar(&cfg.PlayerUpdateInterval, "player-update-interval", 5*time.Second, "interval of playerUpdate ops")
	fs.Float64Var(&cfg.Speed, "speed", 1, "playback speed multiplier")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("lavalinksim: unexpected arguments %q", fs.Args())
	}
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	s, err := Start(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lavalinksim %s listening on %s (LAVALINK_NODES=sim=%s@<password>)\n", Version, s.Addr(), s.Addr())
	<-ctx.Done()
	return s.Close()
}
