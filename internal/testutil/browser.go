package testutil

import (
	"context"
	"os"
	"os/exec"
	"testing"

	"github.com/chromedp/chromedp"
)

// Chromium returns the path of Debian's chromium, or skips the test (fails
// it when POSTHORN_REQUIRE_INTEROP=1, as in CI).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "/usr/bin/chromium"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("POSTHORN_REQUIRE_INTEROP") == "1" {
		t.Fatal("chromium not installed and POSTHORN_REQUIRE_INTEROP=1")
	}
	t.Skip("chromium not installed")
	return ""
}

// ArtifactDir is where tests save screenshots: $POSTHORN_ARTIFACTS when
// set (created if needed), else a temporary directory of the test.
func ArtifactDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("POSTHORN_ARTIFACTS")
	if dir == "" {
		return t.TempDir()
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Browser starts a headless chromium with a width×height window (skipping
// like Chromium when there is none) and returns its context. The browser
// lives as long as that context: give each step its own timeout derived
// from it. It is closed, and its process waited for, when the test ends,
// before the test's temporary directories go.
func Browser(t testing.TB, width, height int) context.Context {
	t.Helper()
	exe := Chromium(t)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(width, height))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancelAlloc)
	browser, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(func() {
		if err := chromedp.Cancel(browser); err != nil {
			t.Logf("closing chromium: %v", err)
		}
		cancelBrowser()
	})
	if err := chromedp.Do(browser); err != nil {
		t.Fatalf("starting chromium: %v", err)
	}
	return browser
}
