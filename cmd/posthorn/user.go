package main

// posthorn user: the accounts of the web interface, in
// <data_dir>/posthorn.db. A password is read from standard input with
// --password-stdin, or generated and printed once. List roles (owner,
// moderator) are rows of the lists store keyed by the user's address, so
// granting one is adding a member row with that role. Every change is
// written to the audit log with the actor "cli:<login name>".

import (
	"bufio"
	"context"
	"crypto/rand"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/store"
)

const userUsage = `usage: posthorn user [--config FILE] COMMAND
  add EMAIL [--name N] [--site-admin] [--password-stdin]
  passwd EMAIL [--password-stdin]
  grant EMAIL site-admin | owner LIST | moderator LIST
  revoke EMAIL site-admin | owner LIST | moderator LIST
  disable EMAIL | enable EMAIL | unlock EMAIL
  list [--json]
  token add EMAIL NAME | token list EMAIL | token revoke EMAIL ID
Without --password-stdin a password is generated and printed once; with it,
the first line of standard input is the password (at least 10 characters).
A new password ends the user's sessions.
exit status: 0 done, 1 refused or failed, 2 usage`

// userCommand is one invocation of posthorn user.
type userCommand struct {
	ctx    context.Context
	cfg    *config.Config
	db     *sql.DB
	acc    *accounts.Store
	args   cmdArgs
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
}

type userVerb struct {
	valued, switches []string
	run              func(*userCommand) error
}

func userVerbs() map[string]userVerb {
	return map[string]userVerb{
		"add":     {valued: []string{"--name"}, switches: []string{"--site-admin", "--password-stdin"}, run: userAdd},
		"passwd":  {switches: []string{"--password-stdin"}, run: userPasswd},
		"grant":   {run: func(c *userCommand) error { return userRole(c, true) }},
		"revoke":  {run: func(c *userCommand) error { return userRole(c, false) }},
		"disable": {run: func(c *userCommand) error { return userDisable(c, true) }},
		"enable":  {run: func(c *userCommand) error { return userDisable(c, false) }},
		"unlock":  {run: userUnlock},
		"list":    {switches: []string{"--json"}, run: userList},
		"token":   {run: userToken},
	}
}

func runUser(args []string, stdout, stderr io.Writer) int {
	return runUserIO(args, os.Stdin, stdout, stderr)
}

func runUserIO(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	const prefix = "posthorn user:"
	path, verb, ca, code, ok := parseCommand(prefix, userUsage, args, userVerbs(), func(v userVerb) ([]string, []string) { return v.valued, v.switches }, stdout, stderr)
	if !ok {
		return code
	}
	cfg, err := loadConfig(path)
	if err != nil {
		fmt.Fprintln(stderr, prefix, err)
		return 1
	}
	ctx := context.Background()
	db, acc, err := openAccounts(ctx, cfg.DataDir, stderr)
	if err != nil {
		fmt.Fprintln(stderr, prefix, err)
		return 1
	}
	defer db.Close()
	err = verb.run(&userCommand{ctx: ctx, cfg: cfg, db: db, acc: acc, args: ca, stdin: stdin, stdout: stdout, stderr: stderr})
	var ue *usageError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ue):
		fmt.Fprintf(stderr, "%s %s: %v\n%s\n", prefix, ca.verb, err, userUsage)
		return 2
	}
	msg := strings.TrimPrefix(strings.TrimPrefix(err.Error(), "accounts: "), "lists: ")
	fmt.Fprintf(stderr, "%s %s: %s\n", prefix, ca.verb, msg)
	return 1
}

// openAccounts opens dataDir/posthorn.db and the accounts store in it.
func openAccounts(ctx context.Context, dataDir string, stderr io.Writer) (*sql.DB, *accounts.Store, error) {
	if err := os.MkdirAll(dataDir, 0o750); err != nil {
		return nil, nil, err
	}
	db, err := store.Open(filepath.Join(dataDir, "posthorn.db"), store.Options{})
	if err != nil {
		return nil, nil, err
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	acc, err := accounts.New(ctx, db, accounts.Options{Logger: logger})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	return db, acc, nil
}

func (c *userCommand) want(min, max int, what string) error {
	if n := len(c.args.words); n < min || n > max {
		return usagef("want %s", what)
	}
	return nil
}

// actor is who the audit log says made a change.
func (c *userCommand) actor() string {
	for _, v := range []string{os.Getenv("SUDO_USER"), os.Getenv("USER"), currentUser().name} {
		if v = strings.TrimSpace(v); v != "" {
			return "cli:" + v
		}
	}
	return "cli"
}

func (c *userCommand) audit(action, list, target, detail string) error {
	return c.acc.Audit(c.ctx, accounts.Entry{Actor: c.actor(), Action: action, List: list, Target: target, Detail: detail})
}

// password reads the password from standard input (--password-stdin) or
// generates one; generated tells the caller to print it.
func (c *userCommand) password() (pw string, generated bool, err error) {
	if !c.args.has("--password-stdin") {
		return rand.Text(), true, nil
	}
	line, err := bufio.NewReaderSize(c.stdin, 4096).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", false, err
	}
	pw = strings.TrimRight(line, "\r\n")
	if pw == "" {
		return "", false, errors.New("no password on standard input")
	}
	return pw, false, nil
}

