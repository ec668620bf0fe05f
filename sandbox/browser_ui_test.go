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

// playInBrowser plays issue 22's path in the playground as a person would:
// bob pays alice, alice buys from the shop with its category and item
// selects and the Buy button, buys again through the Quantity… form,
// sells with an autocompleted item, then joins voice, plays, and presses
// Pause on /nowplaying. Each step waits for the reply on the page; the
// screenshots go to test-artifacts/.
func playInBrowser(t *testing.T, bctx context.Context, fail func(error)) {
	t.Helper()
	shot := func(name string) {
		b, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
		if err != nil {
			fail(err)
		}
		if err := os.WriteFile(filepath.Join(browsertest.Artifacts(t, ""), name), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// until waits for a page condition (a JavaScript expression).
	until := func(what, expr string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Poll[bool](expr, chromedp.WithPollingTimeout(30*time.Second))); err != nil {
			fail(fmt.Errorf("waiting for %s: %w", what, err))
		}
	}
	logHas := func(text string) string {
		return `document.querySelector('#log').textContent.includes(` + strconv.Quote(text) + `)`
	}
	entries := func() int {
		n, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#log .entry').length`))
		if err != nil {
			fail(err)
		}
		return n
	}
	// send types a command and waits for its entry to be answered.
	send := func(text string) {
		t.Helper()
		n := entries()
		if err := chromedp.Do(bctx, chromedp.SetValue(chromedp.CSS(`#command`), text), chromedp.Click(chromedp.CSS(`#send`))); err != nil {
			fail(err)
		}
		until(text+" answered", fmt.Sprintf(`(() => { const e = document.querySelectorAll('#log .entry')[%d]; return e && e.querySelector('.meta, .content') !== null; })()`, n))
	}
	js := func(expr string) {
		t.Helper()
		if _, err := chromedp.Run(bctx, chromedp.Evaluate[bool](expr)); err != nil {
			fail(fmt.Errorf("%s: %w", expr, err))
		}
	}
	asUser := func(name string) {
		js(`(() => { const s = document.querySelector('#user'); s.value = [...s.options].find(o => o.textContent === ` + strconv.Quote(name) + `).value; s.dispatchEvent(new Event('change')); return true; })()`)
	}
	pickIn := func(prefix, value string) {
		js(`(() => { const s = [...document.querySelectorAll('select.menu')].filter(x => x.dataset.customId.startsWith(` + strconv.Quote(prefix) + `)).pop();
			s.value = ` + strconv.Quote(value) + `; s.dispatchEvent(new Event('change')); return true; })()`)
	}
	press := func(label string) {
		js(`(() => { [...document.querySelectorAll('#log button')].filter(b => b.textContent === ` + strconv.Quote(label) + ` && !b.disabled).pop().click(); return true; })()`)
	}

	asUser("bob")
	send("/daily")
	send("/pay alice 500")
	asUser("alice")
	send("/daily")

	send("/shop")
	until("the shop's menus", `document.querySelector('select.menu[data-custom-id^="shopcat"]') !== null`)
	pickIn("shopcat", "companions")
	until("the category page", `document.querySelector('select.menu[data-custom-id$=":companions"]') !== null`)
	pickIn("shopitem", "power_cell")
	until("the item's buttons", `[...document.querySelectorAll('#log button')].some(b => b.textContent === 'Buy 1')`)
	press("Buy 1")
	until("the receipt", logHas("You bought 1× Power Cell"))
	shot("playground-shop.png")

	press("Quantity…")
	until("the quantity form", `document.querySelector('#modal input[name="quantity"]') !== null`)
	shot("playground-modal.png")
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(`#modal input[name="quantity"]`), "1"), chromedp.Click(chromedp.CSS(`#modal button[type="submit"]`))); err != nil {
		fail(err)
	}
	until("the form's purchase", `[...document.querySelectorAll('#log .entry')].some(e => e.textContent.includes('submitted') && e.textContent.includes('updated the message above'))`)

	js(`(() => { document.querySelector('#command').value = ''; return true; })()`)
	if err := chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(`#command`), "/sell pow")); err != nil {
		fail(err)
	}
	until("the bot's suggestions", `[...document.querySelectorAll('#suggestions li')].some(li => li.dataset.value === 'power_cell')`)
	shot("playground-autocomplete.png")
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#suggestions li[data-value="power_cell"]`))); err != nil {
		fail(err)
	}
	until("the suggestion in the command", `document.querySelector('#command').value.trim() === '/sell item:power_cell'`)
	n := entries()
	if err := chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#send`))); err != nil {
		fail(err)
	}
	until("the sale", fmt.Sprintf(`(() => { const e = document.querySelectorAll('#log .entry')[%d]; return e && e.textContent.includes('You sold 1× Power Cell'); })()`, n))

	js(`(() => { document.querySelector('#voice').click(); return true; })()`)
	until("joining voice", `document.querySelector('#voice').textContent === 'Leave voice'`)
	send(`/play "lofi beats"`)
	until("the music", logHas("Now playing")+" || "+logHas("Queued"))
	send("/nowplaying")
	until("the controls", `[...document.querySelectorAll('#log button')].some(b => b.textContent === '⏸ Pause')`)
	press("⏸ Pause")
	until("the pause", logHas("(paused)")+` && [...document.querySelectorAll('#log button')].some(b => b.textContent === '▶ Resume')`)
	shot("playground-music.png")
	if failed, _ := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#log .entry.error').length`)); failed > 0 {
		text, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#log .entry.error')].map(e => e.textContent).join(' | ')`))
		fail(fmt.Errorf("the playground showed errors: %s", text))
	}
}
