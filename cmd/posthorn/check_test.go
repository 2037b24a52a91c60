package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestCheckGolden runs posthorn check on each testdata/check/*.toml (and
// with -v on the ones named ok*) and compares the exit status and output
// with the .golden file next to it. POSTHORN_UPDATE_GOLDEN=1 rewrites the
// golden files.
func TestCheckGolden(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob("testdata/check/*.toml")
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 5 {
		t.Fatalf("found %d configurations, want at least 5", len(files))
	}
	type checkRun struct {
		golden string
		args   []string
	}
	fingerprintRE := regexp.MustCompile(`fingerprint [0-9a-f]{64}`)
	var runs []checkRun
	for _, f := range files {
		base := strings.TrimSuffix(f, ".toml")
		runs = append(runs, checkRun{base + ".golden", []string{"posthorn", "check", "--config", f}})
		if strings.HasPrefix(filepath.Base(base), "ok") {
			runs = append(runs, checkRun{base + "-v.golden", []string{"posthorn", "check", "-v", "--config", f}})
		}
	}
	for _, r := range runs {
		t.Run(filepath.Base(r.golden), func(t *testing.T) {
			t.Parallel()
			var out bytes.Buffer
			code := run(r.args, strings.NewReader(""), &out, &out)
			// The fingerprint changes whenever Config gains a key.
			text := fingerprintRE.ReplaceAllString(out.String(), "fingerprint <sha256>")
			got := fmt.Sprintf("$ %s\nexit %d\n%s", strings.Join(r.args, " "), code, text)
			if os.Getenv("POSTHORN_UPDATE_GOLDEN") == "1" {
				if err := os.WriteFile(r.golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(r.golden)
			if err != nil {
				t.Fatalf("%v (run with POSTHORN_UPDATE_GOLDEN=1 to create it)", err)
			}
			if got != string(want) {
				t.Errorf("output differs from %s\n--- got\n%s--- want\n%s", r.golden, got, want)
			}
		})
	}
}

func TestCheckExitCodes(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	good := filepath.Join(dir, "good.toml")
	if err := os.WriteFile(good, []byte("hostname = \"relay.example.org\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		code int
		out  string // a substring of stdout+stderr
	}{
		{[]string{"--config", good}, 0, good + ": ok (fingerprint "},
		{[]string{"--config", good, "--tests-only"}, 0, "invariants: 0 held"},
		{[]string{"--config", good, "--print"}, 0, "hostname = 'relay.example.org'"},
		{[]string{"--config", filepath.Join(dir, "missing.toml")}, 1, "no such file"},
		{[]string{"--config", "testdata/check/open-relay.toml"}, 1, "refused: 1 failing"},
		{[]string{"--config", "testdata/check/open-relay.toml", "--tests-only"}, 0, "ok (fingerprint"},
		{[]string{"--config", "testdata/check/invalid.toml", "--print"}, 1, "unknown key"},
		{[]string{"--config", good, "--frobnicate"}, 2, `unknown argument "--frobnicate"`},
		{[]string{"--config"}, 2, "--config needs a file name"},
	} {
		var out bytes.Buffer
		code := run(append([]string{"posthorn", "check"}, c.args...), strings.NewReader(""), &out, &out)
		if code != c.code || !strings.Contains(out.String(), c.out) {
			t.Errorf("check %q: exit %d, want %d; output lacks %q:\n%s", c.args, code, c.code, c.out, out.String())
		}
	}
}

func TestCheckCandidate(t *testing.T) {
	t.Parallel()
	cfg, res, err := checkCandidate("testdata/check/ok.toml")
	if err != nil || res.Failed() || len(cfg.Tests) != 2 || len(res.Cases) != 2 {
		t.Fatalf("ok.toml: err %v, failed %v, %d tests, %d cases", err, res.Failed(), len(cfg.Tests), len(res.Cases))
	}
	if src := res.Cases[1].Source.String(); src != "testdata/check/ok.d/outside.toml:1" {
		t.Errorf("source of the test file's case: %s", src)
	}
	cfg, res, err = checkCandidate("testdata/check/failing-tests.toml")
	if err != nil || cfg == nil || !res.Failed() {
		t.Fatalf("failing-tests.toml: err %v, failed %v", err, res.Failed())
	}
	if got := strings.Join(res.Failures(), "; "); got != `test "gerrit relays"; test "local mail goes to the second relay"; test "strangers get 550"; invariant services-can-relay` {
		t.Errorf("failures: %s", got)
	}
	if cfg, _, err := checkCandidate("testdata/check/invalid.toml"); err == nil || cfg != nil {
		t.Errorf("invalid.toml: cfg %v, err %v", cfg, err)
	}
	if cfg, _, err := checkCandidate("testdata/check/bad-test-file.toml"); err == nil || cfg != nil {
		t.Errorf("bad-test-file.toml: cfg %v, err %v", cfg, err)
	}
}
