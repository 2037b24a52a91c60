package webui

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

func TestHeldBulkApproveCallsModerate(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	a := f.hold(t, "a@example.net", "First", plainMessage)
	b := f.hold(t, "b@example.net", "Second", plainMessage)
	c := f.hold(t, "c@example.net", "Third", plainMessage)
	mod := viewer(moderator)

	w := f.do(t, mod, "GET", lp("held"), nil)
	mustContain(t, w.Body.String(), "First", "Second", "Third", "a@example.net", "not a member", lists.RuleNonmemberModeration,
		`src="/static/webui.js"`, `value="approve:`+strconv.FormatInt(a, 10)+`"`)

	form := url.Values{"ids": {strconv.FormatInt(a, 10), strconv.FormatInt(c, 10)}, "action": {"approve"}, "reason": {"on topic"}}
	w = f.do(t, mod, "POST", lp("held"), form)
	if w.Code != http.StatusSeeOther {
		t.Fatalf("status %d: %s", w.Code, w.Body.String())
	}
	f.mu.Lock()
	calls := slices.Clone(f.calls)
	f.mu.Unlock()
	if len(calls) != 1 {
		t.Fatalf("Moderate called %d times", len(calls))
	}
	got := calls[0]
	if got.List != testList || !slices.Equal(got.IDs, []int64{a, c}) || got.Action != lists.ModApprove ||
		got.Reason != "on topic" || got.Moderator != mod.Email {
		t.Errorf("Moderate(%+v)", got)
	}
	if e := f.lastAudit(); e.Action != "held.approve" || !strings.Contains(e.Target, "#"+strconv.FormatInt(a, 10)) {
		t.Errorf("audit %+v", e)
	}

	// The redirect shows the outcome; only b is still held.
	w = f.do(t, mod, "GET", w.Header().Get("Location"), nil)
	body := w.Body.String()
	mustContain(t, body, "Approved: 2 post(s).", "Second")
	if strings.Contains(body, "First") || strings.Contains(body, "Third") {
		t.Error("approved posts still listed")
	}

	// A per-message button decides one post; a second decision on the same
	// post fails and says so.
	one := url.Values{"one": {"reject:" + strconv.FormatInt(b, 10)}, "reason": {"off topic"}}
	if w = f.do(t, mod, "POST", lp("held"), one); w.Code != http.StatusSeeOther {
		t.Fatalf("reject: status %d", w.Code)
	}
	w = f.do(t, mod, "POST", lp("held"), one)
	loc := w.Header().Get("Location")
	if !strings.Contains(loc, "failed=1") {
		t.Errorf("second decision location %q", loc)
	}
	h, err := f.st.GetHeld(context.Background(), testList, b)
	if err != nil || h.State != lists.HeldRejected || h.ModReason != "off topic" {
		t.Errorf("post b: %+v %v", h, err)
	}
}

func TestHeldBadRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	id := strconv.FormatInt(f.hold(t, "a@example.net", "First", plainMessage), 10)
	for name, form := range map[string]url.Values{
		"no action":    {"ids": {id}},
		"bad action":   {"ids": {id}, "action": {"publish"}},
		"no selection": {"action": {"approve"}},
		"bad id":       {"ids": {"x"}, "action": {"approve"}},
	} {
		if w := f.do(t, viewer(owner), "POST", lp("held"), form); w.Code != http.StatusBadRequest {
			t.Errorf("%s: status %d", name, w.Code)
		}
	}
	// A held post of another list is not reachable through this one.
	if w := f.do(t, viewer(owner), "GET", lp("held/999"), nil); w.Code != http.StatusNotFound {
		t.Errorf("unknown held post: status %d", w.Code)
	}
}

