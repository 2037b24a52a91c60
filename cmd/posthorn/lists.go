package main

// posthorn lists and posthorn members: administer mailing lists in
// <data_dir>/posthorn.db. SQLite in WAL mode lets the command work while the
// daemon runs; the daemon's chain notices a change by the list's revision.
// Every settings change is recorded in the list's history with its author
// and reason, and a change that would stop members' posts from being
// distributed is refused unless confirmed with --yes.

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/store"
)

const listsUsage = `usage: posthorn lists [--config FILE] COMMAND
  create ADDRESS [--display-name N] [--description D] [--author A]
  list [--json]
  show LIST [--json]
  set LIST KEY=VALUE... --reason R [--author A] [--yes]
  history LIST [--json]
  restore LIST VERSION --reason R [--author A] [--yes]
  delete LIST --yes
--yes confirms a change that would hold, reject or discard members' posts, open
the list to everybody, or leave nobody to deliver to. The author defaults to
$SUDO_USER, then $USER.
exit status: 0 done, 1 refused or failed, 2 usage`

const membersUsage = `usage: posthorn members [--config FILE] COMMAND
  add LIST ADDRESS... [--role R]
  remove LIST ADDRESS... [--role R]
  list LIST [--search S] [--role R] [--json]
  import LIST FILE.csv [--role R]     (columns: address[,name[,role]])
  export LIST [--role R]              (CSV on standard output)
  set LIST ADDRESS... [--mode regular|digest] [--digest-format mime|plain]
roles: member (default), moderator, owner, nonmember; only members have a
delivery mode (each post, or digests) and a digest format
exit status: 0 done, 1 refused or failed, 2 usage`

// listSecretFile is the site secret in the data directory; the daemon and
// the CLI must use the same one (it signs unsubscribe links).
const listSecretFile = "lists.secret"

