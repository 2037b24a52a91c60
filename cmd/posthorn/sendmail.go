package main

// posthorn sendmail: the sendmail(1) front end. A message is committed to
// the drop directory DATA/maildrop (same file format as the queue), which
// works whether or not the daemon runs; exit 0 means it is on stable
// storage. The daemon's pickup moves it into the queue; we only poke it
// through the control socket so that it does not wait for its next scan.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/control"
	"github.com/posthorn/posthorn/internal/msghdr"
	"github.com/posthorn/posthorn/internal/sendmail"
	"github.com/posthorn/posthorn/internal/spool"
)

// maildropMode lets every local user create files in the drop directory
// without listing it, and only a file's owner (or the directory's, the
// daemon) remove or rename it: like /tmp, without read permission.
const maildropMode = os.ModeSticky | 0o733

// pokeTimeout bounds the wake-up call to the daemon; the message is already
// safe, and the pickup scans on its own every second anyway.
const pokeTimeout = 2 * time.Second

// ensureMaildrop creates DATA/maildrop with maildropMode; the daemon calls
// it at start, as the directory's owner.
func ensureMaildrop(dataDir string) error {
	dir := pathsOf(dataDir).maildrop
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("maildrop: %w", err)
	}
	if err := os.Chmod(dir, maildropMode); err != nil {
		return fmt.Errorf("maildrop: %w", err)
	}
	return nil
}

// prepareMaildrop creates the drop directory, when sendmail runs before the
// daemon ever did, with the mode the daemon would give it. Failing is not an
// error here: spool.Open reports what matters.
func prepareMaildrop(dataDir, dropDir string) {
	if _, err := os.Stat(dropDir); err == nil {
		return
	}
	_ = os.MkdirAll(dataDir, 0o755)
	if err := os.Mkdir(dropDir, 0o700); err == nil {
		_ = os.Chmod(dropDir, maildropMode)
	}
}

// localUser identifies who runs sendmail.
type localUser struct {
	name string // login name; the numeric uid when it has none
	uid  int
}

func currentUser() localUser {
	lu := localUser{uid: os.Getuid()}
	lu.name = strconv.Itoa(lu.uid)
	if u, err := user.Current(); err == nil && u.Username != "" {
		lu.name = u.Username
	}
	return lu
}

func runSendmail(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fail := func(err error) int {
		fmt.Fprintln(stderr, "posthorn sendmail:", strings.TrimPrefix(err.Error(), "sendmail: "))
		return sendmail.ExitCode(err)
	}
	opts, err := sendmail.ParseArgs(args)
	if err != nil {
		return fail(err)
	}
	switch opts.Mode {
	case sendmail.ModeVersion:
		fmt.Fprintln(stdout, "posthorn", version)
		return 0
	case sendmail.ModeNewaliases:
		return 0 // no aliases database to rebuild
	case sendmail.ModeMailq:
		qargs := []string{"list"}
		if opts.Config != "" {
			qargs = append(qargs, "--config", opts.Config)
		}
		return runQueue(qargs, stdout, stderr)
	}
	cfg, err := loadConfig(opts.Config)
	if err != nil {
		return fail(err)
	}
	id, err := submitLocal(cfg, opts, stdin, currentUser(), time.Now())
	if err != nil {
		return fail(err)
	}
	if opts.Verbose {
		fmt.Fprintln(stderr, "posthorn sendmail: queued as", id)
	}
	c := control.NewClient(pathsOf(cfg.DataDir).control)
	c.Timeout = pokeTimeout
	_ = c.Pickup() // the daemon may be down: it picks the message up at start
	return 0
}

// submitLocal reads one message from r and commits it to the drop
// directory; it returns the queue id once the message is durable.
func submitLocal(cfg *config.Config, opts sendmail.Options, r io.Reader, who localUser, now time.Time) (string, error) {
	if opts.From != "" {
		opts.From = qualify(opts.From, cfg.Hostname)
	}
	msg, err := sendmail.ReadMessage(r, opts, who.name+"@"+cfg.Hostname, int64(cfg.SMTP.MaxMessageSize))
	if err != nil {
		return "", err
	}
	rcpts := make([]string, len(msg.Rcpts))
	for i, a := range msg.Rcpts {
		rcpts[i] = qualify(a, cfg.Hostname)
	}
	hdr, err := msghdr.Read(bufio.NewReader(bytes.NewReader(msg.Header)), len(msg.Header)+1)
	if err != nil {
		return "", fmt.Errorf("reading the header section: %w", err)
	}

	dropDir := pathsOf(cfg.DataDir).maildrop
	prepareMaildrop(cfg.DataDir, dropDir)
	st, err := spool.Open(dropDir, "", nil)
	if err != nil {
		return "", err
	}
	defer st.Close()

	env := &spool.Envelope{
		ID: spool.NewID(), From: msg.From, Rcpts: rcpts, Arrival: now.UTC(),
		Client: "local", Service: cfg.ServiceForUser(who.name),
	}
	if hdr.HasMessageID {
		env.MessageID = hdr.MessageID
	} else {
		env.MessageID = msghdr.GeneratedID(env.ID, cfg.Hostname)
	}
	trace := msghdr.Trace{By: cfg.Hostname, With: "local", ID: env.ID, Time: now}
	if len(rcpts) == 1 {
		trace.For = rcpts[0]
	}
	w, err := st.Create(env)
	if err != nil {
		return "", err
	}
	_, _ = w.Write(msghdr.Received(trace))
	_, _ = w.Write(msg.Header)
	_, _ = w.Write(msghdr.Missing(hdr, env.ID, cfg.Hostname, now))
	_, _ = w.WriteString("\r\n")
	if _, err := w.ReadFrom(msg.Body); err != nil { // also reports earlier write errors
		w.Abort()
		return "", err
	}
	if _, err := w.Commit(); err != nil {
		return "", err
	}
	shareWithDaemon(dropDir, env.ID)
	return env.ID, nil
}

// shareWithDaemon makes a committed drop file readable by the daemon when it
// runs as another user (root submitting to a daemon running as posthorn).
// The file is only made readable when the directory cannot be listed by
// others, so its random name stays unknown to other users. Failing is not
// an error: the message is safe, and the daemon reports what it cannot read.
func shareWithDaemon(dir, id string) {
	fi, err := os.Stat(dir)
	if err != nil || fi.Mode().Perm()&0o004 != 0 {
		return
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) == os.Geteuid() {
		return // the daemon's own directory: it can read what we write
	}
	_ = os.Chmod(filepath.Join(dir, id), 0o644)
}

// qualify adds @host to an address without a domain, as sendmail does for
// local names ("root", "www-data").
func qualify(addr, host string) string {
	if addr == "" || strings.Contains(addr, "@") {
		return addr
	}
	return addr + "@" + host
}
