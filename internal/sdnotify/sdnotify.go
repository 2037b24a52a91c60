// Package sdnotify tells systemd about the daemon's state (sd_notify(3)) for
// services with Type=notify: "READY=1" once listening, "RELOADING=1" and
// "READY=1" around a reload, "STOPPING=1" when draining, "STATUS=..." for
// a human-readable line.
//
// The socket is named by $NOTIFY_SOCKET: a file system path, or an abstract
// socket when it starts with "@". Without the variable (not run by systemd)
// Notify does nothing.
package sdnotify

import (
	"fmt"
	"net"
	"os"
)

// Common states.
const (
	Ready     = "READY=1"
	Reloading = "RELOADING=1"
	Stopping  = "STOPPING=1"
)

// Notify sends state to the service manager named by $NOTIFY_SOCKET.
func Notify(state string) error {
	return NotifySocket(os.Getenv("NOTIFY_SOCKET"), state)
}

// NotifySocket sends state to the notification socket addr ("" does
// nothing).
func NotifySocket(addr, state string) error {
	if addr == "" {
		return nil
	}
	if addr[0] == '@' {
		addr = "\x00" + addr[1:]
	}
	c, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: addr, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	defer c.Close()
	if _, err := c.Write([]byte(state)); err != nil {
		return fmt.Errorf("sdnotify: %w", err)
	}
	return nil
}
