package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/chopsticks-bot/chopsticks/agentpool"
	"github.com/chopsticks-bot/chopsticks/coordinator"
	"github.com/chopsticks-bot/chopsticks/lavalinksim"
	"github.com/chopsticks-bot/chopsticks/node"
)

func init() {
	subcommands["migrate"] = subcommand{summary: "bring the database schema up to date (POSTGRES_URL)", run: runMigrate}
	subcommands["status"] = subcommand{summary: "show nodes, leader, every shard's owner and state (ETCD_ENDPOINTS)", run: runStatus}
	subcommands["agents"] = subcommand{summary: "add|list|remove|enable|disable|rotate-key voice agents", run: runAgents}
	subcommands["lavalinksim"] = subcommand{summary: "run the Lavalink v4 test server", run: runLavalinkSim}
}

func runMigrate(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("migrate", flag.ContinueOnError)
	url := fs.String("postgres-url", "", "PostgreSQL URL (POSTGRES_URL)")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	cfg, err := node.ParsePostgresURL(*url)
	if err != nil {
		return usageError{err}
	}
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	defer pool.Close()
	if err := pool.Ping(ctx); err != nil {
		return usageError{fmt.Errorf("POSTGRES_URL: cannot connect: %s", strings.Join(strings.Fields(err.Error()), " "))}
	}
	if err := node.Migrate(ctx, pool); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "schema up to date")
	return nil
}

func runStatus(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	endpoints := fs.String("etcd-endpoints", "", "comma-separated etcd client URLs (ETCD_ENDPOINTS)")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args, stderr); err != nil {
		return err
	}
	cli, err := etcdClient(*endpoints)
	if err != nil {
		return err
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	st, err := coordinator.ReadStatus(ctx, cli, "")
	if err != nil {
		return err
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(st)
	}
	return printStatus(stdout, st)
}

// printStatus writes the cluster status as tables for a person.
func printStatus(w io.Writer, st coordinator.Status) error {
	leader := string(st.Leader)
	if leader == "" {
		leader = "(none)"
	}
	identifies := "unknown"
	if st.IdentifiesLeft >= 0 {
		identifies = strconv.Itoa(st.IdentifiesLeft)
	}
	fmt.Fprintf(w, "leader: %s   shards: %d   identifies left today: %s   plan version: %d   etcd revision: %d\n",
		leader, st.ShardCount, identifies, st.PlanVersion, st.Revision)
	if r := st.Reshard; r != nil {
		fmt.Fprintf(w, "reshard: %d -> %d shards, %s (%s), ready %d/%d, serving %d/%d, identifies spent %d, since %s\n",
			r.From, r.To, r.Phase, r.Reason, r.Ready, r.To, r.Live, r.To, r.IdentifiesSpent, r.Started.Format(time.RFC3339))
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "\nNODE\tADDRESS\tWEIGHT\tOWNED\tDRAINING")
	for _, n := range st.Nodes {
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%v\n", n.ID, n.Addr, n.Weight, n.Owned, n.Draining)
	}
	fmt.Fprintln(tw, "\nUNIT\tOWNER\tPLANNED\tSTATE")
	for _, u := range st.Units {
		fmt.Fprintf(tw, "%s %d\t%s\t%s\t%s\n", u.Kind, u.ID, dash(string(u.Owner)), dash(string(u.Planned)), u.State)
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func runAgents(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	args, err := agentNameArg(args)
	if err != nil {
		return err
	}
	err = agentpool.Command(ctx, args, os.Stdin, stdout, stderr, os.Getenv)
	if errors.Is(err, agentpool.ErrUsage) {
		return usageError{err}
	}
	return err
}

func runLavalinkSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return lavalinksim.Command(ctx, args, stdout, stderr)
}

// agentNameArg turns `agents add NAME [flags]`, the form the README gives,
// into `agents add -name NAME [flags]`, the form agentpool.Command reads.
func agentNameArg(args []string) ([]string, error) {
	if len(args) < 2 || args[0] != "add" || strings.HasPrefix(args[1], "-") {
		return args, nil
	}
	for _, a := range args[2:] {
		if a == "-name" || a == "--name" || strings.HasPrefix(a, "-name=") || strings.HasPrefix(a, "--name=") {
			return nil, usagef("agents add: give the name once, as NAME or -name NAME")
		}
	}
	return append([]string{"add", "-name", args[1]}, args[2:]...), nil
}
