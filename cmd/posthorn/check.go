package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/configtest"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/store"
)

// checkCandidate loads the configuration at path ("" for the default file,
// or the embedded defaults when there is none), validates it, loads its
// test files and runs its tests and the built-in invariants. An error
// means the configuration does not load (config.Errors, or a read
// error); otherwise the caller must refuse the configuration when
// result.Failed(). posthorn check and every reload go through here.
func checkCandidate(path string) (*config.Config, configtest.Result, error) {
	cfg, sources, err := loadWithTests(path)
	if err != nil {
		return nil, configtest.Result{}, err
	}
	opts, closeLists := checkOptions(context.Background(), cfg, sources)
	defer closeLists()
	res := configtest.Run(context.Background(), cfg, opts)
	return cfg, res, nil
}

// checkOptions are the options of configtest.Run for cfg: its test
// sources and, when lists.domains is set and data_dir/posthorn.db exists,
// the current list data opened read-only (an error opening it is
// reported by the list cases and invariant). closeFn releases the data.
func checkOptions(ctx context.Context, cfg *config.Config, sources []config.TestSource) (opts configtest.Options, closeFn func()) {
	opts = configtest.Options{Sources: sources}
	closeFn = func() {}
	if len(cfg.Lists.Domains) == 0 {
		return opts, closeFn
	}
	path := filepath.Join(cfg.DataDir, "posthorn.db")
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return opts, closeFn
	}
	db, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		opts.ListsErr = err
		return opts, closeFn
	}
	// The check signs nothing that outlives it: a throwaway secret
	// spares reading (or creating) the list secret file.
	secret := make([]byte, 32)
	rand.Read(secret)
	st, err := lists.New(ctx, db, lists.Options{Secret: secret, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		db.Close()
		opts.ListsErr = err
		return opts, closeFn
	}
	opts.Lists = st
	return opts, func() { db.Close() }
}

// loadWithTests is loadConfig with the test files of the configuration
// loaded, and where each test was written.
func loadWithTests(path string) (*config.Config, []config.TestSource, error) {
	if path == "" {
		if _, err := os.Stat(DefaultConfigPath); errors.Is(err, fs.ErrNotExist) {
			cfg, err := loadConfig("")
			return cfg, nil, err
		}
		path = DefaultConfigPath
	}
	return config.LoadWithTests(path)
}

// checkArgs are the arguments of posthorn check.
type checkArgs struct {
	path      string
	print     bool // print the effective configuration instead of testing it
	testsOnly bool // run the [[test]] cases without the built-in invariants
	verbose   bool // also list passing tests and invariants
	diff      bool // show how the file differs from the running configuration
}

func parseCheckArgs(args []string) (checkArgs, error) {
	path, rest, err := configFlag(args)
	if err != nil {
		return checkArgs{}, err
	}
	a := checkArgs{path: path}
	for _, arg := range rest {
		switch arg {
		case "--print", "-print":
			a.print = true
		case "--tests-only", "-tests-only":
			a.testsOnly = true
		case "-v", "--verbose", "-verbose":
			a.verbose = true
		case "--diff", "-diff":
			a.diff = true
		default:
			return checkArgs{}, fmt.Errorf("unknown argument %q", arg)
		}
	}
	return a, nil
}

// runCheck is posthorn check: validate the configuration, run its tests
// and the invariants, and print what failed. Exit status 0 when the
// configuration would be accepted by a reload, 1 when not, 2 for a usage
// error. --print writes the effective configuration (secrets redacted)
// instead.
func runCheck(args []string, stdout, stderr io.Writer) int {
	a, err := parseCheckArgs(args)
	if err != nil {
		fmt.Fprintln(stderr, "posthorn check:", err)
		fmt.Fprintln(stderr, "usage: posthorn check [--config FILE] [--print | --diff] [--tests-only] [-v]")
		return 2
	}
	if a.diff {
		return runCheckDiff(a.path, stdout, stderr)
	}
	if a.print {
		cfg, _, err := loadWithTests(a.path)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		b, err := cfg.Redacted().TOML()
		if err != nil {
			fmt.Fprintln(stderr, "posthorn check:", err)
			return 1
		}
		stdout.Write(b)
		return 0
	}
	cfg, sources, err := loadWithTests(a.path)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	opts, closeLists := checkOptions(context.Background(), cfg, sources)
	defer closeLists()
	if a.testsOnly {
		opts.Invariants = []configtest.Invariant{}
	}
	signer, err := dkimSigner(cfg)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	res := configtest.Run(context.Background(), cfg, opts)
	if err := writeDKIMRecords(stdout, signer); err != nil {
		fmt.Fprintln(stderr, "posthorn check:", err)
		return 1
	}
	if err := res.Write(stdout, a.verbose); err != nil {
		fmt.Fprintln(stderr, "posthorn check:", err)
		return 1
	}
	name := a.path
	if name == "" {
		name = "(embedded defaults)"
	}
	if res.Failed() {
		fmt.Fprintf(stdout, "%s: refused: %d failing\n", name, len(res.Failures()))
		return 1
	}
	fmt.Fprintf(stdout, "%s: ok (fingerprint %s)\n", name, cfg.Fingerprint())
	return 0
}
