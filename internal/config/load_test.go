package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestParseAppliesKeysOverDefaults(t *testing.T) {
	t.Parallel()
	doc := `
hostname = "mx.example.org"
[smtp]
max_message_size = 1048576   # an integer is bytes
listen = ["127.0.0.1:2525", "[::1]:2525"]
trusted_networks = ["10.1.2.3/8", "192.0.2.7", "2001:db8::1"]
[delivery]
upstreams = ["Relay1.Example.org", "relay2.example.org:587", "[2001:db8::25]"]
upstream_tls = { "relay1.example.org" = "required", "relay2.example.org:587" = "none" }
retry_schedule = ["30s", "1d12h"]
delay_warning = 0
`
	cfg, err := Parse("test.toml", []byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	want := Default()
	want.Hostname = "mx.example.org"
	want.SMTP.MaxMessageSize = 1 << 20
	want.SMTP.Listen = []string{"127.0.0.1:2525", "[::1]:2525"}
	want.SMTP.TrustedNetworks = []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::1/128"}
	want.Delivery.Upstreams = []string{"relay1.example.org:25", "relay2.example.org:587", "[2001:db8::25]:25"}
	want.Delivery.UpstreamTLS = map[string]string{"relay1.example.org:25": "required", "relay2.example.org:587": "none"}
	want.Delivery.RetrySchedule = []Duration{Duration(30 * time.Second), Duration(36 * time.Hour)}
	want.Delivery.DelayWarning = 0
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got  %+v\nwant %+v", cfg, want)
	}
}

func TestParseEmptyIsDefault(t *testing.T) {
	t.Parallel()
	for _, doc := range []string{"", "# nothing\n\n", "[smtp]\n[delivery]\n"} {
		cfg, err := Parse("empty.toml", []byte(doc))
		if err != nil {
			// Only the host name can be wrong: it comes from the machine.
			if host, _ := os.Hostname(); validDomain(host) {
				t.Fatalf("Parse(%q): %v", doc, err)
			}
			continue
		}
		if !reflect.DeepEqual(cfg, Default()) {
			t.Errorf("Parse(%q) = %+v, want Default()", doc, cfg)
		}
	}
}

