package test

import (
	"encoding/json"
	"fmt"
	"github.com/emersion/go-smtp"
	"net"

	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
)

func (p *posthorn) cli(t *testing.T, args ...string) string {
	t.Helper()
	args = append(args[:1:1], append([]string{"--config", p.Config}, args[1:]...)...)
	out, errb, err := p.run(nil, args...)
	if err != nil {
		t.Fatalf("posthorn %s: %v\n%s%s", strings.Join(args, " "), err, out, errb)
	}
	return string(out)
}

// TestListPostThroughDaemon: a member's post to a list is distributed to
// every member with the list headers and a VERP sender, through the
// relay; a stranger's post is held and the owner and sender told.
func TestListPostThroughDaemon(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.Start()
	p := startPosthorn(t, relayConfig{Upstreams: []string{up.Addr()},
		Extra: "\n[lists]\ndomains = [\"lists.test\"]\nsite_url = \"https://lists.test\"\n"})
	p.cli(t, "lists", "create", "wikitech-l@lists.test", "--display-name", "Wikitech")
	p.cli(t, "members", "add", "wikitech-l@lists.test", "alice@example.net", "bob@example.net")
	p.cli(t, "members", "add", "wikitech-l@lists.test", "--role", "owner", "owner@example.net")

	if err := sendMessage(p.Addr, "alice@example.net", "wikitech-l@lists.test", "Subject: hello list\r\nFrom: alice@example.net\r\nTo: wikitech-l@lists.test\r\n\r\nhi all\r\n"); err != nil {
		t.Fatal(err)
	}
	got := up.Wait(t, 2, 20*time.Second)
	rcpts := map[string]bool{}
	for _, m := range got {
		if len(m.Rcpts) != 1 {
			t.Fatalf("a list copy with %d recipients", len(m.Rcpts))
		}
		rcpts[m.Rcpts[0]] = true
		data := string(m.Data)
		for _, want := range []string{"List-Id: ", "List-Unsubscribe: ", "List-Unsubscribe-Post: List-Unsubscribe=One-Click", "List-Post: <mailto:wikitech-l@lists.test>", "Subject: [wikitech-l] hello list"} {
			if !strings.Contains(data, want) {
				t.Errorf("copy to %s lacks %q:\n%s", m.Rcpts[0], want, data)
			}
		}
		if !strings.HasPrefix(m.From, "wikitech-l-bounces+") || !strings.HasSuffix(m.From, "@lists.test") {
			t.Errorf("envelope sender %q is not the list's VERP bounce address", m.From)
		}
	}
	if !rcpts["alice@example.net"] || !rcpts["bob@example.net"] {
		t.Fatalf("copies went to %v, want alice and bob (the owner is not a member)", rcpts)
	}

	// A stranger's post is held: the sender and the owner are told, no
	// member gets it.
	if err := sendMessage(p.Addr, "stranger@example.com", "wikitech-l@lists.test", "Subject: buy now\r\nFrom: stranger@example.com\r\nTo: wikitech-l@lists.test\r\n\r\nspam\r\n"); err != nil {
		t.Fatal(err)
	}
	got = up.Wait(t, 4, 20*time.Second)
	told := map[string]bool{}
	for _, m := range got[2:] {
		told[m.Rcpts[0]] = true
		if strings.Contains(string(m.Data), "\r\n\r\nspam") {
			t.Errorf("the held post itself went out to %v", m.Rcpts)
		}
	}
	if !told["stranger@example.com"] || !told["owner@example.net"] {
		t.Fatalf("notices went to %v, want the sender and the owner", told)
	}
	// A moderator approves it through the daemon: then the members get it.
	var held []struct {
		ID     int64  `json:"id"`
		Sender string `json:"sender"`
		Rule   string `json:"rule"`
	}
	if err := json.Unmarshal([]byte(p.cli(t, "held", "wikitech-l@lists.test", "--json")), &held); err != nil {
		t.Fatal(err)
	}
	if len(held) != 1 || held[0].Sender != "stranger@example.com" || held[0].Rule != "nonmember-moderation" {
		t.Fatalf("held posts %+v", held)
	}
	out := p.cli(t, "held", "approve", "wikitech-l@lists.test", fmt.Sprint(held[0].ID), "--reason", "looks fine")
	if !strings.Contains(out, "done") {
		t.Fatalf("approve: %s", out)
	}
	got = up.Wait(t, 6, 20*time.Second)
	approved := map[string]bool{}
	for _, m := range got[4:] {
		if strings.Contains(string(m.Data), "\r\n\r\nspam") {
			approved[m.Rcpts[0]] = true
		}
	}
	if !approved["alice@example.net"] || !approved["bob@example.net"] {
		t.Fatalf("approved post went to %v, want alice and bob", approved)
	}
	if err := json.Unmarshal([]byte(p.cli(t, "held", "wikitech-l@lists.test", "--json")), &held); err != nil || len(held) != 0 {
		t.Fatalf("still held after approval: %+v (%v)", held, err)
	}

	// An unknown list address is refused at RCPT.
	if err := sendMessage(p.Addr, "alice@example.net", "nolist@lists.test", "Subject: x\r\n\r\nx\r\n"); err == nil || !strings.Contains(err.Error(), "550") {
		t.Fatalf("post to an unknown list: %v, want 550", err)
	}
}

func sendMessage(addr, from, rcpt, data string) error {
	return sendVia("", addr, from, rcpt, data)
}

// sendVia sends one message in its own SMTP session, from the local
// address src ("" = any).
func sendVia(src, addr, from, rcpt, data string) error {
	d := net.Dialer{Timeout: 10 * time.Second}
	if src != "" {
		d.LocalAddr = &net.TCPAddr{IP: net.ParseIP(src)}
	}
	conn, err := d.Dial("tcp", addr)
	if err != nil {
		return err
	}
	c := smtp.NewClient(conn)
	defer c.Close()
	if err := c.Hello("client.test"); err != nil {
		return err
	}
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write([]byte(data)); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
