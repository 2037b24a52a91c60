package test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/testutil"
	"github.com/posthorn/posthorn/internal/testutil/postfix"
)

// TestPostsAreArchived: a post distributed by the daemon lands in the
// list's archive as number 1, readable on the web (address obfuscated for
// an anonymous reader) and exported by the CLI with its number; a second
// post gets number 2.
func TestPostsAreArchived(t *testing.T) {
	t.Parallel()
	up := testutil.NewUpstream(t)
	up.Start()
	web := postfix.FreeAddr(t)
	p := startPosthorn(t, relayConfig{Upstreams: []string{up.Addr()}, HTTPListen: web,
		Extra: fmt.Sprintf("\n[lists]\ndomains = [\"lists.test\"]\nsite_url = \"http://%s\"\n", web)})
	list := "wikitech-l@lists.test"
	p.cli(t, "lists", "create", list)
	p.cli(t, "members", "add", list, "alice@example.net", "bob@example.net")

	for i, subject := range []string{"first archived post", "second archived post"} {
		msg := fmt.Sprintf("Subject: %s\r\nFrom: Alice <alice@example.net>\r\nTo: %s\r\nMessage-ID: <arch%d@example.net>\r\n\r\nbody %d\r\n", subject, list, i, i)
		if err := sendMessage(p.Addr, "alice@example.net", list, msg); err != nil {
			t.Fatal(err)
		}
		up.Wait(t, 2*(i+1), 20*time.Second)
	}
	// Archiving follows distribution; wait for the second page.
	base := "http://" + web + "/archive/" + list
	var status int
	var body string
	for i := 0; i < 100; i++ {
		if status, body = httpGet(t, base+"/2"); status == 200 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status != 200 || !strings.Contains(body, "second archived post") {
		t.Fatalf("archive page 2: %d\n%s", status, body)
	}
	status, body = httpGet(t, base+"/1")
	if status != 200 || !strings.Contains(body, "first archived post") {
		t.Fatalf("archive page 1: %d\n%s", status, body)
	}
	if strings.Contains(body, "alice@example.net") {
		t.Errorf("an anonymous reader sees the poster's address")
	}
	out := p.cli(t, "archive", "export", list)
	for _, want := range []string{"X-Posthorn-Archive-Number: 1", "X-Posthorn-Archive-Number: 2", "first archived post", "List-Id: "} {
		if !strings.Contains(out, want) {
			t.Errorf("export lacks %q:\n%s", want, out)
		}
	}
}
