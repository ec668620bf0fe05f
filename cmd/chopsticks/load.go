package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"time"

	"github.com/chopsticks-bot/chopsticks/loadgen"
	"github.com/chopsticks-bot/chopsticks/sandbox"
)

func init() {
	subcommands["load"] = subcommand{summary: "drive a local cluster with many users and report latency and cost", run: runLoad}
}

// runLoad starts a sandbox-style cluster (discordsim, embedded servers, node
// processes), waits until every node is ready, fires the command mix at it
// and prints the report.
func runLoad(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	fs.SetOutput(stderr)
	nodes := fs.Int("nodes", 3, "how many node processes to run (1-9)")
	guilds := fs.Int("guilds", 1000, "how many guilds the bot is in (1-100000)")
	users := fs.Int("users", 10000, "how many users play (each in one to three guilds)")
	shards := fs.Int("shards", 0, "shard count (0: one per 1,000 guilds, as Discord recommends)")
	rate := fs.Float64("rate", 200, "interactions per second (the first rate with --ramp)")
	duration := fs.Duration("duration", 20*time.Second, "how long to send (each step with --ramp)")
	ramp := fs.Bool("ramp", false, "raise the rate by half each step until p99 passes 250 ms; report the highest rate that met it")
	rampMax := fs.Float64("ramp-max", 20000, "the highest rate a ramp tries")
	jsonPath := fs.String("json", "", "also write the report as JSON to this file")
	dir := fs.String("dir", "", "folder for the servers' data and the logs (default: a temporary folder, removed at the end)")
	seed := fs.Int64("seed", 0, "random seed (0: from the clock)")
	quiet := fs.Bool("quiet", false, "no progress line")
	profile := fs.String("profile", "", "write each node's CPU profile of the middle of the run, and its heap profile, into this folder (not with --ramp)")
	if err := fs.Parse(args); err != nil {
		return usageError{err}
	}
	switch {
	case fs.NArg() > 0:
		return usagef("unexpected argument %q", fs.Arg(0))
	case *nodes < 1 || *nodes > 9:
		return usagef("--nodes must be between 1 and 9")
	case *guilds < 1 || *guilds > 100000:
		return usagef("--guilds must be between 1 and 100000")
	case *users < 2:
		return usagef("--users must be at least 2")
	case *shards < 0 || *shards > 256:
		return usagef("--shards must be between 0 and 256")
	case *rate <= 0 || *rate > 100000:
		return usagef("--rate must be above 0 and at most 100000")
	case *duration < time.Second:
		return usagef("--duration must be at least 1s")
	case *profile != "" && *ramp:
		return usagef("--profile profiles a run at one rate: give it without --ramp")
	case *profile != "" && *duration < 3*time.Second:
		return usagef("--profile needs a --duration of at least 3s")
	}
	if *shards == 0 {
		*shards = (*guilds + 999) / 1000
	}
	if *dir == "" {
		d, err := os.MkdirTemp("", "chopsticks-load-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		*dir = d
	}
	bin, err := os.Executable()
	if err != nil {
		return fmt.Errorf("find own executable: %w", err)
	}
	progress := stderr
	if *quiet {
		progress = nil
	}

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	var rep *loadgen.Report
	var loadErr error
	opts := sandbox.Config{
		Dir: *dir, Reset: true, Listen: "127.0.0.1:0", Nodes: *nodes, Guilds: *guilds, Shards: *shards,
		// Large bots get 16 identifies at a time; one would make a cold
		// start of many shards the longest part of a run.
		MaxConcurrency: 16, Users: *users, Binary: bin, Out: io.Discard, Profiler: *profile != "",
		Started: func(s *sandbox.Sandbox) {
			defer cancel()
			t := loadgen.Target{Sim: s.Sim(), Nodes: s.NodeAddrs(), PostgresURL: s.PostgresURL, RedisAddr: s.RedisAddr}
			for _, m := range s.Members() {
				t.Members = append(t.Members, loadgen.Member{User: m.User, Guilds: m.Guilds})
			}
			fmt.Fprintf(stderr, "load: %d nodes, %d guilds over %d shards, %d users; waiting for every node to be ready\n",
				*nodes, *guilds, *shards, len(t.Members))
			if loadErr = awaitReady(runCtx, t, *shards); loadErr != nil {
				return
			}
			cfg := loadgen.Config{Rate: *rate, Duration: *duration, Seed: *seed, Progress: progress}
			if *profile != "" {
				// The middle of the run: a second in, until a second before
				// its end, so that neither ramping up nor draining shows.
				var profErr error
				var files []string
				done := make(chan struct{})
				go func() {
					defer close(done)
					select {
					case <-runCtx.Done():
						return
					case <-time.After(time.Second):
					}
					files, profErr = fetchProfiles(runCtx, s.ProfilerAddrs(), *duration-2*time.Second, *profile)
				}()
				defer func() {
					<-done
					if profErr != nil {
						fmt.Fprintf(stderr, "load: profiles: %v\n", profErr)
					}
					for _, f := range files {
						fmt.Fprintf(stderr, "load: wrote %s (go tool pprof -top %s)\n", f, f)
					}
				}()
			}
			if *ramp {
				rep, loadErr = loadgen.Ramp(runCtx, t, cfg, *rampMax, stderr)
			} else {
				rep, loadErr = loadgen.Run(runCtx, t, cfg)
			}
		},
	}
	if err := sandbox.Run(runCtx, opts); err != nil {
		return err
	}
	if loadErr != nil {
		return loadErr
	}
	if rep == nil {
		return errors.New("interrupted before the load ran")
	}
	rep.Print(stdout)
	if *jsonPath != "" {
		b, err := json.MarshalIndent(rep, "", "  ")
		if err != nil {
			return err
		}
		if err := os.WriteFile(*jsonPath, append(b, '\n'), 0o644); err != nil {
			return fmt.Errorf("write %s: %w", *jsonPath, err)
		}
	}
	return nil
}

// awaitReady waits until discordsim has the bot's commands and every node
// answers /ready, which means it runs its share of the shards.
func awaitReady(ctx context.Context, t loadgen.Target, shards int) error {
	// Cold start: one identify window per 16 shards, and slack.
	deadline := time.Now().Add(time.Minute + time.Duration(shards/16+1)*6*time.Second)
	hc := http.Client{Timeout: 2 * time.Second}
	for {
		ready := len(t.Sim.Commands(t.Sim.AppID(), 0)) > 0
		for _, addr := range t.Nodes {
			if !ready {
				break
			}
			resp, err := hc.Get("http://" + addr + "/ready")
			if err != nil {
				ready = false
				break
			}
			resp.Body.Close()
			ready = resp.StatusCode == http.StatusOK
		}
		if ready {
			return nil
		}
		if time.Now().After(deadline) {
			return errors.New("the cluster was not ready in time; see the node logs with --dir")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
