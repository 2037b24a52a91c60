package listserv

import (
	"bytes"
	"context"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
)

// digestParts parses a digest: the table of contents and the posts.
func digestParts(t *testing.T, m sent) (string, []*mail.Message) {
	t.Helper()
	mt, ps, bodies := parts(t, m.raw)
	if mt != "multipart/mixed" || len(ps) < 2 {
		t.Fatalf("%s with %d parts", mt, len(ps))
	}
	dt, params, err := mime.ParseMediaType(ps[1].Header.Get("Content-Type"))
	if err != nil || dt != "multipart/digest" {
		t.Fatalf("second part %q", ps[1].Header.Get("Content-Type"))
	}
	r := multipart.NewReader(strings.NewReader(bodies[1]), params["boundary"])
	var posts []*mail.Message
	for range 100 {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if ct := p.Header.Get("Content-Type"); ct != "message/rfc822" {
			t.Fatalf("digest part %q", ct)
		}
		b, _ := io.ReadAll(p)
		pm, err := mail.ReadMessage(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		posts = append(posts, pm)
	}
	return bodies[0], posts
}

func TestDigestByTime(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	f.roster(t)
	ctx := context.Background()
	if _, err := f.db.AddMember(ctx, testList, lists.NewMember{Address: "dave@example.org", Mode: lists.ModeDigest}); err != nil {
		t.Fatal(err)
	}
	f.settings(t, func(s *lists.Settings) { s.DigestSizeThreshold = 0; s.Footer = "-- {list}" })
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, postLines("Ann <ann@example.org>", "First", "<g1@example.org>")...))
	f.clock.Advance(time.Hour)
	mustOK(t, f.deliver(t, "bob@example.org", []string{testList}, postLines("Bob <bob@example.org>", "Second", "<g2@example.org>")...))
	msgs := f.rec.take()
	if len(msgs) != 4 || len(to(msgs, "dave@example.org")) != 0 {
		t.Fatalf("%d copies, %d to the digest member", len(msgs), len(to(msgs, "dave@example.org")))
	}
	if err := f.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(f.rec.take()); n != 0 {
		t.Fatalf("%d messages before the interval", n)
	}
	f.clock.Advance(24 * time.Hour)
	if err := f.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	msgs = f.rec.take()
	if len(msgs) != 1 || msgs[0].env.Rcpts[0] != "dave@example.org" {
		t.Fatalf("digest copies: %+v", msgs)
	}
	d := msgs[0]
	if d.env.From != lists.BounceAddress(testList, "dave@example.org") {
		t.Errorf("envelope sender %s", d.env.From)
	}
	if got := d.msg.Header.Get("Subject"); got != "Wikitech Digest, Vol 1, Issue 1" {
		t.Errorf("Subject %q", got)
	}
	if !strings.Contains(d.msg.Header.Get("List-Unsubscribe"), "token=") || d.msg.Header.Get("List-Id") == "" {
		t.Errorf("list fields %v", d.msg.Header)
	}
	toc, posts := digestParts(t, d)
	if !strings.Contains(toc, "1. First (Ann <ann@example.org>)") || !strings.Contains(toc, "2. Second (Bob") {
		t.Errorf("table of contents:\n%s", toc)
	}
	if len(posts) != 2 || posts[0].Header.Get("Message-Id") != "<g1@example.org>" || posts[1].Header.Get("Subject") != "[wikitech-l] Second" {
		t.Fatalf("posts %v", posts)
	}
	if b, _ := io.ReadAll(posts[0].Body); strings.Contains(string(b), "-- Wikitech") {
		t.Error("footer inside a digested post")
	}
	if !strings.Contains(string(d.raw), "-- Wikitech") {
		t.Error("no footer at the end of the digest")
	}
	// Nothing waits: no more digests.
	f.clock.Advance(48 * time.Hour)
	if err := f.srv.Tick(ctx); err != nil || len(f.rec.take()) != 0 {
		t.Fatalf("empty digest sent (%v)", err)
	}
	// Digests off: the digest member gets each post.
	f.settings(t, func(s *lists.Settings) { s.DigestEnabled = false })
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, postLines("ann@example.org", "Third", "<g3@example.org>")...))
	if len(to(f.rec.take(), "dave@example.org")) != 1 {
		t.Fatal("digest member without digests got no copy")
	}
}

func TestDigestBySizeAndResumeAfterCrash(t *testing.T) {
	t.Parallel()
	f := newFixture(t, nil)
	ctx := context.Background()
	for _, a := range []string{"dave@example.org", "erin@example.org"} {
		if _, err := f.db.AddMember(ctx, testList, lists.NewMember{Address: a, Mode: lists.ModeDigest}); err != nil {
			t.Fatal(err)
		}
	}
	f.add(t, "ann@example.org", lists.RoleMember, "")
	f.settings(t, func(s *lists.Settings) { s.DigestSizeThreshold = 2 })
	big := postLines("ann@example.org", "Big", "<h1@example.org>")
	big = append(big, strings.Repeat("a long line of text\r\n", 120))
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, big...))
	f.rec.take()
	// The size is reached: Tick sends at once, and the Submit fails.
	f.rec.setFailAt(1)
	if err := f.srv.Tick(ctx); err == nil {
		t.Fatal("no error from a failed digest Submit")
	}
	f.rec.setFailAt(0)
	if got := f.rec.take(); len(got) != 0 {
		t.Fatalf("first attempt: %+v", got)
	}
	// A new post arrives meanwhile; the resumed issue stays as it was.
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, postLines("ann@example.org", "Small", "<h2@example.org>")...))
	f.rec.take()
	if err := f.srv.Tick(ctx); err != nil {
		t.Fatal(err)
	}
	got := f.rec.take()
	if len(got) != 2 || len(to(got, "dave@example.org")) != 1 || len(to(got, "erin@example.org")) != 1 ||
		got[0].msg.Header.Get("Message-Id") != got[1].msg.Header.Get("Message-Id") ||
		got[0].msg.Header.Get("Subject") != "Wikitech Digest, Vol 1, Issue 1" {
		t.Fatalf("resumed: %+v", got)
	}
	if _, posts := digestParts(t, got[0]); len(posts) != 1 {
		t.Fatalf("resumed issue has %d posts", len(posts))
	}
	// The small post goes out in issue 2 once its day is over, or now on request.
	if err := f.srv.SendDigest(ctx, testList); err != nil {
		t.Fatal(err)
	}
	got = f.rec.take()
	if len(got) != 2 || got[0].msg.Header.Get("Subject") != "Wikitech Digest, Vol 1, Issue 2" {
		t.Fatalf("issue 2: %d copies", len(got))
	}
}