// listSecret returns the site secret kept in path, creating
// the file (mode 0600, 32 random bytes) when it does not exist. It is
// created under a temporary name and linked into place, so two processes
// starting at once agree on one secret and nobody reads a partial file.
func listSecret(path string) ([]byte, error) {
	dir := filepath.Dir(path)
	for range 2 {
		b, err := os.ReadFile(path)
		if err == nil {
			if len(b) < 16 {
				return nil, fmt.Errorf("%s: %d bytes, need at least 16", path, len(b))
			}
			return b, nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return nil, err
		}
		if err := createSecret(dir, path); err != nil && !errors.Is(err, fs.ErrExist) {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%s: created but not readable", path)
}

func createSecret(dataDir, path string) error {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return err
	}
	secret := make([]byte, 32)
	if _, err := rand.Read(secret); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(dataDir, ".lists.secret-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(secret); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	// Created by root (an administrator's CLI): hand it to the owner of
	// the data directory, the daemon's user.
	if st, err := os.Stat(dataDir); err == nil && os.Getuid() == 0 {
		if sys, ok := st.Sys().(*syscall.Stat_t); ok {
			if err := os.Chown(tmp.Name(), int(sys.Uid), int(sys.Gid)); err != nil {
				return err
			}
		}
	}
	if err := os.Link(tmp.Name(), path); err != nil {
		return err
	}
	if d, err := os.Open(dataDir); err == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// secretPath is lists.secret_file, or data_dir/lists.secret.
func secretPath(cfg *config.Config) string {
	if cfg.Lists.SecretFile != "" {
		return cfg.Lists.SecretFile
	}
	return filepath.Join(cfg.DataDir, listSecretFile)
}

// openLists opens dataDir/posthorn.db and the list store in it.
func openLists(ctx context.Context, dataDir, secretFile string, stderr io.Writer) (*sql.DB, *lists.Store, error) {
	secret, err := listSecret(secretFile)
	if err != nil {
		return nil, nil, err
	}
	db, err := store.Open(filepath.Join(dataDir, "posthorn.db"), store.Options{})
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	st, err := lists.New(ctx, db, lists.Options{Secret: secret, Logger: logger})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, st, nil
}

// cmdArgs is a parsed command line: positional words and options.
type cmdArgs struct {
	words []string
	opts  map[string]string // "--name" → value ("" for a switch)
	verb  string            // the command verb these arguments follow
}

func (a cmdArgs) has(name string) bool { _, ok := a.opts[name]; return ok }

// parseCommand parses "[--config FILE] VERB ARGS..." of a command made of
// verbs. When ok is false it has printed the usage or the error and code is
// the exit status (0 for help, 2 for a usage error); grammar gives a verb's
// valued options and switches.
func parseCommand[V any](prefix, usage string, args []string, verbs map[string]V, grammar func(V) (valued, switches []string), stdout, stderr io.Writer) (path string, verb V, ca cmdArgs, code int, ok bool) {
	path, rest, err := configFlag(args)
	if err != nil {
		fmt.Fprintln(stderr, prefix, err)
		return "", verb, ca, 2, false
	}
	if len(rest) == 0 || rest[0] == "help" || rest[0] == "-h" || rest[0] == "--help" {
		if len(rest) == 0 {
			fmt.Fprintln(stderr, usage)
			return "", verb, ca, 2, false
		}
		fmt.Fprintln(stdout, usage)
		return "", verb, ca, 0, false
	}
	verb, found := verbs[rest[0]]
	if !found {
		fmt.Fprintf(stderr, "%s unknown command %q\n%s\n", prefix, rest[0], usage)
		return "", verb, ca, 2, false
	}
	valued, switches := grammar(verb)
	ca, err = parseCmdArgs(rest[1:], valued, switches)
	if err != nil {
		fmt.Fprintf(stderr, "%s %s: %v\n%s\n", prefix, rest[0], err, usage)
		return "", verb, ca, 2, false
	}
	ca.verb = rest[0]
	return path, verb, ca, 0, true
}

// parseCmdArgs splits args into words and the options named in valued
// (which take a value) and switches. Options may come anywhere; "--"
// ends them.
func parseCmdArgs(args []string, valued, switches []string) (cmdArgs, error) {
	a := cmdArgs{opts: map[string]string{}}
	known := func(name string, list []string) bool {
		for _, n := range list {
			if n == name {
				return true
			}
		}
		return false
	}
	for i := 0; i < len(args); i++ {
		arg := args[i]
		if arg == "--" {
			a.words = append(a.words, args[i+1:]...)
			break
		}
		if !strings.HasPrefix(arg, "-") || arg == "-" {
			a.words = append(a.words, arg)
			continue
		}
		name, val, hasVal := strings.Cut("--"+strings.TrimLeft(arg, "-"), "=")
		switch {
		case known(name, switches) && !hasVal:
			a.opts[name] = ""
		case known(name, valued) && hasVal:
			a.opts[name] = val
		case known(name, valued):
			if i+1 >= len(args) {
				return a, fmt.Errorf("%s needs a value", name)
			}
			a.opts[name] = args[i+1]
			i++
		default:
			return a, fmt.Errorf("unknown option %q", arg)
		}
	}
	return a, nil
}

// listsCommand is one invocation of lists or members.
type listsCommand struct {
	ctx    context.Context
	st     *lists.Store
	args   cmdArgs
	stdout io.Writer
	stderr io.Writer
}

// usageError is a command line mistake (exit 2).
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// refusedError is a change refused for want of --yes (exit 1, reported
// already).
type refusedError struct{}

func (refusedError) Error() string { return "not changed" }

type listsVerb struct {
	valued, switches []string
	run              func(*listsCommand) error
}

func listsVerbs() map[string]listsVerb {
	return map[string]listsVerb{
		"create":  {valued: []string{"--display-name", "--description", "--author"}, run: listsCreate},
		"list":    {switches: []string{"--json"}, run: listsList},
		"show":    {switches: []string{"--json"}, run: listsShow},
		"set":     {valued: []string{"--reason", "--author"}, switches: []string{"--yes"}, run: listsSet},
		"history": {switches: []string{"--json"}, run: listsHistory},
		"restore": {valued: []string{"--reason", "--author"}, switches: []string{"--yes"}, run: listsRestore},
		"delete":  {switches: []string{"--yes"}, run: listsDelete},
	}
}

func membersVerbs() map[string]listsVerb {
	return map[string]listsVerb{
		"add":    {valued: []string{"--role"}, run: membersAdd},
		"remove": {valued: []string{"--role"}, run: membersRemove},
		"list":   {valued: []string{"--search", "--role"}, switches: []string{"--json"}, run: membersList},
		"import": {valued: []string{"--role"}, run: membersImport},
		"export": {valued: []string{"--role"}, run: membersExport},
		"set":    {valued: []string{"--mode", "--digest-format"}, run: membersSet},
	}
}

func runLists(args []string, stdout, stderr io.Writer) int {
	return runListsCommand("lists", listsUsage, listsVerbs(), args, stdout, stderr)
}

func runMembers(args []string, stdout, stderr io.Writer) int {
	return runListsCommand("members", membersUsage, membersVerbs(), args, stdout, stderr)
}

func runListsCommand(name, usageText string, verbs map[string]listsVerb, args []string, stdout, stderr io.Writer) int {
	prefix := "posthorn " + name + ":"
	path, verb, ca, code, ok := parseCommand(prefix, usageText, args, verbs, func(v listsVerb) ([]string, []string) { return v.valued, v.switches }, stdout, stderr)
	if !ok {
		return code
	}
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, prefix, err)
		return 1
	}
	ctx := context.Background()
	db, st, err := openLists(ctx, cfg.DataDir, secretPath(cfg), stderr)
	if err != nil {
		fmt.Fprintln(stderr, prefix, err)
		return 1
	}
	defer db.Close()
	err = verb.run(&listsCommand{ctx: ctx, st: st, args: ca, stdout: stdout, stderr: stderr})
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s %s: %v\n%s\n", prefix, ca.verb, err, usageText)
		return 2
	case errors.Is(err, refusedError{}):
		return 1
	}
	fmt.Fprintf(stderr, "%s %s: %v\n", prefix, ca.verb, strings.TrimPrefix(err.Error(), "lists: "))
	return 1
}

