package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// build is the posthorn binary built once by TestMain; tests read it only.
// It is the one package-level variable here: TestMain cannot hand values
// to tests any other way.
var build struct {
	path string
	err  error
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

// posthornBinary returns the built binary or fails the test.
func posthornBinary(t testing.TB) string {
	t.Helper()
	if build.err != nil {
		t.Fatal(build.err)
	}
	return build.path
}
