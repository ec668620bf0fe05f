package main

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/discordsim"
	"github.com/chopsticks-bot/chopsticks/localserver/servertest"
	"github.com/chopsticks-bot/chopsticks/node"
	"github.com/chopsticks-bot/chopsticks/ratelimit"
)

// docFiles are the documents whose command lines and settings tables are
// checked against the binary and the code.
var docFiles = []string{"README.md", "docs/operations.md"}

// repoFile returns the path of a file of the repository.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", rel)
}

func readDoc(t *testing.T, rel string) string {
	t.Helper()
	b, err := os.ReadFile(repoFile(t, rel))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// docCommandLines returns every `chopsticks <subcommand> ...` line of a
// Markdown document: in code blocks up to the description that follows two
// spaces or a shell comment, in inline code the whole span (white space
// folded, since a span may wrap).
func docCommandLines(doc string) []string {
	re := regexp.MustCompile(`(?:^|[\s/])chopsticks ([a-z][^\n]*)`)
	found := map[string]bool{}
	add := func(line string) {
		line = strings.TrimSpace(line)
		if first, _, _ := strings.Cut(line, " "); subcommands[first].run != nil || first == "version" {
			found[line] = true
		}
	}
	var inline strings.Builder
	inBlock := false
	for _, line := range strings.Split(doc, "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			inBlock = !inBlock
			continue
		}
		if !inBlock {
			inline.WriteString(line + "\n")
			continue
		}
		for _, m := range re.FindAllStringSubmatch(line, -1) {
			add(regexp.MustCompile(`\s{2,}|\s+#`).Split(m[1], 2)[0])
		}
	}
	for _, span := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(inline.String(), -1) {
		for _, m := range re.FindAllStringSubmatch(strings.Join(strings.Fields(span[1]), " "), -1) {
			add(m[1])
		}
	}
	return slices.Sorted(func(yield func(string) bool) {
		for l := range found {
			if !yield(l) {
				return
			}
		}
	})
}

// docSandbox is a sandbox-like set-up the documented commands run
// against: real PostgreSQL, Redis and etcd, discordsim with an agent bot,
// and (while it runs) a node.
type docSandbox struct {
	sim        *discordsim.Sim
	agentToken string
	env        []string // the node's settings, as an operator's environment
	nodeHTTP   string   // host:port of the node's HTTP server
	node       *proc
	agentID    string
	// root is the whole test's T: processes that outlive a step end
	// with it.
	root *testing.T
}

// proc is a chopsticks process.
type proc struct {
	cmd            *exec.Cmd
	stdout, stderr bintest.LogBuffer
	done           chan struct{}
	err            error
}

// start runs `chopsticks args...` with env and stdin; the test's end kills
// it if it still runs.
func start(t *testing.T, env []string, stdin string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(bintest.Chopsticks(t), args...), done: make(chan struct{})}
	p.cmd.Env = env
	p.cmd.Stdin = strings.NewReader(stdin)
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// exitCode waits for the process and returns its exit status.
func (p *proc) exitCode(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		t.Fatalf("still running after %v\nstdout: %s\nstderr: %s", timeout, p.stdout.String(), p.stderr.String())
	}
	var ee *exec.ExitError
	if errors.As(p.err, &ee) {
		return ee.ExitCode()
	}
	if p.err != nil {
		t.Fatal(p.err)
	}
	return 0
}

// awaitOutput waits until the process wrote want (to either stream).
func (p *proc) awaitOutput(t *testing.T, want string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !strings.Contains(p.stdout.String()+p.stderr.String(), want) {
		select {
		case <-p.done:
			t.Fatalf("exited (%v) before writing %q\nstdout: %s\nstderr: %s", p.err, want, p.stdout.String(), p.stderr.String())
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %q after %v\nstdout: %s\nstderr: %s", want, timeout, p.stdout.String(), p.stderr.String())
		}
	}
}

// stop sends sig and waits for exit status 0, the documented way to stop a
// server.
func (p *proc) stop(t *testing.T, sig os.Signal) {
	t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		t.Fatal(err)
	}
	if code := p.exitCode(t, 60*time.Second); code != 0 {
		t.Errorf("exit %d after %v, want 0\nstdout: %s\nstderr: %s", code, sig, p.stdout.String(), p.stderr.String())
	}
}