// want checks the number of words: at least min, at most max (-1: any).
func (c *listsCommand) want(min, max int, what string) error {
	n := len(c.args.words)
	if n < min || (max >= 0 && n > max) {
		return usagef("want %s", what)
	}
	return nil
}

// change builds the Change of a settings command: --reason is required,
// the author defaults to $SUDO_USER, $USER, the login name.
func (c *listsCommand) change() (lists.Change, error) {
	reason := strings.TrimSpace(c.args.opts["--reason"])
	if reason == "" {
		return lists.Change{}, usagef("--reason is required: say why the settings change")
	}
	return lists.Change{Author: c.author(), Reason: reason, Confirm: c.args.has("--yes")}, nil
}

// author is --author, else $SUDO_USER, $USER, the login name.
func (c *listsCommand) author() string {
	author := strings.TrimSpace(c.args.opts["--author"])
	for _, v := range []string{os.Getenv("SUDO_USER"), os.Getenv("USER"), currentUser().name} {
		if author == "" {
			author = strings.TrimSpace(v)
		}
	}
	return author
}

// apply runs a settings change (set or restore), printing the diff first
// and the warnings; without --yes a change with warnings is refused.
func (c *listsCommand) apply(list string, from, to lists.Settings, do func(lists.Change) (lists.Version, []lists.Warning, error)) error {
	ch, err := c.change()
	if err != nil {
		return err
	}
	diff := lists.Diff(from, to)
	if len(diff) == 0 {
		fmt.Fprintf(c.stdout, "%s: no change\n", list)
		return nil
	}
	printDiff(c.stdout, diff, "")
	v, warns, err := do(ch)
	var nc *lists.NeedsConfirmation
	if errors.As(err, &nc) {
		for _, w := range nc.Warnings {
			fmt.Fprintln(c.stderr, "warning:", warningText(w))
		}
		fmt.Fprintf(c.stderr, "%s: not changed; if this is intended, run again with --yes\n", list)
		return refusedError{}
	}
	if err != nil {
		return err
	}
	for _, w := range warns {
		fmt.Fprintln(c.stderr, "warning (confirmed):", warningText(w))
	}
	fmt.Fprintf(c.stdout, "%s: settings version %d by %s: %s\n", v.List, v.Number, v.Author, v.Reason)
	return nil
}

