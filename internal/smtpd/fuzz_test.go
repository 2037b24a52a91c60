package smtpd

import (
	"io"
	"net"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzSession feeds arbitrary client input to a real session: the server
// must neither crash nor hang.
func FuzzSession(f *testing.F) {
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b.c>\r\nRCPT TO:<d@e.f>\r\nDATA\r\nSubject: s\r\n\r\nhi\r\n.\r\nQUIT\r\n"))
	f.Add([]byte("HELO x\r\nMAIL FROM:<>\r\nRCPT TO:<\x00@e>\r\nRSET\r\nNOOP\r\nVRFY x\r\nQUIT\r\n"))
	f.Add([]byte("EHLO x\r\nMAIL FROM:<a@b> SIZE=99999999999\r\nRCPT TO:<a%b@c>\r\nDATA\r\n.\r\n"))
	f.Add([]byte("EHLO x\r\nBDAT 5 LAST\r\nabcde"))
	addr, _ := startServer(f, func(o *Options) { o.ReadTimeout = time.Second })
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(3 * time.Second))
		go func() {
			c.Write(in)
			c.(*net.TCPConn).CloseWrite() // EOF: the server must end the session
		}()
		if _, err := io.Copy(io.Discard, c); err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				t.Fatal("server neither answered nor closed within 3s")
			}
		}
	})
}

// FuzzAddress checks the envelope address checks: no panic, and nothing
// they accept holds the characters that make relay tricks or header
// injection possible.
func FuzzAddress(f *testing.F) {
	for _, s := range []string{"a@b.example", "user%outside@relay", "a!b@c", "\"a@b\"@c", "a@[192.0.2.1]",
		"a@[192.0.2.1", "a@b..c", "ü@bü.example", "a\x00@b", "\xff@b", "a@b@c", "@a:b@c", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, addr string) {
		ok := validAddress(addr)
		if CheckSender(addr) == nil != (addr == "" || ok) {
			t.Fatalf("CheckSender(%q) disagrees with validAddress", addr)
		}
		if !ok {
			return
		}
		at := strings.LastIndexByte(addr, '@')
		if at <= 0 || strings.ContainsAny(addr[:at], "@%!") || strings.ContainsAny(addr, " \r\n\x00<>") {
			t.Fatalf("validAddress(%q) = true", addr)
		}
		if !utf8.ValidString(addr) {
			t.Fatalf("validAddress accepted invalid UTF-8 %q", addr)
		}
	})
}
