package listserv

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/lists"
)

// bounceCorpus is the expected reading of every file in testdata/bounces:
// the bounced member is dave@example.net, the post's author (a member too)
// ann@example.org.
var bounceCorpus = map[string]bounceClass{
	"postfix-failed.eml":       bounceHard,
	"postfix-delayed.eml":      bounceNone, // delay warning
	"postfix-expired.eml":      bounceSoft, // failed on 4.2.2 after the queue lifetime
	"postfix-relayed.eml":      bounceNone, // success report
	"exim-failed.eml":          bounceHard, // text, X-Failed-Recipients
	"exim-delayed.eml":         bounceNone, // text delay warning
	"exim-delayed-dsn.eml":     bounceNone, // delay warning as a report
	"exchange-failed.eml":      bounceHard,
	"exchange-delivered.eml":   bounceNone,
	"gmail-failed.eml":         bounceHard,
	"qmail-failed.eml":         bounceHard, // text
	"sendmail-failed.eml":      bounceHard,
	"sendmail-text-failed.eml": bounceHard, // text, no report
}

const bouncedMember = "dave@example.net"

// readBounce reads a corpus file with CRLF line ends, as it arrives.
func readBounce(t *testing.T, name string) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "bounces", name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.ReplaceAll(bytes.ReplaceAll(raw, []byte("\r\n"), []byte("\n")), []byte("\n"), []byte("\r\n"))
}

func TestBounceCorpusComplete(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("testdata", "bounces", "*"))
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, f := range files {
		name := filepath.Base(f)
		seen[name] = true
		if _, ok := bounceCorpus[name]; !ok {
			t.Errorf("%s has no expected class in bounceCorpus", name)
		}
	}
	for name := range bounceCorpus {
		if !seen[name] {
			t.Errorf("%s is missing from testdata/bounces", name)
		}
	}
}

func TestBounceKindCorpus(t *testing.T) {
	t.Parallel()
	for name, want := range bounceCorpus {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			msg, err := parseMessage(readBounce(t, name), "", 1)
			if err != nil {
				t.Fatal(err)
			}
			rep := bounceKind(msg)
			if rep.class != want {
				t.Fatalf("class %s, want %s (detail %q)", rep.class, want, rep.detail)
			}
			if slices.Contains(rep.rcpts, "ann@example.org") {
				t.Errorf("the post's author among the recipients %v", rep.rcpts)
			}
			if want == bounceNone {
				return
			}
			if !slices.Contains(rep.rcpts, bouncedMember) {
				t.Errorf("recipients %v, want %s", rep.rcpts, bouncedMember)
			}
			if rep.detail == "" {
				t.Error("no detail")
			}
		})
	}
}

// TestBounceCorpusScores delivers each bounce twice, on two days: first to
// the plain -bounces address (the member found in the bounce), then to
// the member's VERP address. A hard bounce scores a point each day, a
// soft one half, the others nothing; the author of the post never scores.
func TestBounceCorpusScores(t *testing.T) {
	t.Parallel()
	for name, class := range bounceCorpus {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			f.add(t, bouncedMember, lists.RoleMember, "")
			f.add(t, "ann@example.org", lists.RoleMember, "")
			ctx := context.Background()
			lines := strings.Split(string(readBounce(t, name)), "\r\n")
			mustOK(t, f.deliver(t, "", []string{lists.CompanionAddress(testList, lists.AddrBounces)}, lines...))
			f.clock.Advance(24 * time.Hour)
			mustOK(t, f.deliver(t, "", []string{lists.BounceAddress(testList, bouncedMember)}, lines...))
			want := map[bounceClass]int{bounceNone: 0, bounceSoft: 1, bounceHard: 2}[class]
			if n, err := f.srv.BounceScore(ctx, testList, bouncedMember); err != nil || n != want {
				t.Errorf("score %d (%v), want %d", n, err, want)
			}
			if n, _ := f.srv.BounceScore(ctx, testList, "ann@example.org"); n != 0 {
				t.Errorf("the post's author scored %d", n)
			}
		})
	}
}

