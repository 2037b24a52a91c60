package listserv

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/mail"
	"path/filepath"
	"strings"
	"testing"

	"github.com/posthorn/posthorn/internal/courier"
	"github.com/posthorn/posthorn/internal/lists"
	"github.com/posthorn/posthorn/internal/spool"
)

// spoolSubmit writes to a real spool, as the daemon's queue does.
func spoolSubmit(t testing.TB) (*spool.Store, SubmitFunc) {
	t.Helper()
	sp, err := spool.Open(filepath.Join(t.TempDir(), "spool"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sp.Close() })
	return sp, func(env *spool.Envelope, body io.Reader) (string, error) {
		w, err := sp.Create(env)
		if err != nil {
			return "", err
		}
		if _, err := io.Copy(w, body); err != nil {
			w.Abort()
			return "", err
		}
		m, err := w.Commit()
		if err != nil {
			return "", err
		}
		return m.Env.ID, nil
	}
}

func TestDistributionIntoRealSpool(t *testing.T) {
	t.Parallel()
	var sp *spool.Store
	f := newFixture(t, func(o *Options) {
		sp, o.Submit = spoolSubmit(t)
	})
	var members []lists.NewMember
	for i := range 20 {
		members = append(members, lists.NewMember{Address: fmt.Sprintf("m%02d@example.org", i)})
	}
	if _, err := f.db.AddMembers(context.Background(), testList, members); err != nil {
		t.Fatal(err)
	}
	mustOK(t, f.deliver(t, "m00@example.org", []string{testList}, postLines("m00@example.org", "x", "<sp1@example.org>")...))
	files := 0
	seen := map[string]bool{}
	err := sp.Scan(false, func(r spool.ScanResult) {
		if r.Err != nil {
			t.Errorf("scan: %v", r.Err)
			return
		}
		files++
		m := r.Msg
		if m.Env.Personal != testList || m.Env.From != lists.CompanionAddress(testList, lists.AddrBounces) {
			t.Errorf("envelope %+v, want a personalized post from the bounces address", m.Env)
		}
		body, err := sp.OpenBody(m)
		if err != nil {
			t.Fatal(err)
		}
		defer body.Close()
		raw, err := io.ReadAll(io.NewSectionReader(body, 0, m.BodyLen))
		if err != nil {
			t.Fatal(err)
		}
		msg, err := mail.ReadMessage(bytes.NewReader(raw))
		if err != nil || msg.Header.Get("List-Id") == "" || msg.Header.Get("List-Unsubscribe") != "" {
			t.Errorf("spooled post (shared by all members, no member's link): %v\n%s", err, raw)
		}
		for _, rcpt := range m.Env.Rcpts {
			seen[rcpt] = true
			from, head, err := f.srv.Personalize(&m.Env, rcpt)
			if err != nil {
				t.Fatal(err)
			}
			cp, err := mail.ReadMessage(bytes.NewReader(append(head, raw...)))
			if err != nil || from != lists.BounceAddress(testList, rcpt) ||
				!strings.Contains(cp.Header.Get("List-Unsubscribe"), "token=") || cp.Header.Get("List-Id") == "" {
				t.Errorf("copy for %s from %s: %v\n%s", rcpt, from, err, head)
			}
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if files != 1 || len(seen) != 20 {
		t.Fatalf("%d spool files for %d members, want 1 for 20", files, len(seen))
	}
}

// BenchmarkFanout measures one post to a list of 1,000 and of 100,000
// members, accepted and handed to a real spool (one fsynced file per page
// of 1,000 members): the time per op is the time per post.
func BenchmarkFanout(b *testing.B) {
	for _, n := range []int{1000, 100_000} {
		b.Run(fmt.Sprintf("members=%d", n), func(b *testing.B) {
			var sp *spool.Store
			f := newFixture(b, func(o *Options) { sp, o.Submit = spoolSubmit(b) })
			members := make([]lists.NewMember, n)
			for i := range members {
				members[i] = lists.NewMember{Address: fmt.Sprintf("m%06d@example.org", i)}
			}
			if _, err := f.db.AddMembers(context.Background(), testList, members); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				raw := []byte(strings.Join(postLines("m000000@example.org", "x", fmt.Sprintf("<bench%d@example.org>", i)), "\r\n"))
				res := f.srv.Deliver(context.Background(), &courier.Message{ID: "Q", From: "m000000@example.org",
					Rcpts: []string{testList}, Size: int64(len(raw)), Body: bytes.NewReader(raw)})
				if res[0].Err != nil {
					b.Fatal(res[0].Err)
				}
			}
			b.StopTimer()
			b.ReportMetric(float64(b.N*n)/b.Elapsed().Seconds(), "members/s")
			files := 0
			if err := sp.Scan(false, func(spool.ScanResult) { files++ }); err != nil {
				b.Fatal(err)
			}
			if want := b.N * ((n + pageSize - 1) / pageSize); files != want {
				b.Fatalf("%d spool files, want %d", files, want)
			}
		})
	}
}
