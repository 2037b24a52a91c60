package main

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/accounts"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/store"
)

func userCLI(t *testing.T, cfg, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	var code int
	if stdin == "" {
		code = runUser(append([]string{"--config", cfg}, args...), &out, &errb)
	} else {
		code = runUserIO(append([]string{"--config", cfg}, args...), strings.NewReader(stdin), &out, &errb)
	}
	return cliResult{code, out.String(), errb.String()}
}

// openTestAccounts opens the accounts store of a test data directory.
func openTestAccounts(t *testing.T, dataDir string) *accounts.Store {
	t.Helper()
	db, err := store.Open(filepath.Join(dataDir, "posthorn.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	acc, err := accounts.New(context.Background(), db, accounts.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return acc
}

func TestUserAddPasswdList(t *testing.T) {
	t.Parallel()
	cfg, dataDir := testConfig(t, "")
	ctx := context.Background()
	r := userCLI(t, cfg, "", "add", "Ann@Example.org", "--name", "Ann Example", "--site-admin").must(t, 0)
	_, pw, ok := strings.Cut(r.stdout, "password: ")
	pw = strings.TrimSpace(pw)
	if !ok || len(pw) < 20 || !strings.Contains(r.stdout, "added ann@example.org (site admin)") {
		t.Fatalf("add: %q", r.stdout)
	}
	acc := openTestAccounts(t, dataDir)
	if _, err := acc.Authenticate(ctx, "ann@example.org", pw, ""); err != nil {
		t.Fatalf("generated password does not log in: %v", err)
	}
	userCLI(t, cfg, "", "add", "ann@example.org").must(t, 1)
	if r := userCLI(t, cfg, "short\n", "add", "bob@example.org", "--password-stdin").must(t, 1); !strings.Contains(r.stderr, "at least 10") {
		t.Errorf("short password: %s", r.stderr)
	}
	r = userCLI(t, cfg, "bobs long password\nignored\n", "add", "bob@example.org", "--password-stdin").must(t, 0)
	if strings.Contains(r.stdout, "password:") {
		t.Errorf("a password from stdin was printed: %s", r.stdout)
	}
	if _, err := acc.Authenticate(ctx, "bob@example.org", "bobs long password", ""); err != nil {
		t.Fatalf("stdin password: %v", err)
	}

	// passwd ends the sessions.
	u, _ := acc.Get(ctx, "bob@example.org")
	tok, _, _ := acc.NewSession(ctx, u.ID, "")
	userCLI(t, cfg, "a brand new password\r\n", "passwd", "BOB@example.org", "--password-stdin").must(t, 0)
	if _, err := acc.Authenticate(ctx, "bob@example.org", "a brand new password", ""); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if _, _, err := acc.Session(ctx, tok); err == nil {
		t.Error("session survived passwd")
	}
	userCLI(t, cfg, "", "passwd", "carol@example.org").must(t, 1)

	var all []userOut
	r = userCLI(t, cfg, "", "list", "--json").must(t, 0)
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Email != "ann@example.org" || !all[0].SiteAdmin || all[0].Name != "Ann Example" || all[1].SiteAdmin {
		t.Fatalf("list: %+v", all)
	}
	if r := userCLI(t, cfg, "", "list").must(t, 0); !strings.Contains(r.stdout, "bob@example.org") {
		t.Errorf("list text: %s", r.stdout)
	}
	userCLI(t, cfg, "", "disable", "bob@example.org").must(t, 0)
	if _, err := acc.Authenticate(ctx, "bob@example.org", "a brand new password", ""); err == nil {
		t.Error("disabled user logged in")
	}
	userCLI(t, cfg, "", "enable", "bob@example.org").must(t, 0)

	es, err := acc.AuditLog(ctx, accounts.Filter{})
	if err != nil || len(es) != 5 || es[4].Action != "user.add" || !strings.HasPrefix(es[4].Actor, "cli") || es[2].Action != "user.passwd" {
		t.Fatalf("audit %v %+v", err, es)
	}
}

func TestUserGrantRevoke(t *testing.T) {
	t.Parallel()
	cfg, dataDir := newListCLI(t)
	ctx := context.Background()
	userCLI(t, cfg, "", "add", "mod@example.org").must(t, 0)
	userCLI(t, cfg, "", "grant", "nobody@example.org", "owner", cliList).must(t, 1)
	userCLI(t, cfg, "", "grant", "mod@example.org", "moderator", cliList).must(t, 0)
	userCLI(t, cfg, "", "grant", "MOD@example.org", "owner", cliList).must(t, 0)
	if r := userCLI(t, cfg, "", "grant", "mod@example.org", "owner", cliList).must(t, 0); !strings.Contains(r.stdout, "already an owner") {
		t.Errorf("twice: %s", r.stdout)
	}
	userCLI(t, cfg, "", "grant", "mod@example.org", "owner", "nosuch@lists.example.org").must(t, 1)
	userCLI(t, cfg, "", "grant", "mod@example.org", "owner").must(t, 2)
	userCLI(t, cfg, "", "grant", "mod@example.org", "emperor", cliList).must(t, 2)
	userCLI(t, cfg, "", "grant", "mod@example.org", "site-admin").must(t, 0)

	r := membersCLI(t, cfg, "list", cliList, "--json").must(t, 0)
	var ms []memberOut
	if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil {
		t.Fatal(err)
	}
	roles := map[string]bool{}
	for _, m := range ms {
		if m.Address == "mod@example.org" {
			roles[m.Role] = true
		}
	}
	if !roles["owner"] || !roles["moderator"] || roles["member"] {
		t.Fatalf("roles %v in %+v", roles, ms)
	}

	userCLI(t, cfg, "", "revoke", "mod@example.org", "moderator", cliList).must(t, 0)
	if r := userCLI(t, cfg, "", "revoke", "mod@example.org", "moderator", cliList).must(t, 0); !strings.Contains(r.stdout, "is not a moderator") {
		t.Errorf("revoke twice: %s", r.stdout)
	}
	userCLI(t, cfg, "", "revoke", "mod@example.org", "site-admin").must(t, 0)

	acc := openTestAccounts(t, dataDir)
	if u, _ := acc.Get(ctx, "mod@example.org"); u.SiteAdmin {
		t.Error("site admin not revoked")
	}
	db, err := store.Open(filepath.Join(dataDir, "posthorn.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := lists.New(ctx, db, lists.Options{Secret: bytes.Repeat([]byte("x"), 32)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := st.GetMember(ctx, cliList, "mod@example.org", lists.RoleModerator); err == nil {
		t.Error("moderator role not revoked")
	}
	if _, err := st.GetMember(ctx, cliList, "mod@example.org", lists.RoleOwner); err != nil {
		t.Errorf("owner role lost: %v", err)
	}
	es, _ := acc.AuditLog(ctx, accounts.Filter{List: cliList})
	if len(es) != 3 || es[0].Action != "user.revoke" || es[0].Target != "mod@example.org" || es[0].Detail != "moderator" {
		t.Errorf("audit %+v", es)
	}
}

func TestUserTokens(t *testing.T) {
	t.Parallel()
	cfg, dataDir := testConfig(t, "")
	userCLI(t, cfg, "", "add", "ann@example.org").must(t, 0)
	r := userCLI(t, cfg, "", "token", "add", "ann@example.org", "nagios").must(t, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	tok := lines[len(lines)-1]
	acc := openTestAccounts(t, dataDir)
	if u, err := acc.APIToken(context.Background(), tok); err != nil || u.Email != "ann@example.org" {
		t.Fatalf("token %q: %v", tok, err)
	}
	if r := userCLI(t, cfg, "", "token", "list", "ann@example.org").must(t, 0); !strings.Contains(r.stdout, "nagios") {
		t.Errorf("token list: %s", r.stdout)
	}
	userCLI(t, cfg, "", "token", "revoke", "ann@example.org", "x").must(t, 2)
	userCLI(t, cfg, "", "token", "revoke", "ann@example.org", "1").must(t, 0)
	if _, err := acc.APIToken(context.Background(), tok); err == nil {
		t.Error("revoked token works")
	}
	userCLI(t, cfg, "", "token", "frobnicate", "ann@example.org").must(t, 2)
}

func TestUserUsage(t *testing.T) {
	t.Parallel()
	cfg, _ := testConfig(t, "")
	userCLI(t, cfg, "").must(t, 2)
	userCLI(t, cfg, "", "bogus").must(t, 2)
	userCLI(t, cfg, "", "add").must(t, 2)
	userCLI(t, cfg, "", "add", "a@example.org", "--frob").must(t, 2)
	if r := userCLI(t, cfg, "", "help").must(t, 0); !strings.Contains(r.stdout, "grant EMAIL") {
		t.Errorf("help: %s", r.stdout)
	}
}
