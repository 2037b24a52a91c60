package webui

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/store"
	"github.com/posthorn/posthorn/internal/testutil"
	"github.com/posthorn/posthorn/internal/web"
)

const (
	testList  = "wikitech-l@lists.example.org"
	otherList = "other-l@lists.example.org"
	testCSRF  = "csrf-token-for-tests"
)

// The viewers of the authorization table: anonymous (nil), a member of
// another list, a member, a moderator and an owner of testList, a site admin.
const (
	anonymous = "anonymous"
	other     = "other-list member"
	member    = "member"
	moderator = "moderator"
	owner     = "owner"
	admin     = "site admin"
)

func viewer(who string) *web.Viewer {
	switch who {
	case other:
		return &web.Viewer{UserID: 5, Email: "other@example.org"}
	case member:
		return &web.Viewer{UserID: 1, Email: "member@example.org"}
	case moderator:
		return &web.Viewer{UserID: 2, Email: "mod@example.org"}
	case owner:
		return &web.Viewer{UserID: 3, Email: "owner@example.org"}
	case admin:
		return &web.Viewer{UserID: 4, Email: "admin@example.org", SiteAdmin: true}
	}
	return nil
}

// modCall is one call of the fake Moderate.
type modCall struct {
	List      string
	IDs       []int64
	Action    lists.ModAction
	Reason    string
	Moderator string
}

type fixture struct {
	st    *lists.Store
	ui    *UI
	mux   *http.ServeMux
	clock *testutil.Clock

	mu     sync.Mutex
	calls  []modCall
	audits []AuditEntry
}

func newFixture(t testing.TB) *fixture {
	t.Helper()
	ctx := context.Background()
	db, err := store.Open(filepath.Join(t.TempDir(), "lists.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	clock := testutil.NewClock(time.Date(2026, 5, 19, 17, 0, 0, 0, time.UTC))
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	st, err := lists.New(ctx, db, lists.Options{Secret: []byte("0123456789abcdef-test-secret"), Now: clock.Now, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{st: st, clock: clock}
	for _, spec := range []lists.ListSpec{
		{Address: testList, DisplayName: "Wikitech", Description: "Technical discussion", Author: "admin@example.org"},
		{Address: otherList, DisplayName: "Other", Author: "admin@example.org"},
	} {
		if _, err := st.CreateList(ctx, spec); err != nil {
			t.Fatal(err)
		}
	}
	f.add(t, testList, viewer(member).Email, lists.RoleMember)
	f.add(t, testList, viewer(moderator).Email, lists.RoleModerator)
	f.add(t, testList, viewer(owner).Email, lists.RoleOwner)
	f.add(t, otherList, viewer(other).Email, lists.RoleMember)
	ui, err := New(Options{
		Lists: st,
		Moderate: func(ctx context.Context, list string, ids []int64, action lists.ModAction, reason, moderator string) ([]lists.HeldResult, error) {
			f.mu.Lock()
			f.calls = append(f.calls, modCall{List: list, IDs: append([]int64(nil), ids...), Action: action, Reason: reason, Moderator: moderator})
			f.mu.Unlock()
			return st.ModerateMany(ctx, list, ids, action, reason, moderator)
		},
		Audit: func(ctx context.Context, e AuditEntry) error {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.audits = append(f.audits, e)
			return nil
		},
		AuditLog: func(ctx context.Context, list string, before int64, limit int) ([]AuditRow, error) {
			f.mu.Lock()
			defer f.mu.Unlock()
			var out []AuditRow
			for i := len(f.audits) - 1; i >= 0 && len(out) < limit; i-- {
				e, id := f.audits[i], int64(i+1)
				if e.List != list || before > 0 && id >= before {
					continue
				}
				out = append(out, AuditRow{ID: id, At: clock.Now(), Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail})
			}
			return out, nil
		},
		Trace: func(ctx context.Context, list, q string) ([]TraceRow, error) {
			return []TraceRow{{Time: clock.Now(), Kind: "delivered", QueueID: "0123456789abcdef", MessageID: q, From: "ann@example.org", Rcpt: list}}, nil
		},
		Logger: logger,
		Now:    clock.Now,
	})
	if err != nil {
		t.Fatal(err)
	}
	f.ui = ui
	f.mux = http.NewServeMux()
	ui.Routes(f.mux)
	return f
}

func (f *fixture) add(t testing.TB, list, addr string, role lists.Role) {
	t.Helper()
	if _, err := f.st.AddMember(context.Background(), list, lists.NewMember{Address: addr, Role: role}); err != nil {
		t.Fatal(err)
	}
}

// hold puts a message in testList's moderation queue and returns its id.
func (f *fixture) hold(t testing.TB, from, subject, raw string) int64 {
	t.Helper()
	n := f.clock.Now().UnixNano()
	mid := fmt.Sprintf("<%d.%s@example.org>", n, strings.NewReplacer("<", "", ">", "", "@", ".").Replace(from))
	f.clock.Advance(time.Second)
	h, _, err := f.st.Hold(context.Background(), testList, lists.NewHeld{
		EnvelopeFrom: from, Subject: subject,
		Decision: lists.Decision{MessageID: mid, Poster: from, Rule: lists.RuleNonmemberModeration, Reason: "not a member"},
		Raw:      []byte(raw), Expires: f.clock.Now().Add(72 * time.Hour),
	})
	if err != nil {
		t.Fatal(err)
	}
	return h.ID
}

// do serves one request as viewer v (nil: anonymous), with the CSRF token
// on the context as the middleware would set it.
func (f *fixture) do(t testing.TB, v *web.Viewer, method, target string, form url.Values) *httptest.ResponseRecorder {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	r := httptest.NewRequest(method, target, body)
	if form != nil {
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	return f.serve(v, r)
}

func (f *fixture) serve(v *web.Viewer, r *http.Request) *httptest.ResponseRecorder {
	r = r.WithContext(web.WithCSRF(web.WithViewer(r.Context(), v), testCSRF))
	w := httptest.NewRecorder()
	f.mux.ServeHTTP(w, r)
	return w
}

// upload posts a multipart form with one file field.
func (f *fixture) upload(t testing.TB, v *web.Viewer, target, field, name string, data []byte) *httptest.ResponseRecorder {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField(web.CSRFField, testCSRF)
	fw, err := mw.CreateFormFile(field, name)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = fw.Write(data)
	if err := mw.Close(); err != nil {
		t.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, target, &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	return f.serve(v, r)
}

func (f *fixture) lastAudit() AuditEntry {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.audits) == 0 {
		return AuditEntry{}
	}
	return f.audits[len(f.audits)-1]
}

func lp(sub string) string { return listPath(testList, sub) }

func mustContain(t testing.TB, body string, wants ...string) {
	t.Helper()
	for _, w := range wants {
		if !strings.Contains(body, w) {
			t.Errorf("response lacks %q", w)
		}
	}
}

const plainMessage = "From: Stranger <stranger@example.net>\r\nTo: " + testList + "\r\nSubject: Hello\r\n" +
	"Message-ID: <m@example.net>\r\n\r\nHello list.\r\n"
