package trace

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
)

func get(t *testing.T, srv *httptest.Server, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b), resp.Header
}

func traceServer(t *testing.T) (*httptest.Server, *Store) {
	t.Helper()
	st, _ := openTest(t, Options{})
	srv := httptest.NewServer(Handler(st))
	t.Cleanup(srv.Close)
	return srv, st
}

func TestHandlerPage(t *testing.T) {
	t.Parallel()
	srv, st := traceServer(t)
	history(st, qid1, notice1, t0)
	flush(t, st)

	code, body, hdr := get(t, srv, "/trace")
	if code != 200 || !strings.Contains(body, `<label for="trace-q">`) || strings.Contains(body, "No messages") {
		t.Fatalf("empty form: %d\n%s", code, body)
	}
	if !strings.HasPrefix(hdr.Get("Content-Type"), "text/html") {
		t.Fatalf("content type %q", hdr.Get("Content-Type"))
	}
	for _, q := range []string{qid1, "<" + qid1 + "@example.org>", "bob@far.example"} {
		code, body, _ = get(t, srv, "/trace?q="+url.QueryEscape(q))
		for _, want := range []string{
			"<h2>" + qid1 + "</h2>",
			"Message-ID &lt;" + qid1 + "@example.org&gt;",
			"550 5.1.1 no such user",
			"(notice " + notice1 + ")",
			"2026-03-01 12:00:01.000",
			`value="` + attrEscape(q) + `"`,
		} {
			if !strings.Contains(body, want) {
				t.Errorf("q=%s: page lacks %q:\n%s", q, want, body)
			}
		}
		if code != 200 {
			t.Errorf("q=%s: status %d", q, code)
		}
	}
	code, body, _ = get(t, srv, "/trace?q=nobody@nowhere.example")
	if code != 200 || !strings.Contains(body, "No messages found.") {
		t.Fatalf("not found: %d\n%s", code, body)
	}
	code, body, _ = get(t, srv, "/trace?q=x@y&from=yesterday")
	if code != 400 || !strings.Contains(body, `cannot read time &#34;yesterday&#34;`) {
		t.Fatalf("bad time: %d\n%s", code, body)
	}
	// The window narrows an address search (UTC).
	_, body, _ = get(t, srv, "/trace?q=bob@far.example&from=2026-03-01T13:00")
	if !strings.Contains(body, "No messages found.") {
		t.Fatalf("window ignored:\n%s", body)
	}
}

// attrEscape is how html/template writes a plain attribute value.
func attrEscape(s string) string {
	return strings.NewReplacer("<", "&lt;", ">", "&gt;").Replace(s)
}

func TestHandlerEscapesHostileValues(t *testing.T) {
	t.Parallel()
	srv, st := traceServer(t)
	st.Record(maillog.Event{Kind: maillog.Accepted, Time: t0, QueueID: qid1, MessageID: `<"><script>alert(1)</script>@x>`,
		Service: `svc"><img src=x onerror=alert(2)>`, From: "evil@example.org"})
	st.Record(maillog.Event{Kind: maillog.Deferred, Time: t0.Add(time.Second), QueueID: qid1, From: "evil@example.org",
		Rcpt: "<b>bold</b>@example.org", Upstream: "mx1:25", Reply: `451 <script>alert("reply")</script>`})
	flush(t, st)
	code, body, hdr := get(t, srv, "/trace?q="+qid1)
	if code != 200 || !strings.Contains(body, "<h2>"+qid1+"</h2>") {
		t.Fatalf("status %d\n%s", code, body)
	}
	for _, bad := range []string{"<script>", "<img", "<b>bold"} {
		if strings.Contains(body, bad) {
			t.Errorf("page contains unescaped %q:\n%s", bad, body)
		}
	}
	if !strings.Contains(body, "451 &lt;script&gt;alert(&#34;reply&#34;)&lt;/script&gt;") {
		t.Errorf("reply not shown escaped:\n%s", body)
	}
	if !strings.Contains(hdr.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Errorf("no CSP: %v", hdr)
	}
	// A hostile query is echoed escaped, too.
	_, body, _ = get(t, srv, "/trace?q="+url.QueryEscape(`"><script>alert(3)</script>`))
	if strings.Contains(body, "<script>") {
		t.Errorf("query echoed unescaped:\n%s", body)
	}
}

func TestHandlerJSON(t *testing.T) {
	t.Parallel()
	srv, st := traceServer(t)
	history(st, qid1, notice1, t0)
	flush(t, st)
	code, body, hdr := get(t, srv, "/api/v1/trace?q="+qid1[:10])
	if code != 200 || hdr.Get("Content-Type") != "application/json" {
		t.Fatalf("%d %q\n%s", code, hdr.Get("Content-Type"), body)
	}
	var res struct {
		Messages []Message `json:"messages"`
	}
	if err := json.Unmarshal([]byte(body), &res); err != nil {
		t.Fatal(err)
	}
	if len(res.Messages) != 1 || res.Messages[0].QueueID != qid1 || len(res.Messages[0].Events) != 8 ||
		res.Messages[0].Events[3].Reply != "550 5.1.1 no such user" {
		t.Fatalf("json %s", body)
	}
	code, body, _ = get(t, srv, "/api/v1/trace?q=nobody@nowhere.example")
	if code != 200 || strings.TrimSpace(body) != `{"messages":[]}` {
		t.Fatalf("not found: %d %s", code, body)
	}
	code, body, _ = get(t, srv, "/api/v1/trace")
	if code != 400 || !strings.Contains(body, `"error"`) {
		t.Fatalf("no query: %d %s", code, body)
	}
	code, _, _ = get(t, srv, "/api/v1/trace?q=x@y&to=soon")
	if code != 400 {
		t.Fatalf("bad time: %d", code)
	}
}
