package postfix

import (
	"bytes"
	"context"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// SourceOptions configures one smtp-source(1) run.
type SourceOptions struct {
	Sessions   int    // -s: parallel sessions; default 1
	Messages   int    // -m: messages in total over all sessions; default 1
	Size       int    // -l: body bytes per message; default 0 (smtp-source's own)
	Recipients int    // -r: recipients per message; default 1
	Reuse      bool   // -d: send the next message over the same connection
	From       string // -f: envelope sender; default "source@example.org"
	To         string // -t: envelope recipient; default "sink@example.net"
	Helo       string // -M: HELO name; default "source.test"
	// Timeout bounds the whole run; default 2 minutes.
	Timeout time.Duration
	// Args are extra options, e.g. {"-A"} to go on after a rejection.
	Args []string
}

// SourceArgs returns smtp-source's command line for opts and addr.
func SourceArgs(addr string, opts SourceOptions) []string {
	def := func(v, d int) int {
		if v <= 0 {
			return d
		}
		return v
	}
	str := func(v, d string) string {
		if v == "" {
			return d
		}
		return v
	}
	args := []string{
		"-4",
		"-s", strconv.Itoa(def(opts.Sessions, 1)),
		"-m", strconv.Itoa(def(opts.Messages, 1)),
		"-r", strconv.Itoa(def(opts.Recipients, 1)),
		"-f", str(opts.From, "source@example.org"),
		"-t", str(opts.To, "sink@example.net"),
		"-M", str(opts.Helo, "source.test"),
	}
	if opts.Size > 0 {
		args = append(args, "-l", strconv.Itoa(opts.Size))
	}
	if opts.Reuse {
		args = append(args, "-d")
	}
	args = append(args, opts.Args...)
	return append(args, "inet:"+addr)
}

// RunSource runs smtp-source against addr and fails the test if it does
// not exit 0 (smtp-source exits non-zero on any unexpected reply unless
// -A is given). It returns smtp-source's combined output.
func RunSource(t testing.TB, tools Tools, addr string, opts SourceOptions) string {
	t.Helper()
	out, err := RunSourceErr(tools, addr, opts)
	if err != nil {
		t.Fatalf("smtp-source %v: %v\n%s", SourceArgs(addr, opts), err, out)
	}
	return out
}

// RunSourceErr is RunSource that returns the error instead of failing.
func RunSourceErr(tools Tools, addr string, opts SourceOptions) (string, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Minute
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, tools.SMTPSource, SourceArgs(addr, opts)...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}
