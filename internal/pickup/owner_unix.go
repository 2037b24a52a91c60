//go:build unix

package pickup

import (
	"os"
	"syscall"
)

// canAdopt reports whether the file may be renamed into the queue as it is:
// the daemon will rewrite its state records later, so it must own the file
// (or be root). Files submitted by other users are copied instead.
func canAdopt(path string) bool {
	euid := os.Geteuid()
	if euid == 0 {
		return true
	}
	fi, err := os.Lstat(path)
	if err != nil {
		return false
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) == euid
}
