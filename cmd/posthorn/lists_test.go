package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/lists"
)

const cliList = "wikitech-l@lists.example.org"

type cliResult struct {
	code           int
	stdout, stderr string
}

func listsCLI(t *testing.T, cfg string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := runLists(append([]string{"--config", cfg}, args...), &out, &errb)
	return cliResult{code, out.String(), errb.String()}
}

func membersCLI(t *testing.T, cfg string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := runMembers(append([]string{"--config", cfg}, args...), &out, &errb)
	return cliResult{code, out.String(), errb.String()}
}

// must fails the test unless r exited with code.
func (r cliResult) must(t *testing.T, code int) cliResult {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout: %s\nstderr: %s", r.code, code, r.stdout, r.stderr)
	}
	return r
}

// newListCLI writes a config with a fresh data directory and creates cliList
// with one member.
func newListCLI(t *testing.T) (cfg, dataDir string) {
	t.Helper()
	cfg, dataDir = testConfig(t, "")
	listsCLI(t, cfg, "create", cliList, "--display-name", "Wikitech", "--author", "rob").must(t, 0)
	membersCLI(t, cfg, "add", cliList, "Ann <ann@example.org>").must(t, 0)
	return cfg, dataDir
}

func TestListsCreateListShowDelete(t *testing.T) {
	t.Parallel()
	cfg, dataDir := newListCLI(t)
	r := listsCLI(t, cfg, "create", "WIKITECH-L@lists.example.org").must(t, 1)
	if !strings.Contains(r.stderr, "already exists") {
		t.Errorf("duplicate: %s", r.stderr)
	}
	listsCLI(t, cfg, "create", "analytics@lists.example.org", "--description", "numbers").must(t, 0)

	var all []listSummary
	r = listsCLI(t, cfg, "list", "--json").must(t, 0)
	if err := json.Unmarshal([]byte(r.stdout), &all); err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].Address != "analytics@lists.example.org" || all[1].Members != 1 || all[1].DisplayName != "Wikitech" || all[1].Version != 1 {
		t.Fatalf("list: %+v", all)
	}
	if r := listsCLI(t, cfg, "list").must(t, 0); !strings.Contains(r.stdout, "wikitech-l@lists.example.org  1") {
		t.Errorf("list text:\n%s", r.stdout)
	}

	r = listsCLI(t, cfg, "show", cliList).must(t, 0)
	for _, want := range []string{"default_member_action = \"accept\"", "emergency_moderation = false\n", "banned_addresses = []\n",
		"settings:     version 1", "by rob: list created"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("show lacks %q:\n%s", want, r.stdout)
		}
	}
	var shown struct {
		Address  string         `json:"address"`
		Settings lists.Settings `json:"settings"`
	}
	r = listsCLI(t, cfg, "show", cliList, "--json").must(t, 0)
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil || shown.Settings.DefaultNonmemberAction != lists.Hold {
		t.Fatalf("show --json: %+v %v", shown, err)
	}

	// The site secret was created once, private.
	fi, err := os.Stat(filepath.Join(dataDir, "lists.secret"))
	if err != nil || fi.Mode().Perm() != 0o600 || fi.Size() != 32 {
		t.Fatalf("secret: %v %v", fi, err)
	}

	listsCLI(t, cfg, "delete", cliList).must(t, 2)
	listsCLI(t, cfg, "delete", cliList, "--yes").must(t, 0)
	if r := listsCLI(t, cfg, "show", cliList).must(t, 1); !strings.Contains(r.stderr, "no such list") {
		t.Errorf("after delete: %s", r.stderr)
	}
}

