package webui

import (
	"context"
	"github.com/posthorn/posthorn/internal/testutil"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/web"
)

// TestA11yListPages checks every page of the list interface, in its
// empty and its filled state, with its error messages, with the static
// accessibility rules (testutil.CheckA11y).
func TestA11yListPages(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	ow, mod := viewer(owner), viewer(moderator)
	type page struct {
		name   string
		v      *web.Viewer
		method string
		target string
		form   url.Values
		status int
	}
	check := func(pages ...page) {
		t.Helper()
		for _, p := range pages {
			w := f.do(t, p.v, p.method, p.target, p.form)
			if w.Code != p.status {
				t.Errorf("%s: status %d, want %d", p.name, w.Code, p.status)
				continue
			}
			testutil.CheckA11y(t, p.name, w.Body.String())
		}
	}
	// Empty states first.
	check(
		page{"held, none waiting", mod, "GET", lp("held"), nil, http.StatusOK},
		page{"requests, none waiting", mod, "GET", lp("requests"), nil, http.StatusOK},
		page{"decisions, none yet", mod, "GET", lp("decisions"), nil, http.StatusOK},
		page{"audit log, empty", ow, "GET", lp("audit"), nil, http.StatusOK},
	)

	id := f.hold(t, "stranger@example.net", "Hello", plainMessage)
	f.hold(t, "other@example.net", "", plainMessage)
	f.token(t, testList, "unconfirmed@example.net")
	f.setSettings(t, testList, func(s *lists.Settings) { s.SubscriptionPolicy = lists.PolicyModerate })
	if res, err := f.st.Subscribe(context.Background(), testList, "asking@example.net", "web"); err != nil || res.State != lists.PendingApproval {
		t.Fatalf("subscribe: %v %v", res.State, err)
	}
	tok := f.token(t, otherList, "newcomer@example.net")
	addMany(t, f.st, testList, 30)

	preview := currentForm(t, f, map[string]string{"default_member_action": "hold", "max_recipients": "25"})
	apply := url.Values{}
	for k, v := range preview {
		apply[k] = v
	}
	rev := regexp.MustCompile(`name="rev" value="([^"]*)"`).FindStringSubmatch(f.do(t, ow, "POST", lp("settings"), preview).Body.String())
	if rev == nil {
		t.Fatal("the preview carries no rev")
	}
	apply.Set("rev", rev[1])
	apply.Set("step", "apply")
	apply.Set("reason", " ")
	unsub := url.Values{"address": {viewer(member).Email}, "token": {f.st.UnsubscribeToken(testList, viewer(member).Email)}}
	check(
		page{"list index, anonymous", nil, "GET", "/lists", nil, http.StatusOK},
		page{"list index, owner", ow, "GET", "/lists", nil, http.StatusOK},
		page{"overview, anonymous", nil, "GET", lp(""), nil, http.StatusOK},
		page{"overview, member", viewer(member), "GET", lp(""), nil, http.StatusOK},
		page{"overview, owner", ow, "GET", lp(""), nil, http.StatusOK},
		page{"settings", ow, "GET", lp("settings"), nil, http.StatusOK},
		page{"settings with an invalid value", ow, "POST", lp("settings"), currentForm(t, f, map[string]string{"max_recipients": "many"}), http.StatusUnprocessableEntity},
		page{"settings preview with warnings", ow, "POST", lp("settings"), preview, http.StatusOK},
		page{"settings apply without reason and ack", ow, "POST", lp("settings"), apply, http.StatusUnprocessableEntity},
		page{"history", ow, "GET", lp("history"), nil, http.StatusOK},
		page{"restore without a reason", ow, "POST", lp("history/1/restore"), url.Values{"reason": {""}}, http.StatusUnprocessableEntity},
		page{"members", ow, "GET", lp("members"), nil, http.StatusOK},
		page{"members, searched", ow, "GET", lp("members") + "?q=nobody&role=owner", nil, http.StatusOK},
		page{"members added", ow, "POST", lp("members/add"), url.Values{"addresses": {"new@example.net\nnot an address"}, "role": {"member"}}, http.StatusOK},
		page{"held", mod, "GET", lp("held"), nil, http.StatusOK},
		page{"held message", mod, "GET", lp("held/") + strconv.FormatInt(id, 10), nil, http.StatusOK},
		page{"requests", mod, "GET", lp("requests"), nil, http.StatusOK},
		page{"decisions", mod, "GET", lp("decisions"), nil, http.StatusOK},
		page{"trace form", mod, "GET", lp("trace"), nil, http.StatusOK},
		page{"trace", mod, "GET", lp("trace") + "?q=%3Cm%40example.net%3E", nil, http.StatusOK},
		page{"audit log", ow, "GET", lp("audit"), nil, http.StatusOK},
		page{"confirm a subscription", nil, "GET", listPath(otherList, "confirm/"+tok), nil, http.StatusOK},
		page{"subscription confirmed", nil, "POST", listPath(otherList, "confirm/"+tok), confirmForm, http.StatusOK},
		page{"confirmation link that does not work", nil, "GET", lp("confirm/nosuchtoken"), nil, http.StatusNotFound},
		page{"unsubscribe link", nil, "GET", lp("unsubscribe") + "?" + unsub.Encode(), nil, http.StatusOK},
		page{"unsubscribed by link", nil, "POST", lp("unsubscribe") + "?" + unsub.Encode(), url.Values{"csrf": {testCSRF}, "action": {"unsubscribe"}}, http.StatusOK},
		page{"refused", viewer(member), "GET", lp("members"), nil, http.StatusForbidden},
	)
}
