package smtpd

import (
	"strings"
	"testing"
)

// RelayProbes are classic open-relay tests: recipient forms that some
// mailers once routed onwards. Every one must be refused from an untrusted
// client, with 554 5.7.1 (relay denied) or a 5xx syntax error. The test/
// scenarios send the same list to the daemon.
var relayProbes = []string{
	"RCPT TO:<user%outside.example@relay.test>",  // percent hack
	"RCPT TO:<user%outside.example@[127.0.0.1]>", // percent hack via our address literal
	"RCPT TO:<outside.example!user@relay.test>",  // bang path
	"RCPT TO:<outside.example!user>",             // bare bang path
	"RCPT TO:<@relay.test:user@outside.example>", // source route
	"RCPT TO:<@relay.test,@other.test:user@outside.example>",
	"RCPT TO:<\"user@outside.example\"@relay.test>", // quoted local part with @
	"RCPT TO:<\"user%outside.example\"@relay.test>",
	"RCPT TO:<user@[192.0.2.1]>", // IP literal
	"RCPT TO:<user@[IPv6:2001:db8::1]>",
	"RCPT TO:<user@outside.example", // unbalanced angle
	"RCPT TO:user@outside.example>",
	"RCPT TO:<<user@outside.example>>",
	"RCPT TO:<user@[192.0.2.1>", // unbalanced bracket
	"RCPT TO:<user@192.0.2.1]>",
	"RCPT TO:<user\x00@outside.example>", // NUL
	"RCPT TO:<user@outside.example\x00.relay.test>",
	"RCPT TO:<us\xe9r@outside.example>", // 8-bit, not UTF-8
	"RCPT TO:<user@outs\xffide.example>",
	"RCPT TO:<user @outside.example>", // spaces
	"RCPT TO:< user@outside.example>",
	"RCPT TO:<user@outside.example.>", // trailing dot
	"RCPT TO:<user@outside.example>@relay.test",
	"RCPT TO:<" + strings.Repeat("a", 900) + "@outside.example>", // very long
	"RCPT TO:<user@" + strings.Repeat("b", 900) + ".example>",
	"RCPT TO:<user@outside.example>", // plain relay attempt
	"RCPT TO:<postmaster@outside.example>",
}

// refusedProbe reports whether reply refuses a relay probe properly.
func refusedProbe(reply string) bool {
	return strings.HasPrefix(reply, "554 5.7.1") || strings.HasPrefix(reply, "501 ") ||
		strings.HasPrefix(reply, "500 ") || strings.HasPrefix(reply, "553 ")
}

func TestOpenRelayProbesRefused(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, func(o *Options) { o.TrustedNetworks = nil })
	for _, probe := range relayProbes {
		r := dialRaw(t, addr)
		r.cmd("EHLO client.test")
		if got := r.cmd("MAIL FROM:<someone@outside.example>"); !strings.HasPrefix(got, "250") {
			t.Fatalf("MAIL: %q", got)
		}
		got := r.cmd("%s", probe)
		if !refusedProbe(got) {
			t.Errorf("%q: %q, want 554 5.7.1 or a syntax error", probe, got)
		}
		if strings.HasPrefix(got, "250") {
			if d := r.cmd("DATA"); strings.HasPrefix(d, "354") {
				r.cmd("Subject: probe\r\n\r\nx\r\n.")
			}
		}
		r.c.Close()
	}
	if n := len(sp.messages()); n != 0 {
		t.Fatalf("%d probe messages spooled", n)
	}
}

// TestBadBytesInCommands: NUL and 8-bit bytes in other commands do not get
// mail through either.
func TestBadBytesInCommands(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, func(o *Options) { o.TrustedNetworks = nil })
	for _, seq := range [][]string{
		{"EHLO cli\x00ent.test", "MAIL FROM:<a@b.example>", "RCPT TO:<c@d.example>"},
		{"EHLO client.test", "MAIL FROM:<a\x00@b.example>", "RCPT TO:<c@d.example>"},
		{"EHLO client.test", "MAIL FROM:<a@b.example> SIZE=1\x00", "RCPT TO:<c@d.example>"},
		{"EHLO client.test", "MAIL FROM:<\xff@b.example>", "RCPT TO:<c@d.example>"},
	} {
		r := dialRaw(t, addr)
		var last string
		for _, c := range seq {
			last = r.cmd("%s", c)
		}
		if strings.HasPrefix(last, "250") {
			t.Errorf("%q: last reply %q", seq, last)
		}
		r.c.Close()
	}
	if n := len(sp.messages()); n != 0 {
		t.Fatalf("%d messages spooled", n)
	}
}
