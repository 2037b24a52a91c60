package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/posthorn/posthorn/internal/testutil"
	"github.com/posthorn/posthorn/internal/testutil/postfix"
)

// The people of the web UI scenario. The outsider owns another list only.
const (
	wuiList     = "wikitech-l@lists.test"
	wuiOther    = "other-l@lists.test"
	wuiMod      = "mod@example.org"
	wuiOwner    = "owner@example.org"
	wuiOutsider = "out@example.org"
	wuiPassword = "correct horse battery staple"
)

// wuiSite is a running daemon with its HTTP listener and the upstream that
// records what it delivers.
type wuiSite struct {
	p    *posthorn
	up   *testutil.Upstream
	base string // http://127.0.0.1:PORT, also lists.site_url
}

// wuiHeld mirrors "posthorn held LIST --json".
type wuiHeld struct {
	ID      int64  `json:"id"`
	Sender  string `json:"sender"`
	Subject string `json:"subject"`
	Rule    string `json:"rule"`
}

// TestWebUI shows issue 6 against the real daemon: a moderator approves a
// held post in chromium and the members get it through the upstream; an
// owner changes a setting through the preview and the CLI history names
// them and their reason; somebody with a role on another list only gets 403
// on this list's pages and forms, and a form without its CSRF token is
// refused even for the moderator. Screenshots of the main pages, at
// desktop and phone width, go to $POSTHORN_ARTIFACTS.
func TestWebUI(t *testing.T) {
	t.Parallel()
	testutil.Chromium(t) // skip early, before starting the daemon
	s := startWebUISite(t)
	s.post(t, "stranger@example.com", "First stranger post", "wui-body-one")
	s.post(t, "stranger2@example.com", "Second stranger post", "wui-body-two")
	held := s.waitHeld(t, 2)
	first, second := held[0], held[1]
	if first.Subject != "First stranger post" || first.Rule != "nonmember-moderation" {
		t.Fatalf("held posts %+v, want the first stranger's post held by nonmember-moderation first", held)
	}
	root := testutil.Browser(t, 1280, 900)
	dir := testutil.ArtifactDir(t)

	t.Run("moderator approves in the browser", func(t *testing.T) {
		b := wuiTab(t, root, s.base, dir)
		heldPath := wuiPath(wuiList, "held")
		b.do("open the held page logged out", chromedp.Navigate(s.base+heldPath))
		if h := b.text(`main h1`); h != "Forbidden" {
			t.Errorf("anonymous held page title %q, want Forbidden", h)
		}
		b.do("open the login page", chromedp.Navigate(s.base+"/login?next="+url.QueryEscape(heldPath)),
			chromedp.WaitVisible(chromedp.CSS(`#email`)))
		b.shotBoth("login")
		b.login(wuiMod, `#held-form`)
		if loc := b.location(); loc != s.base+heldPath {
			t.Errorf("after login at %s, want %s", loc, s.base+heldPath)
		}
		if who := b.text(`header.site .who`); who != wuiMod {
			t.Errorf("header shows %q, want %s", who, wuiMod)
		}
		b.shotBoth("held-before-approval")
		b.do("approve the first held post",
			chromedp.Click(chromedp.CSS(fmt.Sprintf(`button[name=one][value="approve:%d"]`, first.ID))),
			chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
		if got := b.text(`p.notice`); got != "Approved: 1 post(s)." {
			t.Errorf("notice after approval %q", got)
		}
		s.waitDelivered(t, "wui-body-one", "alice@example.net", "bob@example.net")
		if still := s.heldPosts(t); len(still) != 1 || still[0].ID != second.ID {
			t.Errorf("after approving #%d, held %+v, want only #%d", first.ID, still, second.ID)
		}
		// A moderator is not an owner: the settings page is refused.
		b.do("open the settings as moderator", chromedp.Navigate(s.base+wuiPath(wuiList, "settings")))
		if h := b.text(`main h1`); h != "Forbidden" {
			t.Errorf("moderator's settings page title %q, want Forbidden", h)
		}
	})

	t.Run("owner changes a setting in the browser", func(t *testing.T) {
		b := wuiTab(t, root, s.base, dir)
		b.do("open the login page", chromedp.Navigate(s.base+"/login"), chromedp.WaitVisible(chromedp.CSS(`#email`)))
		b.login(wuiOwner, `main table`)
		b.shotBoth("lists-index")
		if row := b.text(`main table tbody`); !strings.Contains(row, wuiList) || !strings.Contains(row, "owner") {
			t.Errorf("lists index %q does not show %s with the owner role", row, wuiList)
		}
		b.do("open the settings", chromedp.Navigate(s.base+wuiPath(wuiList, "settings")),
			chromedp.WaitVisible(chromedp.CSS(`#set-max_message_size`)))
		if v, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(`#set-max_message_size`))); err != nil || v != "1048576" {
			t.Fatalf("max_message_size input %q (%v), want the default 1048576", v, err)
		}
		b.do("preview a new max_message_size",
			chromedp.SetValue(chromedp.CSS(`#set-max_message_size`), "2097152"),
			chromedp.Click(chromedp.CSS(`form.settings button[type=submit]`)),
			chromedp.WaitVisible(chromedp.CSS(`#reason`)))
		rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[[]string](
			`Array.from(document.querySelectorAll('main > .table-wrap tbody tr')).map(r => r.innerText.replace(/\s+/g, ' ').trim())`))
		if err != nil {
			t.Fatal(err)
		}
		if len(rows) != 1 || rows[0] != "max_message_size 1048576 2097152" {
			t.Errorf("preview lists the changes %q, want only max_message_size 1048576 → 2097152", rows)
		}
		b.shot("settings-preview-desktop.png")
		const reason = "release notes with screenshots are bigger than 1 MB"
		b.do("give a reason", chromedp.SendKeys(chromedp.CSS(`#reason`), reason))
		if warned, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('#ack') !== null`)); err != nil {
			t.Fatal(err)
		} else if warned {
			t.Errorf("raising max_message_size shows warnings: %q", b.text(`.warnings`))
			b.do("acknowledge", chromedp.Click(chromedp.CSS(`#ack`)))
		}
		b.do("apply the change",
			chromedp.Click(chromedp.CSS(`button[name=step][value=apply]`)),
			chromedp.WaitVisible(chromedp.CSS(`p.notice`)))
		if loc := b.location(); loc != s.base+wuiPath(wuiList, "history")+"?done=saved" {
			t.Errorf("after applying at %s, want the history page", loc)
		}
		if got := b.text(`p.notice`); got != "The settings were changed." {
			t.Errorf("history notice %q", got)
		}
		if v := b.text(`main section.version`); !strings.Contains(v, "by "+wuiOwner) || !strings.Contains(v, reason) {
			t.Errorf("newest version on the history page %q lacks the author or the reason", v)
		}
		b.shot("history-after-change-desktop.png")
		s.checkHistory(t, reason)

		// The main pages an owner sees, at desktop and phone width.
		for _, pg := range []struct{ name, sub, ready string }{
			{"list-overview", "", `p.address`},
			{"held", "held", `#held-form`},
			{"settings", "settings", `form.settings`},
			{"members", "members", `main h1`},
			{"history", "history", `section.version`},
		} {
			b.do("open "+pg.name, chromedp.Navigate(s.base+wuiPath(wuiList, pg.sub)), chromedp.WaitVisible(chromedp.CSS(pg.ready)))
			b.shotBoth(pg.name)
		}
		b.do("open the lists index", chromedp.Navigate(s.base+"/lists"), chromedp.WaitVisible(chromedp.CSS(`main table`)))
		if members := s.p.cli(t, "members", "list", wuiList); !strings.Contains(members, "alice@example.net") {
			t.Errorf("members list lost alice:\n%s", members)
		}
	})

	t.Run("outsider and forged forms refused over HTTP", func(t *testing.T) {
		s.checkRefusals(t, second.ID)
	})
}

