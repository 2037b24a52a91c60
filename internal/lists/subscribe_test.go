package lists

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestSubscriptionPolicies(t *testing.T) {
	t.Parallel()
	tests := []struct {
		policy       Policy
		first        SubState
		afterConfirm SubState // "" when there is no confirm step
		approve      bool
	}{
		{PolicyOpen, Subscribed, "", false},
		{PolicyConfirm, PendingConfirm, Subscribed, false},
		{PolicyModerate, PendingApproval, "", true},
		{PolicyConfirmThenModerate, PendingConfirm, PendingApproval, true},
	}
	for _, tt := range tests {
		t.Run(string(tt.policy), func(t *testing.T) {
			t.Parallel()
			f := newFixture(t)
			f.newList(t, func(s *Settings) { s.SubscriptionPolicy = tt.policy })
			ctx := context.Background()
			res, err := f.s.Subscribe(ctx, testList, "Ann <ann@Example.org>", "web")
			if err != nil {
				t.Fatal(err)
			}
			if res.State != tt.first || (res.Token != "") != (tt.first == PendingConfirm) {
				t.Fatalf("subscribe: %+v", res)
			}
			isMember := func() bool {
				_, err := f.s.GetMember(ctx, testList, "ann@example.org", RoleMember)
				return err == nil
			}
			if isMember() != (tt.first == Subscribed) {
				t.Fatalf("member after subscribe = %v", isMember())
			}
			if tt.afterConfirm != "" {
				if strings.ToLower(res.Token) != res.Token || len(res.Token) < 30 {
					t.Fatalf("token %q", res.Token)
				}
				// Only the hash is stored.
				var n int
				if err := f.s.db.QueryRow(`SELECT count(*) FROM pending WHERE CAST(token_hash AS TEXT) LIKE ?`, "%"+res.Token+"%").Scan(&n); err != nil || n != 0 {
					t.Fatalf("token stored in clear: %d %v", n, err)
				}
				c, err := f.s.Confirm(ctx, strings.ToUpper(res.Token)) // case-folded on the way
				if err != nil || c.State != tt.afterConfirm || c.List != testList || c.Address != "ann@example.org" {
					t.Fatalf("confirm: %+v %v", c, err)
				}
				var te *TokenError
				if _, err := f.s.Confirm(ctx, res.Token); !errors.As(err, &te) || te.Expired {
					t.Fatalf("token used twice: %v", err)
				}
			}
			if tt.approve {
				if isMember() {
					t.Fatal("member before approval")
				}
				p, err := f.s.PendingSubscriptions(ctx, testList)
				if err != nil || len(p) != 1 || p[0].State != PendingApproval || p[0].Address != "ann@example.org" || p[0].Via != "web" {
					t.Fatalf("pending %+v %v", p, err)
				}
				if err := f.s.ApproveSubscription(ctx, testList, "ANN@example.org"); err != nil {
					t.Fatal(err)
				}
			}
			if !isMember() {
				t.Fatal("not a member at the end")
			}
			m, _ := f.s.GetMember(ctx, testList, "ann@example.org", RoleMember)
			if m.DisplayName != "Ann" {
				t.Fatalf("display name %q", m.DisplayName)
			}
			if p, _ := f.s.PendingSubscriptions(ctx, testList); len(p) != 0 {
				t.Fatalf("pending left: %+v", p)
			}
			var ex *ExistsError
			if _, err := f.s.Subscribe(ctx, testList, "ann@example.org", "mail"); !errors.As(err, &ex) {
				t.Fatalf("resubscribe: %v", err)
			}
		})
	}
}

func TestConfirmTokenExpiry(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, func(s *Settings) { s.ConfirmDays = 2 })
	ctx := context.Background()
	res, err := f.s.Subscribe(ctx, testList, "ann@example.org", "mail")
	if err != nil {
		t.Fatal(err)
	}
	if !res.Expires.Equal(f.clock.Now().Add(48 * time.Hour)) {
		t.Fatalf("expires %v", res.Expires)
	}
	f.clock.Advance(48 * time.Hour)
	var te *TokenError
	if _, err := f.s.Confirm(ctx, res.Token); !errors.As(err, &te) || !te.Expired {
		t.Fatalf("expired token: %v", err)
	}
	if _, err := f.s.GetMember(ctx, testList, "ann@example.org", RoleMember); err == nil {
		t.Fatal("subscribed with an expired token")
	}
	// The expired request is gone; a new request gets a new token, and a
	// re-request replaces the old token.
	r1, _ := f.s.Subscribe(ctx, testList, "ann@example.org", "mail")
	r2, _ := f.s.Subscribe(ctx, testList, "ann@example.org", "web")
	if r1.Token == r2.Token {
		t.Fatal("same token twice")
	}
	if _, err := f.s.Confirm(ctx, r1.Token); !errors.As(err, &te) {
		t.Fatalf("replaced token still valid: %v", err)
	}
	if _, err := f.s.Confirm(ctx, "nonsense"); !errors.As(err, &te) || te.Expired {
		t.Fatalf("unknown token: %v", err)
	}
	f.clock.Advance(72 * time.Hour)
	if n, err := f.s.ExpirePending(ctx); err != nil || n != 1 {
		t.Fatalf("expired %d %v", n, err)
	}
	if _, err := f.s.Confirm(ctx, r2.Token); !errors.As(err, &te) {
		t.Fatalf("after ExpirePending: %v", err)
	}
}

func TestRejectSubscription(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, func(s *Settings) { s.SubscriptionPolicy = PolicyModerate })
	ctx := context.Background()
	if _, err := f.s.Subscribe(ctx, testList, "ann@example.org", "web"); err != nil {
		t.Fatal(err)
	}
	if err := f.s.RejectSubscription(ctx, testList, "ann@example.org"); err != nil {
		t.Fatal(err)
	}
	var nf *NotFoundError
	if err := f.s.ApproveSubscription(ctx, testList, "ann@example.org"); !errors.As(err, &nf) {
		t.Fatalf("approve after reject: %v", err)
	}
}

func TestUnsubscribeToken(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := f.s.UnsubscribeToken(testList, "Ann@Example.org")
	if !f.s.VerifyUnsubscribeToken(strings.ToUpper(testList), "Ann <ann@example.ORG>", tok) {
		t.Fatal("own token refused")
	}
	forged := []struct{ list, addr, tok string }{
		{testList, "bob@example.org", tok},                  // other address
		{"other@lists.example.org", "ann@example.org", tok}, // other list
		{testList, "ann@example.org", flipLast(tok)},
		{testList, "ann@example.org", ""},
		{testList, "ann@example.org", f.s.UnsubscribeToken(testList, "bob@example.org")},
	}
	for _, fg := range forged {
		if f.s.VerifyUnsubscribeToken(fg.list, fg.addr, fg.tok) {
			t.Errorf("forged token accepted: %+v", fg)
		}
	}
	// Another site secret makes other tokens.
	g := newFixture(t)
	g.s.secret = []byte("another-secret-of-16+bytes")
	if g.s.VerifyUnsubscribeToken(testList, "ann@example.org", tok) {
		t.Fatal("token valid under another secret")
	}
}

func TestNewRequiresSecret(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	var inv *InvalidError
	if _, err := New(context.Background(), f.s.db, Options{Secret: []byte("short")}); !errors.As(err, &inv) {
		t.Fatalf("err = %v", err)
	}
}

func flipLast(s string) string {
	c := byte('A')
	if s[len(s)-1] == 'A' {
		c = 'B'
	}
	return s[:len(s)-1] + string(c)
}
