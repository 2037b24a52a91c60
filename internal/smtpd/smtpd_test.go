package smtpd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/spool"

	"github.com/posthorn/posthorn/internal/testutil"
)

// storeSpool is the spool without a queue behind it.
type storeSpool struct {
	*spool.Store
	failCommit error
	mu         sync.Mutex
	msgs       []*spool.Message
}

func (s *storeSpool) Commit(w *spool.Writer) (*spool.Message, error) {
	if s.failCommit != nil {
		w.Abort()
		return nil, s.failCommit
	}
	m, err := w.Commit()
	if err == nil {
		s.mu.Lock()
		s.msgs = append(s.msgs, m)
		s.mu.Unlock()
	}
	return m, err
}

func (s *storeSpool) messages() []*spool.Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*spool.Message(nil), s.msgs...)
}

func (s *storeSpool) body(t *testing.T, m *spool.Message) string {
	t.Helper()
	return testutil.SpoolBody(t, s.Store, m)
}

func startServer(t testing.TB, edit func(*Options)) (string, *storeSpool) {
	t.Helper()
	return startServerMode(t, edit, false)
}

// startServerMode starts a server on a plain or (implicit true) an
// implicit TLS listener.
func startServerMode(t testing.TB, edit func(*Options), implicit bool) (string, *storeSpool) {
	t.Helper()
	st, err := spool.Open(filepath.Join(t.TempDir(), "q"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	sp := &storeSpool{Store: st}
	opts := Options{
		Hostname: "relay.test", TrustedNetworks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")},
		MaxMessageSize: 10000, MaxRecipients: 3, MaxReceived: 5, MaxConnections: 10,
		ReadTimeout: 5 * time.Second, WriteTimeout: 5 * time.Second, MaxSessionTime: time.Minute,
		Spool: sp,
	}
	if edit != nil {
		edit(&opts)
	}
	srv := New(opts)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if implicit {
			srv.ServeTLS(ln)
		} else {
			srv.Serve(ln)
		}
	}()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
		<-done
		st.Close()
	})
	return ln.Addr().String(), sp
}

func send(t *testing.T, addr, from string, rcpts []string, body string) error {
	t.Helper()
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	for _, r := range rcpts {
		if err := c.Rcpt(r, nil); err != nil {
			return err
		}
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(body)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}

func code(err error) int {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se.Code
	}
	return 0
}

func TestAcceptAddsTraceFields(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, nil)
	err := send(t, addr, "app@example.org", []string{"bob@example.net"}, "Subject: hi\r\n\r\nbody line\r\n")
	if err != nil {
		t.Fatal(err)
	}
	msgs := sp.messages()
	if len(msgs) != 1 {
		t.Fatalf("%d messages spooled", len(msgs))
	}
	m := msgs[0]
	if m.Env.From != "app@example.org" || m.Env.Rcpts[0] != "bob@example.net" || m.Env.Client != "127.0.0.1" {
		t.Fatalf("envelope %+v", m.Env)
	}
	body := sp.body(t, m)
	for _, want := range []string{
		"Received: from client.test ([127.0.0.1])\r\n\tby relay.test (Posthorn) with ESMTP id " + m.Env.ID,
		"Subject: hi\r\n", "Message-ID: <" + m.Env.ID + "@relay.test>\r\n", "Date: ", "\r\n\r\nbody line\r\n",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("spooled message lacks %q:\n%s", want, body)
		}
	}
	// A message that has them keeps its own.
	err = send(t, addr, "", []string{"bob@example.net"}, "Message-ID: <own@x>\r\nDate: Mon, 1 Jan 2024 00:00:00 +0000\r\n\r\nx\r\n")
	if err != nil {
		t.Fatal(err)
	}
	body = sp.body(t, sp.messages()[1])
	if strings.Count(body, "Message-ID") != 1 || strings.Count(body, "Date:") != 1 || sp.messages()[1].Env.From != "" {
		t.Fatalf("own fields not kept alone:\n%s", body)
	}
	if got := m.Env.MessageID; got != "<"+m.Env.ID+"@relay.test>" {
		t.Errorf("envelope Message-ID = %q, want the one added", got)
	}
	if got := sp.messages()[1].Env.MessageID; got != "<own@x>" {
		t.Errorf("envelope Message-ID = %q, want the message's own", got)
	}
	if m.Env.Service != Unknown {
		t.Errorf("service = %q without [[service]], want %q", m.Env.Service, Unknown)
	}
}