func userAdd(c *userCommand) error {
	if err := c.want(1, 1, "one email address"); err != nil {
		return err
	}
	pw, gen, err := c.password()
	if err != nil {
		return err
	}
	u, err := c.acc.Add(c.ctx, accounts.NewUser{Email: c.args.words[0], Name: c.args.opts["--name"], Password: pw,
		SiteAdmin: c.args.has("--site-admin")})
	if err != nil {
		return err
	}
	detail := ""
	if u.SiteAdmin {
		detail = "site admin"
	}
	if err := c.audit("user.add", "", u.Email, detail); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "added %s%s\n", u.Email, map[bool]string{true: " (site admin)"}[u.SiteAdmin])
	if gen {
		fmt.Fprintf(c.stdout, "password: %s\n", pw)
	}
	return nil
}

func userPasswd(c *userCommand) error {
	if err := c.want(1, 1, "one email address"); err != nil {
		return err
	}
	pw, gen, err := c.password()
	if err != nil {
		return err
	}
	u, err := c.acc.Get(c.ctx, c.args.words[0])
	if err != nil {
		return err
	}
	if err := c.acc.SetPassword(c.ctx, u.Email, pw); err != nil {
		return err
	}
	if err := c.audit("user.passwd", "", u.Email, "password set, sessions ended"); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "password of %s changed; its sessions are ended\n", u.Email)
	if gen {
		fmt.Fprintf(c.stdout, "password: %s\n", pw)
	}
	return nil
}

// userRole grants or revokes site-admin, or a list role.
func userRole(c *userCommand, grant bool) error {
	if err := c.want(2, 3, "EMAIL site-admin | EMAIL owner LIST | EMAIL moderator LIST"); err != nil {
		return err
	}
	u, err := c.acc.Get(c.ctx, c.args.words[0])
	if err != nil {
		return fmt.Errorf("%w (add it with posthorn user add)", err)
	}
	action := map[bool]string{true: "user.grant", false: "user.revoke"}[grant]
	role := strings.ToLower(c.args.words[1])
	switch role {
	case "site-admin":
		if len(c.args.words) != 2 {
			return usagef("site-admin takes no list")
		}
		if err := c.acc.SetSiteAdmin(c.ctx, u.Email, grant); err != nil {
			return err
		}
		if err := c.audit(action, "", u.Email, "site-admin"); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "%s: site admin %s\n", u.Email, map[bool]string{true: "granted", false: "revoked"}[grant])
		return nil
	case "owner", "moderator":
		if len(c.args.words) != 3 {
			return usagef("%s needs a list address", role)
		}
	default:
		return usagef("role %q: want site-admin, owner LIST or moderator LIST", c.args.words[1])
	}
	st, err := c.listsStore()
	if err != nil {
		return err
	}
	list := c.args.words[2]
	if grant {
		_, err = st.AddMember(c.ctx, list, lists.NewMember{Address: u.Email, DisplayName: u.Name, Role: lists.Role(role)})
	} else {
		err = st.RemoveMember(c.ctx, list, u.Email, lists.Role(role))
	}
	var ex *lists.ExistsError
	var nf *lists.NotFoundError
	switch {
	case grant && errors.As(err, &ex):
		fmt.Fprintf(c.stdout, "%s is already a%s of %s\n", u.Email, article(role), strings.ToLower(list))
		return nil
	case !grant && errors.As(err, &nf) && nf.What != "list":
		fmt.Fprintf(c.stdout, "%s is not a%s of %s\n", u.Email, article(role), strings.ToLower(list))
		return nil
	case err != nil:
		return err
	}
	if err := c.audit(action, list, u.Email, role); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: %s of %s %s\n", u.Email, role, strings.ToLower(list), map[bool]string{true: "granted", false: "revoked"}[grant])
	return nil
}

