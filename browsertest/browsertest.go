// Package browsertest starts Debian's Chromium headless for browser tests,
// with the flags this closed network needs, and keeps their screenshots in
// test-artifacts/ at the module root (git-ignored).
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// Path finds Chromium, failing the test with the install command when it
// is missing.
func Path(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	t.Fatal("Chromium is not installed; install it with: apt-get install -y chromium")
	return ""
}

// New starts a headless Chromium with a fresh profile and returns a
// chromedp context for one tab, cancelled at the end of the test or after
// timeout. Background networking is off: this machine reaches no outside
// host, and Chromium's attempts would only slow it down.
func New(t testing.TB, timeout time.Duration) context.Context {
	t.Helper()
	profile, err := os.MkdirTemp("", "chopsticks-chrome-")
	if err != nil {
		t.Fatal(err)
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(Path(t)), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true),
		chromedp.UserDataDir(profile), chromedp.WindowSize(1200, 900))
	ctx, cancelBrowser := chromedp.NewContext(allocCtx)
	ctx, cancelTimeout := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() {
		cancelTimeout()
		cancelBrowser()
		cancelAlloc()
		os.RemoveAll(profile)
	})
	return ctx
}

// Artifacts returns test-artifacts/<sub> at the module root, created.
func Artifacts(t testing.TB, sub string) string {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	dir := filepath.Join(filepath.Dir(file), "..", "test-artifacts", sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}