func TestServiceByClientNetwork(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var events []maillog.Event
	addr, sp := startServer(t, func(o *Options) {
		o.Services = []Service{
			{Name: "elsewhere", Networks: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}},
			{Name: "gerrit", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.1/32")}},
			{Name: "shadowed", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}},
		}
		o.MailLog = maillog.New(nil, maillog.SinkFunc(func(e maillog.Event) {
			mu.Lock()
			events = append(events, e)
			mu.Unlock()
		}))
	})
	if err := send(t, addr, "a@example.org", []string{"b@example.net"}, "Subject: x\r\n\r\nx\r\n"); err != nil {
		t.Fatal(err)
	}
	m := sp.messages()[0]
	if m.Env.Service != "gerrit" {
		t.Fatalf("service = %q, want gerrit (first matching network)", m.Env.Service)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(events) != 2 || events[0].Kind != maillog.Session || events[0].Service != "gerrit" ||
		events[1].Kind != maillog.Accepted || events[1].Service != "gerrit" ||
		events[1].QueueID != m.Env.ID || events[1].MessageID != m.Env.MessageID || events[1].Size != m.BodyLen {
		t.Fatalf("mail log events %+v", events)
	}
}

func TestUntrustedClientCannotRelay(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, func(o *Options) {
		o.TrustedNetworks = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	})
	err := send(t, addr, "a@example.org", []string{"b@example.net"}, "x\r\n")
	var se *smtp.SMTPError
	if !errors.As(err, &se) || se.Code != 554 || se.EnhancedCode != (smtp.EnhancedCode{5, 7, 1}) {
		t.Fatalf("err = %v, want 554 5.7.1", err)
	}
	if len(sp.messages()) != 0 {
		t.Fatal("message spooled")
	}
}

func TestLimits(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, nil)
	big := "Subject: big\r\n\r\n" + strings.Repeat("0123456789\r\n", 2000)
	if err := send(t, addr, "a@example.org", []string{"b@example.net"}, big); code(err) != 552 {
		t.Errorf("oversized: %v, want 552", err)
	}
	if err := send(t, addr, "a@example.org", []string{"b@x.net", "c@x.net", "d@x.net", "e@x.net"}, "x\r\n"); code(err) != 452 {
		t.Errorf("too many recipients: %v, want 452", err)
	}
	loop := strings.Repeat("Received: from a by b; Mon, 1 Jan 2024 00:00:00 +0000\r\n", 6) + "\r\nx\r\n"
	if err := send(t, addr, "a@example.org", []string{"b@example.net"}, loop); code(err) != 554 {
		t.Errorf("looping message: %v, want 554", err)
	}
	for _, bad := range []string{"noat", "a@b@c", "a%b@c", "a!b@c", "@c", "a@", "a@b..c"} {
		if err := send(t, addr, "a@example.org", []string{bad}, "x\r\n"); code(err) != 501 {
			t.Errorf("recipient %q: %v, want 501", bad, err)
		}
	}
	if n := len(sp.messages()); n != 0 {
		t.Fatalf("%d messages spooled", n)
	}
}

func TestSpoolFailureIsTemporary(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, nil)
	sp.failCommit = &spool.WriteError{Op: "fdatasync", Err: errors.New("I/O error")}
	err := send(t, addr, "a@example.org", []string{"b@example.net"}, "x\r\n")
	if code(err) != 451 {
		t.Fatalf("err = %v, want 451", err)
	}
}

func TestPipelining(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, nil)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	br := bufio.NewReader(c)
	readReply := func() string {
		var last string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			last = line
			if len(line) < 4 || line[3] != '-' {
				return last
			}
		}
	}
	readReply() // greeting
	fmt.Fprintf(c, "EHLO client.test\r\n")
	ehlo := readReply()
	_ = ehlo
	fmt.Fprintf(c, "MAIL FROM:<a@example.org>\r\nRCPT TO:<b@example.net>\r\nRCPT TO:<c@example.net>\r\nDATA\r\n")
	for i, want := range []string{"250", "250", "250", "354"} {
		if got := readReply(); !strings.HasPrefix(got, want) {
			t.Fatalf("reply %d = %q, want %s", i, got, want)
		}
	}
	fmt.Fprintf(c, "Subject: p\r\n\r\n..dot stuffed\r\n.\r\nQUIT\r\n")
	if got := readReply(); !strings.HasPrefix(got, "250 2.0.0 Ok: queued as ") {
		t.Fatalf("after data: %q", got)
	}
	readReply()
	if !strings.Contains(sp.body(t, sp.messages()[0]), "\r\n.dot stuffed\r\n") {
		t.Fatal("dot unstuffing")
	}
}

