package webui

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

func TestSubscriptionRequests(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ctx := context.Background()
	f.token(t, testList, "unconfirmed@example.net") // policy confirm: waits for its address
	f.setSettings(t, testList, func(s *lists.Settings) { s.SubscriptionPolicy = lists.PolicyModerate })
	for _, addr := range []string{"r1@example.net", "r2@example.net", "r3@example.net"} {
		if res, err := f.st.Subscribe(ctx, testList, addr, "web"); err != nil || res.State != lists.PendingApproval {
			t.Fatalf("subscribe %s: %v %v", addr, res.State, err)
		}
	}
	w := f.do(t, viewer(moderator), "GET", lp("requests"), nil)
	if w.Code != http.StatusOK {
		t.Fatalf("status %d", w.Code)
	}
	body := w.Body.String()
	approval, confirm, _ := strings.Cut(body, `id="req-confirm"`)
	mustContain(t, approval, `value="approve:r1@example.net"`, `value="reject:r3@example.net"`, `name="addr" value="r2@example.net"`)
	mustContain(t, confirm, "unconfirmed@example.net")
	if strings.Contains(approval, "unconfirmed@") || strings.Contains(confirm, "r1@") {
		t.Error("a request is in the wrong table")
	}

	// One approval.
	w = f.do(t, viewer(moderator), "POST", lp("requests"), url.Values{"one": {"approve:r1@example.net"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("approve: status %d", w.Code)
	}
	if !f.isMember(t, testList, "r1@example.net") {
		t.Error("r1 not a member after approval")
	}
	if a := f.lastAudit(); a.Action != "subscription.approve" || a.Target != "r1@example.net" || a.Actor != viewer(moderator).Email {
		t.Errorf("audit %+v", a)
	}
	// Bulk rejection, with one request that is no longer waiting.
	w = f.do(t, viewer(owner), "POST", lp("requests"), url.Values{"action": {"reject"},
		"addr": {"r2@example.net", "r3@example.net", "r1@example.net"}})
	if w.Code != http.StatusSeeOther {
		t.Fatalf("reject: status %d", w.Code)
	}
	loc := w.Header().Get("Location")
	w = f.do(t, viewer(owner), "GET", loc, nil)
	mustContain(t, w.Body.String(), "Rejected: 2 request(s)", "1 request(s) were no longer waiting")
	for _, addr := range []string{"r2@example.net", "r3@example.net"} {
		if f.isMember(t, testList, addr) {
			t.Errorf("%s became a member", addr)
		}
	}
	pend, err := f.st.PendingSubscriptions(ctx, testList)
	if err != nil {
		t.Fatal(err)
	}
	if len(pend) != 1 || pend[0].Address != "unconfirmed@example.net" {
		t.Errorf("pending after decisions: %+v", pend)
	}
	if a := f.lastAudit(); a.Action != "subscription.reject" || a.Target != "r2@example.net, r3@example.net" {
		t.Errorf("audit %+v", a)
	}

	for _, form := range []url.Values{{"action": {"explode"}, "addr": {"x@example.net"}}, {"action": {"approve"}}} {
		if w := f.do(t, viewer(owner), "POST", lp("requests"), form); w.Code != http.StatusBadRequest {
			t.Errorf("form %v: status %d, want 400", form, w.Code)
		}
	}
}
