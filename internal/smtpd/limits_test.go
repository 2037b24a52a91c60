package smtpd

import (
	"errors"
	"io"
	"io/fs"
	"net"
	"net/netip"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/maillog"
)

// spoolFiles lists the regular files below the spool directory.
func spoolFiles(t *testing.T, sp *storeSpool) []string {
	t.Helper()
	var files []string
	filepath.WalkDir(sp.Dir(), func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			files = append(files, p)
		}
		return nil
	})
	return files
}

func TestMaxConnectionsPerIP(t *testing.T) {
	t.Parallel()
	addr, _ := startServer(t, func(o *Options) { o.MaxConnectionsPerIP = 2 })
	var open []*rawSession
	for i := 0; i < 2; i++ {
		open = append(open, dialRaw(t, addr)) // reads the 220
	}
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, _ := io.ReadAll(c) // the refusal, then EOF
	if !strings.HasPrefix(string(got), "421 4.7.0") {
		t.Fatalf("third connection from one address: %q, want 421 then close", got)
	}
	// Another address is not affected: 127.0.0.2 is loopback too.
	d := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}}
	if c2, err := d.Dial("tcp", addr); err == nil {
		c2.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4)
		io.ReadFull(c2, buf)
		c2.Close()
		if string(buf) != "220 " {
			t.Errorf("connection from 127.0.0.2: %q, want 220", buf)
		}
	}
	// Closing one frees its slot.
	open[0].c.Close()
	for i := 0; ; i++ {
		c3, err := net.DialTimeout("tcp", addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c3.SetDeadline(time.Now().Add(10 * time.Second))
		buf := make([]byte, 4)
		io.ReadFull(c3, buf)
		c3.Close()
		if string(buf) == "220 " {
			break
		}
		if i == 50 {
			t.Fatal("the slot of a closed connection was not freed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestServiceRateLimit(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var rejected int
	clock := &fakeClock{now: time.Now()}
	addr, sp := startServer(t, func(o *Options) {
		o.Now = clock.Now
		o.Services = []Service{{Name: "cron", Networks: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}, MaxPerMinute: 3}}
		o.MailLog = maillog.New(nil, maillog.SinkFunc(func(e maillog.Event) {
			if e.Kind == maillog.Rejected && e.Stage == "rate" && e.Service == "cron" {
				mu.Lock()
				rejected++
				mu.Unlock()
			}
		}))
	})
	for i := 0; i < 5; i++ {
		err := send(t, addr, "a@example.org", []string{"b@example.net"}, "Subject: n\r\n\r\nx\r\n")
		var se *smtp.SMTPError
		switch {
		case i < 3 && err != nil:
			t.Fatalf("message %d: %v", i, err)
		case i >= 3 && (!errors.As(err, &se) || se.Code != 450 || se.EnhancedCode != (smtp.EnhancedCode{4, 7, 1})):
			t.Fatalf("message %d over the rate: %v, want 450 4.7.1", i, err)
		}
	}
	clock.Add(20 * time.Second) // one token back
	if err := send(t, addr, "a@example.org", []string{"b@example.net"}, "Subject: n\r\n\r\nx\r\n"); err != nil {
		t.Fatalf("after 20s: %v", err)
	}
	if n := len(sp.messages()); n != 4 {
		t.Errorf("%d messages spooled, want 4", n)
	}
	mu.Lock()
	defer mu.Unlock()
	if rejected != 2 {
		t.Errorf("%d rate rejections counted, want 2", rejected)
	}
}

// TestOversizedMessageStreamed: twice the size limit is cut off with 552
// and leaves nothing in the spool (no temporary file either).
func TestOversizedMessageStreamed(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, func(o *Options) { o.MaxMessageSize = 64 << 10 })
	body := "Subject: big\r\n\r\n" + strings.Repeat(strings.Repeat("x", 78)+"\r\n", 2*(64<<10)/80+10)
	if err := send(t, addr, "a@example.org", []string{"b@example.net"}, body); code(err) != 552 {
		t.Fatalf("2× max size: %v, want 552", err)
	}
	if files := spoolFiles(t, sp); len(files) != 0 {
		t.Fatalf("spool holds %v after a refused message", files)
	}
	// The session is still usable.
	if err := send(t, addr, "a@example.org", []string{"b@example.net"}, "Subject: small\r\n\r\nx\r\n"); err != nil {
		t.Fatal(err)
	}
}

func TestLongLines(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, func(o *Options) { o.MaxLineLength = 1000 })
	r := dialRaw(t, addr)
	if got := r.cmd("EHLO %s", strings.Repeat("h", 1200)); !strings.HasPrefix(got, "500 5.4.0") {
		t.Errorf("long command line: %q, want 500", got)
	}
	r = dialRaw(t, addr)
	r.cmd("EHLO client.test")
	r.cmd("MAIL FROM:<a@example.org>")
	r.cmd("RCPT TO:<b@example.net>")
	r.cmd("DATA")
	got := r.cmd("Subject: %s\r\n\r\nx\r\n.", strings.Repeat("s", 5000))
	if !strings.HasPrefix(got, "5") {
		t.Errorf("long header line: %q, want a 5xx", got)
	}
	if n := len(sp.messages()); n != 0 || len(spoolFiles(t, sp)) != 0 {
		t.Fatalf("%d messages spooled, files %v", n, spoolFiles(t, sp))
	}
}

// trickle writes one byte every step until the connection fails or limit
// passes; it returns whether the server closed the connection.
func trickle(c net.Conn, data string, step, limit time.Duration) bool {
	end := time.Now().Add(limit)
	for i := 0; time.Now().Before(end); i++ {
		if _, err := c.Write([]byte{data[i%len(data)]}); err != nil {
			return true
		}
		c.SetReadDeadline(time.Now().Add(step))
		buf := make([]byte, 512)
		if _, err := c.Read(buf); err != nil {
			var ne net.Error
			if !errors.As(err, &ne) || !ne.Timeout() {
				return true // EOF or reset: closed
			}
		}
	}
	return false
}

// TestSlowClientsDropped: a client trickling a command line, or its
// message data, is dropped at the session or data deadline although every
// single read is quick.
func TestSlowClientsDropped(t *testing.T) {
	t.Parallel()
	addr, sp := startServer(t, func(o *Options) {
		o.ReadTimeout = 2 * time.Second
		o.MaxSessionTime = time.Second
	})
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if !trickle(c, "NOOP\r\n", 100*time.Millisecond, 15*time.Second) {
		t.Fatal("a trickling client was not dropped at max_session_time")
	}
	addr, sp = startServer(t, func(o *Options) {
		o.ReadTimeout = 2 * time.Second
		o.DataTimeout = time.Second
	})
	r := dialRaw(t, addr)
	r.cmd("EHLO client.test")
	r.cmd("MAIL FROM:<a@example.org>")
	r.cmd("RCPT TO:<b@example.net>")
	if got := r.cmd("DATA"); !strings.HasPrefix(got, "354") {
		t.Fatalf("DATA: %q", got)
	}
	r.c.SetDeadline(time.Time{})
	if !trickle(r.c, "Subject: slow\r\n", 100*time.Millisecond, 15*time.Second) {
		t.Fatal("a client trickling its data was not dropped at data_timeout")
	}
	if n := len(sp.messages()); n != 0 || len(spoolFiles(t, sp)) != 0 {
		t.Fatalf("%d messages spooled, files %v", n, spoolFiles(t, sp))
	}
}
