package webui

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/posthorn/posthorn/internal/testutil"
	"github.com/posthorn/posthorn/internal/web"
)

// focusable is one element the keyboard can reach, as the page lists them
// in DOM order (focusablesJS), in document coordinates.
type focusable struct {
	Desc     string    `json:"desc"`
	Skip     bool      `json:"skip"`
	Rect     []float64 // left, top, right, bottom
	DocWidth float64   `json:"docWidth"`
}

// focused is the element that has the focus, in viewport coordinates.
type focused struct {
	Idx     string    `json:"idx"` // its index among the focusables; "" when none
	Desc    string    `json:"desc"`
	Outline string    `json:"outline"`
	Width   string    `json:"width"`
	Shadow  string    `json:"shadow"`
	Rect    []float64 `json:"rect"` // left, top, right, bottom
	VW, VH  float64
	InMain  bool `json:"inMain"`
	Current bool `json:"current"` // inside the row webui.js marks current
}

// a11yDescJS describes an element for messages.
const a11yDescJS = `const a11yDesc = el => el === document.body || !el ? 'body' :
	el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className ? '.' + String(el.className).trim().replace(/\s+/g, '.') : '') +
	' "' + (el.getAttribute('aria-label') || el.textContent || el.value || el.name || '').trim().replace(/\s+/g, ' ').slice(0, 40) + '"';`

// focusablesJS numbers the keyboard-reachable elements in DOM order
// (data-a11y) and lists them: every link, control, summary and tabindex
// element that is rendered, enabled and not taken out of the order.
const focusablesJS = `(() => {` + a11yDescJS + `
	const sel = 'a[href], area[href], button, input, select, textarea, summary, iframe, [tabindex], [contenteditable]';
	const out = [];
	for (const el of document.querySelectorAll(sel)) {
		if (el.disabled || el.tabIndex < 0 || (el.tagName === 'INPUT' && el.type === 'hidden')) continue;
		if (el.tagName === 'SUMMARY' && el.parentElement.tagName !== 'DETAILS') continue;
		if (el.getClientRects().length === 0 || getComputedStyle(el).visibility === 'hidden') continue;
		el.dataset.a11y = String(out.length);
		const r = el.getBoundingClientRect();
		out.push({desc: a11yDesc(el), skip: el.classList.contains('skip'),
			Rect: [r.left + scrollX, r.top + scrollY, r.right + scrollX, r.bottom + scrollY],
			docWidth: document.documentElement.scrollWidth});
	}
	return out;
})()`

// focusedJS reports document.activeElement.
const focusedJS = `(() => {` + a11yDescJS + `
	const el = document.activeElement;
	const cs = el ? getComputedStyle(el) : null;
	const r = el ? el.getBoundingClientRect() : {left: 0, top: 0, right: 0, bottom: 0};
	return {idx: (el && el.dataset && el.dataset.a11y) || '', desc: a11yDesc(el),
		outline: cs ? cs.outlineStyle : '', width: cs ? cs.outlineWidth : '', shadow: cs ? cs.boxShadow : '',
		rect: [r.left, r.top, r.right, r.bottom], VW: innerWidth, VH: innerHeight,
		inMain: !!(el && el.closest('main')), current: !!(el && el.closest('tr.current'))};
})()`

// positiveTabindexJS lists elements with a tabindex above 0.
const positiveTabindexJS = `Array.from(document.querySelectorAll('[tabindex]')).filter(el => el.tabIndex > 0).map(el => el.outerHTML.slice(0, 80))`

