package control

import (
	"net"
	"os"
	"syscall"
)

// peerListener accepts only peers running as root or as this process's
// effective uid.
type peerListener struct {
	*net.UnixListener
	uid uint32
}

func restrictPeers(ln *net.UnixListener) net.Listener {
	return &peerListener{UnixListener: ln, uid: uint32(os.Geteuid())}
}

// Accept returns the next connection from an allowed peer; others are
// closed without a reply.
func (l *peerListener) Accept() (net.Conn, error) {
	for {
		c, err := l.AcceptUnix()
		if err != nil {
			return nil, err
		}
		if uid, ok := peerUID(c); ok && (uid == 0 || uid == l.uid) {
			return c, nil
		}
		_ = c.Close()
	}
}

func peerUID(c *net.UnixConn) (uint32, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return 0, false
	}
	var cred *syscall.Ucred
	var credErr error
	if err := raw.Control(func(fd uintptr) {
		cred, credErr = syscall.GetsockoptUcred(int(fd), syscall.SOL_SOCKET, syscall.SO_PEERCRED)
	}); err != nil || credErr != nil {
		return 0, false
	}
	return cred.Uid, true
}
