package sandbox_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/chopsticks-bot/chopsticks/browsertest"
)

// page drives the playground in the browser as a person would, failing
// the test (with a screenshot) through fail.
type page struct {
	t    *testing.T
	bctx context.Context
	fail func(error)
}

// shot saves a screenshot of the page to test-artifacts/.
func (p page) shot(name string) {
	b, err := chromedp.Run(p.bctx, chromedp.FullScreenshot(100))
	if err != nil {
		p.fail(err)
	}
	if err := os.WriteFile(filepath.Join(browsertest.Artifacts(p.t, ""), name), b, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// until waits for a page condition (a JavaScript expression).
func (p page) until(what, expr string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.bctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
		p.fail(fmt.Errorf("waiting for %s: %w", what, err))
	}
}

// is evaluates a page condition now.
func (p page) is(expr string) bool {
	p.t.Helper()
	ok, err := chromedp.Run(p.bctx, chromedp.Evaluate[bool](expr))
	if err != nil {
		p.fail(fmt.Errorf("%s: %w", expr, err))
	}
	return ok
}

// logHas is the condition that the log shows text.
func logHas(text string) string {
	return `document.querySelector('#log').textContent.includes(` + strconv.Quote(text) + `)`
}

// entries counts the log's entries.
func (p page) entries() int {
	n, err := chromedp.Run(p.bctx, chromedp.Evaluate[int](`document.querySelectorAll('#log .entry').length`))
	if err != nil {
		p.fail(err)
	}
	return n
}

// send types a command and waits for its entry to be answered.
func (p page) send(text string) {
	p.t.Helper()
	n := p.entries()
	if err := chromedp.Do(p.bctx, chromedp.SetValue(chromedp.CSS(`#command`), text), chromedp.Click(chromedp.CSS(`#send`))); err != nil {
		p.fail(err)
	}
	p.until(text+" answered", fmt.Sprintf(`(() => { const e = document.querySelectorAll('#log .entry')[%d]; return e && e.querySelector('.meta, .content') !== null; })()`, n))
}

// js runs a script that returns true.
func (p page) js(expr string) {
	p.t.Helper()
	if _, err := chromedp.Run(p.bctx, chromedp.Evaluate[bool](expr)); err != nil {
		p.fail(fmt.Errorf("%s: %w", expr, err))
	}
}

// asUser picks who acts next.
func (p page) asUser(name string) {
	p.js(`(() => { const s = document.querySelector('#user'); s.value = [...s.options].find(o => o.textContent === ` + strconv.Quote(name) + `).value; s.dispatchEvent(new Event('change')); return true; })()`)
}

// pickIn chooses value in the last menu whose custom ID starts with prefix.
func (p page) pickIn(prefix, value string) {
	p.js(`(() => { const s = [...document.querySelectorAll('select.menu')].filter(x => x.dataset.customId.startsWith(` + strconv.Quote(prefix) + `)).pop();
		s.value = ` + strconv.Quote(value) + `; s.dispatchEvent(new Event('change')); return true; })()`)
}

// pressIn clicks the last enabled button labelled label within scope (a
// JavaScript expression for an element; the log when empty).
func (p page) pressIn(scope, label string) {
	if scope == "" {
		scope = `document.querySelector('#log')`
	}
	p.js(`(() => { [...` + scope + `.querySelectorAll('button')].filter(b => b.textContent === ` + strconv.Quote(label) + ` && !b.disabled).pop().click(); return true; })()`)
}

// playInBrowser plays issue 22's path in the playground as a person would:
// bob pays alice, alice buys from the shop with its category and item
// selects and the Buy button, buys again through the Quantity… form,
// sells with an autocompleted item, then joins voice, plays, and presses
// Pause on /nowplaying. Each step waits for the reply on the page; the
// screenshots go to test-artifacts/.
func playInBrowser(p page) {
	p.t.Helper()
	p.asUser("bob")
	p.send("/daily")
	p.send("/pay alice 500")
	p.asUser("alice")
	p.send("/daily")

	p.send("/shop")
	p.until("the shop's menus", `document.querySelector('select.menu[data-custom-id^="shopcat"]') !== null`)
	p.pickIn("shopcat", "companions")
	p.until("the category page", `document.querySelector('select.menu[data-custom-id$=":companions"]') !== null`)
	p.pickIn("shopitem", "power_cell")
	p.until("the item's buttons", `[...document.querySelectorAll('#log button')].some(b => b.textContent === 'Buy 1')`)
	p.pressIn("", "Buy 1")
	p.until("the receipt", logHas("You bought 1× Power Cell"))
	p.shot("playground-shop.png")

	p.pressIn("", "Quantity…")
	p.until("the quantity form", `document.querySelector('#modal input[name="quantity"]') !== null`)
	p.shot("playground-modal.png")
	if err := chromedp.Do(p.bctx, chromedp.SendKeys(chromedp.CSS(`#modal input[name="quantity"]`), "1"), chromedp.Click(chromedp.CSS(`#modal button[type="submit"]`))); err != nil {
		p.fail(err)
	}
	p.until("the form's purchase", `[...document.querySelectorAll('#log .entry')].some(e => e.textContent.includes('submitted') && e.textContent.includes('updated the message above'))`)

	p.js(`(() => { document.querySelector('#command').value = ''; return true; })()`)
	if err := chromedp.Do(p.bctx, chromedp.SendKeys(chromedp.CSS(`#command`), "/sell pow")); err != nil {
		p.fail(err)
	}
	p.until("the bot's suggestions", `[...document.querySelectorAll('#suggestions li')].some(li => li.dataset.value === 'power_cell')`)
	p.shot("playground-autocomplete.png")
	if err := chromedp.Do(p.bctx, chromedp.Click(chromedp.CSS(`#suggestions li[data-value="power_cell"]`))); err != nil {
		p.fail(err)
	}
	p.until("the suggestion in the command", `document.querySelector('#command').value.trim() === '/sell item:power_cell'`)
	n := p.entries()
	if err := chromedp.Do(p.bctx, chromedp.Click(chromedp.CSS(`#send`))); err != nil {
		p.fail(err)
	}
	p.until("the sale", fmt.Sprintf(`(() => { const e = document.querySelectorAll('#log .entry')[%d]; return e && e.textContent.includes('You sold 1× Power Cell'); })()`, n))

	p.js(`(() => { document.querySelector('#voice').click(); return true; })()`)
	p.until("joining voice", `document.querySelector('#voice').textContent === 'Leave voice'`)
	p.send(`/play "lofi beats"`)
	p.until("the music", logHas("Now playing")+" || "+logHas("Queued"))
	p.send("/nowplaying")
	p.until("the controls", `[...document.querySelectorAll('#log button')].some(b => b.textContent === '⏸ Pause')`)
	p.pressIn("", "⏸ Pause")
	p.until("the pause", logHas("(paused)")+` && [...document.querySelectorAll('#log button')].some(b => b.textContent === '▶ Resume')`)
	p.shot("playground-music.png")
	if failed, _ := chromedp.Run(p.bctx, chromedp.Evaluate[int](`document.querySelectorAll('#log .entry.error').length`)); failed > 0 {
		text, _ := chromedp.Run(p.bctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#log .entry.error')].map(e => e.textContent).join(' | ')`))
		p.fail(fmt.Errorf("the playground showed errors: %s", text))
	}
}