// runDoc runs one command to its end and checks its exit status and
// output.
func (s *docSandbox) runDoc(t *testing.T, extra []string, stdin string, wantCode int, wantOut string, args ...string) string {
	t.Helper()
	p := start(t, append(slices.Clone(s.env), extra...), stdin, args...)
	code := p.exitCode(t, 60*time.Second)
	out := p.stdout.String() + p.stderr.String()
	if code != wantCode || !strings.Contains(out, wantOut) {
		t.Fatalf("chopsticks %s: exit %d, want %d with %q\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, wantCode, wantOut, p.stdout.String(), p.stderr.String())
	}
	return out
}

func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// docStep runs the documented lines named in docs.
type docStep struct {
	docs []string
	run  func(t *testing.T, s *docSandbox)
}

// docSteps run, in this order, every command line README.md and
// docs/operations.md give. A new command line in the docs needs a step
// here; a step whose line left the docs fails too.
var docSteps = []docStep{
	{[]string{"node"}, func(t *testing.T, s *docSandbox) {
		// Runs until the shard steps stop it; it serves the others.
		s.node = start(s.root, s.env, "", "node")
		s.node.awaitOutput(t, `"msg":"node serving"`, 60*time.Second)
	}},
	{[]string{"version"}, func(t *testing.T, s *docSandbox) {
		s.runDoc(t, nil, "", 0, "chopsticks ", "version")
	}},
	{[]string{"migrate"}, func(t *testing.T, s *docSandbox) {
		s.runDoc(t, nil, "", 0, "schema up to date", "migrate")
	}},
	{[]string{"healthcheck [-url URL]", "healthcheck -url http://127.0.0.1:8080/ready"}, func(t *testing.T, s *docSandbox) {
		// The documented URL, at the node's address. The bare form would
		// probe 127.0.0.1:8080, which a test cannot own.
		url := "http://" + s.nodeHTTP + "/ready"
		deadline := time.Now().Add(60 * time.Second)
		for {
			p := start(t, s.env, "", "healthcheck", "-url", url)
			if p.exitCode(t, 10*time.Second) == 0 && strings.Contains(p.stdout.String(), "ok") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the node was not ready within a minute: %s\nnode stdout: %s\nnode stderr: %s", p.stderr.String(), s.node.stdout.String(), s.node.stderr.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
		s.runDoc(t, nil, "", 1, "connection refused", "healthcheck", "-url", "http://"+freeAddr(t)+"/ready")
	}},
	{[]string{"status", "status [-json]"}, func(t *testing.T, s *docSandbox) {
		s.runDoc(t, nil, "", 0, "identifies left today: ", "status")
		s.runDoc(t, nil, "", 0, `"identifies_left"`, "status", "-json")
	}},
	{[]string{"commands deploy", "commands deploy [--guild ID]", "commands deploy --guild ID"}, func(t *testing.T, s *docSandbox) {
		s.runDoc(t, nil, "", 0, "globally", "commands", "deploy")
		guild := s.sim.Guilds()[0].ID.String()
		s.runDoc(t, nil, "", 0, "to guild "+guild, "commands", "deploy", "--guild", guild)
	}},
	{[]string{"agents add NAME", "agents add NAME|list|remove ID|enable ID|disable ID|rotate-key"}, func(t *testing.T, s *docSandbox) {
		key := []string{"AGENT_TOKEN_KEY=" + strings.Repeat("ab", 32)}
		out := s.runDoc(t, key, s.agentToken+"\n", 0, `added agent `, "agents", "add", "NAME")
		s.agentID = regexp.MustCompile(`added agent (\d+)`).FindStringSubmatch(out)[1]
		s.runDoc(t, key, "", 0, "NAME", "agents", "list")
		s.runDoc(t, key, "", 0, "", "agents", "disable", s.agentID)
		s.runDoc(t, key, "", 0, "", "agents", "enable", s.agentID)
		rotated := []string{"AGENT_TOKEN_KEY=" + strings.Repeat("ab", 32), "AGENT_TOKEN_KEY_NEW=" + strings.Repeat("cd", 32)}
		s.runDoc(t, rotated, "", 0, "", "agents", "rotate-key")
		s.runDoc(t, nil, "", 0, "", "agents", "remove", s.agentID)
	}},
	{[]string{"reshard --shards N", "reshard --abort", "reshard --shards N | --abort"}, func(t *testing.T, s *docSandbox) {
		n := oneMoreShard(t, s.runDoc(t, nil, "", 0, `"shard_count"`, "status", "-json"))
		s.runDoc(t, nil, "", 0, "resharding to "+n+" shards", "reshard", "--shards", n)
		deadline := time.Now().Add(60 * time.Second)
		for {
			out := s.runDoc(t, nil, "", 0, "shards: ", "status")
			if strings.Contains(out, "shards: "+n+" ") && !strings.Contains(out, "reshard:") {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("the cluster did not reshard to %s within a minute:\n%s", n, out)
			}
			time.Sleep(200 * time.Millisecond)
		}
		s.runDoc(t, nil, "", 2, "no reshard under way", "reshard", "--abort")
	}},
	{[]string{"shards set N", "shards reset", "shards set N | reset"}, func(t *testing.T, s *docSandbox) {
		s.runDoc(t, nil, "", 2, "stop every node first", "shards", "set", "2")
		// Step 1 of the procedure: stop every node.
		s.node.stop(t, syscall.SIGTERM)
		deadline := time.Now().Add(30 * time.Second)
		for {
			p := start(t, s.env, "", "shards", "set", "2")
			code := p.exitCode(t, 30*time.Second)
			if code == 0 {
				break
			}
			if code != 2 || time.Now().After(deadline) {
				t.Fatalf("shards set 2 after the node stopped: exit %d\n%s", code, p.stderr.String())
			}
			time.Sleep(200 * time.Millisecond)
		}
		s.runDoc(t, nil, "", 0, "shards: 2", "status")
		s.runDoc(t, nil, "", 0, "shard count cleared", "shards", "reset")
	}},
	{[]string{"sim --listen ADDR [...]"}, func(t *testing.T, s *docSandbox) {
		p := start(t, s.env, "", "sim", "--listen", "127.0.0.1:0")
		p.awaitOutput(t, "driver_url=", 30*time.Second)
		p.stop(t, syscall.SIGTERM)
	}},
	{[]string{"lavalinksim [flags]"}, func(t *testing.T, s *docSandbox) {
		p := start(t, s.env, "", "lavalinksim", "-addr", freeAddr(t))
		p.awaitOutput(t, "listening on", 30*time.Second)
		p.stop(t, syscall.SIGTERM)
	}},
	{[]string{"load [flags]"}, func(t *testing.T, s *docSandbox) {
		s.runDoc(t, nil, "", 0, "latency (dispatch to first response)", "load", "--nodes", "1", "--guilds", "2",
			"--users", "4", "--rate", "5", "--duration", "1s", "--quiet")
	}},
	{[]string{"sandbox [flags]"}, func(t *testing.T, s *docSandbox) {
		// PostgreSQL runs as its own user when tests run as root, and
		// t.TempDir's parent is private to root; use a folder it can enter.
		dir, err := os.MkdirTemp("", "chopsticks-docs-sandbox-")
		if err != nil {
			t.Fatal(err)
		}
		_ = os.Chmod(dir, 0o755)
		t.Cleanup(func() { os.RemoveAll(dir) })
		p := start(t, s.env, "", "sandbox", "--nodes", "1", "--guilds", "1", "--shards", "1",
			"--listen", freeAddr(t), "--dir", filepath.Join(dir, "sandbox"))
		p.awaitOutput(t, "Chopsticks sandbox is running.", 3*time.Minute)
		p.stop(t, os.Interrupt) // Ctrl-C
	}},
}

// TestDocumentedCommandsRun runs every command line README.md and
// docs/operations.md give against a sandbox-like set-up, and checks each
// exits as the docs say. The node runs without CLIENT_ID and without the
// optional features, so its log also shows what an operator who set only
// the required settings sees.
func TestDocumentedCommandsRun(t *testing.T) {
	documented := map[string]bool{}
	for _, f := range docFiles {
		for _, l := range docCommandLines(readDoc(t, f)) {
			documented[l] = true
		}
	}
	covered := map[string]bool{}
	for _, st := range docSteps {
		for _, d := range st.docs {
			covered[d] = true
			if !documented[d] {
				t.Errorf("the docs no longer give `chopsticks %s`: drop it from docSteps", d)
			}
		}
	}
	for d := range documented {
		if !covered[d] {
			t.Errorf("the docs give `chopsticks %s`, which no step of docSteps runs", d)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	sim, err := discordsim.New(discordsim.Config{Guilds: 2, RecommendedShards: 1, IdentifyWindow: 200 * time.Millisecond, HeartbeatInterval: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); sim.Close() })
	if err := sim.Start(ctx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	agent, err := sim.CreateApplication(discordsim.AppOptions{Name: "agent"})
	if err != nil {
		t.Fatal(err)
	}
	s := &docSandbox{sim: sim, agentToken: agent.Token, nodeHTTP: freeAddr(t), root: t}
	s.env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"),
		"DISCORD_TOKEN=" + sim.Token(), "DISCORD_API_URL=" + sim.URL(),
		"POSTGRES_URL=" + servertest.Postgres(t), "REDIS_URL=redis://" + servertest.Redis(t) + "/0",
		"ETCD_ENDPOINTS=" + strings.Join(servertest.Etcd(t), ","),
		"NODE_ID=docs-node", "HTTP_ADDR=" + s.nodeHTTP, "GOSSIP_ADDR=127.0.0.1:0", "LEASE_TTL=2s", "NODE_ENV=test",
	}
	for _, st := range docSteps {
		if !t.Run(st.docs[0], func(t *testing.T) { st.run(t, s) }) {
			t.FailNow()
		}
	}

	// The node's log: JSON lines on stdout, one key once per line, and a
	// warn line for each feature left off; stderr holds nothing.
	if s.node.stderr.String() != "" {
		t.Errorf("the node wrote to stderr:\n%s", s.node.stderr.String())
	}
	logs := s.node.stdout.String()
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(nil, 1<<20)
	lines := 0
	for sc.Scan() {
		lines++
		if err := bintest.LogLine(sc.Bytes()); err != nil {
			t.Errorf("log line %s: %v", sc.Text(), err)
		}
	}
	if lines == 0 {
		t.Error("the node wrote no log line to stdout")
	}
	for _, want := range []string{
		`"level":"WARN","msg":"dashboard off: set DISCORD_CLIENT_SECRET, DISCORD_REDIRECT_URI, DASHBOARD_SESSION_SECRET to turn it on"`,
		`"level":"WARN","msg":"music off: set LAVALINK_NODES, AGENT_TOKEN_KEY to turn it on"`,
		`"level":"WARN","msg":"tracing off: set OTEL_EXPORTER_OTLP_ENDPOINT to turn it on"`,
		`"msg":"node serving"`, `"msg":"stopped"`,
	} {
		if !strings.Contains(logs, want) {
			t.Errorf("the node's log lacks %s", want)
		}
	}
}

// standardOTEL are the OpenTelemetry SDK's variables the docs list, with
// their defaults; they are not flags (the node names its service
// "chopsticks" when OTEL_SERVICE_NAME is unset: telemetry.ServiceName).
var standardOTEL = map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "", "OTEL_SERVICE_NAME": "chopsticks"}

// docRow is one row of a Markdown table, by column name.
type docRow map[string]string

// docTables returns the rows of every table of doc whose header has all
// the columns named.
func docTables(doc string, columns ...string) []docRow {
	var rows []docRow
	var header []string
	for _, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			header = nil
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		switch {
		case header == nil:
			header = cells
			for _, c := range columns {
				if !slices.Contains(header, c) {
					header = []string{}
				}
			}
		case len(header) == 0 || strings.HasPrefix(cells[0], "---"):
		default:
			row := docRow{}
			for i, h := range header {
				if i < len(cells) {
					row[h] = cells[i]
				}
			}
			rows = append(rows, row)
		}
	}
	return rows
}

// firstCode returns the first `code` span of a cell, up to any '='.
func firstCode(cell string) string {
	m := regexp.MustCompile("`([^`]*)`").FindStringSubmatch(cell)
	if m == nil {
		return ""
	}
	v, _, _ := strings.Cut(m[1], "=")
	return v
}

// TestDocumentedSettingsAreTheCodes: the settings tables of README.md and
// docs/operations.md list exactly the node's settings (node.Settings) and
// the standard OTEL_* variables the deployments set, each with the default
// the code has: "required" for a required one, the value in code
// formatting, or words ("none (dashboard off)") for a setting without a
// default. dashboard/README.md names only real settings. A new setting
// needs a row in both tables, nothing else.
func TestDocumentedSettingsAreTheCodes(t *testing.T) {
	code := map[string]node.Setting{}
	for _, s := range node.Settings() {
		code[s.Env] = s
	}
	for name, def := range standardOTEL {
		code[name] = node.Setting{Env: name, Default: def}
	}
	host, _ := os.Hostname()
	for _, f := range docFiles {
		t.Run(f, func(t *testing.T) {
			rows := docTables(readDoc(t, f), "variable", "default")
			seen := map[string]bool{}
			for _, r := range rows {
				name, def := firstCode(r["variable"]), r["default"]
				if seen[name] {
					t.Errorf("%s has two rows", name)
				}
				seen[name] = true
				s, ok := code[name]
				if !ok {
					t.Errorf("%s is documented, but the node has no such setting", name)
					continue
				}
				switch {
				case strings.HasPrefix(def, "required"):
					if !s.Required {
						t.Errorf("%s is documented as required; the node starts without it", name)
					}
				case s.Required:
					t.Errorf("%s is required, but documented with the default %q", name, def)
				case strings.HasPrefix(def, "`"):
					if got := firstCode(def); got != s.Default {
						t.Errorf("%s: documented default %s, the code's is %q", name, def, s.Default)
					}
				case def == "host name":
					if s.Default != host {
						t.Errorf("%s: documented default is the host name, the code's is %q", name, s.Default)
					}
				case s.Default != "" && s.Default != "0" && s.Default != "false":
					t.Errorf("%s: documented default %q, the code's is %q", name, def, s.Default)
				}
			}
			for name := range code {
				if !seen[name] {
					t.Errorf("the node reads %s, which the table does not document", name)
				}
			}
		})
	}
	t.Run("dashboard/README.md", func(t *testing.T) {
		for _, r := range docTables(readDoc(t, "dashboard/README.md"), "environment") {
			if name := firstCode(r["environment"]); name != "" {
				if _, ok := code[name]; !ok {
					t.Errorf("%s is documented, but the node has no such setting", name)
				}
			}
		}
	})
}

// TestDocumentedRateLimitKeysAreTheCodes: the RATE_LIMITS table of
// docs/operations.md names every key the limiter reads (those
// ratelimit.Config.String spells out), each with its default: setting a
// key to its documented default leaves the policy as it is. A new key
// needs a row, nothing else.
func TestDocumentedRateLimitKeysAreTheCodes(t *testing.T) {
	policy := ratelimit.DefaultConfig().String()
	defaults := map[string]string{}
	for _, kv := range strings.Split(policy, ", ") {
		k, v, _ := strings.Cut(kv, "=")
		defaults[k] = v
	}
	seen := map[string]bool{}
	for _, r := range docTables(readDoc(t, "docs/operations.md"), "key", "default") {
		key, def := firstCode(r["key"]), firstCode(r["default"])
		if strings.Contains(key, "<") { // a family of keys, such as global.<command>
			continue
		}
		seen[key] = true
		c, err := ratelimit.ParseConfig(key + "=" + def)
		switch {
		case err != nil:
			t.Errorf("RATE_LIMITS=%s=%s, the documented default, is refused: %v", key, def, err)
		case c.String() != policy:
			t.Errorf("RATE_LIMITS key %s: the documented default %q is not the code's (%q)", key, def, defaults[key])
		}
	}
	for k := range defaults {
		if !seen[k] {
			t.Errorf("the limiter reads RATE_LIMITS key %s, which docs/operations.md does not document", k)
		}
	}
}
