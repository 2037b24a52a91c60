package dsn

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)

const testOriginal = "Received: from app1 by mx1\n" +
	"From: Alice <alice@example.org>\n" +
	"To: bob@example.net\n" +
	"Subject: quarterly\n" +
	"  report\n" +
	"Message-ID: <m1@example.org>\n" +
	"\n" +
	"Body line that must not be returned.\n" +
	"Subject: not a header either\n"

func testReport() Report {
	return Report{
		ReportingMTA: "mx1.example.org",
		QueueID:      "0123ABCD",
		Sender:       "alice@example.org",
		ArrivalDate:  testNow.Add(-2 * time.Hour),
		Recipients: []Recipient{
			{
				Addr:        "bob@example.net",
				Status:      "5.1.1",
				Diagnostic:  "550 5.1.1 <bob@example.net>: no such user",
				RemoteMTA:   "mx.example.net",
				LastAttempt: testNow.Add(-time.Minute),
			},
			{
				Addr:       "carol@example.com",
				Status:     "5.7.1",
				Diagnostic: "554 5.7.1 rejected by policy",
			},
		},
		Original:  strings.NewReader(testOriginal),
		MessageID: "<bounce-1@mx1.example.org>",
	}
}

func TestBounceStructure(t *testing.T) {
	t.Parallel()
	raw, err := Bounce(testReport(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	n := parseNotice(t, raw)

	wantHeader := map[string]string{
		"From":           `"Mail Delivery System" <MAILER-DAEMON@mx1.example.org>`,
		"To":             "<alice@example.org>",
		"Subject":        "Undelivered Mail Returned to Sender",
		"Date":           "Fri, 01 Mar 2024 12:00:00 +0000",
		"Message-Id":     "<bounce-1@mx1.example.org>",
		"Auto-Submitted": "auto-replied",
		"Mime-Version":   "1.0",
	}
	for k, want := range wantHeader {
		if got := n.header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if _, err := n.header.AddressList("From"); err != nil {
		t.Errorf("From does not parse: %v", err)
	}
	if to, err := n.header.AddressList("To"); err != nil || len(to) != 1 || to[0].Address != "alice@example.org" {
		t.Errorf("To = %v, %v", to, err)
	}
	if _, err := n.header.Date(); err != nil {
		t.Errorf("Date does not parse: %v", err)
	}

	text := string(n.parts[0].body)
	for _, want := range []string{"mx1.example.org", "0123ABCD", "<bob@example.net>: failed (5.1.1)",
		"mx.example.net said: 550 5.1.1", "<carol@example.com>: failed (5.7.1)", "rejected by policy"} {
		if !strings.Contains(text, want) {
			t.Errorf("human-readable part lacks %q:\n%s", want, text)
		}
	}

	blocks := statusBlocks(t, n.parts[1].body)
	if len(blocks) != 3 {
		t.Fatalf("got %d delivery-status blocks, want 3", len(blocks))
	}
	wantMsg := map[string]string{
		"Reporting-MTA":       "dns; mx1.example.org",
		"X-Posthorn-Queue-ID": "0123ABCD",
		"Arrival-Date":        "Fri, 01 Mar 2024 10:00:00 +0000",
	}
	checkBlock(t, "per-message", blocks[0], wantMsg)
	checkBlock(t, "recipient 1", blocks[1], map[string]string{
		"Final-Recipient":   "rfc822; bob@example.net",
		"Action":            "failed",
		"Status":            "5.1.1",
		"Remote-MTA":        "dns; mx.example.net",
		"Diagnostic-Code":   "smtp; 550 5.1.1 <bob@example.net>: no such user",
		"Last-Attempt-Date": "Fri, 01 Mar 2024 11:59:00 +0000",
	})
	checkBlock(t, "recipient 2", blocks[2], map[string]string{
		"Final-Recipient": "rfc822; carol@example.com",
		"Action":          "failed",
		"Status":          "5.7.1",
		"Diagnostic-Code": "smtp; 554 5.7.1 rejected by policy",
	})

	wantHdr := "Received: from app1 by mx1\r\nFrom: Alice <alice@example.org>\r\nTo: bob@example.net\r\n" +
		"Subject: quarterly\r\n  report\r\nMessage-ID: <m1@example.org>\r\n"
	if got := string(n.parts[2].body); got != wantHdr {
		t.Errorf("returned headers = %q, want %q", got, wantHdr)
	}
}

// checkBlock compares a block with want exactly: no field missing, none extra.
func checkBlock(t *testing.T, name string, got, want map[string]string) {
	t.Helper()
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %s = %q, want %q", name, k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected field %s: %q", name, k, got[k])
		}
	}
}

