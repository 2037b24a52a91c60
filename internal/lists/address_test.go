package lists

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestParseAddress(t *testing.T) {
	t.Parallel()
	tests := []struct {
		in, list, role, extra string
		ok                    bool
	}{
		{"wikitech-l@lists.example.org", testList, AddrPost, "", true},
		{"<Wikitech-L@Lists.Example.ORG>", testList, AddrPost, "", true},
		{"wikitech-l-request@lists.example.org", testList, AddrRequest, "", true},
		{"wikitech-l-owner@lists.example.org", testList, AddrOwner, "", true},
		{"wikitech-l-bounces@lists.example.org", testList, AddrBounces, "", true},
		{"wikitech-l-bounces+ann=example.org@lists.example.org", testList, AddrBounces, "ann@example.org", true},
		{"wikitech-l-bounces+a+b=c=example.org@lists.example.org", testList, AddrBounces, "a+b=c@example.org", true},
		{"wikitech-l-confirm+abc123@lists.example.org", testList, AddrConfirm, "abc123", true},
		{"wikitech-l-confirm@lists.example.org", testList, AddrConfirm, "", true},
		{"wikitech-l-join@lists.example.org", testList, AddrJoin, "", true},
		{"wikitech-l-subscribe@lists.example.org", testList, AddrJoin, "", true},
		{"wikitech-l-leave@lists.example.org", testList, AddrLeave, "", true},
		{"wikitech-l-unsubscribe@lists.example.org", testList, AddrLeave, "", true},
		{"-request@lists.example.org", "-request@lists.example.org", AddrPost, "", true},
		{"not an address", "", "", "", false},
		{"@lists.example.org", "", "", "", false},
	}
	for _, tt := range tests {
		list, role, extra, ok := ParseAddress(tt.in)
		if list != tt.list || role != tt.role || extra != tt.extra || ok != tt.ok {
			t.Errorf("ParseAddress(%q) = %q %q %q %v; want %q %q %q %v", tt.in, list, role, extra, ok, tt.list, tt.role, tt.extra, tt.ok)
		}
	}
}

func TestCompanionAndVERPRoundTrip(t *testing.T) {
	t.Parallel()
	if got := CompanionAddress(testList, AddrRequest); got != "wikitech-l-request@lists.example.org" {
		t.Fatal(got)
	}
	for _, member := range []string{"ann@Example.ORG", "a+tag@example.org", "x=y@example.org"} {
		b := BounceAddress(testList, member)
		list, role, extra, ok := ParseAddress(b)
		n, _, _ := NormalizeAddress(member)
		if !ok || list != testList || role != AddrBounces || addrKey(extra) != addrKey(n) {
			t.Errorf("%s -> %s -> %q %q %q", member, b, list, role, extra)
		}
	}
	c := ConfirmAddress(testList, "tok")
	if _, role, extra, _ := ParseAddress(c); role != AddrConfirm || extra != "tok" {
		t.Fatal(c)
	}
}

func TestResolveAddressPrefersExistingList(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	l, role, extra, err := f.s.ResolveAddress(ctx, "wikitech-l-bounces+ann=example.org@lists.example.org")
	if err != nil || l.Address() != testList || role != AddrBounces || extra != "ann@example.org" {
		t.Fatalf("%v %q %q %v", l, role, extra, err)
	}
	if _, err := f.s.CreateList(ctx, ListSpec{Address: "team-owner@lists.example.org"}); err == nil {
		t.Fatal("created a list that looks like a companion address")
	}
	_, _, _, err = f.s.ResolveAddress(ctx, "nosuch@lists.example.org")
	var nf *NotFoundError
	if !errors.As(err, &nf) {
		t.Fatalf("err = %v", err)
	}
}

// TestProbeAndVERPToldApart: a probe's return path and the VERP return
// path of a member whose local part starts with "probe-" never read alike.
func TestProbeAndVERPToldApart(t *testing.T) {
	t.Parallel()
	const tok = "0123456789abcdef0123456789abcdef"
	p := ProbeAddress(testList, tok)
	if p != "wikitech-l-bounces+probe-"+tok+"@lists.example.org" {
		t.Fatal(p)
	}
	list, role, extra, ok := ParseAddress(strings.ToUpper(p))
	if !ok || list != testList || role != AddrBounces {
		t.Fatalf("%s -> %q %q %q", p, list, role, extra)
	}
	if got, ok := ProbeToken(extra); !ok || got != tok {
		t.Fatalf("ProbeToken(%q) = %q %v", extra, got, ok)
	}
	for _, member := range []string{"probe-" + tok + "@example.org", "probe-abcdefgh@example.org",
		"probe-x@example.org", "probe-@example.org", "probe-abcdefgh=x@example.org"} {
		_, role, extra, _ := ParseAddress(BounceAddress(testList, member))
		if role != AddrBounces || addrKey(extra) != addrKey(member) {
			t.Errorf("member %s read as %q %q", member, role, extra)
		}
		if got, ok := ProbeToken(extra); ok {
			t.Errorf("member %s read as probe %q", member, got)
		}
	}
	for _, bad := range []string{"", "probe-", "probe-short", "probe-abc_defgh", "probe-abcdefgh@x", "xprobe-abcdefgh",
		"probe-" + strings.Repeat("a", 65)} {
		if got, ok := ProbeToken(bad); ok {
			t.Errorf("ProbeToken(%q) = %q", bad, got)
		}
	}
}

func TestNormalizeAddress(t *testing.T) {
	t.Parallel()
	a, name, err := NormalizeAddress("Ann Example <Ann.X@Example.ORG>")
	if err != nil || a != "Ann.X@example.org" || name != "Ann Example" {
		t.Fatalf("%q %q %v", a, name, err)
	}
	var inv *InvalidError
	if _, _, err := NormalizeAddress("nobody"); !errors.As(err, &inv) {
		t.Fatalf("err = %v", err)
	}
}