func article(role string) string {
	if role == "owner" {
		return "n " + role
	}
	return " " + role
}

// listsStore opens the lists store on the same database.
func (c *userCommand) listsStore() (*lists.Store, error) {
	secret, err := listSecret(secretPath(c.cfg))
	if err != nil {
		return nil, err
	}
	logger := slog.New(slog.NewTextHandler(c.stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	return lists.New(c.ctx, c.db, lists.Options{Secret: secret, Logger: logger})
}

func userDisable(c *userCommand, disable bool) error {
	if err := c.want(1, 1, "one email address"); err != nil {
		return err
	}
	u, err := c.acc.Get(c.ctx, c.args.words[0])
	if err != nil {
		return err
	}
	if err := c.acc.SetDisabled(c.ctx, u.Email, disable); err != nil {
		return err
	}
	action := map[bool]string{true: "user.disable", false: "user.enable"}[disable]
	if err := c.audit(action, "", u.Email, ""); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s %sd\n", u.Email, strings.TrimPrefix(action, "user."))
	return nil
}

func userUnlock(c *userCommand) error {
	if err := c.want(1, 1, "one email address"); err != nil {
		return err
	}
	e := strings.ToLower(strings.TrimSpace(c.args.words[0]))
	if err := c.acc.Unlock(c.ctx, e); err != nil {
		return err
	}
	if err := c.audit("user.unlock", "", e, ""); err != nil {
		return err
	}
	fmt.Fprintf(c.stdout, "%s: login lock lifted\n", e)
	return nil
}

type userOut struct {
	Email     string    `json:"email"`
	Name      string    `json:"name"`
	SiteAdmin bool      `json:"site_admin"`
	Disabled  bool      `json:"disabled"`
	Created   time.Time `json:"created"`
}

func userList(c *userCommand) error {
	if err := c.want(0, 0, "no arguments"); err != nil {
		return err
	}
	all, err := c.acc.List(c.ctx)
	if err != nil {
		return err
	}
	out := make([]userOut, 0, len(all))
	for _, u := range all {
		out = append(out, userOut{Email: u.Email, Name: u.Name, SiteAdmin: u.SiteAdmin, Disabled: u.Disabled, Created: u.Created.UTC()})
	}
	if c.args.has("--json") {
		return writeJSONTo(c.stdout, out)
	}
	if len(out) == 0 {
		fmt.Fprintln(c.stdout, "no users")
		return nil
	}
	tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "EMAIL\tSITE ADMIN\tDISABLED\tCREATED\tNAME")
	for _, u := range out {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Email, yesNo(u.SiteAdmin), yesNo(u.Disabled), formatTime(u.Created), u.Name)
	}
	return tw.Flush()
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// userToken manages API tokens: add EMAIL NAME, list EMAIL, revoke EMAIL ID.
func userToken(c *userCommand) error {
	w := c.args.words
	if len(w) < 2 {
		return usagef("want token add EMAIL NAME, token list EMAIL or token revoke EMAIL ID")
	}
	u, err := c.acc.Get(c.ctx, w[1])
	if err != nil {
		return err
	}
	switch {
	case w[0] == "add" && len(w) == 3:
		tok, err := c.acc.NewAPIToken(c.ctx, u.ID, w[2])
		if err != nil {
			return err
		}
		if err := c.audit("token.add", "", u.Email, w[2]); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "token for %s (%s), shown only now:\n%s\n", u.Email, w[2], tok)
		return nil
	case w[0] == "list" && len(w) == 2:
		infos, err := c.acc.APITokens(c.ctx, u.ID)
		if err != nil {
			return err
		}
		tw := tabwriter.NewWriter(c.stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tNAME\tCREATED\tLAST USED\tREVOKED")
		for _, t := range infos {
			fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\n", t.ID, t.Name, formatTime(t.Created), formatTime(t.LastUsed), yesNo(t.Revoked))
		}
		return tw.Flush()
	case w[0] == "revoke" && len(w) == 3:
		id, err := strconv.ParseInt(w[2], 10, 64)
		if err != nil {
			return usagef("token id %q: want a number from posthorn user token list", w[2])
		}
		if err := c.acc.RevokeAPIToken(c.ctx, u.ID, id); err != nil {
			return err
		}
		if err := c.audit("token.revoke", "", u.Email, w[2]); err != nil {
			return err
		}
		fmt.Fprintf(c.stdout, "token %d of %s revoked\n", id, u.Email)
		return nil
	}
	return usagef("want token add EMAIL NAME, token list EMAIL or token revoke EMAIL ID")
}
