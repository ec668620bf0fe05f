package discordsim

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// The discord.js conformance test runs discord.js's own gateway and REST
// libraries (written by others against the real Discord) against the
// emulator, so the emulator cannot drift into agreeing with our bot's
// mistakes. The exact package versions are pinned in
// testdata/conformance/package.json and package-lock.json; they are installed
// once with `npm ci` into the user cache directory and reused offline.

const conformanceDir = "testdata/conformance"

// requireNode returns the paths of node and npm, failing loudly when absent.
func requireNode(t *testing.T) (node, npm string) {
	t.Helper()
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		t.Fatalf("the discord.js conformance test needs node and npm: apt-get install -y nodejs npm (node: %v, npm: %v)", errNode, errNpm)
	}
	// @discordjs/ws 2.x declares engines.node >= 20.
	v, err := exec.Command(node, "--version").Output()
	if err != nil {
		t.Fatalf("%s --version: %v", node, err)
	}
	major, _, _ := strings.Cut(strings.TrimPrefix(strings.TrimSpace(string(v)), "v"), ".")
	if n, err := strconv.Atoi(major); err != nil || n < 20 {
		t.Fatalf("the discord.js conformance test needs node >= 20, found %s: install a newer nodejs (e.g. apt-get install -y nodejs from NodeSource 20.x)", bytes.TrimSpace(v))
	}
	return node, npm
}

