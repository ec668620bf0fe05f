package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/chopsticks-bot/chopsticks/discordsim"
)

func init() {
	subcommands["sim"] = subcommand{
		summary: "run discordsim, the Discord emulator (gateway, REST, OAuth2, /_sim/ driver API)",
		run:     runSim,
	}
}

// runSim serves the emulator until ctx ends, then shuts it down gracefully.
func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("sim", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg discordsim.Config
	listen := fs.String("listen", "127.0.0.1:0", "address to listen on (loopback)")
	fs.IntVar(&cfg.Guilds, "guilds", 4, "guilds the bot is in at start")
	fs.IntVar(&cfg.Users, "users", 3, "users created at start")
	fs.IntVar(&cfg.RecommendedShards, "recommended-shards", 0, "shards returned by GET /gateway/bot (0: 1 per 1000 guilds)")
	fs.IntVar(&cfg.MaxConcurrency, "max-concurrency", 1, "session_start_limit.max_concurrency")
	fs.IntVar(&cfg.SessionStartLimit, "session-start-limit", 1000, "session_start_limit.total")
	fs.StringVar(&cfg.Token, "token", "", "bot token (default: random)")
	fs.DurationVar(&cfg.IdentifyWindow, "identify-window", 5*time.Second, "one IDENTIFY per bucket per window")
	fs.DurationVar(&cfg.HeartbeatInterval, "heartbeat-interval", 41250*time.Millisecond, "heartbeat_interval sent in HELLO")
	fs.DurationVar(&cfg.ResumeWindow, "resume-window", 3*time.Minute, "how long a disconnected session stays resumable")
	fs.DurationVar(&cfg.InteractionDeadline, "interaction-deadline", 3*time.Second, "deadline for the initial interaction response")
	fs.IntVar(&cfg.GlobalRateLimit, "global-rate-limit", 50, "REST requests per second per bot")
	fs.IntVar(&cfg.RouteRateLimit, "route-rate-limit", 5, "REST requests per route bucket per window")
	fs.DurationVar(&cfg.RouteRateWindow, "route-rate-window", 5*time.Second, "route bucket window")
	fs.DurationVar(&cfg.FirehoseInterval, "firehose", 0, "emit background MESSAGE_CREATE/GUILD_MEMBER_UPDATE every interval (0: off)")
	fs.IntVar(&cfg.FirehoseBatch, "firehose-batch", 1, "events per firehose tick")
	fs.BoolVar(&cfg.RequireUserAgent, "require-user-agent", false, "reject REST requests without a DiscordBot User-Agent (403 40333)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return usagef("%v", err)
	}
	if fs.NArg() > 0 {
		return usagef("unexpected arguments: %v", fs.Args())
	}
	host, _, err := net.SplitHostPort(*listen)
	if err != nil {
		return usagef("--listen: %v", err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return usagef("--listen must be a loopback address, got %q", *listen)
	}
	if cfg.Guilds < 0 || cfg.Users < 0 || cfg.RecommendedShards < 0 || cfg.MaxConcurrency < 1 || cfg.SessionStartLimit < 1 {
		return usagef("counts must not be negative and --max-concurrency, --session-start-limit must be at least 1")
	}
	sim, err := discordsim.New(cfg)
	if err != nil {
		return usagef("%v", err)
	}
	if err := sim.Start(ctx, *listen); err != nil {
		_ = sim.Close()
		return err
	}
	app := sim.DefaultApp()
	fmt.Fprintf(stdout, "token=%s\napplication_id=%s\nbot_user_id=%s\nclient_secret=%s\nurl=%s\napi_url=%s\ngateway_url=%s\ndriver_url=%s/_sim/\n",
		app.Token, app.ID, app.BotUserID, app.ClientSecret, sim.URL(), sim.APIURL(10), sim.GatewayURL(), sim.URL())
	<-ctx.Done()
	fmt.Fprintln(stderr, "chopsticks sim: shutting down")
	return sim.Close()
}