func TestEhloAdvertises(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t, nil)
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	for _, ext := range []string{"PIPELINING", "8BITMIME", "SMTPUTF8", "SIZE", "ENHANCEDSTATUSCODES"} {
		if ok, _ := c.Extension(ext); !ok {
			t.Errorf("EHLO lacks %s", ext)
		}
	}
	if _, p := c.Extension("SIZE"); p != "10000" {
		t.Errorf("SIZE %q", p)
	}
}

func TestMaxConnections(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t, func(o *Options) { o.MaxConnections = 1 })
	first, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	first.SetDeadline(time.Now().Add(10 * time.Second))
	if l, _ := bufio.NewReader(first).ReadString('\n'); !strings.HasPrefix(l, "220") {
		t.Fatalf("first greeting %q", l)
	}
	second, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer second.Close()
	second.SetDeadline(time.Now().Add(10 * time.Second))
	if l, _ := bufio.NewReader(second).ReadString('\n'); !strings.HasPrefix(l, "421 4.7.0") {
		t.Fatalf("second greeting %q, want 421", l)
	}
}

// TestSMTPUTF8OnlyWhenNeeded: a client declaring SMTPUTF8 for ASCII mail
// gets a message that can go through any upstream.
func TestSMTPUTF8OnlyWhenNeeded(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, nil)
	for _, tc := range []struct {
		rcpt, header string
		want         bool
	}{
		{"bob@example.net", "Subject: plain\r\n", false},
		{"bøb@example.net", "Subject: plain\r\n", true},
		{"bob@example.net", "Subject: grüße\r\n", true},
	} {
		c, err := smtp.Dial(addr)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Hello("client.test"); err != nil {
			t.Fatal(err)
		}
		if err := c.Mail("a@example.org", &smtp.MailOptions{UTF8: true}); err != nil {
			t.Fatal(err)
		}
		if err := c.Rcpt(tc.rcpt, nil); err != nil {
			t.Fatal(err)
		}
		w, err := c.Data()
		if err != nil {
			t.Fatal(err)
		}
		w.Write([]byte(tc.header + "\r\nx\r\n"))
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		c.Close()
		msgs := sp.messages()
		if got := msgs[len(msgs)-1].Env.SMTPUTF8; got != tc.want {
			t.Errorf("rcpt %q header %q: SMTPUTF8 = %v, want %v", tc.rcpt, tc.header, got, tc.want)
		}
	}
}

// TestListAddressesFromAnyone: an untrusted client may send to an existing
// local (list) address, not to an unknown one on a list domain, and still
// not relay elsewhere.
func TestListAddressesFromAnyone(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, func(o *Options) {
		o.TrustedNetworks = nil
		o.Local = func(a string) LocalAnswer {
			switch {
			case a == "wikitech-l@lists.example.org":
				return LocalKnown
			case strings.HasSuffix(a, "@lists.example.org"):
				return LocalUnknown
			case strings.HasSuffix(a, "@broken.example.org"):
				return LocalError
			}
			return NotLocal
		}
	})
	if err := send(t, addr, "x@example.com", []string{"wikitech-l@lists.example.org"}, "Subject: hi\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("post to a list from an untrusted client: %v", err)
	}
	if n := len(sp.messages()); n != 1 {
		t.Fatalf("%d messages queued", n)
	}
	for rcpt, code := range map[string]int{
		"nolist@lists.example.org":  550,
		"a@broken.example.org":      451,
		"someone@elsewhere.example": 554,
	} {
		err := send(t, addr, "x@example.com", []string{rcpt}, "Subject: hi\r\n\r\nx\r\n")
		var se *smtp.SMTPError
		if !errors.As(err, &se) || se.Code != code {
			t.Errorf("RCPT %s: %v, want %d", rcpt, err, code)
		}
	}
}
