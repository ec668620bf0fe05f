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
// -player-update-interval, -speed, and the behaviours of other servers and
// faults: -dialect (lavalink or nodelink), -cores, -tracks (normal, unknown
// or stream), -fail-voice and -voice-delay (negative: forever).
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lavalinksim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg Config
	fs.StringVar(&cfg.Addr, "addr", "127.0.0.1:2333", "listen address (loopback)")
	fs.StringVar(&cfg.Password, "password", "youshallnotpass", "Authorization password")
	fs.DurationVar(&cfg.StatsInterval, "stats-interval", time.Minute, "interval of the stats op")
	fs.DurationVar(&cfg.PlayerUpdateInterval, "player-update-interval", 5*time.Second, "interval of playerUpdate ops")
	fs.Float64Var(&cfg.Speed, "speed", 1, "playback speed multiplier")
	dialect := fs.String("dialect", string(DialectLavalink), "server behaviour: lavalink or nodelink")
	tracks := fs.String("tracks", string(TracksNormal), "tracks resolved: normal, unknown (length -1) or stream")
	fs.IntVar(&cfg.Cores, "cores", 0, "cpu cores reported by stats (default: this machine's)")
	fs.BoolVar(&cfg.FailVoice, "fail-voice", false, "make voice connections fail (500 for lavalink, WebSocketClosedEvent 4006 for nodelink)")
	fs.DurationVar(&cfg.VoiceConnectDelay, "voice-delay", 0, "hold player updates carrying a voice state this long (negative: until the client gives up)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return fmt.Errorf("lavalinksim: unexpected arguments %q", fs.Args())
	}
	cfg.Dialect, cfg.Tracks = Dialect(*dialect), TrackKind(*tracks)
	cfg.Logger = slog.New(slog.NewTextHandler(stderr, nil))
	s, err := Start(cfg)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "lavalinksim %s listening on %s (LAVALINK_NODES=sim=%s@<password>) dialect %s\n", Version, s.Addr(), s.Addr(), cfg.Dialect)
	<-ctx.Done()
	return s.Close()
}
