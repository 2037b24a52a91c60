package archiveweb

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/web"
)

const (
	pubList  = "wikitech-l@lists.example.org"
	privList = "internal-l@lists.example.org"
	testCSRF = "csrf-token-for-tests"
)

// The viewers of the authorization table.
const (
	anonymous = "anonymous"
	other     = "other-list member"
	member    = "member"
	owner     = "owner"
	admin     = "site admin"
)

func viewer(who string) *web.Viewer {
	switch who {
	case other:
		return &web.Viewer{UserID: 5, Email: "other@example.org"}
	case member:
		return &web.Viewer{UserID: 1, Email: "member@example.org"}
	case owner:
		return &web.Viewer{UserID: 3, Email: "owner@example.org"}
	case admin:
		return &web.Viewer{UserID: 4, Email: "admin@example.org", SiteAdmin: true}
	}
	return nil
}

type fixture struct {
	ls   *lists.Store
	arch *archive.Archive
	h    *Handler
	mux  *http.ServeMux
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	dir := t.TempDir()
	ldb, err := store.Open(filepath.Join(dir, "posthorn.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ldb.Close() })
	adb, err := store.Open(filepath.Join(dir, "archive.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { adb.Close() })
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	now := func() time.Time { return time.Date(2026, 5, 19, 17, 0, 0, 0, time.UTC) }
	ls, err := lists.New(ctx, ldb, lists.Options{Secret: []byte("0123456789abcdef-test-secret"), Now: now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	priv := lists.DefaultSettings("internal-l")
	priv.ArchivePolicy = lists.ArchivePolicyPrivate
	for _, spec := range []lists.ListSpec{
		{Address: pubList, DisplayName: "Wikitech", Author: "admin@example.org"},
		{Address: privList, DisplayName: "Internal", Author: "admin@example.org", Settings: &priv},
		{Address: "other-l@lists.example.org", Author: "admin@example.org"},
	} {
		if _, err := ls.CreateList(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []struct {
		list, addr string
		role       lists.Role
	}{
		{pubList, "member@example.org", lists.RoleMember},
		{privList, "member@example.org", lists.RoleMember},
		{pubList, "owner@example.org", lists.RoleOwner},
		{privList, "owner@example.org", lists.RoleOwner},
		{"other-l@lists.example.org", "other@example.org", lists.RoleMember},
	} {
		if _, err := ls.AddMember(ctx, m.list, lists.NewMember{Address: m.addr, Role: m.role}); err != nil {
			t.Fatal(err)
		}
	}
	arch, err := archive.New(ctx, adb, archive.Options{Now: now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Archive: arch, Lists: ls, Logger: logger, Now: now, SiteURL: "https://lists.example.org/"})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{ls: ls, arch: arch, h: h, mux: http.NewServeMux()}
	h.Routes(f.mux)
	return f
}

// post is a test message.
type post struct {
	id, from, subject, irt, body string
	date                         time.Time
	// extra header lines and a full MIME body replace the text body
	header, mime string
}

func (p post) raw() []byte {
	var b strings.Builder
	from := p.from
	if from == "" {
		from = "Alice Example <alice@example.org>"
	}
	fmt.Fprintf(&b, "From: %s\r\nMessage-ID: <%s>\r\n", from, p.id)
	if p.irt != "" {
		fmt.Fprintf(&b, "In-Reply-To: <%s>\r\nReferences: <%s>\r\n", p.irt, p.irt)
	}
	d := p.date
	if d.IsZero() {
		d = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	}
	fmt.Fprintf(&b, "Date: %s\r\nSubject: %s\r\n%s", d.Format(time.RFC1123Z), p.subject, p.header)
	if p.mime != "" {
		b.WriteString(p.mime)
		return []byte(b.String())
	}
	fmt.Fprintf(&b, "Content-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n", p.body)
	return []byte(b.String())
}

func (f *fixture) add(t testing.TB, list string, p post) *archive.Entry {
	t.Helper()
	e, added, err := f.arch.Add(context.Background(), list, p.raw(), archive.AddOptions{})
	if err != nil || !added {
		t.Fatalf("add %s: %v %v", p.id, added, err)
	}
	return e
}

// get serves GET target as viewer who.
func (f *fixture) get(t testing.TB, who, target string) *httptest.ResponseRecorder {
	t.Helper()
	return f.serve(viewer(who), httptest.NewRequest(http.MethodGet, target, nil))
}

// postForm serves a POST of form as viewer who.
func (f *fixture) postForm(t testing.TB, who, target string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return f.serve(viewer(who), r)
}

func (f *fixture) serve(v *web.Viewer, r *http.Request) *httptest.ResponseRecorder {
	r = r.WithContext(web.WithCSRF(web.WithViewer(r.Context(), v), testCSRF))
	w := httptest.NewRecorder()
	f.mux.ServeHTTP(w, r)
	return w
}

func mustStatus(t testing.TB, w *httptest.ResponseRecorder, want int) string {
	t.Helper()
	if w.Code != want {
		t.Fatalf("status %d, want %d; body:\n%s", w.Code, want, w.Body.String())
	}
	return w.Body.String()
}

// checkPage parses a page as a browser would and fails on anything that
// could run script or load from elsewhere: script-like elements, on*
// attributes, and links or sources with a scheme other than http(s) and
// mailto. It is independent of the sanitiser's tables.
func checkPage(t testing.TB, page string) {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(page))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	bad := map[string]bool{"script": true, "iframe": true, "img": true, "object": true, "embed": true, "style": true,
		"svg": true, "math": true, "base": true, "meta": false, "frame": true, "video": true, "audio": true, "source": true,
		"form": false, "template": true, "noscript": true}
	var walk func(n *html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode {
			if bad[n.Data] {
				t.Errorf("page has <%s>", n.Data)
			}
			for _, a := range n.Attr {
				key := strings.ToLower(a.Key)
				if strings.HasPrefix(key, "on") || key == "style" || key == "srcset" || key == "formaction" || key == "srcdoc" {
					t.Errorf("<%s> has attribute %s=%q", n.Data, a.Key, a.Val)
				}
				if key == "href" || key == "src" || key == "action" || key == "xlink:href" || key == "background" {
					v := strings.ToLower(strings.Map(func(r rune) rune {
						if r <= 0x20 || r == 0x7f {
							return -1
						}
						return r
					}, a.Val))
					if u, err := url.Parse(v); err != nil || (u.Scheme != "" && u.Scheme != "http" && u.Scheme != "https" && u.Scheme != "mailto") {
						t.Errorf("<%s %s=%q>", n.Data, a.Key, a.Val)
					}
				}
			}
			if n.Data == "link" {
				for _, a := range n.Attr {
					if a.Key == "href" && !strings.HasPrefix(a.Val, "/") {
						t.Errorf("<link> loads %q", a.Val)
					}
				}
			}
			if n.Data == "form" {
				for _, a := range n.Attr {
					if a.Key == "action" && !strings.HasPrefix(a.Val, "/") {
						t.Errorf("<form> posts to %q", a.Val)
					}
				}
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
}
