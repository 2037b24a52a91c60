package postfix

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// FreeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago. Programs that bind their own port (smtp-sink, Postfix, posthorn)
// cannot take a listener from the test, so there is a small window in which
// another process could take the port; callers that start a server retry
// on failure.
//
// The port is drawn below the kernel's ephemeral range: a port in that
// range may be held in TIME-WAIT by any earlier outgoing connection, and
// such a socket blocks a later bind() even with SO_REUSEADDR. Under load
// (thousands of short SMTP connections) that makes ":0"-chosen ports
// unreliable for a server started a moment later.
func FreeAddr(t testing.TB) string {
	t.Helper()
	lo, hi := portRange()
	var lastErr error
	for attempt := 0; attempt < 50; attempt++ {
		port := lo + rand.IntN(hi-lo+1)
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			lastErr = err
			continue
		}
		addr := ln.Addr().String()
		if err := ln.Close(); err != nil {
			t.Fatalf("closing probe listener: %v", err)
		}
		return addr
	}
	t.Fatalf("finding a free port in %d-%d: %v", lo, hi, lastErr)
	return ""
}

// portRange returns the ports FreeAddr draws from: from 10000 to just below
// the ephemeral range in /proc/sys/net/ipv4/ip_local_port_range (Linux
// default 32768), or 10000-29999 when that file cannot be read.
func portRange() (lo, hi int) {
	lo, hi = 10000, 29999
	raw, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return lo, hi
	}
	fields := strings.Fields(string(raw))
	if len(fields) != 2 {
		return lo, hi
	}
	min, err := strconv.Atoi(fields[0])
	if err != nil || min <= lo+1000 {
		return lo, hi
	}
	return lo, min - 1
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
