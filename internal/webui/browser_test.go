package webui

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// chromium returns the browser's path, or skips the test (fails it when
// POSTHORN_REQUIRE_INTEROP=1, as in CI).
func chromium(t *testing.T) string {
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

func artifactDir(t *testing.T) string {
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

// TestHeldKeyboardInBrowser approves a held message with the keyboard
// (j, then a) under the site's CSP, and checks that the list pages fit a
// phone screen. Screenshots go to $POSTHORN_ARTIFACTS.
func TestHeldKeyboardInBrowser(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	f := newFixture(t)
	first := f.hold(t, "first@example.net", "First held", plainMessage)
	f.hold(t, "second@example.net", "Second held", plainMessage)
	addMany(t, f.st, testList, 120)

	// What the auth middleware does, for a logged-in owner: viewer, CSRF
	// token and the CSP that forbids inline scripts.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; img-src 'self'")
		if r.URL.Path == "/static/posthorn.css" {
			w.Header().Set("Content-Type", "text/css")
			_, _ = w.Write(web.Stylesheet())
			return
		}
		f.mux.ServeHTTP(w, r.WithContext(web.WithCSRF(web.WithViewer(r.Context(), viewer(owner)), testCSRF)))
	}))
	t.Cleanup(srv.Close)

	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 900))
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
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	dir := artifactDir(t)
	shot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}

	err := chromedp.Do(ctx,
		chromedp.Navigate(srv.URL+lp("held")),
		chromedp.WaitVisible(chromedp.CSS(`#held-form`)),
		chromedp.WaitVisible(chromedp.CSS(`#keys-help`)),
	)
	if err != nil {
		t.Fatalf("loading the held page: %v", err)
	}
	shot("webui-held.png")
	err = chromedp.Do(ctx,
		chromedp.KeyEvent("j"),
		chromedp.WaitVisible(chromedp.CSS(`tr.current[data-id="`+strconv.FormatInt(first, 10)+`"]`)),
		chromedp.KeyEvent("a"),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)),
	)
	if err != nil {
		t.Fatalf("approving with the keyboard: %v", err)
	}
	notice, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(`p.notice`)))
	if err != nil || notice != "Approved: 1 post(s)." {
		t.Errorf("notice %q, %v", notice, err)
	}
	f.mu.Lock()
	calls := slices.Clone(f.calls)
	f.mu.Unlock()
	if len(calls) != 1 || !slices.Equal(calls[0].IDs, []int64{first}) || calls[0].Action != lists.ModApprove {
		t.Errorf("Moderate calls %+v", calls)
	}

	// Phone width: no page spills sideways.
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2))); err != nil {
		t.Fatal(err)
	}
	for name, path := range map[string]string{"held": lp("held"), "members": lp("members"), "settings": lp("settings"),
		"overview": lp(""), "history": lp("history")} {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path), chromedp.WaitVisible(chromedp.CSS(`main h1`))); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		wide, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
		if err != nil {
			t.Fatal(err)
		}
		if wide {
			t.Errorf("%s page is wider than a 390px phone screen", name)
		}
		shot("webui-" + name + "-phone.png")
	}
}
