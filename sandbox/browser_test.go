package sandbox_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/chopsticks-bot/chopsticks/bintest"
	"github.com/chopsticks-bot/chopsticks/browsertest"
	"github.com/chopsticks-bot/chopsticks/poll"
	"github.com/chopsticks-bot/chopsticks/sandbox"
)

// awaitShards waits until the playground reports every shard running.
func awaitShards(t *testing.T, playground string, shards int) {
	t.Helper()
	poll.Eventually(t, 60*time.Second, func() (bool, string) {
		var body struct {
			Nodes []struct {
				Shards []int `json:"shards"`
			} `json:"nodes"`
		}
		resp, err := http.Get(playground + "/api/nodes")
		if err == nil {
			_ = json.NewDecoder(resp.Body).Decode(&body)
			resp.Body.Close()
		}
		seen := map[int]bool{}
		for _, n := range body.Nodes {
			for _, s := range n.Shards {
				seen[s] = true
			}
		}
		return len(seen) == shards, fmt.Sprintf("the cluster runs shards %v of %d", seen, shards)
	}, "every shard to run")
}

func TestPlaygroundInBrowser(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	started := make(chan *sandbox.Sandbox, 1)
	done := make(chan error, 1)
	// PostgreSQL runs as its own user when tests run as root, and
	// t.TempDir's parent is private to root; use a folder it can enter.
	dir, err := os.MkdirTemp("", "chopsticks-sandbox-test-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(dir, 0o755)
	t.Cleanup(func() { os.RemoveAll(dir) })
	var out strings.Builder
	go func() {
		done <- sandbox.Run(ctx, sandbox.Config{
			Dir: filepath.Join(dir, "sbx"), Listen: "127.0.0.1:0", Nodes: 1, Guilds: 2, Shards: 2,
			Binary: bintest.Chopsticks(t), Out: &out, Started: func(s *sandbox.Sandbox) { started <- s },
		})
	}()
	var (
		exited bool
		runErr error
	)
	t.Cleanup(func() {
		cancel()
		if !exited {
			runErr = <-done
		}
		if runErr != nil {
			t.Errorf("sandbox: %v", runErr)
		}
	})
	var sb *sandbox.Sandbox
	select {
	case sb = <-started:
	case runErr = <-done:
		exited = true
		t.Fatalf("sandbox stopped: %v\n%s", runErr, out.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("sandbox did not start:\n%s", out.String())
	}

	bctx := browsertest.New(t, 180*time.Second)

	// Listen sees events in order on the reading goroutine; collect under a lock.
	var mu sync.Mutex
	var consoleErrors []string
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *cdpruntime.EventExceptionThrown:
			consoleErrors = append(consoleErrors, e.ExceptionDetails.Text)
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type == cdpruntime.ConsoleAPICalledTypeError {
				consoleErrors = append(consoleErrors, "console.error")
			}
		}
	}); err != nil {
		t.Fatalf("browser: %v", err)
	}
	fail := func(err error) {
		t.Helper()
		// A screenshot of the page as it was helps to see why.
		shotCtx, cancel := context.WithTimeout(context.WithoutCancel(bctx), 5*time.Second)
		defer cancel()
		if shot, serr := chromedp.Run(shotCtx, chromedp.FullScreenshot(100)); serr == nil {
			_ = os.WriteFile(filepath.Join(browsertest.Artifacts(t, ""), "playground-failure.png"), shot, 0o644)
		}
		t.Fatalf("browser: %v\nsandbox output:\n%s", err, out.String())
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(sb.PlaygroundURL)); err != nil {
		fail(err)
	}
	// The node registers its commands as it starts; reload until the page lists them.
	for deadline := time.Now().Add(60 * time.Second); ; {
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#commands option').length`))
		if err != nil {
			fail(err)
		}
		if n > 0 {
			break
		}
		if time.Now().After(deadline) {
			fail(errors.New("the page never listed the commands"))
		}
		time.Sleep(500 * time.Millisecond)
		if err := chromedp.Do(bctx, chromedp.Reload()); err != nil {
			fail(err)
		}
	}
	// Shards connect one identify window after another; a command sent
	// before its shard is connected would fail as on Discord.
	awaitShards(t, sb.PlaygroundURL, 2)
	if err := chromedp.Do(bctx,
		chromedp.Query(chromedp.CSS(`#user option`)),
		chromedp.SendKeys(chromedp.CSS(`#command`), "/ping"),
		chromedp.Click(chromedp.CSS(`#send`)),
		chromedp.WaitVisible(chromedp.CSS(`#log .entry .meta, #log .entry.error`)),
		chromedp.WaitVisible(chromedp.CSS(`#nodes .node`)),
	); err != nil {
		fail(err)
	}
	reply, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`#log .entry .content`)))
	if err != nil {
		fail(err)
	}
	if failed, _ := chromedp.Run(bctx, chromedp.Evaluate[bool](`document.querySelector('#log .entry.error') !== null`)); failed {
		fail(fmt.Errorf("the playground showed an error: %s", reply))
	}
	meta, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`#log .entry .meta`)))
	if err != nil {
		fail(err)
	}
	shot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	if err != nil {
		fail(err)
	}
	if err := os.WriteFile(filepath.Join(browsertest.Artifacts(t, ""), "playground.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(reply, "Pong!") {
		t.Errorf("reply %q, want Pong!", reply)
	}
	if !strings.Contains(meta, "handled by node-1") || !strings.Contains(meta, "shard") {
		t.Errorf("meta %q does not say which node and shard handled it", meta)
	}
	// A playground button subscribes the user through discordsim; the
	// node sees the entitlement and /balance shows the perks.
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`#premium button[data-sub="subscribe"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#log .entry:nth-child(2) .content`)),
	); err != nil {
		fail(err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`(document.getElementById('command').value = '') === ''`)); err != nil {
		fail(err)
	}
	if err := chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`#command`), "/balance"),
		chromedp.Click(chromedp.CSS(`#send`)),
		chromedp.WaitVisible(chromedp.CSS(`#log .entry:nth-child(3) .meta, #log .entry:nth-child(3).error`)),
	); err != nil {
		fail(err)
	}
	balance, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`#log .entry:nth-child(3)`)))
	if err != nil {
		fail(err)
	}
	if !strings.Contains(balance, "Premium") || !strings.Contains(balance, "20,000") {
		fail(fmt.Errorf("/balance after subscribing: %q", balance))
	}
	p := page{t: t, bctx: bctx, fail: fail}
	playInBrowser(p)
	playBattleInBrowser(p, sb.PostgresURL)
	mu.Lock()
	defer mu.Unlock()
	if len(consoleErrors) > 0 {
		t.Errorf("console errors: %v", consoleErrors)
	}
}