func TestBounceSoftAndHardSameDay(t *testing.T) {
	t.Parallel()
	soft := readBounce(t, "postfix-expired.eml")
	hard := readBounce(t, "postfix-failed.eml")
	for _, c := range []struct {
		name  string
		order [][]byte
		want  int
	}{
		{"soft", [][]byte{soft}, 0},
		{"soft twice", [][]byte{soft, soft}, 0},
		{"soft then hard", [][]byte{soft, hard}, 1},
		{"hard then soft", [][]byte{hard, soft}, 1},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := newFixture(t, nil)
			f.add(t, bouncedMember, lists.RoleMember, "")
			for _, raw := range c.order {
				mustOK(t, f.deliver(t, "", []string{lists.BounceAddress(testList, bouncedMember)}, strings.Split(string(raw), "\r\n")...))
			}
			if n, _ := f.srv.BounceScore(context.Background(), testList, bouncedMember); n != c.want {
				t.Fatalf("score %d, want %d", n, c.want)
			}
		})
	}
}

// TestBounceWithoutVERPScoresFailedMembersOnly: one report for two
// members, dave failed and erin delayed, plus a stranger that failed.
func TestBounceWithoutVERPScoresFailedMembersOnly(t *testing.T) {
	t.Parallel()
	f := newFixture(t, func(o *Options) { o.BounceThreshold = 1 })
	f.add(t, "dave@example.net", lists.RoleMember, "")
	f.add(t, "erin@example.net", lists.RoleMember, "")
	f.add(t, "owner@example.org", lists.RoleOwner, "")
	ctx := context.Background()
	mustOK(t, f.deliver(t, "", []string{lists.CompanionAddress(testList, lists.AddrBounces)},
		"From: MAILER-DAEMON@mx.example.net", "To: "+lists.CompanionAddress(testList, lists.AddrBounces),
		"Subject: Delivery report", "MIME-Version: 1.0",
		`Content-Type: multipart/report; report-type=delivery-status; boundary="b"`, "",
		"--b", "Content-Type: text/plain", "", "see below", "",
		"--b", "Content-Type: message/delivery-status", "", "Reporting-MTA: dns; mx.example.net", "",
		"Final-Recipient: rfc822; dave-alias@example.net", "Original-Recipient: rfc822; DAVE@example.net", "Action: failed", "Status: 5.2.1", "",
		"Final-Recipient: rfc822; erin@example.net", "Action: delayed", "Status: 4.4.7", "",
		"Final-Recipient: rfc822; stranger@example.net", "Action: failed", "Status: 5.1.1", "",
		"--b--", ""))
	for addr, want := range map[string]int{"dave@example.net": 1, "erin@example.net": 0, "stranger@example.net": 0} {
		if n, _ := f.srv.BounceScore(ctx, testList, addr); n != want {
			t.Errorf("%s scored %d, want %d", addr, n, want)
		}
	}
	if m, _ := f.db.GetMember(ctx, testList, "dave@example.net", lists.RoleMember); m.Delivery != lists.DeliveryDisabledBounce {
		t.Errorf("dave's delivery %s at the threshold", m.Delivery)
	}
	if len(to(f.rec.take(), "owner@example.org")) != 1 {
		t.Error("owner not told")
	}
}

func TestEnhancedCodes(t *testing.T) {
	t.Parallel()
	for in, want := range map[string][]string{
		"550 5.1.1 no such user":                 {"5.1.1"},
		"452 4.2.2 full; later 4.2.2 again":      {"4.2.2"},
		"host 192.0.2.5 said 550 5.1.10 gone":    {"5.1.10"},
		"version 1.2.3 and 5.6.7.8 are no codes": nil,
		"4.4.1, then 5.0.0.":                     {"4.4.1", "5.0.0"},
		"2.0.0 Ok":                               {"2.0.0"},
		"5.1.1234 is too long":                   nil,
	} {
		if got := enhancedCodes(in); !slices.Equal(got, want) {
			t.Errorf("enhancedCodes(%q) = %v, want %v", in, got, want)
		}
	}
}
