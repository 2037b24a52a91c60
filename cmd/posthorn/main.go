// Command posthorn is the Posthorn mail relay: one binary that runs the
// daemon (serve), takes mail from local programs (sendmail), and operates on
// the queue (queue) and the configuration (check).
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/posthorn/posthorn/internal/config"
)

// DefaultConfigPath is read when --config is not given and the file exists.
const DefaultConfigPath = "/etc/posthorn/posthorn.toml"

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(run(os.Args, os.Stdin, os.Stdout, os.Stderr))
}

func run(argv []string, stdin io.Reader, stdout, stderr io.Writer) int {
	switch filepath.Base(argv[0]) {
	case "sendmail":
		return runSendmail(argv[1:], stdin, stdout, stderr)
	case "mailq":
		return runQueue(append([]string{"list"}, argv[1:]...), stdout, stderr)
	}
	if len(argv) < 2 {
		usage(stderr)
		return 2
	}
	args := argv[2:]
	switch argv[1] {
	case "serve":
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
		defer stop()
		return runServe(ctx, args, stderr)
	case "check":
		return runCheck(args, stdout, stderr)
	case "sendmail":
		return runSendmail(args, stdin, stdout, stderr)
	case "queue":
		return runQueue(args, stdout, stderr)
	case "trace":
		return runTrace(args, stdout, stderr)
	case "health":
		return runHealth(args, stdout, stderr)
	case "reload":
		return runReload(args, stdout, stderr)
	case "lists":
		return runLists(args, stdout, stderr)
	case "members":
		return runMembers(args, stdout, stderr)
	case "held":
		return runHeld(args, stdout, stderr)
	case "explain":
		return runExplain(args, stdin, stdout, stderr)
	case "archive":
		return runArchive(args, stdout, stderr)
	case "user":
		return runUserIO(args, stdin, stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "posthorn", version)
		return 0
	case "help", "-h", "--help":
		usage(stdout)
		return 0
	}
	fmt.Fprintf(stderr, "posthorn: unknown command %q\n", argv[1])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprint(w, `usage: posthorn <command> [--config FILE] [arguments]

commands:
  serve                 run the relay in the foreground (JSON logs on stderr)
  check [--print] [--diff] [--tests-only] [-v]
                        validate the configuration file and run its tests;
                        --print shows the effective config, --diff how the
                        file differs from what the running daemon uses
  reload [--json]       ask the running daemon to load, test and apply the file
  health [--nagios|--json]
                        the running daemon's checks (Nagios plugin exit codes)
  trace [--json] [--since D] QUERY
                        a message's history by queue id, Message-ID or address
  lists create|list|show|set|history|restore|delete ...
                        manage mailing lists and their settings history
  members add|remove|list|set|import|export LIST ...
                        manage a list's members
  held LIST [--json] | held approve|reject|discard|accept-always|defer LIST ID... [--reason R]
                        list and moderate held posts (through the running daemon)
  explain LIST FILE [--from ADDR] [--json]
                        dry-run a message through a list's posting rules
  archive import LIST MBOX [--keep-numbers] | export LIST [-o FILE] | rebuild LIST
          | delete LIST N --reason R | show LIST N
                        a list's archive: numbers never change
  user add|passwd|grant|revoke|disable|enable|unlock|list|token ...
                        web interface accounts and their roles
  sendmail [opts] RCPT  queue a message from standard input (also as 'sendmail')
  queue list [--json]   list the queue (also as 'mailq')
  queue show ID | flush [ID] | hold ID | release ID | delete ID
  version               print the version
`)
}

// loadConfig reads path, or the default file when path is "" (the embedded
// defaults when that does not exist either).
func loadConfig(path string) (*config.Config, error) {
	if path == "" {
		if _, err := os.Stat(DefaultConfigPath); errors.Is(err, fs.ErrNotExist) {
			cfg := config.Default()
			if errs := cfg.Validate(); len(errs) > 0 {
				return nil, errs
			}
			return cfg, nil
		}
		path = DefaultConfigPath
	}
	return config.Load(path)
}

// configFlag extracts --config FILE / --config=FILE / -config FILE from args.
func configFlag(args []string) (path string, rest []string, err error) {
	for i := 0; i < len(args); i++ {
		a := args[i]
		switch {
		case a == "--config" || a == "-config" || a == "-c":
			if i+1 >= len(args) {
				return "", nil, fmt.Errorf("%s needs a file name", a)
			}
			path = args[i+1]
			i++
		case len(a) > 9 && a[:9] == "--config=":
			path = a[9:]
		default:
			rest = append(rest, a)
		}
	}
	return path, rest, nil
}
