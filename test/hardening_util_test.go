package test

import (
	"crypto/ecdsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/testutil"
	"github.com/posthorn/posthorn/internal/testutil/postfix"
)

// hardConfig is what the hardening scenarios vary: lines added to [smtp]
// and tables appended at the end ([[service]] …).
type hardConfig struct {
	SMTP   string
	Tables string
}

// startHardened runs posthorn serve with a config of its own: SMTP on a
// free port, no HTTP listener, mail queued towards an upstream that does
// not answer (the scenarios look at what is accepted, not delivered).
func startHardened(t testing.TB, hc hardConfig) *posthorn {
	t.Helper()
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		p := newRelayConfig(t, relayConfig{})
		dead := postfix.FreeAddr(t)
		doc := fmt.Sprintf("hostname = \"relay.test\"\ndata_dir = %q\n\n[smtp]\nlisten = [%q]\n%s\n"+
			"[http]\nlisten = \"\"\n\n[delivery]\nupstreams = [%q]\ntls = \"none\"\nretry_schedule = [\"1h\"]\n\n%s",
			filepath.Join(filepath.Dir(p.Config), "data"), p.Addr, hc.SMTP, dead, hc.Tables)
		if err := os.WriteFile(p.Config, []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		if err = p.serve(t); err == nil {
			return p
		}
	}
	t.Fatalf("starting posthorn: %v", err)
	return nil
}

// writeCert writes a fresh self-signed certificate for relay.test and
// 127.0.0.1 to certFile and keyFile, returning the certificate.
func writeCert(t testing.TB, certFile, keyFile string) *x509.Certificate {
	t.Helper()
	cfg, _ := testutil.SelfSignedTLS(t, "relay.test", "127.0.0.1")
	c := cfg.Certificates[0]
	keyDER, err := x509.MarshalECPrivateKey(c.PrivateKey.(*ecdsa.PrivateKey))
	if err != nil {
		t.Fatal(err)
	}
	// Write to temporary names and rename, as certificate tools do.
	for path, block := range map[string]*pem.Block{
		certFile: {Type: "CERTIFICATE", Bytes: c.Certificate[0]},
		keyFile:  {Type: "EC PRIVATE KEY", Bytes: keyDER},
	} {
		if err := os.WriteFile(path+".new", pem.EncodeToMemory(block), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(path+".new", path); err != nil {
			t.Fatal(err)
		}
	}
	return c.Leaf
}

// tomlList renders strings as a TOML array.
func tomlList(items ...string) string {
	q := make([]string, len(items))
	for i, s := range items {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}
