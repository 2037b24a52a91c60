package listapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/mail"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/listserv"
	"github.com/posthorn/posthorn/internal/spool"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/testutil"
	"github.com/posthorn/posthorn/internal/web"
)

const (
	testList  = "wikitech-l@lists.example.org"
	otherList = "other-l@lists.example.org"
	// hiddenList is not advertised: private to the people with a role.
	hiddenList = "staff-l@lists.example.org"
)

// The users of the role table: each has an account with an API token.
const (
	anonymous = "anonymous"
	other     = "other-list member"
	member    = "member"
	moderator = "moderator"
	owner     = "owner"
	admin     = "site admin"
)

func emailOf(who string) string {
	switch who {
	case other:
		return "other@example.org"
	case member:
		return "member@example.org"
	case moderator:
		return "mod@example.org"
	case owner:
		return "owner@example.org"
	case admin:
		return "admin@example.org"
	}
	return ""
}

func roles() []string { return []string{anonymous, other, member, moderator, owner, admin} }

// submitted is one message the list server put in the (recorded) queue.
type submitted struct {
	env  spool.Envelope
	raw  string
	body string
}

// recorder is the list server's Submit: it records instead of spooling.
type recorder struct {
	mu   sync.Mutex
	msgs []submitted
	// fail, when set, makes every Submit fail (a full spool).
	fail bool
}

func (r *recorder) setFail(fail bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.fail = fail
}

func (r *recorder) submit(env *spool.Envelope, body io.Reader) (string, error) {
	raw, err := io.ReadAll(body)
	if err != nil {
		return "", err
	}
	m, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		return "", fmt.Errorf("submitted message does not parse: %w", err)
	}
	b, _ := io.ReadAll(m.Body)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return "", errors.New("spool full")
	}
	r.msgs = append(r.msgs, submitted{env: *env, raw: string(raw), body: string(b)})
	return fmt.Sprintf("q%d", len(r.msgs)), nil
}

func (r *recorder) take() []submitted {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := r.msgs
	r.msgs = nil
	return out
}

// to returns the messages whose envelope goes to rcpt.
func to(msgs []submitted, rcpt string) []submitted {
	var out []submitted
	for _, m := range msgs {
		for _, r := range m.env.Rcpts {
			if strings.EqualFold(r, rcpt) {
				out = append(out, m)
				break
			}
		}
	}
	return out
}

