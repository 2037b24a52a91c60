package test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/posthorn/posthorn/internal/smtpd"
	"github.com/posthorn/posthorn/internal/testutil/postfix"
)

// tlsDaemon starts posthorn with a certificate, an implicit TLS listener
// and the service "sentry" that may log in with password "s3cret";
// trusted_networks excludes loopback so that only a login can relay.
func tlsDaemon(t *testing.T) (p *posthorn, implicit, certFile, keyFile string, cert *x509.Certificate) {
	t.Helper()
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert = writeCert(t, certFile, keyFile)
	implicit = postfix.FreeAddr(t)
	hash := smtpd.HashPassword("s3cret", []byte("posthorn-test-salt"))
	p = startHardened(t, hardConfig{
		SMTP: fmt.Sprintf("trusted_networks = [\"10.0.0.0/8\"]\nimplicit_tls_listen = [%q]\ntls_cert_file = %q\ntls_key_file = %q\n",
			implicit, certFile, keyFile),
		Tables: fmt.Sprintf("[[service]]\nname = \"sentry\"\nauth_password_hash = %q\n", hash),
	})
	return p, implicit, certFile, keyFile, cert
}

// presented returns the certificate the listener at addr presents over
// STARTTLS (implicit false) or at connect.
func presented(t *testing.T, addr string, implicit bool) *x509.Certificate {
	t.Helper()
	cfg := &tls.Config{InsecureSkipVerify: true} // the leaf is compared by the caller
	var c *smtp.Client
	var err error
	if implicit {
		c, err = smtp.DialTLS(addr, cfg)
	} else {
		c, err = smtp.DialStartTLS(addr, cfg)
	}
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

// TestDaemonTLSAndAuth: STARTTLS and implicit TLS with the configured
// certificate; a service logs in over TLS and relays; without a login the
// same client is refused; a renewed certificate is presented after
// SIGHUP, without a restart.
func TestDaemonTLSAndAuth(t *testing.T) {
	t.Parallel()
	p, implicit, certFile, keyFile, cert := tlsDaemon(t)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	verify := &tls.Config{ServerName: "relay.test", RootCAs: pool}
	msg := "Subject: tls\r\n\r\nx\r\n"

	c, err := smtp.DialStartTLS(p.Addr, verify)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.SendMail("app@example.org", []string{"b@example.net"}, strings.NewReader(msg)); err == nil ||
		!strings.Contains(err.Error(), "554") {
		t.Errorf("without login over STARTTLS: %v, want 554", err)
	}
	c.Close()
	c, err = smtp.DialTLS(implicit, verify)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Auth(sasl.NewPlainClient("", "sentry", "s3cret")); err != nil {
		t.Fatalf("AUTH PLAIN on the implicit TLS listener: %v", err)
	}
	if err := c.SendMail("app@example.org", []string{"b@example.net"}, strings.NewReader(msg)); err != nil {
		t.Fatalf("relay after login: %v", err)
	}
	c.Close()
	q := p.queue(t)
	if len(q) != 1 {
		t.Fatalf("%d messages queued, want 1", len(q))
	}
	// The login names the service, wherever the client is.
	if q[0].Service != "sentry" {
		t.Errorf("message attributed to service %q, want sentry (its AUTH login)", q[0].Service)
	}

	// Renewal: new files, then SIGHUP.
	renewed := writeCert(t, certFile, keyFile)
	if err := p.cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for i := 0; ; i++ {
		if presented(t, p.Addr, false).Equal(renewed) && presented(t, implicit, true).Equal(renewed) {
			break
		}
		if i == 100 {
			t.Fatal("the renewed certificate is not presented 10s after SIGHUP")
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestSwaksSTARTTLSAuth: swaks negotiates STARTTLS and logs in with
// AUTH LOGIN and PLAIN; a wrong password gets 535.
func TestSwaksSTARTTLSAuth(t *testing.T) {
	t.Parallel()
	tools := postfix.Find(t)
	p, _, _, _, _ := tlsDaemon(t)
	for _, mech := range []string{"LOGIN", "PLAIN"} {
		out, err := swaks(t, tools, p.Addr, "--tls", "--auth", mech, "--auth-user", "sentry", "--auth-password", "s3cret",
			"--from", "app@example.org", "--to", "b@example.net")
		if err != nil || !strings.Contains(out, "TLS started") || !strings.Contains(out, "<~  235 ") ||
			!strings.Contains(out, "<~  250 2.0.0 Ok: queued") {
			t.Fatalf("swaks --tls --auth %s: %v\n%s", mech, err, out)
		}
	}
	out, err := swaks(t, tools, p.Addr, "--tls", "--auth", "PLAIN", "--auth-user", "sentry", "--auth-password", "wrong",
		"--from", "app@example.org", "--to", "b@example.net")
	if err == nil || !strings.Contains(out, "535 5.7.8") {
		t.Fatalf("wrong password: %v\n%s", err, out)
	}
	if q := p.queue(t); len(q) != 2 {
		t.Fatalf("%d messages queued, want 2", len(q))
	}
}
