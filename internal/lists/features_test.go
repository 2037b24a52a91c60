package lists

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"
)

// The settings added for footers, DMARC and digests appear in the
// reflected views (SettingValues, Diff, SetField) without extra code.
func TestNewSettingsReflected(t *testing.T) {
	t.Parallel()
	def := DefaultSettings("x")
	if err := def.Validate(); err != nil {
		t.Fatal(err)
	}
	if def.Footer != "" || def.Header != "" || def.DMARCMitigation != DMARCNone || def.DMARCMitigateUnconditionally ||
		!def.DigestEnabled || def.DigestSizeThreshold != 30 || def.DigestInterval != DigestDaily {
		t.Fatalf("defaults %+v", def)
	}
	names := SettingNames()
	for _, want := range []string{"header", "footer", "dmarc_mitigation", "dmarc_mitigate_unconditionally",
		"digest_enabled", "digest_size_threshold", "digest_interval"} {
		if !slices.Contains(names, want) {
			t.Errorf("SettingNames lacks %s", want)
		}
	}
	set := def
	for _, kv := range [][2]string{{"footer", "-- \n{list} <{list_address}>"}, {"dmarc_mitigation", "wrap_message"},
		{"dmarc_mitigate_unconditionally", "yes"}, {"digest_enabled", "off"}, {"digest_size_threshold", "5"},
		{"digest_interval", "weekly"}} {
		var err error
		if set, err = SetField(set, kv[0], kv[1]); err != nil {
			t.Fatalf("SetField %s: %v", kv[0], err)
		}
	}
	if set.DMARCMitigation != DMARCWrap || !set.DMARCMitigateUnconditionally || set.DigestEnabled ||
		set.DigestSizeThreshold != 5 || set.DigestInterval != DigestWeekly || set.Footer == "" {
		t.Fatalf("after SetField: %+v", set)
	}
	d := Diff(def, set)
	if len(d) != 6 || d[0].Field != "footer" {
		t.Fatalf("Diff = %+v", d)
	}
	vals := map[string]string{}
	for _, v := range SettingValues(set) {
		vals[v.Field] = v.Value
	}
	if vals["dmarc_mitigation"] != `"wrap_message"` || vals["digest_size_threshold"] != "5" {
		t.Fatalf("SettingValues = %v", vals)
	}
	for _, kv := range [][2]string{{"dmarc_mitigation", "rewrite"}, {"digest_interval", "hourly"}, {"digest_size_threshold", "-1"}} {
		if _, err := SetField(set, kv[0], kv[1]); err == nil {
			t.Errorf("SetField %s=%s accepted", kv[0], kv[1])
		}
	}
	// Stored settings without the new keys keep their defaults.
	old, err := unmarshalSettings("x", []byte(`{"version":1,"subject_prefix":"[x] "}`))
	if err != nil || old.DigestInterval != DigestDaily || old.DMARCMitigation != DMARCNone || !old.DigestEnabled {
		t.Fatalf("%+v %v", old, err)
	}
}

func TestDeliveryMode(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	f.addMember(t, "ann@example.org", RoleMember, nil)
	if _, err := f.s.AddMember(ctx, testList, NewMember{Address: "bob@example.org", Mode: ModeDigest}); err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.AddMember(ctx, testList, NewMember{Address: "eve@example.org", Mode: "weekly"}); err == nil {
		t.Fatal("bad mode accepted")
	}
	m, err := f.s.GetMember(ctx, testList, "ann@example.org", RoleMember)
	if err != nil || m.Mode != ModeRegular {
		t.Fatalf("%+v %v", m, err)
	}
	if err := f.s.SetDeliveryMode(ctx, testList, "ann@example.org", ModeDigest); err != nil {
		t.Fatal(err)
	}
	var inv *InvalidError
	if err := f.s.SetDeliveryMode(ctx, testList, "ann@example.org", "sometimes"); !errors.As(err, &inv) {
		t.Fatalf("err = %v", err)
	}
	var nf *NotFoundError
	if err := f.s.SetDeliveryMode(ctx, testList, "nobody@example.org", ModeDigest); !errors.As(err, &nf) {
		t.Fatalf("err = %v", err)
	}
	page, err := f.s.Members(ctx, testList, MemberQuery{Mode: ModeDigest})
	if err != nil || len(page.Members) != 2 {
		t.Fatalf("digest members %v %v", page.Members, err)
	}
	if err := f.s.SetDeliveryMode(ctx, testList, "bob@example.org", ModeRegular); err != nil {
		t.Fatal(err)
	}
	page, _ = f.s.Members(ctx, testList, MemberQuery{Mode: ModeRegular})
	if len(page.Members) != 1 || page.Members[0].Address != "bob@example.org" {
		t.Fatalf("regular members %v", page.Members)
	}
}

func TestUnsubscribeNeedsConfirmation(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	f.newList(t, nil)
	ctx := context.Background()
	f.addMember(t, "ann@example.org", RoleMember, nil)
	var nf *NotFoundError
	if _, err := f.s.RequestUnsubscribe(ctx, testList, "stranger@example.org", "mail"); !errors.As(err, &nf) {
		t.Fatalf("non-member: %v", err)
	}
	first, err := f.s.RequestUnsubscribe(ctx, testList, "Ann@Example.org", "mail")
	if err != nil || first.State != PendingUnsubscribe || first.Token == "" {
		t.Fatalf("%+v %v", first, err)
	}
	res, err := f.s.RequestUnsubscribe(ctx, testList, "ann@example.org", "mail")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.s.GetMember(ctx, testList, "ann@example.org", RoleMember); err != nil {
		t.Fatalf("unsubscribed before confirming: %v", err)
	}
	if pend, _ := f.s.PendingSubscriptions(ctx, testList); len(pend) != 0 {
		t.Fatalf("unsubscription listed as a subscription: %+v", pend)
	}
	var te *TokenError
	if _, err := f.s.Confirm(ctx, first.Token); !errors.As(err, &te) {
		t.Fatalf("replaced token: %v", err)
	}
	got, err := f.s.Confirm(ctx, res.Token)
	if err != nil || got.State != Unsubscribed || got.List != testList || got.Address != "ann@example.org" {
		t.Fatalf("%+v %v", got, err)
	}
	if _, err := f.s.GetMember(ctx, testList, "ann@example.org", RoleMember); !errors.As(err, &nf) {
		t.Fatalf("still a member: %v", err)
	}
	if _, err := f.s.Confirm(ctx, res.Token); !errors.As(err, &te) {
		t.Fatalf("token used twice: %v", err)
	}
	// An expired token does nothing.
	f.addMember(t, "bob@example.org", RoleMember, nil)
	res, err = f.s.RequestUnsubscribe(ctx, testList, "bob@example.org", "mail")
	if err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(4 * 24 * time.Hour)
	if _, err := f.s.Confirm(ctx, res.Token); !errors.As(err, &te) || !te.Expired {
		t.Fatalf("expired: %v", err)
	}
	if _, err := f.s.GetMember(ctx, testList, "bob@example.org", RoleMember); err != nil {
		t.Fatalf("expired token unsubscribed: %v", err)
	}
	if _, err := f.s.RequestUnsubscribe(ctx, testList, "bob@example.org", "mail"); err != nil {
		t.Fatal(err)
	}
	f.clock.Advance(4 * 24 * time.Hour)
	if n, err := f.s.ExpirePending(ctx); err != nil || n != 1 {
		t.Fatalf("ExpirePending = %d, %v", n, err)
	}
}
