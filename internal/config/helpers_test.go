package config

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"
)

func mustParse(t *testing.T, doc string) *Config {
	t.Helper()
	cfg, err := Parse("test.toml", []byte(doc))
	if err != nil {
		t.Fatalf("Parse:\n%v\ndocument:\n%s", err, doc)
	}
	return cfg
}

func TestFingerprint(t *testing.T) {
	t.Parallel()
	base := mustParse(t, `
hostname = "mx.example.org"
[smtp]
listen = ["127.0.0.1:25"]
max_recipients = 100
[delivery]
upstreams = ["relay1.example.org", "relay2.example.org:587"]
retry_schedule = ["1m", "1h"]
`)
	// The same settings, in another order and layout, with comments,
	// dotted keys, inline tables and equivalent spellings.
	same := mustParse(t, `
# comment
delivery = { retry_schedule = [ "60s",
    "60m" ], upstreams = [ "RELAY1.example.org:25", "relay2.example.org:587" ] }

smtp.max_recipients = 100    # another comment
smtp.listen = [ '127.0.0.1:25' ]
hostname = 'mx.example.org'
`)
	if base.Fingerprint() != same.Fingerprint() {
		t.Errorf("equivalent configs have different fingerprints:\n%+v\n%+v", base, same)
	}
	if len(base.Fingerprint()) != 64 {
		t.Errorf("fingerprint %q is not hex SHA-256", base.Fingerprint())
	}
	changed := mustParse(t, `
hostname = "mx.example.org"
[smtp]
listen = ["127.0.0.1:25"]
max_recipients = 101
[delivery]
upstreams = ["relay1.example.org", "relay2.example.org:587"]
retry_schedule = ["1m", "1h"]
`)
	if base.Fingerprint() == changed.Fingerprint() {
		t.Error("a changed value kept the fingerprint")
	}
	reordered := mustParse(t, `
hostname = "mx.example.org"
[smtp]
listen = ["127.0.0.1:25"]
max_recipients = 100
[delivery]
upstreams = ["relay2.example.org:587", "relay1.example.org"]
retry_schedule = ["1m", "1h"]
`)
	if base.Fingerprint() == reordered.Fingerprint() {
		t.Error("swapping the upstreams (their order matters) kept the fingerprint")
	}
}

func TestTOMLRoundTrip(t *testing.T) {
	t.Parallel()
	custom := mustParse(t, `
hostname = "mx.example.org"
[smtp]
trusted_networks = ["10.0.0.0/8"]
max_message_size = "1000B"
[delivery]
upstreams = ["relay1.example.org", "[2001:db8::1]:2525"]
upstream_tls = { "relay1.example.org" = "required", "[2001:db8::1]:2525" = "none" }
retry_schedule = ["90s", "1d12h", "250ms"]
delay_warning = "0"
`)
	def := Default()
	def.Hostname = "mx.example.org"
	for _, cfg := range []*Config{def, custom} {
		text, err := cfg.TOML()
		if err != nil {
			t.Fatal(err)
		}
		back := mustParse(t, string(text))
		if !reflect.DeepEqual(back, cfg) {
			t.Errorf("TOML round trip changed the config:\n got %+v\nwant %+v\ntext:\n%s", back, cfg, text)
		}
	}
}

func TestTrustedPrefixes(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, "hostname = \"mx.example.org\"\nsmtp.trusted_networks = [\"10.1.0.0/16\", \"192.0.2.7\", \"::1\"]\n")
	want := []netip.Prefix{
		netip.MustParsePrefix("10.1.0.0/16"),
		netip.MustParsePrefix("192.0.2.7/32"),
		netip.MustParsePrefix("::1/128"),
	}
	if got := cfg.TrustedPrefixes(); !slices.Equal(got, want) {
		t.Errorf("TrustedPrefixes() = %v, want %v", got, want)
	}
	if !cfg.TrustedPrefixes()[1].Contains(netip.MustParseAddr("192.0.2.7")) {
		t.Error("192.0.2.7 not trusted")
	}
}

func TestUpstreamTLSMode(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
hostname = "mx.example.org"
[delivery]
tls = "required"
upstreams = ["relay1.example.org", "relay2.example.org:587", "relay3.example.org"]
upstream_tls = { "relay1.example.org:25" = "none", "Relay2.example.org:587" = "opportunistic" }
`)
	cases := map[string]string{
		"relay1.example.org":     "none",
		"relay1.example.org:25":  "none",
		"RELAY1.example.org":     "none",
		"relay2.example.org:587": "opportunistic",
		"relay2.example.org":     "required", // port 25 is another upstream
		"relay3.example.org":     "required",
		"mx.elsewhere.example":   "required",
		"not a host":             "required",
	}
	for addr, want := range cases {
		if got := cfg.UpstreamTLSMode(addr); got != want {
			t.Errorf("UpstreamTLSMode(%q) = %q, want %q", addr, got, want)
		}
	}
	// A Config built in code, not normalised.
	code := Default()
	code.Delivery.UpstreamTLS = map[string]string{"relay9.example.org": "none"}
	if got := code.UpstreamTLSMode("relay9.example.org:25"); got != "none" {
		t.Errorf("UpstreamTLSMode on an unnormalised map = %q, want none", got)
	}
}

func TestRedactedIsDeepCopy(t *testing.T) {
	t.Parallel()
	cfg := mustParse(t, `
hostname = "mx.example.org"
delivery.upstreams = ["relay1.example.org"]
delivery.upstream_tls = { "relay1.example.org" = "none" }
`)
	fp := cfg.Fingerprint()
	r := cfg.Redacted()
	if !reflect.DeepEqual(r, cfg) {
		t.Fatalf("Redacted differs: %+v", r)
	}
	r.SMTP.Listen[0] = "changed"
	r.SMTP.TrustedNetworks[0] = "changed"
	r.Delivery.Upstreams[0] = "changed"
	r.Delivery.UpstreamTLS["relay1.example.org:25"] = "required"
	r.Delivery.RetrySchedule[0] = 0
	r.Log.Level = "debug"
	if cfg.Fingerprint() != fp {
		t.Errorf("changing the copy changed the original: %+v", cfg)
	}
}

func TestTLSCAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		Subject:               pkix.Name{CommonName: "Posthorn test CA"},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(time.Hour),
		IsCA:                  true,
		BasicConstraintsValid: true,
		KeyUsage:              x509.KeyUsageCertSign,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := mustParse(t, "hostname = \"mx.example.org\"\n[delivery]\ntls = \"required\"\ntls_ca_file = '"+path+"'\n")
	if cfg.Delivery.TLSCAFile != path {
		t.Errorf("tls_ca_file = %q", cfg.Delivery.TLSCAFile)
	}
}