func TestDelayNotice(t *testing.T) {
	t.Parallel()
	r := testReport()
	until := testNow.Add(5 * 24 * time.Hour)
	r.EnvelopeID = "env-42"
	r.Recipients = []Recipient{{
		Addr:           "bob@example.net",
		OriginalAddr:   "Bob@Example.NET",
		Status:         "4.4.1",
		Diagnostic:     "connect to mx.example.net: connection timed out",
		WillRetryUntil: until,
	}}
	raw, err := DelayNotice(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	n := parseNotice(t, raw)
	if got := n.header.Get("Subject"); !strings.Contains(got, "Delayed") {
		t.Errorf("Subject = %q", got)
	}
	text := string(n.parts[0].body)
	for _, want := range []string{"still being\r\nretried", "until Wed, 06 Mar 2024 12:00:00 +0000", "delayed (4.4.1)"} {
		if !strings.Contains(text, want) {
			t.Errorf("human-readable part lacks %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "permanent") {
		t.Errorf("delay notice speaks of a permanent failure:\n%s", text)
	}
	blocks := statusBlocks(t, n.parts[1].body)
	if got := blocks[0]["Original-Envelope-Id"]; got != "env-42" {
		t.Errorf("Original-Envelope-Id = %q", got)
	}
	checkBlock(t, "recipient", blocks[1], map[string]string{
		"Original-Recipient": "rfc822; Bob@Example.NET",
		"Final-Recipient":    "rfc822; bob@example.net",
		"Action":             "delayed",
		"Status":             "4.4.1",
		"Diagnostic-Code":    "X-Posthorn; connect to mx.example.net: connection timed out",
		"Will-Retry-Until":   "Wed, 06 Mar 2024 12:00:00 +0000",
	})
}

func TestStatusFollowsAction(t *testing.T) {
	t.Parallel()
	tests := []struct {
		status, action, want string
	}{
		{"5.1.1", ActionFailed, "5.1.1"},
		{"5.1.10", ActionFailed, "5.1.10"},
		{"4.1.1", ActionFailed, "5.0.0"},
		{"", ActionFailed, "5.0.0"},
		{"5.x.1", ActionFailed, "5.0.0"},
		{"5.1", ActionFailed, "5.0.0"},
		{"4.4.7", ActionDelayed, "4.4.7"},
		{"5.4.7", ActionDelayed, "4.0.0"},
		{"", ActionDelivered, "2.0.0"},
	}
	for _, tt := range tests {
		if got := normStatus(tt.status, tt.action); got != tt.want {
			t.Errorf("normStatus(%q, %q) = %q, want %q", tt.status, tt.action, got, tt.want)
		}
	}
}

func TestInvalidReports(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		edit  func(*Report)
		field string
	}{
		{"empty sender", func(r *Report) { r.Sender = "" }, "Sender"},
		{"null sender", func(r *Report) { r.Sender = "<>" }, "Sender"},
		{"sender with newline", func(r *Report) { r.Sender = "a@b\r\nBcc: x@y" }, "Sender"},
		{"no reporting MTA", func(r *Report) { r.ReportingMTA = "" }, "ReportingMTA"},
		{"reporting MTA with space", func(r *Report) { r.ReportingMTA = "mx1 evil" }, "ReportingMTA"},
		{"no recipients", func(r *Report) { r.Recipients = nil }, "Recipients"},
		{"unknown action", func(r *Report) { r.Recipients[0].Action = "bounced" }, "Recipients[0].Action"},
		{"empty address", func(r *Report) { r.Recipients[1].Addr = "" }, "Recipients[1].Addr"},
		{"bad message id", func(r *Report) { r.MessageID = "<a\nb>" }, "MessageID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			r := testReport()
			tt.edit(&r)
			_, err := Bounce(r, testNow)
			var ie *InvalidReportError
			if !errors.As(err, &ie) {
				t.Fatalf("err = %v, want *InvalidReportError", err)
			}
			if ie.Field != tt.field {
				t.Errorf("Field = %q, want %q", ie.Field, tt.field)
			}
		})
	}
}

func TestIsNullSender(t *testing.T) {
	t.Parallel()
	for s, want := range map[string]bool{"": true, "<>": true, " <> ": true, "a@b": false, "MAILER-DAEMON": false} {
		if got := IsNullSender(s); got != want {
			t.Errorf("IsNullSender(%q) = %v", s, got)
		}
	}
}

func TestGeneratedMessageID(t *testing.T) {
	t.Parallel()
	r := testReport()
	r.MessageID = ""
	r.QueueID = "Q 1/x"
	raw, err := Bounce(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	n := parseNotice(t, raw)
	want := "<Q1x.bounce.1709294400@mx1.example.org>"
	if got := n.header.Get("Message-Id"); got != want {
		t.Errorf("Message-ID = %q, want %q", got, want)
	}
	raw, err = DelayNotice(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	if got := parseNotice(t, raw).header.Get("Message-Id"); got == want {
		t.Errorf("delay notice reuses the bounce's Message-ID %q", got)
	}
}

func TestHeaderSectionTruncated(t *testing.T) {
	t.Parallel()
	var orig strings.Builder
	for i := 0; orig.Len() < 3*MaxHeaderBytes; i++ {
		orig.WriteString("X-Filler: " + strings.Repeat("y", 200) + "\n")
	}
	orig.WriteString("\nbody\n")
	r := testReport()
	r.Original = strings.NewReader(orig.String())
	raw, err := Bounce(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	n := parseNotice(t, raw)
	hdr := n.parts[2].body
	if len(hdr) > MaxHeaderBytes || len(hdr) < MaxHeaderBytes-300 {
		t.Errorf("returned %d bytes of headers, want just under %d", len(hdr), MaxHeaderBytes)
	}
	if !bytes.HasSuffix(hdr, []byte(strings.Repeat("y", 200)+"\r\n")) {
		t.Errorf("returned headers do not end with a whole line")
	}
	if !strings.Contains(string(n.parts[0].body), "only its\r\nbeginning is included") {
		t.Errorf("truncation not mentioned:\n%s", n.parts[0].body)
	}
}

func TestHeaderSectionWithoutBody(t *testing.T) {
	t.Parallel()
	tests := map[string]string{
		"no blank line":        "Subject: a\nX: b",
		"CRLF":                 "Subject: a\r\nX: b\r\n\r\nbody\r\n",
		"stray CR":             "Subject: a\rb\nX: b\n",
		"exactly at the limit": "Subject: a\nX: b\n\n" + strings.Repeat("z", MaxHeaderBytes),
	}
	for name, orig := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			r := testReport()
			r.Original = strings.NewReader(orig)
			raw, err := Bounce(r, testNow)
			if err != nil {
				t.Fatal(err)
			}
			got := string(parseNotice(t, raw).parts[2].body)
			if !strings.HasPrefix(got, "Subject: a") || !strings.HasSuffix(got, "X: b\r\n") {
				t.Errorf("returned headers = %q", got)
			}
		})
	}
}

func TestLongDiagnosticFolded(t *testing.T) {
	t.Parallel()
	words := strings.Repeat("word ", 1500)
	r := testReport()
	r.Recipients[0].Diagnostic = "550 5.1.1 " + words
	r.Recipients[1].Diagnostic = "550 " + strings.Repeat("x", 3000)
	raw, err := Bounce(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	n := parseNotice(t, raw) // checks line lengths
	blocks := statusBlocks(t, n.parts[1].body)
	d1 := blocks[1]["Diagnostic-Code"]
	if !strings.HasPrefix(d1, "smtp; 550 5.1.1 word word") || !strings.HasSuffix(d1, "[...]") {
		t.Errorf("long diagnostic = %.80q...", d1)
	}
	if len(d1) > maxDiagnostic+40 {
		t.Errorf("diagnostic not capped: %d bytes", len(d1))
	}
	d2 := strings.ReplaceAll(blocks[2]["Diagnostic-Code"], " ", "")
	if d2 != "smtp;550"+strings.Repeat("x", 3000) {
		t.Errorf("split word not kept whole apart from folding: %.80q...", d2)
	}
}

func TestNonASCII(t *testing.T) {
	t.Parallel()
	r := testReport()
	r.Sender = "jörg@exämple.org"
	r.Recipients[0].Addr = "δοκιμή@παράδειγμα.δοκιμή"
	r.Recipients[0].Diagnostic = "550 5.1.1 Benutzer unbekannt: jörg\xff\x00\n550 second line"
	r.Recipients[1].Addr = `"a b+c=d\e"@example.com`
	r.Original = strings.NewReader("Subject: Grüße\nFrom: \xe9t\xe9@example.org\n\nbody")
	raw, err := Bounce(r, testNow)
	if err != nil {
		t.Fatal(err)
	}
	n := parseNotice(t, raw) // checks 7-bit
	to, err := n.header.AddressList("To")
	if err != nil || len(to) != 0 {
		t.Errorf("To of a non-ASCII sender = %v, %v; want an empty group", to, err)
	}
	if !strings.Contains(n.header.Get("To"), "=?utf-8?b?") {
		t.Errorf("To = %q, want an encoded word", n.header.Get("To"))
	}
	text := string(n.parts[0].body)
	if !strings.Contains(text, "δοκιμή@παράδειγμα.δοκιμή") || !strings.Contains(text, "unbekannt: jörg\uFFFD") {
		t.Errorf("human-readable part lost the UTF-8 text:\n%s", text)
	}
	blocks := statusBlocks(t, n.parts[1].body)
	wantAddr := `utf-8; \x{3B4}\x{3BF}\x{3BA}\x{3B9}\x{3BC}\x{3AE}@\x{3C0}\x{3B1}\x{3C1}\x{3AC}\x{3B4}\x{3B5}\x{3B9}\x{3B3}\x{3BC}\x{3B1}.\x{3B4}\x{3BF}\x{3BA}\x{3B9}\x{3BC}\x{3AE}`
	if got := blocks[1]["Final-Recipient"]; got != wantAddr {
		t.Errorf("Final-Recipient = %q, want %q", got, wantAddr)
	}
	if got, want := blocks[1]["Diagnostic-Code"], `smtp; 550 5.1.1 Benutzer unbekannt: j\x{F6}rg\x{FFFD} 550 second line`; got != want {
		t.Errorf("Diagnostic-Code = %q, want %q", got, want)
	}
	if got, want := blocks[2]["Final-Recipient"], `utf-8; "a\x{20}b\x{2B}c\x{3D}d\x{5C}e"@example.com`; got != want {
		t.Errorf("Final-Recipient = %q, want %q", got, want)
	}
	if got, want := string(n.parts[2].body), "Subject: Grüße\r\nFrom: \xe9t\xe9@example.org\r\n"; got != want {
		t.Errorf("returned headers = %q, want %q", got, want)
	}
}

func TestBoundaryAvoidsContent(t *testing.T) {
	t.Parallel()
	parts := []part{{header: "Content-Type: text/plain\r\n", body: []byte("hello\r\n")}}
	b1, err := pickBoundary(parts)
	if err != nil {
		t.Fatal(err)
	}
	if occurs(parts, b1) {
		t.Fatalf("boundary %q occurs in the content", b1)
	}
	// Content that holds the first candidate gets another boundary.
	parts[0].body = []byte("hello\r\n--" + b1 + "\r\n")
	b2, err := pickBoundary(parts)
	if err != nil {
		t.Fatal(err)
	}
	if b2 == b1 || occurs(parts, b2) {
		t.Fatalf("boundary %q (first %q) occurs in the content", b2, b1)
	}
}

func TestGolden(t *testing.T) {
	t.Parallel()
	raw, err := Bounce(testReport(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join("testdata", "bounce.golden")
	if os.Getenv("POSTHORN_UPDATE_GOLDEN") != "" {
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (set POSTHORN_UPDATE_GOLDEN=1 to create it)", err)
	}
	if !bytes.Equal(raw, want) {
		t.Errorf("bounce differs from %s (set POSTHORN_UPDATE_GOLDEN=1 to update):\n%s", path, raw)
	}
}

func FuzzBounce(f *testing.F) {
	f.Add("550 5.1.1 no such user", []byte(testOriginal), "bob@example.net")
	f.Add("", []byte(""), "x@y")
	f.Add("4\xff\x00\r\n--=_posthorn_", []byte("Subject: \xff\r\n\r\n"), "δ@δ")
	f.Add(strings.Repeat("a", 2000), []byte(strings.Repeat("H: v\r", 500)), "a b@c")
	f.Fuzz(func(t *testing.T, diag string, orig []byte, addr string) {
		r := testReport()
		r.Recipients[0].Diagnostic = diag
		r.Recipients[1].Addr = addr
		r.Original = bytes.NewReader(orig)
		for _, build := range []func(Report, time.Time) ([]byte, error){Bounce, DelayNotice} {
			r.Original = bytes.NewReader(orig)
			raw, err := build(r, testNow)
			if err != nil {
				var ie *InvalidReportError
				if errors.As(err, &ie) && ie.Field == "Recipients[1].Addr" {
					return
				}
				t.Fatal(err)
			}
			n := parseNotice(t, raw)
			if got := len(statusBlocks(t, n.parts[1].body)); got != 3 {
				t.Fatalf("%d delivery-status blocks", got)
			}
		}
	})
}
