package test

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// build is the posthorn binary built once by TestMain; tests read it only.
// It is the one package-level variable here: TestMain cannot hand values
// to tests any other way.
var build struct {
	path       string
	err        error
	fromSource bool // built from ../cmd/posthorn, not POSTHORN_BIN
}

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "posthorn-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "creating build directory:", err)
		os.Exit(1)
	}
	if bin := os.Getenv("POSTHORN_BIN"); bin != "" {
		build.path = bin // run the scenarios against a prebuilt binary
	} else {
		build.path, build.err = buildPosthorn(dir)
		build.fromSource = true
	}
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// buildPosthorn runs "go build" on ../cmd/posthorn (go test runs in the
// package directory, one below the module root).
func buildPosthorn(dir string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go tool not in PATH: %w", err)
	}
	out := filepath.Join(dir, "posthorn")
	cmd := exec.Command(goBin, "build", "-o", out, "./cmd/posthorn")
	cmd.Dir = ".."
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build ./cmd/posthorn: %w\n%s", err, msg)
	}
	return out, nil
}

// touchSources opens every Go source and module file of the module. The
// scenarios exercise a binary built from those files, not code linked into
// the test, so without this "go test" would replay a cached pass after
// posthorn changed: the test cache is invalidated by files the test process
// opens while tests run (not in TestMain before m.Run, which is not
// recorded).
func touchSources(root string) {
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() {
			if name := d.Name(); path != root && (strings.HasPrefix(name, ".") || name == "testdata") {
				return filepath.SkipDir
			}
			return nil
		}
		name := d.Name()
		if strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" {
			if f, err := os.Open(path); err == nil {
				_ = f.Close()
			}
		}
		return nil
	})
}

// posthornBinary returns the built binary or fails the test.
func posthornBinary(t testing.TB) string {
	t.Helper()
	if build.err != nil {
		t.Fatal(build.err)
	}
	if build.fromSource {
		touchSources("..")
	}
	return build.path
}
