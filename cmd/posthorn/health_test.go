package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/health"
)

// healthConfig writes a configuration whose http.listen is addr.
func healthConfig(t *testing.T, addr string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "posthorn.toml")
	data := "data_dir = \"" + filepath.Join(dir, "data") + "\"\n[http]\nlisten = \"" + addr + "\"\n"
	if err := os.WriteFile(path, []byte(data), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// serveHealth serves a checker over in at /healthz, after one check, and
// returns a configuration file pointing at it.
func serveHealth(t *testing.T, in health.Inputs) string {
	t.Helper()
	now := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	c := health.New(health.Options{Alerts: config.Default().Alerts, Inputs: in, Host: "relay1",
		Now:   func() time.Time { return now },
		Extra: func() map[string]any { return map[string]any{"config_fingerprint": "f00d"} }})
	c.Check(context.Background())
	mux := http.NewServeMux()
	mux.Handle("GET /healthz", c)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return healthConfig(t, srv.Listener.Addr().String())
}

func runHealthCmd(args ...string) (code int, stdout, stderr string) {
	var out, errb bytes.Buffer
	code = runHealth(args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestHealthCommandStates(t *testing.T) {
	t.Parallel()
	start := time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC)
	ok := health.Inputs{Queue: func() (int, time.Time) { return 0, time.Time{} }}
	warning := health.Inputs{Held: func(context.Context) (int, error) { return 500, nil }}
	critical := health.Inputs{Queue: func() (int, time.Time) { return 12, start.Add(-47 * time.Minute) }}
	unknown := health.Inputs{Held: func(context.Context) (int, error) { return 0, errors.New("database is locked") }}

	for _, tc := range []struct {
		name       string
		in         health.Inputs
		nagiosLine string
		nagiosExit int
		tableExit  int
		tableParts []string
	}{
		{"ok", ok, "POSTHORN OK - 2 checks ok | queue=0;;;0 oldest_age=0s;;1800;0", 0, 0,
			[]string{"posthorn OK", "oldest_queued  OK", "queue is empty", "held_messages  OK", "no lists", "config_fingerprint:  f00d"}},
		{"warning", warning, "POSTHORN WARNING - 500 list posts held for moderation (threshold 100) | held=500;100;;0", 1, 1,
			[]string{"posthorn WARNING", "held_messages  WARNING", "500 list posts held"}},
		{"critical", critical, "POSTHORN CRITICAL - oldest queued message is 47m old (threshold 30m); 12 queued | queue=12;;;0 oldest_age=2820s;;1800;0", 2, 1,
			[]string{"posthorn CRITICAL", "oldest_queued  CRITICAL", "47m old"}},
		{"unknown", unknown, "POSTHORN UNKNOWN - cannot count held posts: database is locked", 3, 1,
			[]string{"posthorn UNKNOWN", "held_messages  UNKNOWN"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			cfg := serveHealth(t, tc.in)

			code, out, errOut := runHealthCmd("--config", cfg, "--nagios")
			if code != tc.nagiosExit || out != tc.nagiosLine+"\n" {
				t.Fatalf("--nagios: exit %d, want %d\ngot  %q\nwant %q\nstderr %s", code, tc.nagiosExit, out, tc.nagiosLine, errOut)
			}

			code, out, errOut = runHealthCmd("--config", cfg)
			if code != tc.tableExit {
				t.Fatalf("table: exit %d, want %d\n%s%s", code, tc.tableExit, out, errOut)
			}
			for _, p := range tc.tableParts {
				if !strings.Contains(out, p) {
					t.Fatalf("table lacks %q:\n%s", p, out)
				}
			}

			code, out, _ = runHealthCmd("--json", "--config="+cfg)
			var raw map[string]any
			if err := json.Unmarshal([]byte(out), &raw); err != nil {
				t.Fatalf("--json: %v\n%s", err, out)
			}
			if code != tc.tableExit || raw["status"] != tc.name || raw["config_fingerprint"] != "f00d" {
				t.Fatalf("--json: exit %d, %v", code, raw)
			}
		})
	}
}

func TestHealthCommandUnreachable(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there any more
	cfg := healthConfig(t, addr)

	code, out, _ := runHealthCmd("--config", cfg, "--nagios")
	want := "POSTHORN CRITICAL - cannot reach posthorn at http://" + addr + "/healthz: "
	if code != 2 || !strings.HasPrefix(out, want) || strings.Count(out, "\n") != 1 {
		t.Fatalf("exit %d, output %q, want prefix %q", code, out, want)
	}
	code, out, errOut := runHealthCmd("--config", cfg)
	if code != 1 || out != "" || !strings.Contains(errOut, "cannot reach posthorn at http://"+addr) {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestHealthCommandBadConfigIsUnknown(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "bad.toml")
	if err := os.WriteFile(path, []byte("[http]\nlisten = \"nowhere\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runHealthCmd("--config", path, "--nagios")
	if code != 3 || !strings.HasPrefix(out, "POSTHORN UNKNOWN - cannot load configuration: ") || strings.Count(out, "\n") != 1 {
		t.Fatalf("exit %d, output %q", code, out)
	}
}

func TestHealthCommandUsage(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{{"--verbose"}, {"--nagios", "--json"}, {"--config"}} {
		if code, _, errOut := runHealthCmd(args...); code != 2 || errOut == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errOut)
		}
	}
}

func TestDialAddr(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"127.0.0.1:8025": "127.0.0.1:8025", ":8025": "127.0.0.1:8025", "0.0.0.0:80": "127.0.0.1:80",
		"[::]:8025": "[::1]:8025", "[::1]:8025": "[::1]:8025", "mail.example:8025": "mail.example:8025",
	} {
		if got := dialAddr(in); got != want {
			t.Errorf("dialAddr(%q) = %q, want %q", in, got, want)
		}
	}
}
