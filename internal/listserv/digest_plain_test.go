package listserv

import (
	"context"
	"encoding/base64"
	"io"
	"mime/quotedprintable"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

// digestFixture is a list with digests on and no size threshold, the
// regular member ann, the MIME digest member dave and the plain digest
// member erin (and the plain member frank, disabled).
func digestFixture(t *testing.T) *fixture {
	t.Helper()
	f := newFixture(t, nil)
	ctx := context.Background()
	for _, nm := range []lists.NewMember{
		{Address: "ann@example.org"},
		{Address: "dave@example.org", Mode: lists.ModeDigest},
		{Address: "erin@example.org", Mode: lists.ModeDigest, DigestFormat: lists.DigestPlain},
		{Address: "frank@example.org", Mode: lists.ModeDigest, DigestFormat: lists.DigestPlain, Delivery: lists.DeliveryDisabledSelf},
	} {
		if _, err := f.db.AddMember(ctx, testList, nm); err != nil {
			t.Fatal(err)
		}
	}
	f.settings(t, func(s *lists.Settings) { s.DigestSizeThreshold = 0 })
	return f
}

// attachmentPost is a multipart/mixed post: a text part and a PDF.
func attachmentPost(from, subject, msgid string) []string {
	pdf := base64.StdEncoding.EncodeToString([]byte("%PDF-1.4 SECRET-PDF-CONTENT " + strings.Repeat("x", 3000)))
	return []string{"From: " + from, "To: " + testList, "Subject: " + subject, "Message-ID: " + msgid,
		"Date: Tue, 19 May 2026 16:30:00 +0000", "MIME-Version: 1.0",
		`Content-Type: multipart/mixed; boundary="mix"`, "",
		"--mix", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: quoted-printable", "",
		"The minutes are attached. Caf=C3=A9 at 10.", "",
		"--mix", "Content-Type: application/pdf; name=\"minutes.pdf\"", "Content-Disposition: attachment; filename=\"minutes.pdf\"",
		"Content-Transfer-Encoding: base64", "", pdf, "--mix--", ""}
}

// wantPlainLayout is the body of the digest TestPlainDigestLayout sends.
const wantPlainLayout = `Wikitech Digest            Tue, 19 May 2026            Volume 1, Issue 1

Send submissions to wikitech-l@lists.example.org.
To unsubscribe or change your delivery, write to wikitech-l-request@lists.example.org
(subject "help") or to wikitech-l-owner@lists.example.org.
List page: https://lists.example.org/lists/wikitech-l@lists.example.org/

Today's Topics:

  1. First (Ann Example <ann@example.org>)
  2. Minutes (ann@example.org)

----------------------------------------------------------------------

Date: Tue, 19 May 2026 16:00:00 +0000
From: Ann Example <ann@example.org>
To: wikitech-l@lists.example.org
Cc: bob@example.org
Subject: [wikitech-l] First
Message-ID: <p1@example.org>

Hello all,
the deploy is at 20:00.

------------------------------

Date: Tue, 19 May 2026 16:30:00 +0000
From: ann@example.org
To: wikitech-l@lists.example.org
Subject: [wikitech-l] Minutes
Message-ID: <p2@example.org>

The minutes are attached. Café at 10.

[Attachment not included in the plain digest: minutes.pdf, application/pdf, 3 KB]

------------------------------

Wikitech mailing list
Wikitech

------------------------------

End of Wikitech Digest, Vol 1, Issue 1
**************************************
`

func TestPlainDigestLayout(t *testing.T) {
	t.Parallel()
	f := digestFixture(t)
	ctx := context.Background()
	f.settings(t, func(s *lists.Settings) { s.Footer = "Wikitech mailing list\n{list}" })
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList},
		postLines("Ann Example <ann@example.org>", "First", "<p1@example.org>", "Date: Tue, 19 May 2026 16:00:00 +0000",
			"Cc: bob@example.org")...))
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, attachmentPost("ann@example.org", "Minutes", "<p2@example.org>")...))
	f.rec.take()
	if err := f.srv.SendDigest(ctx, testList); err != nil {
		t.Fatal(err)
	}
	got := to(f.rec.take(), "erin@example.org")
	if len(got) != 1 {
		t.Fatalf("%d plain digests", len(got))
	}
	d := got[0]
	h := d.msg.Header
	for k, want := range map[string]string{
		"Subject":                   "Wikitech Digest, Vol 1, Issue 1",
		"From":                      "Wikitech <wikitech-l-request@lists.example.org>",
		"To":                        testList,
		"Content-Type":              "text/plain; charset=utf-8",
		"Content-Transfer-Encoding": "8bit",
		"List-Id":                   "Wikitech <wikitech-l.lists.example.org>",
		"Date":                      "Tue, 19 May 2026 17:00:00 +0000",
	} {
		if v := h.Get(k); v != want {
			t.Errorf("%s = %q, want %q", k, v, want)
		}
	}
	if !strings.Contains(h.Get("List-Unsubscribe"), "erin%40example.org") {
		t.Errorf("List-Unsubscribe %q is not erin's", h.Get("List-Unsubscribe"))
	}
	if !strings.Contains(d.body, "\r\n") || strings.Contains(strings.ReplaceAll(d.body, "\r\n", ""), "\n") {
		t.Error("body lines do not all end in CRLF")
	}
	if body := strings.ReplaceAll(d.body, "\r\n", "\n"); body != wantPlainLayout {
		t.Errorf("body:\n%s\nwant:\n%s", body, wantPlainLayout)
	}
}