func TestLoad(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte("hostname = \"mx.example.org\"\n[log]\nlevel = \"debug\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(good)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Log.Level != "debug" || cfg.Hostname != "mx.example.org" {
		t.Errorf("Load gave %+v", cfg)
	}

	bad := filepath.Join(dir, "bad.toml")
	if err := os.WriteFile(bad, []byte("hostname = \"mx.example.org\"\n[log]\nlevel = \"loud\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(bad)
	var p *Problem
	if !errors.As(err, &p) {
		t.Fatalf("Load(bad) error %v has no *Problem", err)
	}
	if p.File != bad || p.Line != 3 || p.Key != "log.level" {
		t.Errorf("problem = %+v, want file %s line 3 key log.level", p, bad)
	}
	if want := bad + `:3: log.level: must be one of "debug", "info", "warn", "error"; is "loud"`; err.Error() != want {
		t.Errorf("error\n got %s\nwant %s", err, want)
	}

	_, err = Load(filepath.Join(dir, "missing.toml"))
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load(missing) error = %v, want fs.ErrNotExist", err)
	}
}

func TestProblemFormat(t *testing.T) {
	t.Parallel()
	cases := []struct {
		p    Problem
		want string
	}{
		{Problem{File: "a.toml", Line: 3, Key: "smtp.lisen", Msg: "unknown key"}, "a.toml:3: smtp.lisen: unknown key"},
		{Problem{File: "a.toml", Line: 5, Column: 2, Msg: "syntax error: x"}, "a.toml:5:2: syntax error: x"},
		{Problem{File: "a.toml", Key: "hostname", Msg: "bad"}, "a.toml: hostname: bad"},
		{Problem{Key: "hostname", Msg: "bad"}, "hostname: bad"},
	}
	for _, tc := range cases {
		if got := tc.p.Error(); got != tc.want {
			t.Errorf("got %q, want %q", got, tc.want)
		}
	}
	errs := Errors{&cases[0].p, &cases[2].p}
	if got, want := errs.Error(), "a.toml:3: smtp.lisen: unknown key\na.toml: hostname: bad"; got != want {
		t.Errorf("Errors.Error() = %q, want %q", got, want)
	}
}

// TestProblemsOnDefaultsHaveNoLine checks that a problem with a value the
// file does not set carries no line, and that validation problems of a
// Config built in code carry neither file nor line.
func TestProblemsOnDefaultsHaveNoLine(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.Hostname = "mx.example.org"
	cfg.DataDir = "relative"
	cfg.Delivery.TLS = "sometimes"
	errs := cfg.Validate()
	want := "data_dir: must be an absolute path, is \"relative\"\n" +
		`delivery.tls: must be one of "none", "opportunistic", "required"; is "sometimes"`
	if errs.Error() != want {
		t.Errorf("got\n%s\nwant\n%s", errs, want)
	}
	// A cross-check that fails on a default is reported on the key that
	// the file sets.
	_, err := Parse("f.toml", []byte("hostname = \"mx.example.org\"\ndelivery.down_backoff = \"1h\"\nlog.level = \"x\"\n"))
	wantErr := "f.toml:2: delivery.down_backoff: must not be greater than delivery.down_backoff_max (10m), is 1h\n" +
		"f.toml:3: log.level: must be one of \"debug\", \"info\", \"warn\", \"error\"; is \"x\""
	if err == nil || err.Error() != wantErr {
		t.Errorf("got\n%v\nwant\n%s", err, wantErr)
	}
}

func TestValidateDefaultAndIdempotent(t *testing.T) {
	t.Parallel()
	cfg := Default()
	cfg.Hostname = "mx.example.org"
	if errs := cfg.Validate(); errs != nil {
		t.Fatalf("Default() does not validate: %v", errs)
	}
	if !reflect.DeepEqual(cfg, func() *Config { c := Default(); c.Hostname = "mx.example.org"; return c }()) {
		t.Errorf("Validate changed the defaults: %+v", cfg)
	}
	cfg.SMTP.TrustedNetworks = []string{"10.9.9.9/8", "::1"}
	cfg.Delivery.Upstreams = []string{"MX1.example.org"}
	cfg.Delivery.UpstreamTLS = map[string]string{"mx1.example.org": "required"}
	cfg.Delivery.RetrySchedule = nil
	cfg.Delivery.RetrySchedule = []Duration{Duration(time.Minute)}
	if errs := cfg.Validate(); errs != nil {
		t.Fatal(errs)
	}
	once := cfg.Redacted()
	if errs := cfg.Validate(); errs != nil {
		t.Fatal(errs)
	}
	if !reflect.DeepEqual(cfg, once) {
		t.Errorf("second Validate changed the config:\n%+v\n%+v", cfg, once)
	}
	if got := strings.Join(cfg.SMTP.TrustedNetworks, " "); got != "10.0.0.0/8 ::1/128" {
		t.Errorf("trusted networks normalised to %q", got)
	}
	if got := cfg.Delivery.UpstreamTLS["mx1.example.org:25"]; got != "required" {
		t.Errorf("upstream_tls normalised to %v", cfg.Delivery.UpstreamTLS)
	}
}

func TestValidDomain(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"localhost", "mx.example.org", "MX-1.Example.ORG", "a.b1", "xn--bcher-kva.example"} {
		if !validDomain(s) {
			t.Errorf("validDomain(%q) = false", s)
		}
	}
	for _, s := range []string{"", "-mx.example.org", "mx-.example.org", "mx..example.org", "mx.example.org.", "mx_1.example.org",
		"192.0.2.1", "mx example", strings.Repeat("a", 64) + ".org", strings.Repeat("abcdefgh.", 29) + "org"} {
		if validDomain(s) {
			t.Errorf("validDomain(%q) = true", s)
		}
	}
}
