package smtpd

import (
	"crypto/ecdsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/testutil"
)

// writeKeyPair writes a fresh self-signed certificate for host (and
// 127.0.0.1) as PEM files, returning their paths and a pool trusting it.
func writeKeyPair(t testing.TB, dir, host string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	cfg, pool := testutil.SelfSignedTLS(t, host, "127.0.0.1")
	c := cfg.Certificates[0]
	keyDER, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile, pool
}

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newCertStore(t testing.TB, host string, clock *fakeClock) (*CertStore, *x509.CertPool, string) {
	t.Helper()
	dir := t.TempDir()
	cert, key, pool := writeKeyPair(t, dir, host)
	now := time.Now
	if clock != nil {
		now = clock.Now
	}
	cs, err := NewCertStore(cert, key, time.Minute, now, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cs, pool, dir
}

func TestStartTLS(t *testing.T) {
	t.Parallel()
	cs, pool, _ := newCertStore(t, "relay.test", nil)
	addr, sp := startServer(t, func(o *Options) { o.TLSConfig = TLSConfig(cs) })
	c, err := smtp.Dial(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	if ok, _ := c.Extension("STARTTLS"); !ok {
		t.Fatal("STARTTLS not offered with a certificate")
	}
	c.Close()
	c, err = smtp.DialStartTLS(addr, &tls.Config{ServerName: "relay.test", RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		t.Fatal(err)
	}
	st, ok := c.TLSConnectionState()
	if !ok || st.Version != tls.VersionTLS13 {
		t.Errorf("TLS state %v, version %x; want TLS 1.3 preferred", ok, st.Version)
	}
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Error("STARTTLS offered again inside TLS")
	}
	if err := c.Mail("a@example.org", nil); err != nil {
		t.Fatal(err)
	}
	if err := c.Rcpt("b@example.net", nil); err != nil {
		t.Fatal(err)
	}
	w, err := c.Data()
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("Subject: tls\r\n\r\nx\r\n"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if body := sp.body(t, sp.messages()[0]); !strings.Contains(body, "with ESMTPS") {
		t.Errorf("Received field does not say ESMTPS:\n%s", body)
	}
}

func TestNoSTARTTLSWithoutCertificate(t *testing.T) {
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
	if ok, _ := c.Extension("STARTTLS"); ok {
		t.Fatal("STARTTLS offered without a certificate")
	}
}

func TestImplicitTLS(t *testing.T) {
	t.Parallel()
	cs, pool, _ := newCertStore(t, "relay.test", nil)
	addr, sp := startServerMode(t, func(o *Options) { o.TLSConfig = TLSConfig(cs) }, true)
	c, err := smtp.DialTLS(addr, &tls.Config{ServerName: "relay.test", RootCAs: pool})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendMail("a@example.org", []string{"b@example.net"}, strings.NewReader("Subject: 465\r\n\r\nx\r\n")); err != nil {
		t.Fatal(err)
	}
	if n := len(sp.messages()); n != 1 {
		t.Fatalf("%d messages spooled", n)
	}
	// Old protocol versions and weak suites are refused.
	for name, cfg := range map[string]*tls.Config{
		"TLS 1.1":  {MaxVersion: tls.VersionTLS11},
		"CBC-SHA1": {MaxVersion: tls.VersionTLS12, CipherSuites: []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA}},
	} {
		cfg.ServerName, cfg.RootCAs = "relay.test", pool
		conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
		if err == nil {
			conn.Close()
			t.Errorf("%s handshake succeeded", name)
		}
	}
}

// TestCertificateRotation: a new certificate written over the files is
// presented once the check interval passed, without a restart; a broken
// one is ignored.
func TestCertificateRotation(t *testing.T) {
	t.Parallel()
	clock := &fakeClock{now: time.Now()}
	cs, pool1, dir := newCertStore(t, "relay.test", clock)
	addr, _ := startServer(t, func(o *Options) { o.TLSConfig = TLSConfig(cs) })
	leaf := func() *x509.Certificate {
		t.Helper()
		// Verification is checked separately below; here only the leaf.
		c, err := smtp.DialStartTLS(addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if err := c.Hello("client.test"); err != nil {
			t.Fatal(err)
		}
		st, _ := c.TLSConnectionState()
		return st.PeerCertificates[0]
	}
	first := leaf()
	if _, err := first.Verify(x509.VerifyOptions{Roots: pool1, DNSName: "relay.test"}); err != nil {
		t.Fatalf("first certificate: %v", err)
	}
	// Renewal: new files (a later mtime), not yet looked at.
	sub := filepath.Join(dir, "new")
	os.Mkdir(sub, 0o700)
	newCert, newKey, pool2 := writeKeyPair(t, sub, "relay.test")
	for src, dst := range map[string]string{newCert: cs.certFile, newKey: cs.keyFile} {
		data, _ := os.ReadFile(src)
		os.WriteFile(dst, data, 0o600)
		later := time.Now().Add(time.Hour)
		os.Chtimes(dst, later, later)
	}
	if got := leaf(); !got.Equal(first) {
		t.Fatal("certificate changed before the check interval")
	}
	clock.Add(time.Minute)
	second := leaf()
	if _, err := second.Verify(x509.VerifyOptions{Roots: pool2, DNSName: "relay.test"}); err != nil || second.Equal(first) {
		t.Fatalf("after the interval the renewed certificate is not presented (verify: %v)", err)
	}
	// A broken file is logged and the current certificate kept.
	os.WriteFile(cs.certFile, []byte("not a certificate"), 0o600)
	later := time.Now().Add(2 * time.Hour)
	os.Chtimes(cs.certFile, later, later)
	clock.Add(time.Minute)
	if got := leaf(); !got.Equal(second) {
		t.Fatal("a broken certificate file replaced the working certificate")
	}
	if err := cs.Reload(); err == nil {
		t.Fatal("Reload of a broken file succeeded")
	}
}
