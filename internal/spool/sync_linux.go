//go:build linux

package spool

import (
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// fdatasync flushes the file's data and the metadata needed to read it.
func fdatasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}

// syncfs flushes the whole file system that holds f.
func syncfs(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		serr = unix.Syncfs(int(fd))
	}); err != nil {
		return err
	}
	return serr
}
