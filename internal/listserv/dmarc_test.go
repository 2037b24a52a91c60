package listserv

import (
	"bytes"
	"context"
	"io"
	"mime"
	"net/mail"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

func TestDMARCPolicyLookup(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.dns.set("_dmarc.yahoo.example", "v=DMARC1; p=reject; rua=mailto:d@yahoo.example")
	f.dns.set("_dmarc.corp.example", "v=DMARC1; p=none; sp=quarantine")
	f.dns.set("_dmarc.relaxed.example", "some other record", "v=DMARC1; p=none")
	f.dns.set("_dmarc.q.example", "v=DMARC1;p=Quarantine")
	f.dns.fail["_dmarc.broken.example"] = true
	ctx := context.Background()
	cases := map[string]bool{
		"yahoo.example":         true,
		"mail.yahoo.example":    true,  // parent's p=
		"corp.example":          false, // p=none at the domain itself
		"eu.corp.example":       true,  // parent's sp=
		"relaxed.example":       false,
		"q.example":             true,
		"nothing.example":       false,
		"a.b.c.nothing.example": false,
		"broken.example":        true, // fail-safe
	}
	for d, want := range cases {
		if got := f.srv.strictDMARC(ctx, d); got != want {
			t.Errorf("%s: strict = %v, want %v", d, got, want)
		}
	}
	// Answers are cached.
	n := f.dns.count()
	for d := range cases {
		f.srv.strictDMARC(ctx, d)
	}
	if f.dns.count() != n {
		t.Errorf("%d lookups repeated despite the cache", f.dns.count()-n)
	}
	// The parent walk stops at two labels.
	for _, q := range f.dns.lookups {
		if q == "_dmarc.example" {
			t.Errorf("looked up %s", q)
		}
	}
}

func TestDMARCMungeFrom(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.roster(t)
	f.add(t, "zoe@yahoo.example", lists.RoleMember, "")
	f.dns.set("_dmarc.yahoo.example", "v=DMARC1; p=reject")
	f.settings(t, func(s *lists.Settings) { s.DMARCMitigation = lists.DMARCMungeFrom })
	// Ann's domain has no policy: untouched.
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, postLines("Ann <ann@example.org>", "hi", "<d1@example.org>")...))
	for _, m := range f.rec.take() {
		if got := m.msg.Header.Get("From"); got != "Ann <ann@example.org>" {
			t.Fatalf("From %q changed without a strict policy", got)
		}
	}
	mustOK(t, f.deliver(t, "zoe@yahoo.example", []string{testList}, postLines("Zoë <zoe@yahoo.example>", "hi", "<d2@yahoo.example>")...))
	msgs := f.rec.take()
	if len(msgs) != 3 {
		t.Fatalf("%d copies", len(msgs))
	}
	for _, m := range msgs {
		from, err := mail.ParseAddress(m.msg.Header.Get("From"))
		if err != nil || from.Address != testList || from.Name != "Zoë via Wikitech" {
			t.Fatalf("From %q (%v)", m.msg.Header.Get("From"), err)
		}
		if got := m.msg.Header.Get("Reply-To"); got != "zoe@yahoo.example" {
			t.Errorf("Reply-To %q", got)
		}
		if len(m.msg.Header["From"]) != 1 {
			t.Errorf("From fields %v", m.msg.Header["From"])
		}
	}
	// With Reply-To to the list, the author goes to Cc.
	f.settings(t, func(s *lists.Settings) { s.ReplyTo = lists.ReplyToList })
	mustOK(t, f.deliver(t, "zoe@yahoo.example", []string{testList},
		postLines("zoe@yahoo.example", "hi", "<d3@yahoo.example>", "Cc: bob@example.org")...))
	for _, m := range f.rec.take() {
		if m.msg.Header.Get("Reply-To") != testList || m.msg.Header.Get("Cc") != "bob@example.org, zoe@yahoo.example" {
			t.Fatalf("Reply-To %q Cc %q", m.msg.Header.Get("Reply-To"), m.msg.Header.Get("Cc"))
		}
		if from, _ := mail.ParseAddress(m.msg.Header.Get("From")); from == nil || from.Name != "zoe via Wikitech" {
			t.Fatalf("From %q", m.msg.Header.Get("From"))
		}
	}
}

func TestDMARCWrapUnconditionally(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.roster(t)
	f.settings(t, func(s *lists.Settings) {
		s.DMARCMitigation = lists.DMARCWrap
		s.DMARCMitigateUnconditionally = true
		s.Footer = "-- {list}"
	})
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList},
		postLines("Ann <ann@example.org>", "Deploy", "<w1@example.org>", "DKIM-Signature: v=1; d=example.org; b=abc")...))
	if f.dns.count() != 0 {
		t.Errorf("looked up DNS although mitigating unconditionally")
	}
	msgs := f.rec.take()
	if len(msgs) != 2 {
		t.Fatalf("%d copies", len(msgs))
	}
	m := msgs[0]
	if from, _ := mail.ParseAddress(m.msg.Header.Get("From")); from == nil || from.Address != testList {
		t.Fatalf("outer From %q", m.msg.Header.Get("From"))
	}
	if m.msg.Header.Get("Subject") != "[wikitech-l] Deploy" || m.msg.Header.Get("Message-Id") != "<w1@example.org>" ||
		m.msg.Header.Get("Reply-To") != "ann@example.org" {
		t.Errorf("outer header %v", m.msg.Header)
	}
	mt, ps, bodies := parts(t, m.raw)
	if mt != "multipart/mixed" || len(ps) != 3 {
		t.Fatalf("%s with %d parts:\n%s", mt, len(ps), m.raw)
	}
	if ps[1].Header.Get("Content-Type") != "message/rfc822" || !strings.Contains(bodies[2], "-- Wikitech") {
		t.Fatalf("parts %v %v", ps[1].Header, bodies)
	}
	inner, err := mail.ReadMessage(bytes.NewReader([]byte(bodies[1])))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(inner.Body)
	if inner.Header.Get("From") != "Ann <ann@example.org>" || inner.Header.Get("Subject") != "Deploy" ||
		inner.Header.Get("Dkim-Signature") == "" || !strings.Contains(string(body), "the deploy is at 20:00.") {
		t.Fatalf("inner message %v %q", inner.Header, body)
	}
	if _, _, err := mime.ParseMediaType(m.msg.Header.Get("Content-Type")); err != nil {
		t.Fatal(err)
	}
}
