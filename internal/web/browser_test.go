package web

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
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

// artifactDir is $POSTHORN_ARTIFACTS when set, else a temporary directory.
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

// TestLoginInBrowser logs in through the real login form (a wrong password
// first), posts a form, has a form without its CSRF token refused, and logs
// out, taking screenshots of each page.
func TestLoginInBrowser(t *testing.T) {
	t.Parallel()
	exe := chromium(t)
	s := newSite(t, false)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1024, 768))
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
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", p)
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}

	step("open a page that needs a login",
		chromedp.Navigate(s.srv.URL+"/home"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)))
	shot("login.png")
	step("log in with a wrong password",
		chromedp.SendKeys(chromedp.CSS(`#email`), annEmail),
		chromedp.SendKeys(chromedp.CSS(`#password`), "not the password"),
		chromedp.Click(chromedp.CSS(`form.auth button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#login-error`)))
	if got := text(`#login-error`); !strings.Contains(got, "not right") {
		t.Errorf("login error %q", got)
	}
	shot("login-failed.png")
	step("log in",
		chromedp.SetValue(chromedp.CSS(`#password`), annPass),
		chromedp.Click(chromedp.CSS(`form.auth button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#act-form`)))
	if loc, err := chromedp.Run(ctx, chromedp.Location()); err != nil || loc != s.srv.URL+"/home" {
		t.Errorf("after login at %q (%v), want the page asked for", loc, err)
	}
	if got := text(`header.site .who`); got != annEmail {
		t.Errorf("header shows %q", got)
	}
	shot("logged-in.png")

	step("post a form", chromedp.Click(chromedp.CSS(`#act-submit`)), chromedp.WaitNotPresent(chromedp.CSS(`#act-form`)))
	if got := text(`body`); !strings.Contains(got, "done 42") {
		t.Fatalf("form with its token: %q", got)
	}
	step("back", chromedp.Navigate(s.srv.URL+"/home"), chromedp.WaitVisible(chromedp.CSS(`#act-form`)))
	if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`(document.querySelector('#act-form input[name=csrf]').remove(), true)`)); err != nil || !ok {
		t.Fatalf("removing the token: %v", err)
	}
	step("post the form without its token",
		chromedp.Click(chromedp.CSS(`#act-submit`)),
		chromedp.WaitVisible(chromedp.CSS(`main p.error`)))
	if got := text(`main p.error`); !strings.Contains(got, "did not come from this site") {
		t.Errorf("refusal page says %q", got)
	}
	if got := text(`h1`); got != "Forbidden" {
		t.Errorf("refusal title %q", got)
	}
	shot("csrf-refused.png")

	step("log out",
		chromedp.Navigate(s.srv.URL+"/home"),
		chromedp.WaitVisible(chromedp.CSS(`header.site form button`)),
		chromedp.Click(chromedp.CSS(`header.site form button`)),
		chromedp.WaitVisible(chromedp.CSS(`#email`)))
	step("logged out", chromedp.Navigate(s.srv.URL+"/home"), chromedp.WaitVisible(chromedp.CSS(`#email`)))
	if es := s.audit("logout"); len(es) != 1 {
		t.Errorf("logout audit: %+v", es)
	}
}