// startWebUISite starts the daemon with lists and the HTTP listener on
// loopback, and creates the lists and accounts with the CLI.
func startWebUISite(t *testing.T) *wuiSite {
	t.Helper()
	up := testutil.NewUpstream(t)
	httpAddr := postfix.FreeAddr(t)
	base := "http://" + httpAddr
	p := startPosthorn(t, relayConfig{Upstreams: []string{up.Addr()}, HTTPListen: httpAddr,
		Extra: fmt.Sprintf("\n[lists]\ndomains = [\"lists.test\"]\nsite_url = %q\n", base)})
	s := &wuiSite{p: p, up: up, base: base}
	s.waitHTTP(t)
	p.cli(t, "lists", "create", wuiList, "--display-name", "Wikitech", "--description", "Technical discussion")
	p.cli(t, "members", "add", wuiList, "alice@example.net", "bob@example.net")
	p.cli(t, "lists", "create", wuiOther, "--display-name", "Other")
	p.cli(t, "members", "add", wuiOther, wuiOutsider)
	for _, email := range []string{wuiMod, wuiOwner, wuiOutsider} {
		args := []string{"user", "--config", p.Config, "add", email, "--password-stdin"}
		if out, errb, err := p.run([]byte(wuiPassword+"\n"), args...); err != nil {
			t.Fatalf("posthorn %s: %v\n%s%s", strings.Join(args, " "), err, out, errb)
		}
	}
	p.cli(t, "user", "grant", wuiMod, "moderator", wuiList)
	p.cli(t, "user", "grant", wuiOwner, "owner", wuiList)
	p.cli(t, "user", "grant", wuiOutsider, "owner", wuiOther)
	return s
}

