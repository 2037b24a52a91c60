package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/config"
	"github.com/posthorn/posthorn/internal/lists"
)

func explainCLI(t *testing.T, cfg string, stdin string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := runExplain(append([]string{"--config", cfg}, args...), strings.NewReader(stdin), &out, &errb)
	return cliResult{code, out.String(), errb.String()}
}

func writeMessage(t *testing.T, from, subject string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "post.eml")
	msg := "From: " + from + "\r\nTo: " + cliList + "\r\nSubject: " + subject + "\r\nMessage-ID: <x1@example.org>\r\n\r\nHello.\r\n"
	if err := os.WriteFile(p, []byte(msg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestExplainMemberAndStranger is the 2015 check: with default settings a
// member's post is accepted and a stranger's held, every rule is listed in
// chain order, and nothing is recorded.
func TestExplainMemberAndStranger(t *testing.T) {
	t.Parallel()
	cfg, _ := newListCLI(t)
	r := explainCLI(t, cfg, "", cliList, writeMessage(t, "Ann <ann@example.org>", "deploy")).must(t, 0)
	for _, want := range []string{"poster:         ann@example.org (the From field; member)", "result:         ACCEPT",
		" 1  approved               miss", "member-moderation", "13  suspicious-header"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("member post: output lacks %q:\n%s", want, r.stdout)
		}
	}

	r = explainCLI(t, cfg, "", cliList, writeMessage(t, "eve@example.net", "offer"), "--json").must(t, 0)
	var ex explanation
	if err := json.Unmarshal([]byte(r.stdout), &ex); err != nil {
		t.Fatalf("--json: %v\n%s", err, r.stdout)
	}
	if ex.Action != lists.Hold || ex.Rule != lists.RuleNonmemberModeration || ex.Member || ex.EnvelopeFrom != "eve@example.net" {
		t.Fatalf("stranger: %+v", ex)
	}
	order := lists.RuleOrder()
	if len(ex.Rules) != len(order) {
		t.Fatalf("%d rules listed, want all %d", len(ex.Rules), len(order))
	}
	decided := false
	for i, h := range ex.Rules {
		if h.Rule != order[i] {
			t.Fatalf("rule %d is %s, want %s", i, h.Rule, order[i])
		}
		if h.Decided {
			decided = true
			if h.Rule != lists.RuleNonmemberModeration || !h.Hit || h.Action != lists.Hold {
				t.Fatalf("deciding rule %+v", h)
			}
		} else if decided && h.Reached {
			t.Fatalf("rule %s after the deciding one marked reached", h.Rule)
		}
	}

	// A dry run: no decision was stored.
	c, err := config.Load(cfg)
	if err != nil {
		t.Fatal(err)
	}
	db, st, err := openLists(context.Background(), c.DataDir, secretPath(c), os.Stderr)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if ds, err := st.RecentDecisions(context.Background(), cliList, 10); err != nil || len(ds) != 0 {
		t.Fatalf("explain recorded %d decisions (%v)", len(ds), err)
	}
}

func TestExplainFromStdinAndEnvelopeSender(t *testing.T) {
	t.Parallel()
	cfg, _ := newListCLI(t)
	// From is a stranger but the envelope sender is a member: a member post.
	msg := "From: eve@example.net\r\nSubject: x\r\n\r\nhi\r\n"
	r := explainCLI(t, cfg, msg, cliList, "-", "--from", "ann@example.org").must(t, 0)
	if !strings.Contains(r.stdout, "result:         ACCEPT") || !strings.Contains(r.stdout, "(the envelope sender; member)") {
		t.Fatalf("envelope member:\n%s", r.stdout)
	}
}

func TestExplainErrors(t *testing.T) {
	t.Parallel()
	cfg, _ := newListCLI(t)
	explainCLI(t, cfg, "", cliList).must(t, 2)
	explainCLI(t, cfg, "", cliList, "x", "--rcpts", "0").must(t, 2)
	if r := explainCLI(t, cfg, "", cliList, filepath.Join(t.TempDir(), "missing.eml")).must(t, 1); !strings.Contains(r.stderr, "no such file") {
		t.Errorf("missing file: %s", r.stderr)
	}
	r := explainCLI(t, cfg, "", "nolist@lists.example.org", writeMessage(t, "ann@example.org", "x")).must(t, 0)
	if !strings.Contains(r.stdout, "result:         REJECT") {
		t.Errorf("unknown list:\n%s", r.stdout)
	}
}
