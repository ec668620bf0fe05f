package agentpool

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"

	"github.com/chopsticks-bot/chopsticks/discordapi"
	"github.com/jackc/pgx/v5/pgxpool"
)

// ErrUsage marks a Command error caused by the operator's input (exit
// status 2 in the CLI).
var ErrUsage = errors.New("usage")

func usagef(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrUsage, fmt.Sprintf(format, args...))
}

const commandUsage = `usage: chopsticks agents <command> [flags]

commands:
  add -name NAME        register an agent; reads its bot token from stdin
  list                  list agents (never shows tokens)
  remove ID|NAME        remove an agent
  enable ID|NAME        allow an agent to be allocated
  disable ID|NAME       stop allocating an agent
  rotate-key            re-encrypt every token: AGENT_TOKEN_KEY is the old key,
                        AGENT_TOKEN_KEY_NEW (or the first line of stdin) the new one

flags (also from the environment):
  -postgres-url         PostgreSQL URL (POSTGRES_URL)
  -discord-api-url      Discord API base (DISCORD_API_URL), default https://discord.com
The key always comes from AGENT_TOKEN_KEY, never from a flag.
`

// Command runs `chopsticks agents ...` with args after "agents". Tokens and
// keys are read from stdin and the environment only, never from arguments,
// so they stay out of shell history and process listings. getenv is usually
// os.Getenv.
func Command(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "help" || args[0] == "--help" {
		io.WriteString(stderr, commandUsage)
		if len(args) == 0 {
			return usagef("missing command")
		}
		return nil
	}
	sub := args[0]
	fs := flag.NewFlagSet("agents "+sub, flag.ContinueOnError)
	fs.SetOutput(stderr)
	pgURL := fs.String("postgres-url", "", "PostgreSQL URL (POSTGRES_URL)")
	apiURL := fs.String("discord-api-url", discordapi.DefaultBase, "Discord API base URL (DISCORD_API_URL)")
	name := fs.String("name", "", "agent name (add)")
	if v := getenv("POSTGRES_URL"); v != "" {
		*pgURL = v
	}
	if v := getenv("DISCORD_API_URL"); v != "" {
		*apiURL = v
	}
	// Flags, parsed after the environment, win over it.
	if err := fs.Parse(args[1:]); err != nil {
		return usagef("%v", err)
	}
	if *pgURL == "" {
		return usagef("POSTGRES_URL is required")
	}
	switch sub {
	case "add", "list", "remove", "enable", "disable", "rotate-key":
	default:
		io.WriteString(stderr, commandUsage)
		return usagef("unknown agents command %q", sub)
	}
	// Validate everything the operator gave before touching the database.
	key, keyErr := ParseKey(getenv("AGENT_TOKEN_KEY"))
	var ref string
	switch sub {
	case "add":
		if keyErr != nil {
			return keyErr
		}
		if fs.NArg() != 0 {
			return usagef("add takes no arguments: give -name and pipe the token on stdin")
		}
		if _, err := validName(*name); err != nil {
			return usagef("%v", err)
		}
	case "remove", "enable", "disable":
		if fs.NArg() != 1 {
			return usagef("%s needs one agent ID or name", sub)
		}
		ref = fs.Arg(0)
	case "rotate-key":
		if keyErr != nil {
			return fmt.Errorf("old key: %w", keyErr)
		}
	}
	pool, err := pgxpool.New(ctx, *pgURL)
	if err != nil {
		return fmt.Errorf("POSTGRES_URL: %w", err)
	}
	defer pool.Close()
	if err := Migrate(ctx, pool); err != nil {
		return err
	}
	checker, err := NewTokenChecker(*apiURL, nil)
	if err != nil {
		return usagef("%v", err)
	}
	reg := NewRegistry(pool, key, checker)
	switch sub {
	case "add":
		token, err := readLine(stdin)
		if err != nil {
			return fmt.Errorf("reading the token from stdin: %w", err)
		}
		a, err := reg.Add(ctx, *name, NewToken(token))
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "added agent %d %q (bot user %s)\n", a.ID, a.Name, a.BotUserID)
	case "list":
		agents, err := reg.List(ctx)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tBOT USER\tENABLED\tKEY VERSION\tADDED")
		for _, a := range agents {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%v\t%d\t%s\n", a.ID, a.Name, a.BotUserID, a.Enabled, a.KeyVersion, a.AddedAt.UTC().Format("2006-01-02 15:04"))
		}
		return tw.Flush()
	case "remove", "enable", "disable":
		a, err := reg.Lookup(ctx, ref)
		if err != nil {
			return err
		}
		switch sub {
		case "remove":
			err = reg.Remove(ctx, a.ID)
		default:
			err = reg.SetEnabled(ctx, a.ID, sub == "enable")
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s agent %d %q\n", map[string]string{"remove": "removed", "enable": "enabled", "disable": "disabled"}[sub], a.ID, a.Name)
	case "rotate-key":
		raw := getenv("AGENT_TOKEN_KEY_NEW")
		if raw == "" {
			if raw, err = readLine(stdin); err != nil {
				return fmt.Errorf("reading the new key from stdin: %w", err)
			}
		}
		newKey, err := ParseKey(raw)
		if err != nil {
			return fmt.Errorf("new key: %w", err)
		}
		n, err := RotateKey(ctx, pool, key, newKey)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "re-encrypted %d agent tokens; set AGENT_TOKEN_KEY to the new key on every node\n", n)
	}
	return nil
}

// readLine reads the first line of r (a token or key piped in).
func readLine(r io.Reader) (string, error) {
	if r == nil {
		r = os.Stdin
	}
	line, err := bufio.NewReader(r).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return "", errors.New("nothing on stdin")
	}
	return line, nil
}
