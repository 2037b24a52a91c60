package webui

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/listserv"
	"github.com/posthorn/posthorn/internal/web"
)

// subscribeFrom posts the subscribe form for addr from the client at
// remote (host:port) as viewer v.
func (f *fixture) subscribeFrom(t testing.TB, v *web.Viewer, remote, addr string) *httptest.ResponseRecorder {
	t.Helper()
	form := url.Values{"csrf": {testCSRF}, "address": {addr}}
	r := httptest.NewRequest("POST", lp("subscribe"), strings.NewReader(form.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.RemoteAddr = remote
	return f.serve(v, r)
}

func TestSubscribeMailNotSent(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.ui.o.Subscribe = func(ctx context.Context, list, addr string) (lists.SubscribeResult, error) {
		res, err := f.st.Subscribe(ctx, list, addr, "web")
		if err != nil {
			return res, err
		}
		res.Token = ""
		return res, &listserv.SendError{What: "confirmation request", Err: errors.New("spool full")}
	}
	w := f.subscribeFrom(t, nil, "192.0.2.10:1000", "unlucky@example.net")
	if w.Code != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", w.Code)
	}
	body := w.Body.String()
	mustContain(t, body, "Your request was recorded", "confirmation request could not be sent", "try again later",
		`value="unlucky@example.net"`)
	if strings.Contains(body, "spool full") {
		t.Error("the internal error reaches the browser")
	}
	if a := f.lastAudit(); a.Action != "subscribe" || a.Target != "unlucky@example.net" || !strings.Contains(a.Detail, "not sent") {
		t.Errorf("audit %+v", a)
	}
}

func TestSubscribeErrorsShown(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	w := f.subscribeFrom(t, nil, "192.0.2.11:1000", "not an address")
	if w.Code != http.StatusBadRequest {
		t.Errorf("bad address: status %d, want 400", w.Code)
	}
	mustContain(t, w.Body.String(), "not an email address we can use")
	w = f.subscribeFrom(t, nil, "192.0.2.11:1000", viewer(member).Email)
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "done=exists") {
		t.Errorf("existing member: status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
	w = f.subscribeFrom(t, nil, "192.0.2.11:1000", "fresh@example.net")
	if w.Code != http.StatusSeeOther || !strings.Contains(w.Header().Get("Location"), "done=confirm") {
		t.Errorf("new address: status %d, Location %q", w.Code, w.Header().Get("Location"))
	}
}

func TestSubscribeRateLimitPerClient(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 5 {
		if w := f.subscribeFrom(t, nil, "198.51.100.7:4000", fmt.Sprintf("a%d@example.net", i)); w.Code != http.StatusSeeOther {
			t.Fatalf("request %d: status %d", i+1, w.Code)
		}
	}
	w := f.subscribeFrom(t, nil, "198.51.100.7:4001", "a9@example.net")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("6th request in an hour: status %d, want 429", w.Code)
	}
	mustContain(t, w.Body.String(), "Too many subscription requests from your network", "Nothing was sent")
	if w.Header().Get("Retry-After") == "" {
		t.Error("no Retry-After")
	}
	if _, err := f.st.GetMember(context.Background(), testList, "a9@example.net", lists.RoleMember); err == nil {
		t.Error("the refused request subscribed")
	}
	if w := f.subscribeFrom(t, nil, "198.51.100.8:4000", "b@example.net"); w.Code != http.StatusSeeOther {
		t.Errorf("another client: status %d", w.Code)
	}
	// IPv6 clients count by /64.
	for i := range 5 {
		remote := fmt.Sprintf("[2001:db8:1:2::%x]:443", i+1)
		if w := f.subscribeFrom(t, nil, remote, fmt.Sprintf("v6-%d@example.net", i)); w.Code != http.StatusSeeOther {
			t.Fatalf("v6 request %d: status %d", i+1, w.Code)
		}
	}
	if w := f.subscribeFrom(t, nil, "[2001:db8:1:2:ffff::1]:443", "v6-x@example.net"); w.Code != http.StatusTooManyRequests {
		t.Errorf("same /64: status %d, want 429", w.Code)
	}
	f.clock.Advance(time.Hour + time.Second)
	if w := f.subscribeFrom(t, nil, "198.51.100.7:4000", "a9@example.net"); w.Code != http.StatusSeeOther {
		t.Errorf("an hour later: status %d", w.Code)
	}
}

func TestSubscribeRateLimitPerAddress(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	for i := range 3 {
		remote := fmt.Sprintf("203.0.113.%d:25", i+1)
		if w := f.subscribeFrom(t, nil, remote, "victim@example.net"); w.Code != http.StatusSeeOther {
			t.Fatalf("request %d: status %d", i+1, w.Code)
		}
	}
	w := f.subscribeFrom(t, nil, "203.0.113.99:25", "Victim@EXAMPLE.net")
	if w.Code != http.StatusTooManyRequests {
		t.Fatalf("4th request for the address in a day: status %d, want 429", w.Code)
	}
	mustContain(t, w.Body.String(), "for this address")
	if w := f.subscribeFrom(t, nil, "203.0.113.99:25", "someone-else@example.net"); w.Code != http.StatusSeeOther {
		t.Errorf("another address: status %d", w.Code)
	}
	f.clock.Advance(24*time.Hour + time.Second)
	if w := f.subscribeFrom(t, nil, "203.0.113.99:25", "victim@example.net"); w.Code != http.StatusSeeOther {
		t.Errorf("a day later: status %d", w.Code)
	}
}

func TestSubscribeLimitsOptions(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	// The list's staff are not limited.
	for i := range 8 {
		if w := f.subscribeFrom(t, viewer(owner), "192.0.2.50:1", "staff-added@example.net"); w.Code != http.StatusSeeOther {
			t.Fatalf("owner request %d: status %d", i+1, w.Code)
		}
	}
	// ClientIP decides who the client is; a negative count is no limit.
	ui, err := New(Options{Lists: f.st, Moderate: f.ui.o.Moderate, Now: f.clock.Now,
		ClientIP:        func(r *http.Request) string { return r.Header.Get("X-Real-IP") },
		SubscribeLimits: SubscribeLimits{PerIP: 1, PerAddress: -1}})
	if err != nil {
		t.Fatal(err)
	}
	f.mux = http.NewServeMux()
	ui.Routes(f.mux)
	post := func(realIP string) int {
		form := url.Values{"csrf": {testCSRF}, "address": {"same@example.net"}}
		r := httptest.NewRequest("POST", lp("subscribe"), strings.NewReader(form.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.Header.Set("X-Real-IP", realIP)
		return f.serve(nil, r).Code
	}
	for i, c := range []struct {
		ip   string
		want int
	}{{"10.0.0.1", 303}, {"10.0.0.1", 429}, {"10.0.0.2", 303}, {"10.0.0.3", 303}, {"10.0.0.4", 303}} {
		if got := post(c.ip); got != c.want {
			t.Errorf("request %d from %s: status %d, want %d", i+1, c.ip, got, c.want)
		}
	}
}

func TestLimiterBoundsKeys(t *testing.T) {
	t.Parallel()
	l := newLimiter(2, time.Minute)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range limiterMaxKeys {
		if ok, _ := l.allow(fmt.Sprint(i), now); !ok {
			t.Fatalf("key %d refused", i)
		}
	}
	if ok, wait := l.allow("one too many", now); ok || wait <= 0 {
		t.Errorf("a new key past the bound: ok %v, wait %v", ok, wait)
	}
	if ok, _ := l.allow("7", now); !ok {
		t.Error("a known key under its limit was refused")
	}
	if ok, _ := l.allow("7", now); ok {
		t.Error("a key past its limit was allowed")
	}
	later := now.Add(time.Minute + time.Second)
	if ok, _ := l.allow("one too many", later); !ok {
		t.Error("after the window, the stale keys should make room")
	}
	if n := len(l.seen); n != 1 {
		t.Errorf("%d keys kept after the sweep, want 1", n)
	}
}