func warningText(w lists.Warning) string {
	if w.Already {
		return w.Message + " (already so before this change)"
	}
	return w.Message
}

func printDiff(w io.Writer, diff []lists.FieldChange, indent string) {
	for _, d := range diff {
		fmt.Fprintf(w, "%s%s: %s → %s\n", indent, d.Field, d.Old, d.New)
	}
}

func parseRole(s string) (lists.Role, error) {
	if s == "" {
		return lists.RoleMember, nil
	}
	r := lists.Role(strings.ToLower(strings.TrimSpace(s)))
	if !r.Valid() {
		return "", usagef("role %q: want member, moderator, owner or nonmember", s)
	}
	return r, nil
}

func parseVersion(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(s, "v"))
	if err != nil || n < 1 {
		return 0, usagef("version %q: want a number from posthorn lists history", s)
	}
	return n, nil
}

func listsCreate(c *listsCommand) error {
	if err := c.want(1, 1, "one list address (name@domain)"); err != nil {
		return err
	}
	o := c.args.opts
	l, err := c.st.CreateList(c.ctx, lists.ListSpec{Address: c.args.words[0], DisplayName: o["--display-name"],
		Description: o["--description"], Author: c.author()})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "created %s\n", l.Address())
	return nil
}

type listSummary struct {
	Address     string `json:"address"`
	DisplayName string `json:"display_name"`
	Description string `json:"description"`
	Members     int    `json:"members"`
	Version     int    `json:"settings_version"`
}

