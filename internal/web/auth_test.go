package web

import (
	"context"
	"fmt"
	"html"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/testutil"
)

const (
	annEmail = "ann@example.org"
	annPass  = "correct horse battery"
)

// site is a test web server: Auth's routes plus a few stand-in pages.
type site struct {
	t     *testing.T
	srv   *httptest.Server
	acc   *accounts.Store
	clock *testutil.Clock

	mu    sync.Mutex
	mails map[string]string // email → reset link
}

func newSite(t *testing.T, secure bool) *site {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "posthorn.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testutil.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	acc, err := accounts.New(context.Background(), db, accounts.Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler),
		Params: accounts.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := acc.Add(context.Background(), accounts.NewUser{Email: annEmail, Name: "Ann", Password: annPass}); err != nil {
		t.Fatal(err)
	}
	rd, err := NewRenderer(nil)
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, acc: acc, clock: clock, mails: map[string]string{}}
	a := &Auth{Accounts: acc, Renderer: rd, Secure: secure, Now: clock.Now, SiteURL: "https://lists.example.org/",
		SendReset: func(ctx context.Context, email, link string) error {
			s.mu.Lock()
			defer s.mu.Unlock()
			s.mails[email] = link
			return nil
		},
		SelfAuthenticating: func(r *http.Request) bool { return r.URL.Path == "/lists/x/unsubscribe" }}
	mux := http.NewServeMux()
	a.Routes(mux)
	who := func(w http.ResponseWriter, r *http.Request) {
		v := ViewerFrom(r.Context())
		if v == nil {
			fmt.Fprint(w, "anonymous")
			return
		}
		fmt.Fprintf(w, "viewer=%s csrf=%s", v.Email, CSRFToken(r.Context()))
	}
	mux.HandleFunc("GET /lists", who)
	home := template.Must(template.New("home").Parse(`{{define "home"}}<form id="act-form" method="post" action="/lists/act">
<input type="hidden" name="csrf" value="{{.}}"><label for="x">Value</label><input type="text" id="x" name="x" value="42">
<button type="submit" id="act-submit">Do it</button></form>{{end}}`))
	mux.Handle("GET /home", RequireLogin(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rd.Render(w, r, http.StatusOK, Page{Title: "Home"}, home, "home", CSRFToken(r.Context()))
	})))
	mux.Handle("GET /private", RequireLogin(http.HandlerFunc(who)))
	mux.Handle("POST /private", RequireLogin(http.HandlerFunc(who)))
	mux.HandleFunc("POST /lists/act", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintf(w, "done %s", r.PostFormValue("x")) })
	mux.HandleFunc("POST /lists/x/unsubscribe", who)
	mux.HandleFunc("GET /api/v1/me", who)
	mux.HandleFunc("POST /api/v1/act", who)
	s.srv = httptest.NewServer(a.Middleware(mux))
	t.Cleanup(s.srv.Close)
	return s
}

// browser is a client with a cookie jar that does not follow redirects.
type browser struct {
	s *site
	c *http.Client
}

func (s *site) browser() *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		s.t.Fatal(err)
	}
	return &browser{s: s, c: &http.Client{Jar: jar, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type response struct {
	*http.Response
	body string
}

func (b *browser) do(req *http.Request) response {
	b.s.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		b.s.t.Fatal(err)
	}
	return response{resp, string(body)}
}

func (b *browser) get(path string) response {
	b.s.t.Helper()
	req, err := http.NewRequest("GET", b.s.srv.URL+path, nil)
	if err != nil {
		b.s.t.Fatal(err)
	}
	return b.do(req)
}

func (b *browser) post(path string, form url.Values, hdr ...string) response {
	b.s.t.Helper()
	req, err := http.NewRequest("POST", b.s.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

var csrfInput = regexp.MustCompile(`name="csrf" value="([^"]*)"`)

// csrf fetches path and returns the token of its first form.
func (b *browser) csrf(path string) string {
	b.s.t.Helper()
	r := b.get(path)
	m := csrfInput.FindStringSubmatch(r.body)
	if m == nil {
		b.s.t.Fatalf("no CSRF field in %s (status %d):\n%s", path, r.StatusCode, r.body)
	}
	return html.UnescapeString(m[1])
}

// login logs in and returns the response to the POST.
func (b *browser) login(email, pw, next string) response {
	b.s.t.Helper()
	tok := b.csrf("/login")
	return b.post("/login", url.Values{"csrf": {tok}, "email": {email}, "password": {pw}, "next": {next}})
}

func (r response) want(t *testing.T, status int, contains ...string) response {
	t.Helper()
	if r.StatusCode != status {
		t.Fatalf("status %d, want %d\n%s", r.StatusCode, status, r.body)
	}
	for _, c := range contains {
		if !strings.Contains(r.body, c) {
			t.Fatalf("body lacks %q:\n%s", c, r.body)
		}
	}
	return r
}

func (r response) cookie(name string) *http.Cookie {
	for _, c := range r.Cookies() {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (s *site) audit(action string) []accounts.Entry {
	s.t.Helper()
	es, err := s.acc.AuditLog(context.Background(), accounts.Filter{Action: action})
	if err != nil {
		s.t.Fatal(err)
	}
	return es
}
