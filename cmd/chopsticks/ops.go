package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	clientv3 "go.etcd.io/etcd/client/v3"

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
	if *url == "" {
		return usagef("POSTGRES_URL is required")
	}
	cfg, err := pgxpool.ParseConfig(*url)
	if err != nil {
		return usagef("POSTGRES_URL cannot be parsed as a PostgreSQL URL")
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
	var eps []string
	for _, e := range strings.Split(*endpoints, ",") {
		if e = strings.TrimSpace(e); e != "" {
			eps = append(eps, e)
		}
	}
	if len(eps) == 0 {
		return usagef("ETCD_ENDPOINTS is required")
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second})
	if err != nil {
		return usageError{fmt.Errorf("ETCD_ENDPOINTS: %w", err)}
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
	fmt.Fprintf(w, "leader: %s   shards: %d   plan version: %d   etcd revision: %d\n", leader, st.ShardCount, st.PlanVersion, st.Revision)
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
	err := agentpool.Command(ctx, args, os.Stdin, stdout, stderr, os.Getenv)
	if errors.Is(err, agentpool.ErrUsage) {
		return usageError{err}
	}
	return err
}

func runLavalinkSim(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return lavalinksim.Command(ctx, args, stdout, stderr)
}