func listsList(c *listsCommand) error {
	if err := c.want(0, 0, "no arguments"); err != nil {
		return err
	}
	all, err := c.st.Lists(c.ctx)
	if err != nil {
		return err
	}
	out := make([]listSummary, 0, len(all))
	for _, l := range all {
		n, err := c.st.CountMembers(c.ctx, l.Address(), lists.RoleMember)
		if err != nil {
			return err
		}
		vs, err := c.st.History(c.ctx, l.Address())
		if err != nil {
			return err
		}
		out = append(out, listSummary{Address: l.Address(), DisplayName: l.DisplayName, Description: l.Description,
			Members: n, Version: vs[len(vs)-1].Number})
	}
	if c.args.has("--json") {
		return writeJSONTo(c.stdout, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(c.stdout, "no lists")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tMEMBERS\tNAME")
	for _, l := range out {
		fmt.Fprintf(tw, "%s\t%d\t%s\n", l.Address, l.Members, l.DisplayName)
	}
	return tw.Flush()
}

func listsShow(c *listsCommand) error {
	if err := c.want(1, 1, "one list address"); err != nil {
		return err
	}
	l, err := c.st.GetList(c.ctx, c.args.words[0])
	if err != nil {
		return err
	}
	vs, err := c.st.History(c.ctx, l.Address())
	if err != nil {
		return err
	}
	head := vs[len(vs)-1]
	if c.args.has("--json") {
		return writeJSONTo(c.stdout, struct {
			listSummary
			Created  string         `json:"created"`
			Settings lists.Settings `json:"settings"`
		}{listSummary{Address: l.Address(), DisplayName: l.DisplayName, Description: l.Description, Version: head.Number},
			l.Created.UTC().Format(time.RFC3339), l.Settings})
	}
	fmt.Fprintf(c.stdout, "list:         %s\nname:         %s\ndescription:  %s\ncreated:      %s\n",
		l.Address(), l.DisplayName, l.Description, formatTime(l.Created))
	fmt.Fprintf(c.stdout, "settings:     version %d, %s by %s: %s\n\n", head.Number, formatTime(head.Time), authorOf(head), head.Reason)
	for _, f := range lists.SettingValues(l.Settings) {
		fmt.Fprintf(c.stdout, "%s = %s\n", f.Field, f.Value)
	}
	return nil
}

func authorOf(v lists.Version) string {
	if v.Author == "" {
		return "(unknown)"
	}
	return v.Author
}

func listsSet(c *listsCommand) error {
	if err := c.want(2, -1, "a list address and KEY=VALUE settings"); err != nil {
		return err
	}
	for _, kv := range c.args.words[1:] {
		if !strings.Contains(kv, "=") {
			return usagef("%q: want KEY=VALUE (settings: %s)", kv, strings.Join(lists.SettingNames()[1:], ", "))
		}
	}
	l, err := c.st.GetList(c.ctx, c.args.words[0])
	if err != nil {
		return err
	}
	set := l.Settings
	for _, kv := range c.args.words[1:] {
		k, v, _ := strings.Cut(kv, "=")
		if set, err = lists.SetField(set, k, v); err != nil {
			return err
		}
	}
	return c.apply(l.Address(), l.Settings, set, func(ch lists.Change) (lists.Version, []lists.Warning, error) {
		return c.st.ChangeSettings(c.ctx, l.Address(), set, ch)
	})
}

type versionOut struct {
	lists.Version
	Changes []lists.FieldChange `json:"changes"`
}

func listsHistory(c *listsCommand) error {
	if err := c.want(1, 1, "one list address"); err != nil {
		return err
	}
	vs, err := c.st.History(c.ctx, c.args.words[0])
	if err != nil {
		return err
	}
	out := make([]versionOut, len(vs))
	for i, v := range vs {
		out[i] = versionOut{Version: v, Changes: []lists.FieldChange{}}
		if i > 0 {
			if d := lists.Diff(vs[i-1].Settings, v.Settings); d != nil {
				out[i].Changes = d
			}
		}
	}
	if c.args.has("--json") {
		return writeJSONTo(c.stdout, out)
	}
	for _, v := range out {
		restored := ""
		if v.RestoredFrom > 0 {
			restored = fmt.Sprintf(" (restores version %d)", v.RestoredFrom)
		}
		fmt.Fprintf(c.stdout, "version %d  %s  by %s%s: %s\n", v.Number, formatTime(v.Time), authorOf(v.Version), restored, v.Reason)
		printDiff(c.stdout, v.Changes, "    ")
	}
	return nil
}

func listsRestore(c *listsCommand) error {
	if err := c.want(2, 2, "a list address and a version number"); err != nil {
		return err
	}
	n, err := parseVersion(c.args.words[1])
	if err != nil {
		return err
	}
	l, err := c.st.GetList(c.ctx, c.args.words[0])
	if err != nil {
		return err
	}
	v, err := c.st.GetVersion(c.ctx, l.Address(), n)
	if err != nil {
		return err
	}
	return c.apply(l.Address(), l.Settings, v.Settings, func(ch lists.Change) (lists.Version, []lists.Warning, error) {
		return c.st.Restore(c.ctx, l.Address(), n, ch)
	})
}

func listsDelete(c *listsCommand) error {
	if err := c.want(1, 1, "one list address"); err != nil {
		return err
	}
	if !c.args.has("--yes") {
		return usagef("deleting %s removes its members, history and held posts: add --yes", c.args.words[0])
	}
	if err := c.st.DeleteList(c.ctx, c.args.words[0]); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "deleted %s\n", strings.ToLower(c.args.words[0]))
	return nil
}

func membersAdd(c *listsCommand) error {
	if err := c.want(2, -1, "a list address and member addresses"); err != nil {
		return err
	}
	role, err := parseRole(c.args.opts["--role"])
	if err != nil {
		return err
	}
	var nms []lists.NewMember
	for _, a := range c.args.words[1:] {
		nms = append(nms, lists.NewMember{Address: a, Role: role})
	}
	res, err := c.st.AddMembers(c.ctx, c.args.words[0], nms)
	if err != nil {
		return err
	}
	return c.report(res, "added", role)
}

func membersRemove(c *listsCommand) error {
	if err := c.want(2, -1, "a list address and member addresses"); err != nil {
		return err
	}
	role, err := parseRole(c.args.opts["--role"])
	if err != nil {
		return err
	}
	res, err := c.st.RemoveMembers(c.ctx, c.args.words[0], c.args.words[1:], role)
	if err != nil {
		return err
	}
	return c.report(res, "removed", role)
}

// report prints one line per address of a bulk operation. An address that
// already has the role is not a failure (adding is idempotent).
func (c *listsCommand) report(res []lists.BulkResult, done string, role lists.Role) error {
	failed := 0
	for _, r := range res {
		var ex *lists.ExistsError
		switch {
		case r.Err == nil:
			fmt.Fprintf(c.stdout, "%s %s (%s)\n", done, r.Address, role)
		case errors.As(r.Err, &ex):
			fmt.Fprintf(c.stdout, "%s: already a %s\n", r.Address, role)
		default:
			failed++
			fmt.Fprintf(c.stderr, "%s: %s\n", r.Address, strings.TrimPrefix(r.Err.Error(), "lists: "))
		}
	}
	if failed > 0 {
		return fmt.Errorf("%d of %d address%s failed", failed, len(res), pluralES(len(res)))
	}
	return nil
}

func pluralES(n int) string {
	if n == 1 {
		return ""
	}
	return "es"
}

type memberOut struct {
	Address  string `json:"address"`
	Name     string `json:"name"`
	Role     string `json:"role"`
	Delivery string `json:"delivery"`
	// Mode and DigestFormat are those of member rows, "" for other roles.
	Mode         string `json:"mode,omitempty"`
	DigestFormat string `json:"digest_format,omitempty"`
	Moderation   string `json:"moderation,omitempty"` // "" = the list default
}

// allMembers pages through the members matching q.
func (c *listsCommand) allMembers(list string, q lists.MemberQuery, each func(*lists.Member) error) error {
	q.Limit = 1000
	for {
		page, err := c.st.Members(c.ctx, list, q)
		if err != nil {
			return err
		}
		for _, m := range page.Members {
			if err := each(m); err != nil {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		q.After = page.Next
	}
}

func (c *listsCommand) roleFilter() (lists.Role, error) {
	if c.args.opts["--role"] == "" {
		return "", nil
	}
	return parseRole(c.args.opts["--role"])
}

func membersList(c *listsCommand) error {
	if err := c.want(1, 1, "one list address"); err != nil {
		return err
	}
	role, err := c.roleFilter()
	if err != nil {
		return err
	}
	out := []memberOut{}
	err = c.allMembers(c.args.words[0], lists.MemberQuery{Role: role, Search: c.args.opts["--search"]}, func(m *lists.Member) error {
		mo := memberOut{Address: m.Address, Name: m.DisplayName, Role: string(m.Role), Delivery: string(m.Delivery)}
		if m.Role == lists.RoleMember {
			mo.Mode, mo.DigestFormat = string(m.Mode), string(m.DigestFormat)
		}
		if m.Moderation != nil {
			mo.Moderation = string(*m.Moderation)
		}
		out = append(out, mo)
		return nil
	})
	if err != nil {
		return err
	}
	if c.args.has("--json") {
		return writeJSONTo(c.stdout, out)
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ADDRESS\tROLE\tDELIVERY\tMODE\tMODERATION\tNAME")
	for _, m := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", m.Address, m.Role, m.Delivery, modeText(m), orDefault(m.Moderation), m.Name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%d row%s\n", len(out), plural(len(out)))
	return nil
}

func orDefault(s string) string {
	if s == "" {
		return "(list default)"
	}
	return s
}

// membersImport adds the members of a CSV file (address[,name[,role]], an
// optional header line, # comments) in one transaction. A file with any
// malformed line imports nothing; addresses already on the list are skipped.
func membersImport(c *listsCommand) error {
	if err := c.want(2, 2, "a list address and a CSV file"); err != nil {
		return err
	}
	defRole, err := parseRole(c.args.opts["--role"])
	if err != nil {
		return err
	}
	f, err := os.Open(c.args.words[1])
	if err != nil {
		return err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.Comment = '#'
	var nms []lists.NewMember
	var lines []int
	var problems []string
	for first := true; ; first = false {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			problems = append(problems, fmt.Sprintf("line %d: %v", pe.Line, pe.Err))
			continue
		}
		if err != nil {
			return err
		}
		line, _ := r.FieldPos(0)
		if first && strings.EqualFold(strings.TrimSpace(rec[0]), "address") {
			continue
		}
		if p := importProblem(rec, defRole); p != "" {
			problems = append(problems, fmt.Sprintf("line %d: %s", line, p))
			continue
		}
		nm := lists.NewMember{Address: strings.TrimSpace(rec[0]), Role: defRole}
		if len(rec) > 1 {
			nm.DisplayName = strings.TrimSpace(rec[1])
		}
		if len(rec) > 2 && strings.TrimSpace(rec[2]) != "" {
			nm.Role = lists.Role(strings.ToLower(strings.TrimSpace(rec[2])))
		}
		nms, lines = append(nms, nm), append(lines, line)
	}
	if len(problems) > 0 {
		for _, p := range problems {
			fmt.Fprintln(c.stderr, p)
		}
		return fmt.Errorf("%s: %d problem%s, nothing imported", c.args.words[1], len(problems), plural(len(problems)))
	}
	res, err := c.st.AddMembers(c.ctx, c.args.words[0], nms)
	if err != nil {
		return err
	}
	added, skipped := 0, 0
	for i, r := range res {
		var ex *lists.ExistsError
		switch {
		case r.Err == nil:
			added++
		case errors.As(r.Err, &ex):
			skipped++
			fmt.Fprintf(c.stdout, "line %d: %s: already a %s, skipped\n", lines[i], r.Address, nms[i].Role)
		default: // checked above; report rather than hide
			fmt.Fprintf(c.stderr, "line %d: %s\n", lines[i], strings.TrimPrefix(r.Err.Error(), "lists: "))
		}
	}
	fmt.Fprintf(c.stdout, "%s: %d added, %d already present\n", strings.ToLower(c.args.words[0]), added, skipped)
	if added+skipped < len(res) {
		return fmt.Errorf("%d line%s not imported", len(res)-added-skipped, plural(len(res)-added-skipped))
	}
	return nil
}

// importProblem checks one CSV record; "" when it is fine.
func importProblem(rec []string, defRole lists.Role) string {
	if len(rec) > 3 {
		return fmt.Sprintf("%d columns, want address[,name[,role]]", len(rec))
	}
	if _, _, err := lists.NormalizeAddress(strings.TrimSpace(rec[0])); err != nil {
		return strings.TrimPrefix(err.Error(), "lists: ")
	}
	if len(rec) > 2 && strings.TrimSpace(rec[2]) != "" {
		if _, err := parseRole(rec[2]); err != nil {
			return err.Error()
		}
	}
	return ""
}

func membersExport(c *listsCommand) error {
	if err := c.want(1, 1, "one list address"); err != nil {
		return err
	}
	role, err := c.roleFilter()
	if err != nil {
		return err
	}
	w := csv.NewWriter(c.stdout)
	if err := w.Write([]string{"address", "name", "role"}); err != nil {
		return err
	}
	err = c.allMembers(c.args.words[0], lists.MemberQuery{Role: role}, func(m *lists.Member) error {
		return w.Write([]string{m.Address, m.DisplayName, string(m.Role)})
	})
	if err != nil {
		return err
	}
	w.Flush()
	return w.Error()
}
