package dashboard_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/chopsticks-bot/chopsticks/browsertest"
)

// TestDashboardInBrowser logs an admin in through the OAuth flow against
// discordsim, grants credits from the economy page, finds the grant in the
// audit log, logs out, logs the user in, sees the balance (also on a phone
// screen), and checks that the console reported no error and no CSP
// violation - after proving that a violation would have been seen.
func TestDashboardInBrowser(t *testing.T) {
	e := newEnv(t, envOptions{})
	shots := browsertest.Artifacts(t, "dashboard")

	bctx, cancelBrowser := context.WithCancel(browsertest.New(t, 90*time.Second))

	// Collect every console message (console API, exceptions, browser log
	// entries such as CSP violations) until the test ends.
	var mu sync.Mutex
	var console []chromedp.ConsoleMessage
	msgs := chromedp.Console(bctx)
	consoleCtx, stopConsole := context.WithCancel(bctx)
	collected := make(chan struct{})
	go func() {
		defer close(collected)
		for m, err := range msgs {
			if err != nil || consoleCtx.Err() != nil {
				return
			}
			mu.Lock()
			console = append(console, m)
			mu.Unlock()
		}
	}()
	defer func() { stopConsole(); cancelBrowser(); <-collected }()
	problems := func() []string {
		mu.Lock()
		defer mu.Unlock()
		var out []string
		for _, m := range console {
			// The refused removal below is answered 409 on purpose; the
			// browser logs every 4xx fetch.
			if strings.Contains(m.Text, "status of 409 (Conflict)") {
				continue
			}
			if m.Type == chromedp.ConsoleError || m.Type == chromedp.ConsoleWarning || m.IsException() ||
				strings.Contains(m.Text, "Content Security Policy") {
				out = append(out, m.String())
			}
		}
		return out
	}

	fail := func(step string, err error) {
		t.Helper()
		t.Fatalf("browser, %s: %v (console: %q)", step, err, problems())
	}
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			fail("screenshot "+name, err)
		}
		if err := os.WriteFile(filepath.Join(shots, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// consentAs makes discordsim's consent page approve as user: the
	// browser sends X-Sim-User on every request.
	consentAs := func(user string) {
		t.Helper()
		if _, err := chromedp.Call(bctx, network.SetExtraHTTPHeaders,
			network.SetExtraHTTPHeadersParams{Headers: network.Headers{"X-Sim-User": user}}); err != nil {
			fail("set consent header", err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			fail("text of "+sel, err)
		}
		return strings.TrimSpace(v)
	}

	// The admin logs in.
	consentAs(id(e.admin))
	if err := chromedp.Do(bctx, chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
		fail("open the login page", err)
	}
	shot("01-login")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#wallet"))); err != nil {
		fail("log in as admin", err)
	}
	if who := text("#who"); who != "admin" {
		t.Fatalf("logged in as %q, want admin", who)
	}

	// The admin first types a removal alice's empty wallet refuses; the
	// page then drops the refused op, and the corrected grant of 2500
	// credits goes through with a fresh one.
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`a[href="/admin/economy"]`)),
		chromedp.WaitVisible(chromedp.CSS("#credits-form")),
		chromedp.SendKeys(chromedp.CSS("#credits-user"), id(e.alice)),
		chromedp.SendKeys(chromedp.CSS("#credits-amount"), "-2500"),
		chromedp.SendKeys(chromedp.CSS("#credits-reason"), "browser test prize"),
		chromedp.Click(chromedp.CSS("#credits-submit")),
	); err != nil {
		fail("refused removal", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('#credits-result').classList.contains('err')`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		fail("wait for the refusal: result "+text("#credits-result"), err)
	}
	if kept, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`'op' in document.querySelector('#credits-form').dataset`)); err != nil || kept {
		t.Errorf("the form kept the refused op (%v)", err)
	}
	if err := chromedp.Do(bctx,
		chromedp.SetValue(chromedp.CSS("#credits-amount"), "2500"),
		chromedp.Click(chromedp.CSS("#credits-submit")),
	); err != nil {
		fail("grant credits", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.querySelector('#credits-result').textContent.startsWith('Done')`,
		chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		fail("wait for the grant: result "+text("#credits-result"), err)
	}
	if got := text("#credits-result"); !strings.Contains(got, "2,500") {
		t.Errorf("grant result = %q", got)
	}
	shot("02-admin-economy-granted")

	// The audit log shows it.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`a[href="/admin/audit"]`)), chromedp.WaitVisible(chromedp.CSS("#audit"))); err != nil {
		fail("open the audit log", err)
	}
	row := text("#audit tbody tr:first-child")
	for _, want := range []string{"admin", id(e.admin), "credits_adjust", "user " + id(e.alice), "ok", "+2500", "browser test prize", "127.0.0.1"} {
		if !strings.Contains(row, want) {
			t.Errorf("audit row %q lacks %q", row, want)
		}
	}
	shot("03-admin-audit")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`a[href="/admin"]`)), chromedp.WaitVisible(chromedp.CSS("#nodes"))); err != nil {
		fail("open the cluster view", err)
	}
	shot("04-admin-cluster")

	// Log out, then alice logs in and sees her balance.
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`.logout button`)), chromedp.WaitVisible(chromedp.CSS("#login"))); err != nil {
		fail("log out", err)
	}
	consentAs(id(e.alice))
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#login")), chromedp.WaitVisible(chromedp.CSS("#wallet"))); err != nil {
		fail("log in as alice", err)
	}
	if who, wallet := text("#who"), text("#wallet"); who != "alice" || wallet != "2,500" {
		t.Errorf("alice's profile: who %q, wallet %q, want alice and 2,500", who, wallet)
	}
	if n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('a[href^="/admin"]').length`)); err != nil || n != 0 {
		t.Errorf("alice sees %d admin links (%v)", n, err)
	}
	shot("05-user-profile")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`a[href="/transactions"]`)), chromedp.WaitVisible(chromedp.CSS("#transactions"))); err != nil {
		fail("open transactions", err)
	}
	if row := text("#transactions tbody tr:first-child"); !strings.Contains(row, "2,500") || !strings.Contains(row, "browser test prize") {
		t.Errorf("transaction row = %q", row)
	}

	// On a phone: the menu folds and opens.
	if err := chromedp.Do(bctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2), chromedp.EmulateMobile),
		chromedp.Navigate(e.srv.URL+"/"), chromedp.WaitVisible(chromedp.CSS("#wallet")),
		chromedp.WaitNotVisible(chromedp.CSS("#nav")), chromedp.WaitVisible(chromedp.CSS("#menu-toggle"))); err != nil {
		fail("phone layout", err)
	}
	width, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil || width > 390 {
		t.Errorf("the phone page is %d px wide (%v), wider than the screen", width, err)
	}
	shot("06-phone-profile")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS("#menu-toggle")), chromedp.WaitVisible(chromedp.CSS("#nav"))); err != nil {
		fail("phone menu", err)
	}
	shot("07-phone-menu")

	if p := problems(); len(p) != 0 {
		t.Errorf("console reported problems: %q", p)
	}

	// The check can fail: an inline script is refused by the CSP and the
	// refusal reaches the console.
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](
		`(function(){var s=document.createElement('script');s.textContent='window.pwned=1';document.body.appendChild(s);return true})()`)); err != nil {
		fail("inject an inline script", err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(problems()) == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if p := problems(); len(p) == 0 || !strings.Contains(strings.Join(p, " "), "Content Security Policy") {
		t.Errorf("an inline script was not reported as a CSP violation: %q", p)
	}
	if pwned, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.pwned === 1`)); err != nil || pwned {
		t.Errorf("the inline script ran (%v)", err)
	}
}
