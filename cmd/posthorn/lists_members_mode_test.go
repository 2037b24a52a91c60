package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// memberRows lists cliList's rows with members list --json, by address
// and role.
func memberRows(t *testing.T, cfg string) map[string]memberOut {
	t.Helper()
	var ms []memberOut
	r := membersCLI(t, cfg, "list", cliList, "--json").must(t, 0)
	if err := json.Unmarshal([]byte(r.stdout), &ms); err != nil {
		t.Fatal(err)
	}
	out := map[string]memberOut{}
	for _, m := range ms {
		out[m.Address+" "+m.Role] = m
	}
	return out
}

func TestMembersSetModeAndFormat(t *testing.T) {
	t.Parallel()
	cfg, _ := newListCLI(t)
	membersCLI(t, cfg, "add", cliList, "bob@example.org").must(t, 0)
	membersCLI(t, cfg, "add", cliList, "rob@example.org", "--role", "owner").must(t, 0)
	rows := memberRows(t, cfg)
	if m := rows["ann@example.org member"]; m.Mode != "regular" || m.DigestFormat != "mime" {
		t.Fatalf("ann before: %+v", m)
	}
	if m := rows["rob@example.org owner"]; m.Mode != "" || m.DigestFormat != "" {
		t.Errorf("an owner row shows a mode: %+v", m)
	}

	r := membersCLI(t, cfg, "set", cliList, "ann@example.org", "BOB@example.org", "--mode", "digest", "--digest-format", "Plain").must(t, 0)
	if !strings.Contains(r.stdout, "ann@example.org: mode digest, digest format plain\n") ||
		!strings.Contains(r.stdout, "bob@example.org: mode digest, digest format plain\n") {
		t.Errorf("set:\n%s", r.stdout)
	}
	rows = memberRows(t, cfg)
	for _, a := range []string{"ann@example.org", "bob@example.org"} {
		if m := rows[a+" member"]; m.Mode != "digest" || m.DigestFormat != "plain" {
			t.Errorf("%s after set: %+v", a, m)
		}
	}
	// One option alone leaves the other.
	membersCLI(t, cfg, "set", cliList, "ann@example.org", "--mode=regular").must(t, 0)
	membersCLI(t, cfg, "set", cliList, "bob@example.org", "--digest-format", "mime").must(t, 0)
	rows = memberRows(t, cfg)
	if m := rows["ann@example.org member"]; m.Mode != "regular" || m.DigestFormat != "plain" {
		t.Errorf("ann after --mode: %+v", m)
	}
	if m := rows["bob@example.org member"]; m.Mode != "digest" || m.DigestFormat != "mime" {
		t.Errorf("bob after --digest-format: %+v", m)
	}
	r = membersCLI(t, cfg, "list", cliList).must(t, 0)
	if !strings.Contains(r.stdout, "MODE") || !strings.Contains(r.stdout, "digest (mime)") {
		t.Errorf("list text:\n%s", r.stdout)
	}

	// Rows that are not members fail one by one; the others are set.
	r = membersCLI(t, cfg, "set", cliList, "rob@example.org", "nobody@example.org", "ann@example.org", "--mode", "digest").must(t, 1)
	if !strings.Contains(r.stderr, "rob@example.org: not a member") || !strings.Contains(r.stderr, "nobody@example.org: not a member") ||
		!strings.Contains(r.stderr, "2 of 3 addresses failed") || !strings.Contains(r.stdout, "ann@example.org: mode digest") {
		t.Errorf("set with non-members:\n%s\n%s", r.stdout, r.stderr)
	}
}

func TestMembersSetRefused(t *testing.T) {
	t.Parallel()
	cfg, _ := newListCLI(t)
	for _, c := range []struct {
		args []string
		says string
	}{
		{[]string{"set", cliList, "ann@example.org"}, "say what to set"},
		{[]string{"set", cliList, "--mode", "digest"}, "want a list address and member addresses"},
		{[]string{"set", cliList, "ann@example.org", "--mode", "weekly"}, `--mode "weekly": want regular or digest`},
		{[]string{"set", cliList, "ann@example.org", "--digest-format", "pdf"}, `--digest-format "pdf": want mime or plain`},
		{[]string{"set", cliList, "ann@example.org", "--mode"}, "--mode needs a value"},
	} {
		r := membersCLI(t, cfg, c.args...)
		if r.code != 2 || !strings.Contains(r.stderr, c.says) || !strings.Contains(r.stderr, "usage: posthorn members") {
			t.Errorf("%q: exit %d\n%s", c.args, r.code, r.stderr)
		}
	}
	membersCLI(t, cfg, "set", "nope@lists.example.org", "ann@example.org", "--mode", "digest").must(t, 1)

	// A list that sends no digests refuses digest mode, not the format.
	listsCLI(t, cfg, "set", cliList, "digest_enabled=false", "--reason", "no digests", "--yes").must(t, 0)
	r := membersCLI(t, cfg, "set", cliList, "ann@example.org", "--mode", "digest", "--digest-format", "plain").must(t, 1)
	if !strings.Contains(r.stderr, "does not send digests") {
		t.Errorf("digest on a list without digests:\n%s", r.stderr)
	}
	if m := memberRows(t, cfg)["ann@example.org member"]; m.Mode != "regular" || m.DigestFormat != "mime" {
		t.Errorf("changed by refused commands: %+v", m)
	}
	membersCLI(t, cfg, "set", cliList, "ann@example.org", "--digest-format", "plain").must(t, 0)
}
