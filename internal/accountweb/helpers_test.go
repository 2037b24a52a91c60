package accountweb

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/testutil"
	"github.com/posthorn/posthorn/internal/web"
)

const (
	annEmail = "ann@example.org"
	annPass  = "correct horse battery"
	bobEmail = "bob@example.org"
	bobPass  = "battery staple horse"
)

// site is a test server: the login pages of package web, the account
// pages, and stand-ins for /lists and an API endpoint.
type site struct {
	t   *testing.T
	srv *httptest.Server
	acc *accounts.Store
	ann *accounts.User
	bob *accounts.User
}

func newSite(t *testing.T) *site {
	t.Helper()
	db, err := store.Open(filepath.Join(t.TempDir(), "posthorn.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testutil.NewClock(time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC))
	ctx := context.Background()
	acc, err := accounts.New(ctx, db, accounts.Options{Now: clock.Now, Logger: slog.New(slog.DiscardHandler),
		Params: accounts.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	s := &site{t: t, acc: acc}
	if s.ann, err = acc.Add(ctx, accounts.NewUser{Email: annEmail, Name: "Ann Example", Password: annPass}); err != nil {
		t.Fatal(err)
	}
	if s.bob, err = acc.Add(ctx, accounts.NewUser{Email: bobEmail, Password: bobPass, SiteAdmin: true}); err != nil {
		t.Fatal(err)
	}
	rd, err := web.NewRenderer(nil)
	if err != nil {
		t.Fatal(err)
	}
	h, err := New(Options{Accounts: acc, Renderer: rd,
		Roles: func(ctx context.Context, email string) ([]ListRole, error) {
			if email == annEmail {
				return []ListRole{{List: "dev@lists.example.org", Role: "owner"}, {List: "ops@lists.example.org", Role: "moderator"}}, nil
			}
			return nil, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	auth := &web.Auth{Accounts: acc, Renderer: rd, Now: clock.Now, SiteURL: "http://127.0.0.1"}
	mux := http.NewServeMux()
	auth.Routes(mux)
	h.Routes(mux)
	who := func(w http.ResponseWriter, r *http.Request) {
		if v := web.ViewerFrom(r.Context()); v != nil {
			fmt.Fprintf(w, "viewer=%s", v.Email)
			return
		}
		fmt.Fprint(w, "anonymous")
	}
	mux.HandleFunc("GET /lists", who)
	mux.HandleFunc("GET /api/v1/me", who)
	s.srv = httptest.NewServer(auth.Middleware(mux))
	t.Cleanup(s.srv.Close)
	return s
}

// audit returns the audit entries with action.
func (s *site) audit(action string) []accounts.Entry {
	s.t.Helper()
	es, err := s.acc.AuditLog(context.Background(), accounts.Filter{Action: action})
	if err != nil {
		s.t.Fatal(err)
	}
	return es
}

// tokens returns the API tokens of u.
func (s *site) tokens(u *accounts.User) []accounts.APITokenInfo {
	s.t.Helper()
	ts, err := s.acc.APITokens(context.Background(), u.ID)
	if err != nil {
		s.t.Fatal(err)
	}
	return ts
}

// browser is a client with its own cookie jar that does not follow
// redirects.
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
	status int
	header http.Header
	body   string
}

func (b *browser) do(req *http.Request) response {
	b.s.t.Helper()
	res, err := b.c.Do(req)
	if err != nil {
		b.s.t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		b.s.t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: string(body)}
}

func (b *browser) get(path string, hdr ...string) response {
	b.s.t.Helper()
	req, err := http.NewRequest(http.MethodGet, b.s.srv.URL+path, nil)
	if err != nil {
		b.s.t.Fatal(err)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return b.do(req)
}

// post sends form as it is (see with for adding the CSRF token).
func (b *browser) post(path string, form url.Values) response {
	b.s.t.Helper()
	req, err := http.NewRequest(http.MethodPost, b.s.srv.URL+path, strings.NewReader(form.Encode()))
	if err != nil {
		b.s.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf returns the CSRF token of the form on the page at path.
func (b *browser) csrf(path string) string {
	b.s.t.Helper()
	res := b.get(path)
	m := csrfRe.FindStringSubmatch(res.body)
	if m == nil {
		b.s.t.Fatalf("no CSRF token on %s (%d): %s", path, res.status, res.body)
	}
	return m[1]
}

// with returns form plus the CSRF token of the account page.
func (b *browser) with(form url.Values) url.Values {
	b.s.t.Helper()
	out := url.Values{"csrf": {b.csrf("/account")}}
	for k, v := range form {
		out[k] = v
	}
	return out
}

// login logs the browser in and fails the test unless it worked.
func (b *browser) login(email, pw string) {
	b.s.t.Helper()
	b.tryLogin(email, pw).want(b.s.t, http.StatusSeeOther)
}

func (b *browser) tryLogin(email, pw string) response {
	b.s.t.Helper()
	return b.post("/login", url.Values{"csrf": {b.csrf("/login")}, "email": {email}, "password": {pw}})
}

func (r response) want(t *testing.T, status int, contains ...string) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body:\n%s", r.status, status, r.body)
	}
	for _, c := range contains {
		if !strings.Contains(r.body, c) {
			t.Fatalf("body lacks %q:\n%s", c, r.body)
		}
	}
	return r
}