// TestPlainDigestEntry renders single posts as plain digest entries.
func TestPlainDigestEntry(t *testing.T) {
	t.Parallel()
	lines := func(l ...string) []byte { return []byte(strings.Join(l, "\r\n")) }
	for _, c := range []struct {
		name    string
		raw     []byte
		want    []string // in this order
		notWant []string
	}{
		{
			name:    "plain text",
			raw:     lines("From: Ann <ann@example.org>", "Subject: Hi", "Message-ID: <e1@example.org>", "X-Mailer: Foo", "Received: from x", "", "Hello.", ""),
			want:    []string{"From: Ann <ann@example.org>\nSubject: Hi\nMessage-ID: <e1@example.org>\n\nHello.\n"},
			notWant: []string{"X-Mailer", "Received", "Date:"},
		},
		{
			name: "attachment becomes a note",
			raw:  lines(attachmentPost("ann@example.org", "Minutes", "<e2@example.org>")...),
			want: []string{"Date: Tue, 19 May 2026 16:30:00 +0000\n", "The minutes are attached. Café at 10.\n",
				"\n[Attachment not included in the plain digest: minutes.pdf, application/pdf, 3 KB]\n"},
			notWant: []string{"SECRET-PDF", "JVBERi", "Content-Type", "--mix"},
		},
		{
			name: "HTML only: its text",
			raw: lines("From: bob@example.org", "Subject: =?utf-8?q?R=C3=A9union?=", "MIME-Version: 1.0",
				`Content-Type: multipart/alternative; boundary="alt"`, "", "--alt", "Content-Type: text/html; charset=utf-8", "",
				"<p>See <b>you</b> there</p><script>alert(1)</script>", "--alt--", ""),
			want:    []string{"Subject: Réunion\n", "See you there"},
			notWant: []string{"<p>", "<b>", "alert"},
		},
		{
			name: "alternative: the text part",
			raw: lines("From: bob@example.org", "Subject: alt", "MIME-Version: 1.0",
				`Content-Type: multipart/alternative; boundary="alt"`, "", "--alt", "Content-Type: text/plain", "", "plain version",
				"--alt", "Content-Type: text/html", "", "<p>html version</p>", "--alt--", ""),
			want:    []string{"plain version"},
			notWant: []string{"html version"},
		},
		{
			name:    "separator lines are stuffed",
			raw:     lines("From: bob@example.org", "Subject: rules", "", "above", "------------------------------", "-----------------------------------", "below", ""),
			want:    []string{"above\n- ------------------------------\n- -----------------------------------\nbelow\n"},
			notWant: []string{"\n------------------------------\n"},
		},
		{
			name: "base64 text and unnamed attachment",
			raw: lines("From: bob@example.org", "Subject: b64", "MIME-Version: 1.0", `Content-Type: multipart/mixed; boundary="m"`, "",
				"--m", "Content-Type: text/plain; charset=utf-8", "Content-Transfer-Encoding: base64", "",
				base64.StdEncoding.EncodeToString([]byte("Grüße aus Berlin\n")),
				"--m", "Content-Type: image/png", "Content-Transfer-Encoding: base64", "", base64.StdEncoding.EncodeToString(make([]byte, 2048)),
				"--m--", ""),
			want: []string{"Grüße aus Berlin\n\n[Attachment not included in the plain digest: (no name), image/png, 2 KB]\n"},
		},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var b strings.Builder
			plainEntry(&b, c.raw)
			got := b.String()
			at := 0
			for _, w := range c.want {
				i := strings.Index(got[at:], w)
				if i < 0 {
					t.Fatalf("no %q (in order) in\n%s", w, got)
				}
				at += i + len(w)
			}
			for _, w := range c.notWant {
				if strings.Contains(got, w) {
					t.Errorf("%q in\n%s", w, got)
				}
			}
		})
	}
}

func TestPlainDigestLongLineQuotedPrintable(t *testing.T) {
	t.Parallel()
	f := digestFixture(t)
	long := strings.Repeat("word ", 400)
	lines := postLines("ann@example.org", "Long", "<l1@example.org>")
	lines = append(lines[:len(lines)-1], long, "")
	mustOK(t, f.deliver(t, "ann@example.org", []string{testList}, lines...))
	f.rec.take()
	if err := f.srv.SendDigest(context.Background(), testList); err != nil {
		t.Fatal(err)
	}
	got := to(f.rec.take(), "erin@example.org")
	if len(got) != 1 || got[0].msg.Header.Get("Content-Transfer-Encoding") != "quoted-printable" {
		t.Fatalf("plain digest with a 2000-octet line: %+v", got)
	}
	for line := range strings.SplitSeq(got[0].body, "\r\n") {
		if len(line) > 76 {
			t.Fatalf("line of %d octets", len(line))
		}
	}
	dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(got[0].body)))
	if err != nil || !strings.Contains(string(dec), strings.TrimSpace(long)) {
		t.Fatalf("decoded body lacks the long line (%v)", err)
	}
}
