package test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/smtperr"
	"github.com/posthorn/posthorn/internal/testutil"
)

// TestListBounceDisablesMember: the upstream refuses one member. The
// relay's bounce goes back to that member's VERP address on the list, the
// list server scores it, and at the threshold it mails the member a probe
// (lists.bounce_probes is on by default); the upstream refuses that too, its
// bounce comes back to the probe's address and the member's delivery is
// disabled; the other member keeps getting posts and the owner is told.
func TestListBounceDisablesMember(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.SetScript(testutil.Script{Rcpt: func(r string) error {
		if r == "gone@example.net" {
			return smtperr.New(550, [3]int{5, 1, 1}, "no such mailbox")
		}
		return nil
	}})
	up.Start()
	p := startPosthorn(t, relayConfig{Upstreams: []string{up.Addr()},
		Extra: "\n[lists]\ndomains = [\"lists.test\"]\nsite_url = \"https://lists.test\"\nbounce_threshold = 1\n"})
	const list = "ops-l@lists.test"
	p.cli(t, "lists", "create", list)
	p.cli(t, "members", "add", list, "alice@example.net", "gone@example.net")
	p.cli(t, "members", "add", list, "--role", "owner", "owner@example.net")

	if err := sendMessage(p.Addr, "alice@example.net", list, "Subject: first\r\nFrom: alice@example.net\r\nTo: "+list+"\r\n\r\nhello\r\n"); err != nil {
		t.Fatal(err)
	}
	// alice's copy, then the owner's notice once gone@ is disabled.
	deadline := time.Now().Add(30 * time.Second)
	var state string
	for time.Now().Before(deadline) {
		state = memberDelivery(t, p, list, "gone@example.net")
		if state == "disabled-bounce" {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if state != "disabled-bounce" {
		t.Fatalf("gone@example.net delivery is %q after the bounce, want disabled-bounce (%d messages at the upstream)", state, len(up.Messages()))
	}
	// Disabled by the probe's bounce (logged just after the change).
	var probed bool
	for i := 0; i < 200 && !probed; i++ {
		log, err := os.ReadFile(p.LogFile)
		if err != nil {
			t.Fatal(err)
		}
		if probed = strings.Contains(string(log), "the probe bounced"); !probed {
			time.Sleep(50 * time.Millisecond)
		}
	}
	if !probed {
		t.Fatalf("not disabled by a probe's bounce:\n%s", p.logTail(20))
	}
	if s := memberDelivery(t, p, list, "alice@example.net"); s != "enabled" {
		t.Fatalf("alice's delivery is %q", s)
	}
	var toOwner bool
	for range 200 {
		for _, m := range up.Messages() {
			if len(m.Rcpts) == 1 && m.Rcpts[0] == "owner@example.net" && strings.Contains(string(m.Data), "gone@example.net") {
				toOwner = true
			}
		}
		if toOwner {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !toOwner {
		t.Fatal("the owner was not told that gone@example.net was disabled")
	}

	// The next post goes to alice only.
	before := len(up.Messages())
	if err := sendMessage(p.Addr, "alice@example.net", list, "Subject: second\r\nFrom: alice@example.net\r\nTo: "+list+"\r\n\r\nagain\r\n"); err != nil {
		t.Fatal(err)
	}
	got := up.Wait(t, before+1, 20*time.Second)
	for _, m := range got[before:] {
		if strings.Contains(string(m.Data), "Subject: [ops-l] second") || strings.Contains(string(m.Data), "Subject: second") {
			if m.Rcpts[0] != "alice@example.net" {
				t.Fatalf("second post went to %v", m.Rcpts)
			}
		}
	}
}

func memberDelivery(t *testing.T, p *posthorn, list, addr string) string {
	t.Helper()
	var ms []struct {
		Address  string `json:"address"`
		Delivery string `json:"delivery"`
	}
	if err := json.Unmarshal([]byte(p.cli(t, "members", "list", list, "--json")), &ms); err != nil {
		t.Fatal(err)
	}
	for _, m := range ms {
		if m.Address == addr {
			return m.Delivery
		}
	}
	return ""
}