// The 2015 incident through the CLI: holding every member's post is
// refused without --yes, names the rule, changes nothing; with --yes it is
// applied and shows in the history with its author and reason, and a
// restore undoes it.
func TestListsSetHistoryRestore(t *testing.T) {
	t.Parallel()
	cfg, _ := newListCLI(t)

	r := listsCLI(t, cfg, "set", cliList, "default_member_action=hold", "--reason", "moderate everything", "--author", "rob").must(t, 1)
	if !strings.Contains(r.stdout, `default_member_action: "accept" → "hold"`) {
		t.Errorf("no diff shown:\n%s", r.stdout)
	}
	if !strings.Contains(r.stderr, "held by rule member-moderation") || !strings.Contains(r.stderr, "--yes") {
		t.Errorf("no warning:\n%s", r.stderr)
	}
	if r := listsCLI(t, cfg, "show", cliList); !strings.Contains(r.stdout, `default_member_action = "accept"`) {
		t.Fatalf("refused change applied:\n%s", r.stdout)
	}

	r = listsCLI(t, cfg, "set", cliList, "default_member_action=hold", "--reason", "moderate everything", "--author", "rob", "--yes").must(t, 0)
	if !strings.Contains(r.stdout, "settings version 2 by rob: moderate everything") || !strings.Contains(r.stderr, "warning (confirmed)") {
		t.Errorf("confirmed set:\n%s\n%s", r.stdout, r.stderr)
	}
	// A harmless change in the same call as a bad value changes nothing.
	r = listsCLI(t, cfg, "set", cliList, "subject_prefix=", "max_recipients=ten", "--reason", "x", "--author", "rob").must(t, 1)
	if !strings.Contains(r.stderr, "whole number") {
		t.Errorf("bad value: %s", r.stderr)
	}
	listsCLI(t, cfg, "set", cliList, "subject_prefix=[wt]", "--author", "rob").must(t, 2) // no reason

	r = listsCLI(t, cfg, "restore", cliList, "1", "--reason", "members were held", "--author", "john").must(t, 0)
	if !strings.Contains(r.stdout, `"hold" → "accept"`) || !strings.Contains(r.stdout, "settings version 3 by john") {
		t.Errorf("restore:\n%s", r.stdout)
	}
	listsCLI(t, cfg, "restore", cliList, "1", "--reason", "again", "--author", "john").must(t, 0) // no change
	listsCLI(t, cfg, "restore", cliList, "9", "--reason", "x", "--author", "john").must(t, 1)
	listsCLI(t, cfg, "restore", cliList, "two", "--reason", "x").must(t, 2)

	r = listsCLI(t, cfg, "history", cliList).must(t, 0)
	for _, want := range []string{
		"version 1", "by rob: list created",
		"version 2", "by rob: moderate everything", `    default_member_action: "accept" → "hold"`,
		"version 3", "by john (restores version 1): members were held", `    default_member_action: "hold" → "accept"`,
	} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("history lacks %q:\n%s", want, r.stdout)
		}
	}
	var hist []versionOut
	r = listsCLI(t, cfg, "history", cliList, "--json").must(t, 0)
	if err := json.Unmarshal([]byte(r.stdout), &hist); err != nil {
		t.Fatal(err)
	}
	if len(hist) != 3 || hist[1].Author != "rob" || hist[1].Reason != "moderate everything" || hist[2].RestoredFrom != 1 ||
		len(hist[1].Changes) != 1 || hist[1].Changes[0].New != `"hold"` || hist[0].Time.IsZero() {
		t.Fatalf("history --json: %+v", hist)
	}
}

// The author defaults to the administrator behind sudo.
func TestListsSetAuthorFromEnvironment(t *testing.T) {
	t.Setenv("SUDO_USER", "daniel")
	t.Setenv("USER", "root")
	cfg, _ := newListCLI(t)
	listsCLI(t, cfg, "set", cliList, "archive=false", "--reason", "no archive").must(t, 0)
	r := listsCLI(t, cfg, "history", cliList).must(t, 0)
	if !strings.Contains(r.stdout, "by daniel: no archive") {
		t.Fatalf("history:\n%s", r.stdout)
	}
	// Creation too: version 1 of a list created without --author.
	listsCLI(t, cfg, "create", "ops@lists.example.org").must(t, 0)
	r = listsCLI(t, cfg, "history", "ops@lists.example.org").must(t, 0)
	if !strings.Contains(r.stdout, "by daniel: list created") {
		t.Fatalf("history of a new list:\n%s", r.stdout)
	}
}

func TestMembersAddRemoveListExport(t *testing.T) {
	t.Parallel()
	cfg, _ := newListCLI(t)
	r := membersCLI(t, cfg, "add", cliList, "bob@example.org", "ann@example.org", "not-an-address").must(t, 1)
	if !strings.Contains(r.stdout, "added bob@example.org (member)") || !strings.Contains(r.stdout, "ann@example.org: already a member") ||
		!strings.Contains(r.stderr, "not-an-address") {
		t.Errorf("add:\n%s\n%s", r.stdout, r.stderr)
	}
	membersCLI(t, cfg, "add", cliList, "rob@example.org", "--role", "owner").must(t, 0)
	membersCLI(t, cfg, "add", cliList, "x@example.org", "--role", "king").must(t, 2)

	var ms []memberOut
	r = membersCLI(t, cfg, "list", cliList, "--json").must(t, 0)
	if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 || ms[0].Address != "ann@example.org" || ms[0].Name != "Ann" || ms[2].Role != "owner" || ms[0].Delivery != "enabled" {
		t.Fatalf("list: %+v", ms)
	}
	r = membersCLI(t, cfg, "list", cliList, "--search", "BOB").must(t, 0)
	if !strings.Contains(r.stdout, "bob@example.org") || strings.Contains(r.stdout, "ann@") || !strings.Contains(r.stdout, "1 row\n") {
		t.Errorf("search:\n%s", r.stdout)
	}

	r = membersCLI(t, cfg, "export", cliList).must(t, 0)
	recs, err := csv.NewReader(strings.NewReader(r.stdout)).ReadAll()
	if err != nil || len(recs) != 4 || strings.Join(recs[0], ",") != "address,name,role" || strings.Join(recs[1], ",") != "ann@example.org,Ann,member" {
		t.Fatalf("export: %q %v", recs, err)
	}

	r = membersCLI(t, cfg, "remove", cliList, "bob@example.org", "zed@example.org").must(t, 1)
	if !strings.Contains(r.stdout, "removed bob@example.org") || !strings.Contains(r.stderr, "zed@example.org") {
		t.Errorf("remove:\n%s\n%s", r.stdout, r.stderr)
	}
	membersCLI(t, cfg, "remove", cliList, "rob@example.org", "--role", "owner").must(t, 0)
	membersCLI(t, cfg, "list", "nope@lists.example.org").must(t, 1)
}

