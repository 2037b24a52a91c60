package web

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/posthorn/posthorn/internal/testutil"
)

// TestLoginInBrowser logs in through the real login form (a wrong password
// first), posts a form, has a form without its CSRF token refused, and logs
// out, taking screenshots of each page.
func TestLoginInBrowser(t *testing.T) {
	t.Parallel()
	testutil.Chromium(t) // skip early, before building the fixture
	s := newSite(t, false)
	browser := testutil.Browser(t, 1024, 768)
	ctx, cancel := context.WithTimeout(browser, 90*time.Second)
	defer cancel()
	dir := testutil.ArtifactDir(t)
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
