package postfix

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// RequireEnv is the environment variable that turns a missing tool (or a
// missing privilege) from a skipped test into a failed one.
const RequireEnv = "POSTHORN_REQUIRE_INTEROP"

// Tools holds absolute paths of the external programs the helpers run.
type Tools struct {
	SMTPSource string // smtp-source(1)
	SMTPSink   string // smtp-sink(1)
	Swaks      string // swaks(1)
	Postfix    string // postfix(1)
	Postqueue  string // postqueue(1)
}

// extraDirs lists the directories searched after $PATH: CI runs with a
// PATH that may lack the sbin directories where Debian installs Postfix.
func extraDirs() []string {
	return []string{"/usr/sbin", "/sbin", "/usr/lib/postfix/sbin", "/usr/bin"}
}

// ErrMissing reports a program that was not found.
type ErrMissing struct {
	Program string
}

func (e *ErrMissing) Error() string {
	return fmt.Sprintf("%s not found in $PATH or %v (apt-get install postfix swaks)", e.Program, extraDirs())
}

// Lookup finds every tool, or returns the first one missing.
func Lookup() (Tools, error) {
	var tools Tools
	for _, p := range []struct {
		name string
		dst  *string
	}{
		{"smtp-source", &tools.SMTPSource},
		{"smtp-sink", &tools.SMTPSink},
		{"swaks", &tools.Swaks},
		{"postfix", &tools.Postfix},
		{"postqueue", &tools.Postqueue},
	} {
		path, err := lookPath(p.name)
		if err != nil {
			return Tools{}, err
		}
		*p.dst = path
	}
	return tools, nil
}

func lookPath(name string) (string, error) {
	if p, err := exec.LookPath(name); err == nil {
		return filepath.Abs(p)
	}
	for _, dir := range extraDirs() {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &ErrMissing{Program: name}
}

// Required reports whether POSTHORN_REQUIRE_INTEROP asks for interop tests
// to fail rather than skip.
func Required() bool {
	return os.Getenv(RequireEnv) == "1"
}

// Unavailable skips the test, or fails it when interop is required.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if Required() {
		t.Fatalf("%s (and %s=1)", msg, RequireEnv)
	}
	t.Skip(msg)
}

// Find returns the tools, skipping the test (or failing it when
// POSTHORN_REQUIRE_INTEROP=1) if one is missing.
func Find(t testing.TB) Tools {
	t.Helper()
	tools, err := Lookup()
	if err != nil {
		var missing *ErrMissing
		if errors.As(err, &missing) {
			Unavailable(t, "interop tool missing: %v", err)
		}
		t.Fatalf("looking up tools: %v", err)
	}
	return tools
}

// RequireRoot skips (or fails when required) a test that needs root, such
// as one starting a private Postfix instance.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Unavailable(t, "a private Postfix instance needs root (euid %d)", os.Geteuid())
	}
}