func TestMembersImport(t *testing.T) {
	t.Parallel()
	cfg, dataDir := newListCLI(t)
	write := func(name, body string) string {
		p := filepath.Join(filepath.Dir(dataDir), name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	bad := write("bad.csv", "address,name,role\n"+
		"bob@example.org,Bob\n"+
		"not an address\n"+
		"carol@example.org,Carol,queen\n"+
		"dan@example.org,Dan,member,extra\n"+
		"fr\"ed@example.org,Fred\n")
	r := membersCLI(t, cfg, "import", cliList, bad).must(t, 1)
	for _, want := range []string{"line 3: invalid address \"not an address\"", "line 4: role \"queen\"", "line 5: 4 columns", "line 6: bare \"", "4 problems, nothing imported"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("import problems lack %q:\n%s", want, r.stderr)
		}
	}
	if n := countMembers(t, dataDir); n != 1 {
		t.Fatalf("a bad file imported %d members", n-1)
	}

	good := write("good.csv", "# exported from mailman\n"+
		"bob@example.org,Bob\n"+
		"ann@example.org\n"+
		"\"\"\"Evans, Carol\"\" <carol@example.org>\",,moderator\n"+
		"dan@example.org, Dan , owner\n")
	r = membersCLI(t, cfg, "import", cliList, good).must(t, 0)
	if !strings.Contains(r.stdout, "line 3: ann@example.org: already a member, skipped") || !strings.Contains(r.stdout, "3 added, 1 already present") {
		t.Errorf("import:\n%s\n%s", r.stdout, r.stderr)
	}
	var ms []memberOut
	r = membersCLI(t, cfg, "list", cliList, "--json").must(t, 0)
	if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, m := range ms {
		got[m.Address] = m.Role + "/" + m.Name
	}
	want := map[string]string{"ann@example.org": "member/Ann", "bob@example.org": "member/Bob",
		"carol@example.org": "moderator/Evans, Carol", "dan@example.org": "owner/Dan"}
	if len(got) != len(want) {
		t.Fatalf("members: %v", got)
	}
	for a, w := range want {
		if got[a] != w {
			t.Errorf("%s: %q, want %q", a, got[a], w)
		}
	}
	membersCLI(t, cfg, "import", cliList, filepath.Join(dataDir, "missing.csv")).must(t, 1)
}

func countMembers(t *testing.T, dataDir string) int {
	t.Helper()
	db, st, err := openLists(context.Background(), dataDir, filepath.Join(dataDir, listSecretFile), &bytes.Buffer{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	n, err := st.CountMembers(context.Background(), cliList, "")
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestListsUsage(t *testing.T) {
	t.Parallel()
	cfg, _ := testConfig(t, "")
	for _, args := range [][]string{
		{},
		{"frobnicate"},
		{"show"},
		{"show", "a@b", "c@d"},
		{"list", "--colour"},
		{"set", cliList},
		{"set", cliList, "archive", "--reason", "x"},
		{"create", "--display-name"},
	} {
		var out, errb bytes.Buffer
		if code := runLists(append([]string{"--config", cfg}, args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: posthorn lists") {
			t.Errorf("lists %q: exit %d\n%s", args, code, errb.String())
		}
	}
	var out, errb bytes.Buffer
	if code := runMembers([]string{"--config", cfg, "add", cliList}, &out, &errb); code != 2 || !strings.Contains(errb.String(), "usage: posthorn members") {
		t.Errorf("members add without addresses: exit %d\n%s", code, errb.String())
	}
	if code := runLists([]string{"--config", filepath.Join(t.TempDir(), "none.toml"), "list"}, &out, &errb); code != 1 {
		t.Errorf("missing config: exit %d", code)
	}
}

func TestListSecretIsStable(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "data")
	a, err := listSecret(filepath.Join(dir, listSecretFile))
	if err != nil {
		t.Fatal(err)
	}
	b, err := listSecret(filepath.Join(dir, listSecretFile))
	if err != nil || !bytes.Equal(a, b) || len(a) != 32 {
		t.Fatalf("second read: %x vs %x, %v", a, b, err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".lists.secret-*")); len(left) != 0 {
		t.Fatalf("temporary files left: %v", left)
	}
	// A truncated secret is an error, not silently replaced.
	if err := os.WriteFile(filepath.Join(dir, "lists.secret"), []byte("short"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listSecret(filepath.Join(dir, listSecretFile)); err == nil || !strings.Contains(err.Error(), "need at least 16") {
		t.Fatalf("short secret: %v", err)
	}
}
