package accountweb

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

// TestAccountOnPhone uses the account page in chromium at 390 px wide (a
// phone): log in, make a token, change the password. Nothing on the page
// may need sideways scrolling; screenshots go to $POSTHORN_ARTIFACTS.
func TestAccountOnPhone(t *testing.T) {
	t.Parallel()
	testutil.Chromium(t) // skip early, before building the fixture
	s := newSite(t)
	browser := testutil.Browser(t, 390, 844)
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
	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	fits := func(what string) {
		t.Helper()
		w, err := chromedp.Run(ctx, chromedp.Evaluate[int](`document.documentElement.scrollWidth - window.innerWidth`))
		if err != nil {
			t.Fatalf("%s: measuring: %v", what, err)
		}
		if w > 0 {
			t.Errorf("%s: the page is %d px wider than the 390 px window", what, w)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}

	step("open the account page, which asks for a login",
		chromedp.Navigate(s.srv.URL+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`#email`)),
		chromedp.SendKeys(chromedp.CSS(`#email`), annEmail),
		chromedp.SendKeys(chromedp.CSS(`#password`), annPass),
		chromedp.Click(chromedp.CSS(`form.auth button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(`#token-name`)))
	fits("account page")
	shot("account-phone.png")

	step("make a token",
		chromedp.SendKeys(chromedp.CSS(`#token-name`), "a rather long name for the nightly member synchronisation job"),
		chromedp.Click(chromedp.CSS(`form[action="/account/tokens"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`#new-token`)))
	secret, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.querySelector('#new-token').value`))
	if err != nil || !strings.HasPrefix(secret, "ph_") {
		t.Fatalf("token shown %q (%v)", secret, err)
	}
	fits("page with the new token")
	shot("account-token-phone.png")

	step("change the password",
		chromedp.Navigate(s.srv.URL+"/account"),
		chromedp.WaitVisible(chromedp.CSS(`#current`)),
		chromedp.SendKeys(chromedp.CSS(`#current`), annPass),
		chromedp.SendKeys(chromedp.CSS(`#password`), "a brand new passphrase"),
		chromedp.SendKeys(chromedp.CSS(`#confirm`), "a brand new passphrase"),
		chromedp.Click(chromedp.CSS(`form[action="/account/password"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
	if got := text(`p.notice`); !strings.Contains(got, "password has been changed") {
		t.Errorf("notice %q", got)
	}
	fits("page after the change")
	shot("account-changed-phone.png")
	s.browser().login(annEmail, "a brand new passphrase")
}
