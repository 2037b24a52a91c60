package dsn

import (
	"bytes"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"
)

func TestParseOwnBounce(t *testing.T) {
	t.Parallel()
	raw, err := Bounce(testReport(), testNow)
	if err != nil {
		t.Fatal(err)
	}
	n, err := Parse(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	if !n.Failed() || !strings.Contains(n.ReportingMTA, "mx1.example.org") || len(n.Recipients) != 2 {
		t.Fatalf("parsed %+v", n)
	}
	want := []RecipientStatus{
		{FinalRecipient: "bob@example.net", Action: "failed", Status: "5.1.1", RemoteMTA: "mx.example.net"},
		{FinalRecipient: "carol@example.com", Action: "failed", Status: "5.7.1"},
	}
	for i, w := range want {
		g := n.Recipients[i]
		if g.FinalRecipient != w.FinalRecipient || g.Action != w.Action || g.Status != w.Status || g.RemoteMTA != w.RemoteMTA {
			t.Errorf("recipient %d: %+v, want %+v", i, g, w)
		}
	}
	if !strings.Contains(n.Recipients[0].Diagnostic, "550 5.1.1") {
		t.Errorf("diagnostic %q", n.Recipients[0].Diagnostic)
	}
}

// A third-party report whose returned message quotes status fields: only
// the status part counts.
const foreignReport = "From: MAILER-DAEMON@mx.example.net\r\n" +
	"To: list-bounces@lists.example.org\r\n" +
	"Subject: Delivery Status Notification (Delay)\r\n" +
	"MIME-Version: 1.0\r\n" +
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n" +
	"\r\n" +
	"--outer\r\n" +
	"Content-Type: multipart/report; report-type=delivery-status; boundary=\"inner\"\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: text/plain\r\n" +
	"\r\n" +
	"Action: failed\r\n" +
	"Status: 5.0.0\r\n" +
	"--inner\r\n" +
	"Content-Type: message/delivery-status\r\n" +
	"\r\n" +
	"Reporting-MTA: dns; mx.example.net\r\n" +
	"Original-Envelope-Id: abc123\r\n" +
	"\r\n" +
	"Final-Recipient: RFC822; member@example.net\r\n" +
	"Original-Recipient: rfc822;Member@Example.NET\r\n" +
	"Action: Delayed\r\n" +
	"Status: 4.2.2 (mailbox full)\r\n" +
	"Diagnostic-Code: smtp; 452 4.2.2 mailbox\r\n" +
	"  is full\r\n" +
	"\r\n" +
	"--inner\r\n" +
	"Content-Type: message/rfc822\r\n" +
	"\r\n" +
	"Subject: quoted\r\n" +
	"\r\n" +
	"Action: failed\r\n" +
	"Final-Recipient: rfc822; someone@else.example\r\n" +
	"--inner--\r\n" +
	"--outer--\r\n"

func TestParseForeignReport(t *testing.T) {
	t.Parallel()
	n, err := Parse(strings.NewReader(foreignReport))
	if err != nil {
		t.Fatal(err)
	}
	if n.Failed() || n.OriginalEnvelopeID != "abc123" || len(n.Recipients) != 1 {
		t.Fatalf("parsed %+v", n)
	}
	r := n.Recipients[0]
	want := RecipientStatus{FinalRecipient: "member@example.net", OriginalRecipient: "Member@Example.NET",
		Action: "delayed", Status: "4.2.2", Diagnostic: "452 4.2.2 mailbox is full"}
	if r != want {
		t.Fatalf("recipient %+v, want %+v", r, want)
	}
}

func TestParseBase64StatusPart(t *testing.T) {
	t.Parallel()
	status := "Reporting-MTA: dns; a.example\r\n\r\nFinal-Recipient: rfc822; x@y.example\r\nAction: failed\r\nStatus: 5.1.1\r\n"
	enc := base64.StdEncoding.EncodeToString([]byte(status))
	msg := "Content-Type: multipart/report; report-type=delivery-status; boundary=b\r\n\r\n--b\r\n" +
		"Content-Type: message/delivery-status\r\nContent-Transfer-Encoding: base64\r\n\r\n" +
		enc[:20] + "\r\n" + enc[20:] + "\r\n--b--\r\n"
	n, err := Parse(strings.NewReader(msg))
	if err != nil || len(n.Recipients) != 1 || n.Recipients[0].Status != "5.1.1" || !n.Failed() {
		t.Fatalf("parsed %+v, %v", n, err)
	}
}

func TestParseNotADSN(t *testing.T) {
	t.Parallel()
	for _, msg := range []string{
		"Subject: Undeliverable\r\n\r\nAction: failed\r\nStatus: 5.1.1\r\n",
		"Content-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\nContent-Type: text/plain\r\n\r\nhi\r\n--x--\r\n",
		"Content-Type: multipart/report; boundary=\r\n\r\n",
	} {
		if n, err := Parse(strings.NewReader(msg)); !errors.Is(err, ErrNotDSN) {
			t.Errorf("%q: %+v, %v; want ErrNotDSN", msg, n, err)
		}
	}
}

func TestStatusCode(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"5.1.1": "5.1.1", " 4.2.2 (full)": "4.2.2", "2.0.0\t": "2.0.0", "5.1": "", "6.1.1": "", "5.1.1234": "",
		"5.x.1": "", "": "", "55.1.1": "", "5..1": "",
	} {
		if got := statusCode(in); got != want {
			t.Errorf("statusCode(%q) = %q, want %q", in, got, want)
		}
	}
}