// TestA11yFocusInBrowser walks the login page and the main list pages
// with the Tab key in chromium: the first Tab reaches the skip link, which
// is off-screen until then and leads into main; the focus then visits
// every focusable element in DOM order (and no tabindex reorders them),
// each with a visible focus indicator and on screen; the held page's
// keyboard shortcuts neither steal the focus from a text field nor keep
// it. Screenshots of focused states go to $POSTHORN_ARTIFACTS.
func TestA11yFocusInBrowser(t *testing.T) {
	t.Parallel()
	testutil.Chromium(t) // skip early, before building the fixture
	f := newFixture(t)
	f.hold(t, "first@example.net", "First held", plainMessage)
	f.hold(t, "second@example.net", "Second held", plainMessage)
	addMany(t, f.st, testList, 8)
	rd, err := web.NewRenderer(slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	auth := http.NewServeMux()
	(&web.Auth{Renderer: rd}).Routes(auth)

	// What the auth middleware does for a logged-in owner (the login page
	// is served to an anonymous visitor), with the site's CSP.
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; script-src 'self'; style-src 'self'; form-action 'self'; img-src 'self'")
		r = r.WithContext(web.WithCSRF(r.Context(), testCSRF))
		if r.URL.Path == "/login" || r.URL.Path == "/static/posthorn.css" {
			auth.ServeHTTP(w, r)
			return
		}
		f.mux.ServeHTTP(w, r.WithContext(web.WithViewer(r.Context(), viewer(owner))))
	}))
	t.Cleanup(srv.Close)

	browser := testutil.Browser(t, 1280, 900)
	ctx, cancel := context.WithTimeout(browser, 120*time.Second)
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
	now := func(what string) focused {
		t.Helper()
		st, err := chromedp.Run(ctx, chromedp.Evaluate[focused](focusedJS))
		if err != nil {
			t.Fatalf("%s: reading the focus: %v", what, err)
		}
		return st
	}
	key := func(what, k string, opts ...chromedp.KeyOption) focused {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.KeyEvent(k, opts...)); err != nil {
			t.Fatalf("%s: key %q: %v", what, k, err)
		}
		return now(what)
	}
	open := func(name, path string) []focusable {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+path), chromedp.WaitVisible(chromedp.CSS(`main h1`))); err != nil {
			t.Fatalf("%s: loading %s: %v", name, path, err)
		}
		els, err := chromedp.Run(ctx, chromedp.Evaluate[[]focusable](focusablesJS))
		if err != nil {
			t.Fatalf("%s: listing the focusable elements: %v", name, err)
		}
		if len(els) < 2 || len(els) > 200 {
			t.Fatalf("%s: %d focusable elements, want 2..200", name, len(els))
		}
		return els
	}

	for _, pg := range []struct{ name, path string }{
		{"login", "/login"},
		{"overview", lp("")},
		{"settings", lp("settings")},
		{"members", lp("members")},
		{"held", lp("held")},
	} {
		els := open(pg.name, pg.path)
		if pos, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](positiveTabindexJS)); err != nil || len(pos) > 0 {
			t.Errorf("%s: elements with a positive tabindex (%v): %q", pg.name, err, pos)
		}
		// (d) Nothing the keyboard reaches is off the page, but the skip
		// link before it has the focus.
		if !els[0].Skip {
			t.Errorf("%s: the first focusable element is %s, want the skip link", pg.name, els[0].Desc)
		}
		for i, e := range els {
			r := e.Rect
			off := r[2] <= 0 || r[3] <= 0 || r[0] >= e.DocWidth || r[2]-r[0] < 1 || r[3]-r[1] < 1
			if off != (i == 0 && e.Skip) {
				t.Errorf("%s: %s at %v is off-screen=%v", pg.name, e.Desc, r, off)
			}
		}
		// (a) to (c): Tab once per element.
		var shotTaken bool
		for i := range els {
			st := key(pg.name, kb.Tab)
			what := fmt.Sprintf("%s, Tab %d", pg.name, i+1)
			if want := strconv.Itoa(i); st.Idx != want {
				t.Errorf("%s: the focus is on %s (#%s), want %s (#%s): the focus order is not the DOM order", what, st.Desc, st.Idx, els[i].Desc, want)
				break
			}
			if (st.Outline == "none" || st.Width == "0px") && st.Shadow == "none" {
				t.Errorf("%s: %s has no visible focus indicator (outline %s %s, box-shadow %s)", what, st.Desc, st.Outline, st.Width, st.Shadow)
			}
			r := st.Rect
			// In view once focused (a tall textarea only partly: the
			// browser scrolls its caret into view).
			if r[2] <= 0 || r[3] <= 0 || r[0] >= st.VW || r[1] >= st.VH {
				t.Errorf("%s: %s at %v is outside the %vx%v viewport", what, st.Desc, r, st.VW, st.VH)
			}
			switch {
			case i == 0:
				shot("a11y-" + pg.name + "-skip-link.png")
			case !shotTaken && st.InMain && strings.HasPrefix(st.Desc, "button"):
				shot("a11y-" + pg.name + "-focus.png")
				shotTaken = true
			}
		}
		// The skip link leads into main: Tab, Enter, Tab.
		open(pg.name, pg.path)
		key(pg.name, kb.Tab)
		key(pg.name, kb.Enter)
		if st := key(pg.name+", after the skip link", kb.Tab); !st.InMain {
			t.Errorf("%s: after following the skip link, Tab goes to %s, outside main", pg.name, st.Desc)
		}
	}

	// (e) The held page's shortcuts: j moves the focus to a row, and Tab
	// and Shift+Tab move on from there through the whole page; typed in
	// the reason field, j is text and the focus stays.
	els := open("held", lp("held"))
	st := key("held, j", "j")
	if !st.Current || st.Idx == "" {
		t.Fatalf("held: j put the focus on %s, want the current row's checkbox", st.Desc)
	}
	from, _ := strconv.Atoi(st.Idx)
	if next := key("held, Tab after j", kb.Tab); next.Idx != strconv.Itoa(from+1) {
		t.Errorf("held: Tab after j went to %s (#%s), want #%d", next.Desc, next.Idx, from+1)
	}
	if back := key("held, Shift+Tab", kb.Tab, chromedp.KeyModifiers(chromedp.ModifierShift)); back.Idx != st.Idx {
		t.Errorf("held: Shift+Tab went to %s (#%s), want back to #%s", back.Desc, back.Idx, st.Idx)
	}
	last := st
	for range len(els) - from - 1 {
		last = key("held, Tab to the end", kb.Tab)
	}
	if last.Idx != strconv.Itoa(len(els)-1) {
		t.Errorf("held: after j and %d Tabs the focus is on %s (#%s), want the last element #%d", len(els)-from-1, last.Desc, last.Idx, len(els)-1)
	}
	if err := chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(`#held-reason`))); err != nil {
		t.Fatal(err)
	}
	if st := key("held, j in the reason field", "j"); st.Current {
		t.Errorf("held: typing j in the reason field moved the focus to %s", st.Desc)
	}
	val, err := chromedp.Run(ctx, chromedp.Evaluate[string](`document.activeElement.id + '=' + document.activeElement.value`))
	if err != nil || val != "held-reason=j" {
		t.Errorf("held: after typing j in the reason field: %q, %v", val, err)
	}
	shot("a11y-held-reason-focus.png")
}
