package test

import (
	"bufio"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"
)

// openRelayProbes are the classic open-relay tests (the smtpd package has
// the same list for its unit test): every one must be refused from an
// untrusted client with 554 5.7.1 or a syntax error, and nothing queued.
var openRelayProbes = []string{
	"RCPT TO:<user%outside.example@relay.test>",
	"RCPT TO:<user%outside.example@[127.0.0.1]>",
	"RCPT TO:<outside.example!user@relay.test>",
	"RCPT TO:<outside.example!user>",
	"RCPT TO:<@relay.test:user@outside.example>",
	"RCPT TO:<@relay.test,@other.test:user@outside.example>",
	"RCPT TO:<\"user@outside.example\"@relay.test>",
	"RCPT TO:<\"user%outside.example\"@relay.test>",
	"RCPT TO:<user@[192.0.2.1]>",
	"RCPT TO:<user@[IPv6:2001:db8::1]>",
	"RCPT TO:<user@[127.0.0.1]>",
	"RCPT TO:<user@outside.example",
	"RCPT TO:user@outside.example>",
	"RCPT TO:<<user@outside.example>>",
	"RCPT TO:<user@[192.0.2.1>",
	"RCPT TO:<user@192.0.2.1]>",
	"RCPT TO:<user\x00@outside.example>",
	"RCPT TO:<user@outside.example\x00.relay.test>",
	"RCPT TO:<us\xe9r@outside.example>",
	"RCPT TO:<user@outs\xffide.example>",
	"RCPT TO:<user @outside.example>",
	"RCPT TO:<user@outside.example.>",
	"RCPT TO:<user@outside.example>@relay.test",
	"RCPT TO:<" + strings.Repeat("a", 900) + "@outside.example>",
	"RCPT TO:<user@outside.example>",
	"RCPT TO:<user@relay.test>",
	"RCPT TO:<postmaster@outside.example>",
}

// smtpLine sends one command line and reads the whole reply.
func smtpLine(c net.Conn, br *bufio.Reader, line string) string {
	if line != "" {
		fmt.Fprintf(c, "%s\r\n", line)
	}
	var all strings.Builder
	for i := 0; i < 100; i++ {
		l, err := br.ReadString('\n')
		all.WriteString(l)
		if err != nil || len(l) < 4 || l[3] != '-' {
			break
		}
	}
	return all.String()
}

// TestOpenRelayProbes sends the probes to the daemon from 127.0.0.2, which
// its trusted_networks do not contain, and checks that every one is
// refused and the queue stays empty.
func TestOpenRelayProbes(t *testing.T) {
	t.Parallel()
	p := startHardened(t, hardConfig{SMTP: "trusted_networks = [\"10.0.0.0/8\"]\n"})
	d := net.Dialer{Timeout: 10 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	for _, probe := range openRelayProbes {
		c, err := d.Dial("tcp", p.Addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(20 * time.Second))
		br := bufio.NewReader(c)
		smtpLine(c, br, "")
		smtpLine(c, br, "EHLO prober.example")
		if got := smtpLine(c, br, "MAIL FROM:<spammer@outside.example>"); !strings.HasPrefix(got, "250") {
			t.Fatalf("MAIL: %q", got)
		}
		got := smtpLine(c, br, probe)
		if !(strings.HasPrefix(got, "554 5.7.1") || strings.HasPrefix(got, "501 ") || strings.HasPrefix(got, "500 ")) {
			t.Errorf("%.80q: %q, want 554 5.7.1 or a syntax error", probe, got)
		}
		if strings.HasPrefix(got, "250") {
			if strings.HasPrefix(smtpLine(c, br, "DATA"), "354") {
				smtpLine(c, br, "Subject: probe\r\n\r\nrelayed?\r\n.")
			}
		}
		c.Close()
	}
	if q := p.queue(t); len(q) != 0 {
		t.Fatalf("%d probe messages queued: %+v", len(q), q)
	}
}