func FuzzParse(f *testing.F) {
	raw, err := Bounce(testReport(), testNow)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	f.Add([]byte(foreignReport))
	f.Add([]byte("Content-Type: message/delivery-status\r\n\r\nReporting-MTA: x\r\n\r\nAction: failed\r\n"))
	f.Add([]byte("Content-Type: multipart/report; boundary=a\r\n\r\n--a\r\nContent-Type: multipart/report; boundary=a\r\n\r\n--a--\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := Parse(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(n.Recipients) > maxParseRecipients {
			t.Fatalf("%d recipients", len(n.Recipients))
		}
		for _, r := range n.Recipients {
			if r.Status != "" && statusCode(r.Status) != r.Status {
				t.Fatalf("status %q is not an enhanced code", r.Status)
			}
			if r.Action != strings.ToLower(r.Action) {
				t.Fatalf("action %q not lower case", r.Action)
			}
		}
	})
}

// FuzzParseOwnNotice: whatever goes into a notice we generate comes back
// out of Parse for that recipient.
func FuzzParseOwnNotice(f *testing.F) {
	f.Add("550 5.1.1 no such user", "bob@example.net", "5.1.1")
	f.Add("", "x@y", "")
	f.Add("4\xff\x00\r\nAction: delivered\r\n--", "δ@δ.example", "4.4.1")
	f.Add(strings.Repeat("a ", 600), "a@b", "5.7.1")
	f.Fuzz(func(t *testing.T, diag, addr, status string) {
		r := testReport()
		r.Recipients[1].Diagnostic, r.Recipients[1].Addr, r.Recipients[1].Status = diag, addr, status
		raw, err := Bounce(r, testNow)
		var ie *InvalidReportError
		if errors.As(err, &ie) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		n, err := Parse(bytes.NewReader(raw))
		if err != nil {
			t.Fatalf("own bounce does not parse: %v\n%s", err, raw)
		}
		if len(n.Recipients) != 2 || n.Recipients[0].Status != "5.1.1" || n.Recipients[1].Action != "failed" {
			t.Fatalf("parsed %+v", n.Recipients)
		}
		if got := n.Recipients[1].Status; !strings.HasPrefix(got, "5.") {
			t.Fatalf("status %q for a failed recipient", got)
		}
		if utf8.ValidString(addr) && !strings.ContainsFunc(addr, unicode.IsControl) && n.Recipients[1].FinalRecipient != addr {
			t.Fatalf("final recipient %q, want %q", n.Recipients[1].FinalRecipient, addr)
		}
	})
}