// conformanceModules installs the pinned packages with `npm ci` into a cache
// directory keyed by the hash of package.json and package-lock.json and
// returns that directory (it contains node_modules).
func conformanceModules(t *testing.T, npm string) string {
	t.Helper()
	pkg, err := os.ReadFile(filepath.Join(conformanceDir, "package.json"))
	if err != nil {
		t.Fatal(err)
	}
	lock, err := os.ReadFile(filepath.Join(conformanceDir, "package-lock.json"))
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	h.Write(pkg)
	h.Write([]byte{0})
	h.Write(lock)
	key := hex.EncodeToString(h.Sum(nil))[:16]
	base, err := os.UserCacheDir() // $XDG_CACHE_HOME or ~/.cache
	if err != nil {
		base = os.TempDir()
	}
	root := filepath.Join(base, "chopsticks")
	dir := filepath.Join(root, "conformance-"+key)
	if _, err := os.Stat(filepath.Join(dir, ".complete")); err == nil {
		return dir
	}
	if err := os.MkdirAll(root, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(root, "conformance-install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp) // a no-op after the rename
	for name, b := range map[string][]byte{"package.json": pkg, "package-lock.json": lock} {
		if err := os.WriteFile(filepath.Join(tmp, name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, npm, "ci", "--no-audit", "--no-fund")
	cmd.Dir = tmp
	cmd.Env = append(os.Environ(), "npm_config_update_notifier=false", "npm_config_loglevel=warn")
	start := time.Now()
	if outb, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci of %s failed (the npm registry must be reachable on the first run): %v\n%s", conformanceDir, err, outb)
	}
	t.Logf("npm ci installed the discord.js packages into %s in %v", dir, time.Since(start).Round(time.Millisecond))
	if err := os.WriteFile(filepath.Join(tmp, ".complete"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, dir); err != nil {
		// Another run installed the same lock file at the same time.
		if _, statErr := os.Stat(filepath.Join(dir, ".complete")); statErr != nil {
			t.Fatalf("install discord.js packages: %v", err)
		}
	}
	return dir
}

// jsLine is one JSON line the script printed.
type jsLine struct {
	Event string `json:"event"`
	Shard *int   `json:"shard"`
	raw   []byte
}

func (l jsLine) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(l.raw, v); err != nil {
		t.Fatalf("decode %s: %v", l.raw, err)
	}
}

func (l jsLine) isShard(shard int) bool { return l.Shard != nil && *l.Shard == shard }

// jsProc is the running node script: commands go to its stdin, JSON lines
// come from its stdout and are kept in order.
type jsProc struct {
	t     *testing.T
	cmd   *exec.Cmd
	stdin io.WriteCloser

	mu     sync.Mutex
	lines  []jsLine
	stderr bytes.Buffer
	done   bool // stdout reached EOF
	change chan struct{}
}

// startJS runs script with node in a fresh directory whose node_modules links
// to the installed packages.
func startJS(t *testing.T, node, modules string, env []string) *jsProc {
	t.Helper()
	run := t.TempDir()
	if err := os.Symlink(filepath.Join(modules, "node_modules"), filepath.Join(run, "node_modules")); err != nil {
		t.Fatal(err)
	}
	src, err := os.ReadFile(filepath.Join(conformanceDir, "conformance.mjs"))
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(run, "conformance.mjs")
	if err := os.WriteFile(script, src, 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node, script)
	cmd.Dir = run
	cmd.Env = append(os.Environ(), env...)
	p := &jsProc{t: t, cmd: cmd, change: make(chan struct{})}
	cmd.Stderr = lockedWriter{mu: &p.mu, w: &p.stderr}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	readDone := make(chan struct{})
	go func() { // owned by p; ends when node's stdout closes
		defer close(readDone)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 0, 64<<10), 4<<20)
		for sc.Scan() {
			b := slices.Clone(sc.Bytes())
			var l jsLine
			if err := json.Unmarshal(b, &l); err != nil {
				l = jsLine{Event: "non_json"}
				b, _ = json.Marshal(map[string]string{"event": "non_json", "text": string(b)})
			}
			l.raw = b
			p.mu.Lock()
			p.lines = append(p.lines, l)
			close(p.change)
			p.change = make(chan struct{})
			p.mu.Unlock()
		}
		p.mu.Lock()
		p.done = true
		close(p.change)
		p.change = make(chan struct{})
		p.mu.Unlock()
	}()
	t.Cleanup(func() {
		_ = p.stdin.Close() // the script exits on stdin EOF
		exited := make(chan error, 1)
		go func() { <-readDone; exited <- cmd.Wait() }()
		select {
		case <-exited:
		case <-time.After(5 * time.Second):
			_ = cmd.Process.Kill() // the node process this test started
			<-exited
		}
		if t.Failed() {
			p.dump()
		}
	})
	return p
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (lw lockedWriter) Write(b []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	return lw.w.Write(b)
}

// dump logs the script's output (without heartbeat noise) for a failed test.
func (p *jsProc) dump() {
	p.mu.Lock()
	defer p.mu.Unlock()
	var b strings.Builder
	for _, l := range p.lines {
		if l.Event == "heartbeat_ack" || l.Event == "http" {
			continue
		}
		b.Write(l.raw)
		b.WriteByte('\n')
	}
	p.t.Logf("discord.js script output:\n%s\nstderr:\n%s", b.String(), p.stderr.String())
}

func (p *jsProc) send(cmd any) {
	p.t.Helper()
	b, err := json.Marshal(cmd)
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.stdin.Write(append(b, '\n')); err != nil {
		p.t.Fatalf("write to node: %v", err)
	}
}

// all returns the lines printed so far that match pred.
func (p *jsProc) all(pred func(jsLine) bool) []jsLine {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []jsLine
	for _, l := range p.lines {
		if pred(l) {
			out = append(out, l)
		}
	}
	return out
}

// waitN waits until n lines match pred and returns them; it fails on a fatal
// script error, on the script's exit, or after timeout.
func (p *jsProc) waitN(n int, timeout time.Duration, what string, pred func(jsLine) bool) []jsLine {
	p.t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		p.mu.Lock()
		var got []jsLine
		for _, l := range p.lines {
			if l.Event == "fatal" || l.Event == "cmd_failed" {
				p.mu.Unlock()
				p.t.Fatalf("discord.js script failed while waiting for %s: %s", what, l.raw)
			}
			if pred(l) {
				got = append(got, l)
			}
		}
		done, change := p.done, p.change
		p.mu.Unlock()
		if len(got) >= n {
			return got
		}
		if done {
			p.t.Fatalf("discord.js script exited while waiting for %s (%d of %d)", what, len(got), n)
		}
		select {
		case <-change:
		case <-deadline.C:
			p.t.Fatalf("timeout after %v waiting for %s (%d of %d)", timeout, what, len(got), n)
		}
	}
}

func (p *jsProc) wait(timeout time.Duration, what string, pred func(jsLine) bool) jsLine {
	p.t.Helper()
	return p.waitN(1, timeout, what, pred)[0]
}

func event(name string) func(jsLine) bool {
	return func(l jsLine) bool { return l.Event == name }
}

func shardEvent(name string, shard int) func(jsLine) bool {
	return func(l jsLine) bool { return l.Event == name && l.isShard(shard) }
}

// TestConformanceDiscordJS runs @discordjs/ws and @discordjs/rest against the
// emulator: 4 shards identify in rounds of one shard per max_concurrency
// rate-limit key, receive their guilds, resume after a forced op 7, answer a
// slash command through REST, keep to a route bucket from the headers alone,
// and recover from a shared-bucket 429 and from global 429s.
func TestConformanceDiscordJS(t *testing.T) {
	node, npm := requireNode(t)
	modules := conformanceModules(t, npm)

	const shards = 4
	cfg := Config{
		Guilds:            12,
		RecommendedShards: shards,
		// Two rate-limit keys make the rounds observable: two identifies, 5 s, two more.
		MaxConcurrency: 2,
		// Discord's 5 s, which discord.js hard-codes in its identify throttler.
		// discord.js times its 5 s from before it sends; the emulator from
		// when the IDENTIFY arrives. 10 ms absorbs that transit (about 2 ms
		// measured) so a correct client is not refused by chance.
		IdentifyWindow:      5*time.Second - 10*time.Millisecond,
		HeartbeatInterval:   2 * time.Second,
		InteractionDeadline: 3 * time.Second,
		RouteRateLimit:      2,
		RouteRateWindow:     time.Second,
		GlobalRateLimit:     10,
		GlobalRateWindow:    time.Second,
		RequireUserAgent:    true,
	}
	sim, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	simCtx, stopSim := context.WithCancel(context.Background())
	if err := sim.Start(simCtx, "127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		stopSim()
		_ = sim.Close()
	})
	appID := sim.AppID()

	js := startJS(t, node, modules, []string{
		"SIM_API=" + sim.URL() + "/api",
		"SIM_TOKEN=" + sim.Token(),
		"SIM_APP_ID=" + appID.String(),
	})

	// REST basics and GET /gateway/bot as discord.js reads them.
	var me struct {
		ID  Snowflake `json:"id"`
		Bot bool      `json:"bot"`
	}
	js.wait(10*time.Second, "GET /users/@me", event("me")).decode(t, &me)
	if me.ID != sim.DefaultApp().BotUserID || !me.Bot {
		t.Errorf("GET /users/@me = %+v, want bot user %s", me, sim.DefaultApp().BotUserID)
	}
	var gw struct {
		URL    string         `json:"url"`
		Shards int            `json:"shards"`
		SSL    map[string]int `json:"session_start_limit"`
	}
	gwLine := js.wait(5*time.Second, "GET /gateway/bot", event("gateway_bot"))
	gwLine.decode(t, &gw)
	if gw.URL != sim.GatewayURL() || gw.Shards != shards || gw.SSL["max_concurrency"] != cfg.MaxConcurrency ||
		gw.SSL["total"] != 1000 || gw.SSL["remaining"] != 1000 || gw.SSL["reset_after"] <= 0 {
		t.Errorf("GET /gateway/bot = %s", gwLine.raw)
	}
	var cmds struct{ Names []string }
	js.wait(5*time.Second, "PUT /applications/{id}/commands", event("commands")).decode(t, &cmds)
	if !slices.Equal(cmds.Names, []string{"ping"}) || len(sim.Commands(appID, 0)) != 1 {
		t.Fatalf("bulk PUT commands: script got %v, emulator has %+v", cmds.Names, sim.Commands(appID, 0))
	}

	// 4 shards: READY and every guild of the shard as GUILD_CREATE.
	type readyEv struct {
		Shard       int         `json:"shard"`
		SessionID   string      `json:"session_id"`
		ResumeURL   string      `json:"resume_gateway_url"`
		ShardField  [2]int      `json:"shard_field"`
		V           int         `json:"v"`
		UserID      Snowflake   `json:"user_id"`
		AppID       Snowflake   `json:"application_id"`
		Guilds      []Snowflake `json:"guilds"`
		Unavailable bool        `json:"unavailable"`
	}
	readies := map[int]readyEv{}
	for _, l := range js.waitN(shards, 20*time.Second, "READY on 4 shards", event("ready")) {
		var r readyEv
		l.decode(t, &r)
		readies[r.Shard] = r
	}
	for _, l := range js.waitN(shards, 10*time.Second, "GUILD_CREATE for every guild of every shard", event("guilds_complete")) {
		var c struct {
			Shard  int         `json:"shard"`
			Guilds []Snowflake `json:"guilds"`
		}
		l.decode(t, &c)
		want := sim.BotGuilds(appID, c.Shard, shards)
		slices.Sort(want)
		slices.Sort(c.Guilds)
		if len(want) != cfg.Guilds/shards || !slices.Equal(c.Guilds, want) {
			t.Errorf("shard %d received guilds %v, emulator says it owns %v", c.Shard, c.Guilds, want)
		}
		r := readies[c.Shard]
		slices.Sort(r.Guilds)
		if !slices.Equal(r.Guilds, want) || !r.Unavailable {
			t.Errorf("shard %d READY guilds %v (all unavailable: %v), want %v", c.Shard, r.Guilds, r.Unavailable, want)
		}
	}
	for shard := range shards {
		r, ok := readies[shard]
		if !ok || r.ShardField != [2]int{shard, shards} || r.V != 10 || r.SessionID == "" ||
			!strings.HasPrefix(r.ResumeURL, sim.GatewayURL()) || r.UserID != me.ID || r.AppID != appID {
			t.Errorf("READY of shard %d = %+v", shard, r)
		}
		if n := len(js.all(shardEvent("guild_create", shard))); n != cfg.Guilds/shards {
			t.Errorf("shard %d got %d GUILD_CREATE, want %d", shard, n, cfg.Guilds/shards)
		}
	}

	// Identifies: one per shard, accepted, in rounds of one shard per
	// rate_limit_key (shard_id % max_concurrency), each key 5 s apart
	// (events-gateway.mdx, "Max Concurrency"). Which shard of a key goes first
	// is not asserted: discord.js queues shards per key in the order their
	// HELLO arrived, not by shard ID (see the report in the package README).
	ids := sim.Identifies()
	if len(ids) != shards {
		t.Fatalf("%d identifies, want %d: %+v", len(ids), shards, ids)
	}
	var order []int
	last := map[int]time.Time{}
	for i, rec := range ids {
		order = append(order, rec.Shard[0])
		if !rec.Accepted || rec.AppID != appID || rec.Shard[1] != shards || rec.Bucket != rec.Shard[0]%cfg.MaxConcurrency {
			t.Errorf("identify %+v", rec)
		}
		if round, key := i/cfg.MaxConcurrency, i%cfg.MaxConcurrency; round > 0 && rec.Time.Sub(ids[key].Time) < time.Duration(round)*cfg.IdentifyWindow {
			t.Errorf("identify %d (shard %d) came %v after round 0, before round %d may start", i, rec.Shard[0], rec.Time.Sub(ids[key].Time), round)
		}
		if prev, ok := last[rec.Bucket]; ok {
			gap := rec.Time.Sub(prev)
			if gap < cfg.IdentifyWindow {
				t.Errorf("bucket %d: shard %d identified %v after the previous one, window %v", rec.Bucket, rec.Shard[0], gap, cfg.IdentifyWindow)
			}
			t.Logf("bucket %d: shard %d identified %v after the bucket's previous identify", rec.Bucket, rec.Shard[0], gap.Round(time.Millisecond))
		}
		last[rec.Bucket] = rec.Time
	}
	for round := 0; round*cfg.MaxConcurrency < len(ids); round++ {
		keys := map[int]bool{}
		for _, rec := range ids[round*cfg.MaxConcurrency : min(len(ids), (round+1)*cfg.MaxConcurrency)] {
			keys[rec.Bucket] = true
		}
		if len(keys) != cfg.MaxConcurrency {
			t.Errorf("identify round %d used rate-limit keys %v, want one identify per key: %+v", round, keys, ids)
		}
	}
	t.Logf("identify order (shard IDs): %v", order)
	// How long each IDENTIFY took from discord.js's throttle release to the
	// emulator's record (the emulator measures the window at receipt).
	for _, rec := range ids {
		for _, l := range js.all(shardEvent("debug", rec.Shard[0])) {
			var d struct {
				At      float64 `json:"at"`
				Message string  `json:"message"`
			}
			l.decode(t, &d)
			if strings.HasPrefix(d.Message, "Identifying") {
				sent := time.UnixMicro(int64(d.At * 1000))
				t.Logf("shard %d: IDENTIFY recorded %v after discord.js released it", rec.Shard[0], rec.Time.Sub(sent).Round(10*time.Microsecond))
			}
		}
	}
	if v := sim.ViolationsOf(ViolationIdentifyRateLimited); len(v) != 0 {
		t.Errorf("identify rate limit violations: %+v", v)
	}
	for shard := range shards {
		js.wait(3*cfg.HeartbeatInterval, fmt.Sprintf("heartbeat ACK on shard %d", shard), shardEvent("heartbeat_ack", shard))
	}

	// Forced op 7 on shard 2: discord.js resumes on resume_gateway_url.
	if n := sim.Reconnect(ShardTarget(2)); n != 1 {
		t.Fatalf("op 7 reached %d connections, want 1", n)
	}
	js.wait(10*time.Second, "RESUMED on shard 2", shardEvent("resumed", 2))
	rs := sim.Resumes()
	if len(rs) != 1 || !rs[0].Accepted || rs[0].Shard != [2]int{2, shards} || rs[0].SessionID != readies[2].SessionID || !rs[0].ViaResumeURL {
		t.Errorf("resumes after op 7 = %+v (READY session %q)", rs, readies[2].SessionID)
	}
	// discord.js resumes from the last seq it saw: READY (1) and the shard's GUILD_CREATEs.
	if want := int64(1 + cfg.Guilds/shards); len(rs) == 1 && (rs[0].Seq != want || rs[0].Replayed != 0) {
		t.Errorf("RESUME seq %d (replayed %d), want seq %d and nothing to replay", rs[0].Seq, rs[0].Replayed, want)
	}
	if n := len(sim.Identifies()); n != shards {
		t.Errorf("op 7 led to a new IDENTIFY (%d identifies)", n)
	}
	for shard := range shards {
		if live := sim.LiveSessions(shard); len(live) != 1 {
			t.Errorf("shard %d has %d live sessions: %+v", shard, len(live), live)
		}
	}

	// A slash command in a guild of the resumed shard, answered through REST.
	guild := sim.BotGuilds(appID, 2, shards)[0]
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	it, err := sim.Invoke(ctx, Invocation{GuildID: guild, UserID: sim.DefaultUsers()[0], Command: "ping"})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := it.WaitMessage(ctx)
	if err != nil {
		t.Fatalf("no reply to the interaction: %v (%+v)", err, it.Info())
	}
	if want := "pong from discord.js shard 2"; msg.Content != want || msg.InteractionID != it.ID {
		t.Errorf("reply = %+v, want content %q for interaction %s", msg, want, it.ID)
	}
	var got struct {
		Shard int       `json:"shard"`
		ID    Snowflake `json:"id"`
	}
	js.wait(5*time.Second, "INTERACTION_CREATE", event("interaction")).decode(t, &got)
	if got.Shard != 2 || got.ID != it.ID {
		t.Errorf("INTERACTION_CREATE %+v reached the wrong shard (want 2, interaction %s)", got, it.ID)
	}
	js.wait(5*time.Second, "callback answered", event("interaction_answered"))
	if info := it.Info(); info.Failed || info.DoubleAcks != 0 || info.LateAnswers != 0 || info.Response == nil || info.Response.Type != CallbackChannelMessageWithSource {
		t.Errorf("interaction outcome %+v", info)
	}

	// Route bucket: 6 messages at once to one channel; discord.js must pace
	// itself from X-RateLimit-* (2 per second) without a single 429.
	channel, _ := sim.TextChannel(sim.BotGuilds(appID, 0, shards)[0])
	const burst = 6
	js.send(map[string]any{"cmd": "route_burst", "channel_id": channel.String(), "n": burst})
	var rb struct {
		OK        bool     `json:"ok"`
		ElapsedMs int      `json:"elapsed_ms"`
		Sent      int      `json:"sent"`
		Failed    []string `json:"failed"`
		Error     string   `json:"error"`
	}
	js.wait(20*time.Second, "route burst", event("route_burst_done")).decode(t, &rb)
	minElapsed := time.Duration((burst+cfg.RouteRateLimit-1)/cfg.RouteRateLimit-1) * cfg.RouteRateWindow
	if !rb.OK || rb.Sent != burst || len(rb.Failed) != 0 || time.Duration(rb.ElapsedMs)*time.Millisecond < minElapsed {
		t.Errorf("route burst = %+v, want %d sent in at least %v", rb, burst, minElapsed)
	}
	if n := len(js.all(event("http_429"))); n != 0 {
		t.Errorf("discord.js got %d 429s on a single route bucket: it could not follow the X-RateLimit headers", n)
	}
	if len(js.all(event("rest_rate_limited"))) == 0 {
		t.Errorf("discord.js never waited for the route bucket: the headers did not tell it the bucket was exhausted")
	}
	burstMsgs := 0
	for _, m := range sim.ChannelMessages(channel) {
		if strings.HasPrefix(m.Content, "burst ") {
			burstMsgs++
		}
	}
	if burstMsgs != burst {
		t.Errorf("emulator stored %d burst messages, want %d", burstMsgs, burst)
	}

	// Shared bucket: two clients that do not share state post to one channel
	// at once; one of them draws a 429 (scope user) and retries after it.
	shared, _ := sim.TextChannel(sim.BotGuilds(appID, 1, shards)[0])
	js.send(map[string]any{"cmd": "shared_bucket", "channel_id": shared.String(), "n": cfg.RouteRateLimit})
	var sb struct {
		OK     bool     `json:"ok"`
		Sent   int      `json:"sent"`
		Failed []string `json:"failed"`
		Error  string   `json:"error"`
	}
	js.wait(20*time.Second, "shared bucket", event("shared_bucket_done")).decode(t, &sb)
	if !sb.OK || sb.Sent != 2*cfg.RouteRateLimit || len(sb.Failed) != 0 {
		t.Errorf("shared bucket = %+v, want %d sent", sb, 2*cfg.RouteRateLimit)
	}
	routeSeen := js.all(event("http_429"))
	if len(routeSeen) > 0 {
		t.Logf("shared bucket: %d route 429s handled by discord.js; first: %s", len(routeSeen), routeSeen[0].raw)
	} else {
		t.Errorf("two clients over one bucket of %d drew no 429", cfg.RouteRateLimit)
	}
	for _, l := range routeSeen {
		r := decode429(t, l)
		if r.Headers["x-ratelimit-scope"] != "user" || r.Headers["x-ratelimit-global"] != "" ||
			r.Headers["x-ratelimit-limit"] != strconv.Itoa(cfg.RouteRateLimit) || r.Headers["x-ratelimit-remaining"] != "0" ||
			r.Headers["x-ratelimit-bucket"] == "" || r.Headers["x-ratelimit-reset"] == "" || r.Headers["x-ratelimit-reset-after"] == "" ||
			r.Body.Global == nil || *r.Body.Global || !r.retryOK(cfg.RouteRateWindow) {
			t.Errorf("route 429 not as documented (topics-rate-limits.mdx, exceeded user rate limit): %s", l.raw)
		}
	}

	// Global limit: one request on each of many route buckets at once from a
	// client allowed more than the server's global limit; the server answers
	// 429 (global) and discord.js waits Retry-After and retries until all succeed.
	var channels []string
	for _, g := range sim.Guilds() {
		for _, c := range g.Channels {
			channels = append(channels, c.ID.String())
		}
	}
	if len(channels) <= cfg.GlobalRateLimit {
		t.Fatalf("only %d channels for the global burst", len(channels))
	}
	js.send(map[string]any{"cmd": "global_burst", "channel_ids": channels})
	var gb struct {
		OK      bool     `json:"ok"`
		Fetched int      `json:"fetched"`
		Failed  []string `json:"failed"`
		Error   string   `json:"error"`
	}
	js.wait(20*time.Second, "global burst", event("global_burst_done")).decode(t, &gb)
	if !gb.OK || gb.Fetched != len(channels) || len(gb.Failed) != 0 {
		t.Errorf("global burst = %+v, want %d channels fetched", gb, len(channels))
	}
	seen := js.all(func(l jsLine) bool {
		return l.Event == "http_429" && strings.Contains(string(l.raw), `"client":"burst"`)
	})
	if len(seen) > 0 {
		t.Logf("first global 429: %s", seen[0].raw)
	} else {
		t.Errorf("%d requests at once over a global limit of %d drew no 429", len(channels), cfg.GlobalRateLimit)
	}
	t.Logf("global burst: %d requests, %d 429s handled by discord.js in %s ms", len(channels), len(seen), gbElapsed(js))
	for _, l := range seen {
		r := decode429(t, l)
		if r.Headers["x-ratelimit-global"] != "true" || r.Headers["x-ratelimit-scope"] != "global" ||
			r.Body.Global == nil || !*r.Body.Global || !r.retryOK(cfg.GlobalRateWindow) {
			t.Errorf("global 429 not as documented (topics-rate-limits.mdx, exceeded global rate limit): %s", l.raw)
		}
	}
	var globals int
	for _, v := range sim.ViolationsOf(ViolationRateLimited) {
		if strings.HasPrefix(v.Detail, "global ") {
			globals++
		}
	}
	if all := len(sim.ViolationsOf(ViolationRateLimited)); all != len(seen)+len(routeSeen) || globals != len(seen) {
		t.Errorf("emulator recorded %d rest_rate_limited (%d global); discord.js saw %d route and %d global 429s",
			all, globals, len(routeSeen), len(seen))
	}

	// Shutdown: discord.js closes with 1000, which ends every session.
	js.send(map[string]any{"cmd": "exit"})
	js.wait(10*time.Second, "destroy", event("bye"))
	endCtx, endCancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer endCancel()
	if err := sim.Await(endCtx, func() bool {
		for _, si := range sim.Sessions() {
			if si.Live || si.Resumable {
				return false
			}
		}
		return true
	}); err != nil {
		t.Errorf("sessions after discord.js closed with 1000: %+v", sim.Sessions())
	}

	// Every session's dispatches carried consecutive sequence numbers, with no gap or duplicate.
	for _, si := range sim.Sessions() {
		var next int64 = 1
		for _, d := range sim.Deliveries(si.ID) {
			if d.Replay {
				continue
			}
			if d.Seq != next {
				t.Errorf("session of shard %v: seq %d (%s) where %d was due", si.Shard, d.Seq, d.Type, next)
			}
			next = d.Seq + 1
		}
	}

	for _, v := range sim.Violations() {
		if v.Kind != ViolationRateLimited {
			t.Errorf("violation: %+v", v)
		}
	}
	for _, name := range []string{"shard_error", "interaction_answer_failed", "non_json", "unknown_cmd", "bad_cmd"} {
		for _, l := range js.all(event(name)) {
			t.Errorf("discord.js script: %s", l.raw)
		}
	}
	var closes []string
	for _, l := range js.all(event("closed")) {
		closes = append(closes, string(l.raw))
	}
	t.Logf("discord.js close events: %v", closes)
}

