package config

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/testutil"
)

// writeKeyPair writes a fresh self-signed certificate and its key as PEM
// files and returns their paths.
func writeKeyPair(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	cfg, _ := testutil.SelfSignedTLS(t)
	c := cfg.Certificates[0]
	keyDER, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// problemKeys parses doc and returns the keys of its problems.
func problemKeys(t *testing.T, doc string) []string {
	t.Helper()
	_, err := Parse("test.toml", []byte(doc))
	var errs Errors
	if !errors.As(err, &errs) {
		t.Fatalf("Parse = %v, want Errors; document:\n%s", err, doc)
	}
	var keys []string
	for _, p := range errs {
		keys = append(keys, p.Key)
	}
	return keys
}

func TestSMTPTLSSettings(t *testing.T) {
	t.Parallel()
	cert, key := writeKeyPair(t)
	cfg := mustParse(t, `hostname = "mx.example.org"
[smtp]
listen = ["127.0.0.1:25"]
implicit_tls_listen = ["127.0.0.1:465"]
tls_cert_file = '`+cert+`'
tls_key_file = '`+key+`'
tls_reload_interval = "10s"
require_tls_for_auth = false
`)
	if cfg.SMTP.TLSCertFile != cert || cfg.SMTP.ImplicitTLSListen[0] != "127.0.0.1:465" || cfg.SMTP.RequireTLSForAuth {
		t.Errorf("smtp = %+v", cfg.SMTP)
	}
	for doc, want := range map[string]string{
		"[smtp]\ntls_cert_file = '" + cert + "'\n":                               "smtp.tls_key_file",
		"[smtp]\ntls_key_file = '" + key + "'\n":                                 "smtp.tls_cert_file",
		"[smtp]\ntls_cert_file = '" + key + "'\ntls_key_file = '" + cert + "'\n": "smtp.tls_cert_file",
		"[smtp]\nimplicit_tls_listen = [\"127.0.0.1:465\"]\n":                    "smtp.implicit_tls_listen",
		"[smtp]\nlisten = [\"127.0.0.1:25\"]\nimplicit_tls_listen = [\"127.0.0.1:25\"]\ntls_cert_file = '" + cert + "'\ntls_key_file = '" + key + "'\n": "smtp.implicit_tls_listen[0]",
		"[smtp]\nmax_connections_per_ip = -1\n":      "smtp.max_connections_per_ip",
		"[smtp]\nauth_failure_limit = 0\n":           "smtp.auth_failure_limit",
		"[smtp]\nauth_failure_limit_per_user = -1\n": "smtp.auth_failure_limit_per_user",
		"[smtp]\ndata_timeout = \"0s\"\n":            "smtp.data_timeout",
	} {
		keys := problemKeys(t, "hostname = \"mx.example.org\"\n"+doc)
		if len(keys) != 1 || keys[0] != want {
			t.Errorf("problems %v, want one for %s; document:\n%s", keys, want, doc)
		}
	}
}

func TestServiceAuthSettings(t *testing.T) {
	t.Parallel()
	const argon = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzYWx0$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g"
	const bcryptHash = "$2b$04$abcdefghijklmnopqrstuuWZ0m9m8cXbT2ZiA1X3xR0bq1aXQ1rOu"
	cfg := mustParse(t, `hostname = "mx.example.org"
[[service]]
name = "gerrit"
auth_password_hash = "`+argon+`"
max_messages_per_minute = 60
[[service]]
name = "sentry"
auth_user = "sentry-prod"
auth_password_hash = '`+bcryptHash+`'
`)
	if got := cfg.Services[0].Login(); got != "gerrit" {
		t.Errorf("Login() = %q, want the name", got)
	}
	if got := cfg.Services[1].Login(); got != "sentry-prod" {
		t.Errorf("Login() = %q, want auth_user", got)
	}
	r := cfg.Redacted()
	if r.Services[0].AuthPasswordHash == argon || cfg.Services[0].AuthPasswordHash != argon {
		t.Error("Redacted keeps the password hash or changed the original")
	}
	for doc, want := range map[string]string{
		"name = \"a\"\nauth_password_hash = \"secret\"\n":                           "service[0].auth_password_hash",
		"name = \"a\"\nauth_password_hash = \"$argon2id$v=19$m=1,t=1,p=1$x$y\"\n":   "service[0].auth_password_hash",
		"name = \"a\"\nauth_password_hash = \"$2b$04$short\"\n":                     "service[0].auth_password_hash",
		"name = \"a\"\nauth_user = \"a\"\n":                                         "service[0].auth_user",
		"name = \"a\"\nauth_user = \"a b\"\nauth_password_hash = '" + argon + "'\n": "service[0].auth_user",
		"name = \"a\"\nmax_messages_per_minute = -5\n":                              "service[0].max_messages_per_minute",
	} {
		keys := problemKeys(t, "hostname = \"mx.example.org\"\n[[service]]\n"+doc)
		if len(keys) != 1 || keys[0] != want {
			t.Errorf("problems %v, want one for %s; document:\n%s", keys, want, doc)
		}
	}
	keys := problemKeys(t, "hostname = \"mx.example.org\"\n[[service]]\nname = \"a\"\nauth_password_hash = '"+argon+
		"'\n[[service]]\nname = \"b\"\nauth_user = \"a\"\nauth_password_hash = '"+argon+"'\n")
	if strings.Join(keys, " ") != "service[1].auth_user" {
		t.Errorf("duplicate login: problems %v", keys)
	}
}

// TestTestLogin: a configuration test may log in from a client or a
// service's network, not as a posthorn sendmail user; the line is given.
func TestTestLogin(t *testing.T) {
	t.Parallel()
	const head = "hostname = \"mx.example.org\"\n[[test]]\nname = \"a\"\nto = [\"x@example.net\"]\nexpect = \"relayed\"\n"
	if _, err := Parse("test.toml", []byte(head+"login = \"gerrit\"\nclient = \"192.0.2.1\"\n")); err != nil {
		t.Errorf("login with client: %v", err)
	}
	_, err := Parse("test.toml", []byte(head+"user = \"root\"\nlogin = \"gerrit\"\n"))
	var errs Errors
	if !errors.As(err, &errs) || len(errs) != 1 || errs[0].Key != "test[0].login" || errs[0].Line != 7 {
		t.Fatalf("login with user: %v, want one problem for test[0].login on line 7", err)
	}
}
