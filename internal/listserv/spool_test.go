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
		o.Concurrency = 4
	})
	var members []lists.NewMember
	for i := range 20 {
		members = append(members, lists.NewMember{Address: fmt.Sprintf("m%02d@example.org", i)})
	}
	if _, err := f.db.AddMembers(context.Background(), testList, members); err != nil {
		t.Fatal(err)
	}
	mustOK(t, f.deliver(t, "m00@example.org", []string{testList}, postLines("m00@example.org", "x", "<sp1@example.org>")...))
	seen := map[string]bool{}
	err := sp.Scan(false, func(r spool.ScanResult) {
		if r.Err != nil {
			t.Errorf("scan: %v", r.Err)
			return
		}
		m := r.Msg
		if len(m.Env.Rcpts) != 1 || m.Env.From != lists.BounceAddress(testList, m.Env.Rcpts[0]) {
			t.Errorf("envelope %+v", m.Env)
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
		if err != nil || msg.Header.Get("List-Id") == "" || !strings.Contains(msg.Header.Get("List-Unsubscribe"), "token=") {
			t.Errorf("spooled message: %v\n%s", err, raw)
		}
		seen[m.Env.Rcpts[0]] = true
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(seen) != 20 {
		t.Fatalf("%d members in the spool, want 20", len(seen))
	}
}

// BenchmarkFanout measures one post to 1,000 members submitted into a real
// spool (one fsynced file per member).
func BenchmarkFanout(b *testing.B) {
	for _, conc := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("concurrency=%d", conc), func(b *testing.B) {
			f := newFixture(b, func(o *Options) {
				_, o.Submit = spoolSubmit(b)
				o.Concurrency = conc
			})
			var members []lists.NewMember
			for i := range 1000 {
				members = append(members, lists.NewMember{Address: fmt.Sprintf("m%04d@example.org", i)})
			}
			if _, err := f.db.AddMembers(context.Background(), testList, members); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for i := range b.N {
				raw := []byte(strings.Join(postLines("m0000@example.org", "x", fmt.Sprintf("<bench%d@example.org>", i)), "\r\n"))
				res := f.srv.Deliver(context.Background(), &courier.Message{ID: "Q", From: "m0000@example.org",
					Rcpts: []string{testList}, Size: int64(len(raw)), Body: bytes.NewReader(raw)})
				if res[0].Err != nil {
					b.Fatal(res[0].Err)
				}
			}
			b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "copies/s")
		})
	}
}