// gbElapsed returns the duration the script reported for the global burst.
func gbElapsed(js *jsProc) string {
	for _, l := range js.all(event("global_burst_done")) {
		var v struct {
			ElapsedMs int `json:"elapsed_ms"`
		}
		if json.Unmarshal(l.raw, &v) == nil {
			return strconv.Itoa(v.ElapsedMs)
		}
	}
	return "?"
}

// js429 is a 429 response as discord.js's transport received it.
type js429 struct {
	Headers map[string]string `json:"headers"`
	Body    struct {
		Message    string   `json:"message"`
		RetryAfter *float64 `json:"retry_after"`
		Global     *bool    `json:"global"`
	} `json:"body"`
}

func decode429(t *testing.T, l jsLine) js429 {
	t.Helper()
	var r js429
	l.decode(t, &r)
	return r
}

// retryOK reports whether the body's retry_after (float seconds) and the
// Retry-After header (whole seconds, rounded up as in the docs' examples) agree
// and lie within the limit's window.
func (r js429) retryOK(window time.Duration) bool {
	header, err := strconv.ParseFloat(r.Headers["retry-after"], 64)
	return err == nil && r.Body.Message != "" && r.Body.RetryAfter != nil && *r.Body.RetryAfter > 0 &&
		*r.Body.RetryAfter <= window.Seconds() && header >= *r.Body.RetryAfter && header < *r.Body.RetryAfter+1
}