func TestHeldMessageShownSafely(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	raw := strings.Join([]string{
		`From: "<img src=x onerror=alert(1)>" <evil@example.net>`,
		"To: " + testList,
		"Subject: <script>alert('subject')</script>",
		"Message-ID: <xss@example.net>",
		"MIME-Version: 1.0",
		`Content-Type: multipart/alternative; boundary="b1"`,
		"",
		"--b1",
		"Content-Type: text/plain; charset=utf-8",
		"Content-Transfer-Encoding: quoted-printable",
		"",
		"Hi =3Cscript=3Ealert('body')=3C/script=3E caf=C3=A9",
		"--b1",
		"Content-Type: text/html",
		"",
		`<p>Hello<img src="http://tracker.example.net/pixel.gif"></p><script>alert('html')</script>`,
		"--b1--",
		"",
	}, "\r\n")
	id := f.hold(t, `<img src=x onerror=alert(1)>@example.net`, "<script>alert('subject')</script>", raw)
	mod := viewer(moderator)

	for _, path := range []string{lp("held"), lp("held/" + strconv.FormatInt(id, 10))} {
		w := f.do(t, mod, "GET", path, nil)
		if w.Code != http.StatusOK {
			t.Fatalf("%s: status %d", path, w.Code)
		}
		body := w.Body.String()
		for _, bad := range []string{"<script>alert", "<img src", "<p>Hello"} {
			if strings.Contains(body, bad) {
				t.Errorf("%s: unescaped %q in page", path, bad)
			}
		}
		mustContain(t, body, "&lt;script&gt;alert(&#39;subject&#39;)&lt;/script&gt;")
	}
	w := f.do(t, mod, "GET", lp("held/"+strconv.FormatInt(id, 10)), nil)
	body := w.Body.String()
	mustContain(t, body, "&lt;script&gt;alert(&#39;body&#39;)&lt;/script&gt; café", "HTML shown as source",
		"&lt;img src=&#34;http://tracker.example.net/pixel.gif&#34;&gt;", "Message-ID: &lt;xss@example.net&gt;")
	if csp := w.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Errorf("CSP %q", csp)
	}
}

func TestDescriptionEscaped(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	l, err := f.st.GetList(ctx, testList)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.st.UpdateList(ctx, testList, `<b onmouseover="x()">Wiki</b>`, `<script>alert("desc")</script>`, l.Settings); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{"/lists", lp("")} {
		body := f.do(t, nil, "GET", path, nil).Body.String()
		if strings.Contains(body, "<script>alert") || strings.Contains(body, "<b onmouseover") {
			t.Errorf("%s: unescaped description or name", path)
		}
		mustContain(t, body, "&lt;script&gt;alert(&#34;desc&#34;)&lt;/script&gt;")
	}
}

func TestDecisionsAndTrace(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	chain := lists.NewChain(f.st, lists.ChainOptions{})
	p, err := lists.ReadPost(strings.NewReader("From: Stranger <stranger@example.net>\r\nTo: "+testList+
		"\r\nSubject: hi\r\nMessage-ID: <dec1@example.net>\r\n\r\nhello\r\n"), "stranger@example.net", 1)
	if err != nil {
		t.Fatal(err)
	}
	chain.Decide(context.Background(), testList, p)
	w := f.do(t, viewer(moderator), "GET", lp("decisions"), nil)
	mustContain(t, w.Body.String(), "&lt;dec1@example.net&gt;", "stranger@example.net", "hold", lists.RuleNonmemberModeration)

	w = f.do(t, viewer(moderator), "GET", lp("trace?q=")+url.QueryEscape("<dec1@example.net>"), nil)
	mustContain(t, w.Body.String(), "delivered", "0123456789abcdef", "&lt;dec1@example.net&gt;")

	f.ui.o.Trace = nil
	if w := f.do(t, viewer(owner), "GET", lp("trace"), nil); w.Code != http.StatusNotFound {
		t.Errorf("trace without a Trace function: %d", w.Code)
	}
}

func TestStaticScript(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.do(t, nil, "GET", "/static/webui.js", nil)
	if w.Code != 200 || !strings.HasPrefix(w.Header().Get("Content-Type"), "text/javascript") {
		t.Fatalf("status %d type %q", w.Code, w.Header().Get("Content-Type"))
	}
	mustContain(t, w.Body.String(), "keydown", `"approve"`, "held-form")
	// No page carries inline script (CSP script-src 'self').
	id := f.hold(t, "a@example.net", "x", plainMessage)
	for _, path := range []string{lp("held"), lp("held/" + strconv.FormatInt(id, 10)), lp("settings"), lp("members"), lp("")} {
		body := f.do(t, viewer(owner), "GET", path, nil).Body.String()
		for i := 0; ; {
			j := strings.Index(body[i:], "<script")
			if j < 0 {
				break
			}
			tag := body[i+j : i+j+strings.Index(body[i+j:], ">")]
			if !strings.Contains(tag, `src="/static/`) {
				t.Errorf("%s: inline script %q", path, tag)
			}
			i += j + len(tag)
		}
		if strings.Contains(body, " onclick=") || strings.Contains(body, " onload=") {
			t.Errorf("%s: inline event handler", path)
		}
	}
}