// fixture is a test server: the real web.Auth middleware in front of the
// API, over real SQLite stores, with a list server whose queue records.
type fixture struct {
	srv    *httptest.Server
	st     *lists.Store
	acc    *accounts.Store
	ls     *listserv.Server
	rec    *recorder
	clock  *testutil.Clock
	tokens map[string]string // who → API token
	users  map[string]*accounts.User
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "posthorn.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testutil.NewClock(time.Date(2026, 5, 19, 17, 0, 0, 0, time.UTC))
	logger := slog.New(slog.DiscardHandler)
	st, err := lists.New(ctx, db, lists.Options{Secret: []byte("0123456789abcdef-test-secret"), Now: clock.Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	acc, err := accounts.New(ctx, db, accounts.Options{Now: clock.Now, Logger: logger,
		Params: accounts.Params{Memory: 64, Time: 1, Threads: 1}})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	ls, err := listserv.New(ctx, listserv.Options{Lists: st, Chain: lists.NewChain(st, lists.ChainOptions{}), DB: db,
		Submit: rec.submit, Hostname: "mx1.example.org", SiteURL: "https://lists.example.org", Now: clock.Now, Logger: logger,
		LookupTXT: func(_ context.Context, name string) ([]string, error) {
			return nil, &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
		}})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, acc: acc, ls: ls, rec: rec, clock: clock, tokens: map[string]string{}, users: map[string]*accounts.User{}}
	hidden := lists.DefaultSettings("staff-l")
	hidden.Advertised = false
	for _, spec := range []lists.ListSpec{
		{Address: testList, DisplayName: "Wikitech", Description: "Technical discussion", Author: "admin@example.org"},
		{Address: otherList, DisplayName: "Other", Author: "admin@example.org"},
		{Address: hiddenList, DisplayName: "Staff", Author: "admin@example.org", Settings: &hidden},
	} {
		if _, err := st.CreateList(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	f.add(t, testList, emailOf(member), lists.RoleMember)
	f.add(t, testList, emailOf(moderator), lists.RoleModerator)
	f.add(t, testList, emailOf(owner), lists.RoleOwner)
	f.add(t, hiddenList, emailOf(owner), lists.RoleOwner)
	f.add(t, otherList, emailOf(other), lists.RoleMember)
	for _, who := range roles()[1:] {
		u, err := acc.Add(ctx, accounts.NewUser{Email: emailOf(who), Name: who, Password: "correct horse battery", SiteAdmin: who == admin})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := acc.NewAPIToken(ctx, u.ID, "tests")
		if err != nil {
			t.Fatal(err)
		}
		f.users[who], f.tokens[who] = u, tok
	}
	api, err := New(Options{Lists: st, Moderate: ls.ModerateMany, Audit: acc.Audit, Logger: logger, Now: clock.Now,
		Private: func(l *lists.List) bool { return !l.Settings.Advertised }})
	if err != nil {
		t.Fatal(err)
	}
	rd, err := web.NewRenderer(logger)
	if err != nil {
		t.Fatal(err)
	}
	auth := &web.Auth{Accounts: acc, Renderer: rd, Now: clock.Now, Logger: logger, SiteURL: "http://127.0.0.1/"}
	mux := http.NewServeMux()
	auth.Routes(mux)
	api.Routes(mux)
	// A stand-in page that shows a session its CSRF token, as the web
	// pages do in their forms.
	mux.HandleFunc("GET /csrf", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, web.CSRFToken(r.Context()))
	})
	f.srv = httptest.NewServer(auth.Middleware(mux))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) add(t testing.TB, list, addr string, role lists.Role) {
	t.Helper()
	if _, err := f.st.AddMember(context.Background(), list, lists.NewMember{Address: addr, Role: role}); err != nil {
		t.Fatal(err)
	}
}

// post builds a plain post to testList.
func post(from, subject, body string) string {
	return strings.Join([]string{"From: " + from, "To: " + testList, "Subject: " + subject,
		"Message-ID: <" + strings.ReplaceAll(subject, " ", ".") + "@example.net>", "Date: Tue, 19 May 2026 16:00:00 +0000",
		"", body, ""}, "\r\n")
}

// hold puts raw in testList's moderation queue as the chain would, and
// returns its id.
func (f *fixture) hold(t testing.TB, from, subject, raw string) int64 {
	t.Helper()
	f.clock.Advance(time.Second)
	h, _, err := f.st.Hold(context.Background(), testList, lists.NewHeld{
		EnvelopeFrom: from, Subject: subject,
		Decision: lists.Decision{MessageID: fmt.Sprintf("<%d@example.net>", f.clock.Now().UnixNano()), Poster: from,
			Rule: lists.RuleNonmemberModeration, Reason: "not a member"},
		Raw: []byte(raw), Expires: f.clock.Now().Add(72 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h.ID
}

// deliver hands a post to the list server as the queue would.
func (f *fixture) deliver(t testing.TB, from, raw string) {
	t.Helper()
	res := f.ls.Deliver(context.Background(), &courier.Message{ID: "Q1", From: from, Rcpts: []string{testList},
		Size: int64(len(raw)), Body: strings.NewReader(raw)})
	for _, r := range res {
		if r.Err != nil {
			t.Fatalf("deliver: %v", r.Err)
		}
	}
}

// response is an answer of the API.
type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// JSON decodes the body into a generic value.
func (r response) JSON(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.Body, &m); err != nil {
		t.Fatalf("status %d, body is not a JSON object: %v\n%s", r.Status, err, r.Body)
	}
	return m
}

// decodeInto decodes the body into v.
func (r response) decodeInto(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.Body, v); err != nil {
		t.Fatalf("status %d, body does not decode: %v\n%s", r.Status, err, r.Body)
	}
}

// call sends one request as who (anonymous: no credentials), with body
// marshalled to JSON when it is not nil.
func (f *fixture) call(t testing.TB, who, method, path string, body any) response {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, f.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if who != anonymous {
		req.Header.Set("Authorization", "Bearer "+f.tokens[who])
	}
	return f.send(t, req)
}

func (f *fixture) send(t testing.TB, req *http.Request) response {
	t.Helper()
	resp, err := f.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{Status: resp.StatusCode, Header: resp.Header, Body: b}
}

// audits returns the audit log of list, oldest first.
func (f *fixture) audits(t testing.TB, list string) []accounts.Entry {
	t.Helper()
	es, err := f.acc.AuditLog(context.Background(), accounts.Filter{List: list, Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

// lastAudit returns the newest audit entry of list.
func (f *fixture) lastAudit(t testing.TB, list string) accounts.Entry {
	t.Helper()
	es := f.audits(t, list)
	if len(es) == 0 {
		t.Fatal("no audit entry")
	}
	return es[len(es)-1]
}

// lp is the API path of testList's endpoint sub ("" for the list).
func lp(sub string) string {
	p := "/api/v1/lists/" + testList
	if sub != "" {
		p += "/" + sub
	}
	return p
}

// history returns testList's settings versions, oldest first.
func (f *fixture) history(t testing.TB) []lists.Version {
	t.Helper()
	vs, err := f.st.History(context.Background(), testList)
	if err != nil {
		t.Fatal(err)
	}
	return vs
}
