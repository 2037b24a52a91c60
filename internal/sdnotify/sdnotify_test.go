package sdnotify

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// listen opens a unixgram socket at addr and returns it.
func listen(t *testing.T, name string) *net.UnixConn {
	t.Helper()
	c, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func receive(t *testing.T, c *net.UnixConn) string {
	t.Helper()
	if err := c.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4096)
	n, err := c.Read(buf)
	if err != nil {
		t.Fatal(err)
	}
	return string(buf[:n])
}

func TestNotifyPath(t *testing.T) {
	path := filepath.Join(t.TempDir(), "notify.sock")
	c := listen(t, path)
	t.Setenv("NOTIFY_SOCKET", path)
	if err := Notify(Ready); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c); got != "READY=1" {
		t.Fatalf("got %q", got)
	}
	if err := Notify("STATUS=3 messages queued\n" + Stopping); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c); got != "STATUS=3 messages queued\nSTOPPING=1" {
		t.Fatalf("got %q", got)
	}
}

func TestNotifyAbstract(t *testing.T) {
	t.Parallel()
	name := fmt.Sprintf("posthorn-sdnotify-test-%d-%d", os.Getpid(), time.Now().UnixNano())
	c := listen(t, "@"+name) // Go maps a leading '@' to the abstract namespace
	if err := NotifySocket("@"+name, Reloading); err != nil {
		t.Fatal(err)
	}
	if got := receive(t, c); got != "RELOADING=1" {
		t.Fatalf("got %q", got)
	}
}

func TestNotifyUnset(t *testing.T) {
	t.Setenv("NOTIFY_SOCKET", "")
	if err := Notify(Ready); err != nil {
		t.Fatalf("unset socket: %v", err)
	}
}

func TestNotifyNoListener(t *testing.T) {
	t.Parallel()
	if err := NotifySocket(filepath.Join(t.TempDir(), "gone.sock"), Ready); err == nil {
		t.Fatal("no error for a missing socket")
	}
}