// waitHTTP waits until the HTTP listener answers /healthz (any status).
func (s *wuiSite) waitHTTP(t *testing.T) {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := c.Get(s.base + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("HTTP listener %s not answering: %v", s.base, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// post sends a message to the list by SMTP.
func (s *wuiSite) post(t *testing.T, from, subject, body string) {
	t.Helper()
	msg := "Subject: " + subject + "\r\nFrom: " + from + "\r\nTo: " + wuiList + "\r\n\r\n" + body + "\r\n"
	if err := sendMessage(s.p.Addr, from, wuiList, msg); err != nil {
		t.Fatalf("posting to %s: %v", wuiList, err)
	}
}

func (s *wuiSite) heldPosts(t *testing.T) []wuiHeld {
	t.Helper()
	var held []wuiHeld
	out := s.p.cli(t, "held", wuiList, "--json")
	if err := json.Unmarshal([]byte(out), &held); err != nil {
		t.Fatalf("posthorn held --json: %v\n%s", err, out)
	}
	return held
}

// waitHeld waits until n posts are held (the list server holds a post
// after the SMTP transaction, from the queue).
func (s *wuiSite) waitHeld(t *testing.T, n int) []wuiHeld {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		held := s.heldPosts(t)
		if len(held) >= n {
			return held
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d posts held after 30s, want %d: %+v", len(held), n, held)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitDelivered waits until the upstream got the post carrying marker for
// every one of rcpts.
func (s *wuiSite) waitDelivered(t *testing.T, marker string, rcpts ...string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got := map[string]bool{}
		for _, m := range s.up.Messages() {
			if strings.Contains(string(m.Data), "\r\n\r\n"+marker) {
				for _, r := range m.Rcpts {
					got[r] = true
				}
			}
		}
		missing := 0
		for _, r := range rcpts {
			if !got[r] {
				missing++
			}
		}
		if missing == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("post %q reached %v after 30s, want %v", marker, got, rcpts)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkHistory reads the list's history with the CLI: the newest version
// is the owner's, with the reason, changing max_message_size only.
func (s *wuiSite) checkHistory(t *testing.T, reason string) {
	t.Helper()
	var vs []struct {
		Version int    `json:"version"`
		Author  string `json:"author"`
		Reason  string `json:"reason"`
		Changes []struct {
			Field, Old, New string
		} `json:"changes"`
	}
	out := s.p.cli(t, "lists", "history", wuiList, "--json")
	if err := json.Unmarshal([]byte(out), &vs); err != nil {
		t.Fatalf("posthorn lists history --json: %v\n%s", err, out)
	}
	if len(vs) < 2 {
		t.Fatalf("history has %d versions, want the created one and the change:\n%s", len(vs), out)
	}
	v := vs[len(vs)-1]
	if v.Author != wuiOwner || v.Reason != reason {
		t.Errorf("newest version %d by %q for %q, want by %s for %q", v.Version, v.Author, v.Reason, wuiOwner, reason)
	}
	if len(v.Changes) != 1 || v.Changes[0].Field != "max_message_size" || v.Changes[0].New != "2097152" {
		t.Errorf("newest version changes %+v, want max_message_size → 2097152", v.Changes)
	}
	text := s.p.cli(t, "lists", "history", wuiList)
	if want := fmt.Sprintf("version %d", v.Version); !strings.Contains(text, want) || !strings.Contains(text, "by "+wuiOwner) ||
		!strings.Contains(text, reason) {
		t.Errorf("posthorn lists history lacks version %d by %s with the reason:\n%s", v.Version, wuiOwner, text)
	}
}

// wuiPath is the URL path of a list page, as the web UI links it.
func wuiPath(list, sub string) string {
	p := "/lists/" + url.PathEscape(list)
	if sub != "" {
		p += "/" + sub
	}
	return p
}

// readBody reads a response body, bounded.
func readBody(t *testing.T, resp *http.Response) string {
	t.Helper()
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// csrfOf returns the value of the first hidden csrf field in page.
func csrfOf(t *testing.T, page string) string {
	t.Helper()
	m := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no csrf field in the page:\n%.1500s", page)
	}
	return m[1]
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// wuiBrowser is one tab in a fresh browser context, bounded to 60 s.
type wuiBrowser struct {
	t    *testing.T
	ctx  context.Context
	base string
	dir  string
}

func wuiTab(t *testing.T, root context.Context, base, dir string) *wuiBrowser {
	t.Helper()
	tab, cancelTab := chromedp.NewContext(root, chromedp.WithNewBrowserContext())
	t.Cleanup(cancelTab)
	if err := chromedp.Do(tab); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	ctx, cancel := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(cancel)
	b := &wuiBrowser{t: t, ctx: ctx, base: base, dir: dir}
	b.do("desktop size", chromedp.EmulateViewport(1280, 900))
	return b
}

func (b *wuiBrowser) do(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	if err := chromedp.Do(b.ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

func (b *wuiBrowser) text(sel string) string {
	b.t.Helper()
	s, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		b.t.Fatalf("text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

func (b *wuiBrowser) location() string {
	b.t.Helper()
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	if err != nil {
		b.t.Fatalf("location: %v", err)
	}
	return loc
}

// login fills in the login form shown and waits for ready on the page
// the login leads to.
func (b *wuiBrowser) login(email, ready string) {
	b.t.Helper()
	b.do("log in as "+email,
		chromedp.SendKeys(chromedp.CSS(`#email`), email),
		chromedp.SendKeys(chromedp.CSS(`#password`), wuiPassword),
		chromedp.Click(chromedp.CSS(`form.auth button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS(ready)))
}

// shot saves a screenshot of the whole page as name in the artifacts.
func (b *wuiBrowser) shot(name string) {
	b.t.Helper()
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		b.t.Fatalf("screenshot %s: %v", name, err)
	}
	p := filepath.Join(b.dir, "daemon-webui-"+name)
	if err := os.WriteFile(p, png, 0o644); err != nil {
		b.t.Fatal(err)
	}
	b.t.Logf("screenshot: %s", p)
}

// shotBoth screenshots the current page at desktop width and at a 390 px
// phone width, where nothing may spill sideways, then goes back to the
// desktop size.
func (b *wuiBrowser) shotBoth(name string) {
	b.t.Helper()
	b.shot(name + "-desktop.png")
	b.do("phone size", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.WaitVisible(chromedp.CSS(`main h1`)))
	wide, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.documentElement.scrollWidth > window.innerWidth + 1`))
	if err != nil {
		b.t.Fatal(err)
	}
	if wide {
		b.t.Errorf("%s is wider than a 390 px phone screen", name)
	}
	b.shot(name + "-phone.png")
	b.do("desktop size", chromedp.EmulateViewport(1280, 900))
}
