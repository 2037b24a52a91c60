package postfix

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// FreeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago. Programs that bind their own port (smtp-sink, Postfix, posthorn)
// cannot take a listener from the test, so there is a small window in which
// another process could take the port; callers that start a server retry
// on failure.
func FreeAddr(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("finding a free port: %v", err)
	}
	addr := ln.Addr().String()
	if err := ln.Close(); err != nil {
		t.Fatalf("closing probe listener: %v", err)
	}
	return addr
}

// WaitListening polls addr until a TCP connection succeeds, alive reports
// false (the server died), or timeout passes.
func WaitListening(addr string, timeout time.Duration, alive func() bool) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		if alive != nil && !alive() {
			return fmt.Errorf("server for %s exited before listening", addr)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s not listening after %v: %w", addr, timeout, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// openUp makes dir and its parents below the system temp directory
// traversable by other users. t.TempDir() creates 0700 directories owned by
// the test's user, but Postfix daemons and smtp-sink drop privileges and
// then open files by absolute path below them.
func openUp(dir string) error {
	tmp := filepath.Clean(os.TempDir())
	for d := filepath.Clean(dir); strings.HasPrefix(d, tmp+string(filepath.Separator)); d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if err := os.Chmod(d, fi.Mode().Perm()|0o755); err != nil {
			return err
		}
	}
	return nil
}
