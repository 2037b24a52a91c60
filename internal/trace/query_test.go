package trace

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/store"
)

const (
	qid1    = "3f2a9c1e0b7d4a6f8e9d0c1b2a3f4e5d"
	notice1 = "9999999999999999aaaaaaaaaaaaaaaa"
	qid2    = "3f2a9c1e77777777777777777777777a"
)

func lookup(t *testing.T, r *Reader, q Query) []Message {
	t.Helper()
	ms, err := r.Lookup(context.Background(), q)
	if err != nil {
		t.Fatalf("Lookup(%+v): %v", q, err)
	}
	return ms
}

func kinds(m Message) string {
	var k []string
	for _, e := range m.Events {
		s := e.Kind
		if e.QueueID != m.QueueID {
			s += "*"
		}
		k = append(k, s)
	}
	return strings.Join(k, ",")
}

func TestLookupByEachKeyShowsWholeHistory(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"one write", "a write per event"} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			st, _ := openTest(t, Options{})
			var sink maillog.Sink = st
			if name == "a write per event" {
				// Every event its own segment: the history is pieced
				// together from many rows.
				sink = maillog.SinkFunc(func(e maillog.Event) { st.Record(e); flush(t, st) })
			}
			history(sink, qid1, notice1, t0)
			history(sink, qid2, "", t0.Add(time.Hour))
			sink.Record(maillog.Event{Kind: maillog.Accepted, Time: t0.Add(2 * time.Hour), QueueID: "cccccccccccccccccccccccccccccccc",
				MessageID: "<other@example.org>", Service: "sentry", From: "noreply@sentry.example"})
			flush(t, st)
			checkEachKey(t, st)
		})
	}
}

func checkEachKey(t *testing.T, st *Store) {

	const want = "accepted,deferred,delivered,bounced,notice,removed,delivered*,removed*"
	for _, q := range []Query{
		{QueueID: qid1},
		{Text: qid1},
		{Text: strings.ToUpper(qid1)},
		{Text: notice1}, // a notice shows the message that caused it
		{MessageID: "<" + qid1 + "@example.org>"},
		{Text: qid1 + "@example.org"},
		{Text: "<" + qid1 + "@example.org>"},
		{Text: "bob@far.example", To: t0.Add(30 * time.Minute)},
		{Address: "BOB@FAR.example", From: t0.Add(-time.Minute), To: t0.Add(10 * time.Minute)},
		{Text: "alice@near.example", To: t0.Add(30 * time.Minute)},
		{Address: "review@example.org", To: t0.Add(30 * time.Minute)}, // the sender, without case
		{Service: "gerrit", To: t0.Add(30 * time.Minute)},
	} {
		ms := lookup(t, st.Reader, q)
		if len(ms) != 1 {
			t.Errorf("%+v: %d messages, want 1", q, len(ms))
			continue
		}
		m := ms[0]
		if got := kinds(m); got != want {
			t.Errorf("%+v: events %s, want %s", q, got, want)
		}
		if m.QueueID != qid1 || m.MessageID != "<"+qid1+"@example.org>" || m.Service != "gerrit" ||
			m.Sender != "Review@Example.org" || len(m.Notices) != 1 || m.Notices[0] != notice1 {
			t.Errorf("%+v: message %+v", q, m)
		}
		if !m.First.Equal(t0) || !m.Last.Equal(t0.Add(time.Minute+2*time.Second)) {
			t.Errorf("%+v: first %v last %v", q, m.First, m.Last)
		}
	}

	// Fields survive the round trip.
	m := lookup(t, st.Reader, Query{QueueID: qid1})[0]
	acc, def, del := m.Events[0], m.Events[1], m.Events[2]
	if acc.Client != "10.0.0.5" || acc.Rcpts != 2 || acc.Size != 1234 || !acc.Time.Equal(t0) {
		t.Errorf("accepted %+v", acc)
	}
	if def.Rcpt != "bob@far.example" || def.Upstream != "mx1:25" || def.Reply != "451 4.7.1 later" ||
		def.Attempts != 1 || !def.Next.Equal(t0.Add(time.Minute)) {
		t.Errorf("deferred %+v", def)
	}
	if del.DelayMS != 2000 || del.Reply != "250 2.0.0 ok" {
		t.Errorf("delivered %+v", del)
	}
}

func TestLookupPrefixAndAddressGrouping(t *testing.T) {
	t.Parallel()
	st, _ := openTest(t, Options{})
	history(st, qid1, notice1, t0)
	history(st, qid2, "", t0.Add(time.Hour))
	flush(t, st)

	// Both share the 8-digit prefix; oldest first.
	ms := lookup(t, st.Reader, Query{Text: qid1[:8]})
	if len(ms) != 2 || ms[0].QueueID != qid1 || ms[1].QueueID != qid2 {
		t.Fatalf("prefix: %d messages %+v", len(ms), ms)
	}
	if ms := lookup(t, st.Reader, Query{Text: qid2[:12]}); len(ms) != 1 || ms[0].QueueID != qid2 {
		t.Fatalf("longer prefix: %+v", ms)
	}
	// Too short to be a prefix.
	if ms := lookup(t, st.Reader, Query{Text: qid1[:7]}); len(ms) != 0 {
		t.Fatalf("7-digit prefix matched %d", len(ms))
	}
	// The sender of both, grouped per message though it is on many events.
	ms = lookup(t, st.Reader, Query{Address: "review@example.org"})
	if len(ms) != 2 || ms[0].QueueID != qid1 || ms[1].QueueID != qid2 {
		t.Fatalf("by sender: %+v", ms)
	}
	// The window picks one; Limit keeps the newest.
	ms = lookup(t, st.Reader, Query{Address: "review@example.org", From: t0.Add(30 * time.Minute)})
	if len(ms) != 1 || ms[0].QueueID != qid2 {
		t.Fatalf("windowed: %+v", ms)
	}
	ms = lookup(t, st.Reader, Query{Address: "review@example.org", Limit: 1})
	if len(ms) != 1 || ms[0].QueueID != qid2 {
		t.Fatalf("limit 1: %+v", ms)
	}
	if ms := lookup(t, st.Reader, Query{Address: "review@example.org", Service: "sentry"}); len(ms) != 0 {
		t.Fatalf("service filter let %d through", len(ms))
	}
	if ms := lookup(t, st.Reader, Query{Service: "gerrit"}); len(ms) != 2 {
		t.Fatalf("by service: %d", len(ms))
	}
	if ms := lookup(t, st.Reader, Query{Text: "nobody@nowhere.example"}); len(ms) != 0 {
		t.Fatalf("unknown address matched %d", len(ms))
	}
}

func TestLookupListAndRejections(t *testing.T) {
	t.Parallel()
	st, _ := openTest(t, Options{})
	st.Record(maillog.Event{Kind: maillog.Decision, Time: t0, QueueID: qid1, MessageID: "<post@x>", From: "m@x",
		List: "dev", Action: "hold", Rules: []string{"nonmember"}})
	st.Record(maillog.Event{Kind: maillog.Held, Time: t0.Add(time.Second), QueueID: qid1, From: "m@x", List: "dev"})
	st.Record(maillog.Event{Kind: maillog.Rejected, Time: t0.Add(time.Minute), Client: "192.0.2.1", From: "m@x",
		Stage: "rcpt", Reply: "550 relay denied"})
	flush(t, st)
	ms := lookup(t, st.Reader, Query{List: "DEV"})
	if len(ms) != 1 || kinds(ms[0]) != "decision,held" || ms[0].Events[0].Rules[0] != "nonmember" {
		t.Fatalf("by list: %+v", ms)
	}
	ms = lookup(t, st.Reader, Query{Address: "m@x"})
	if len(ms) != 2 || ms[1].QueueID != "" || ms[1].Events[0].Reply != "550 relay denied" {
		t.Fatalf("by address with a rejection: %+v", ms)
	}
	var qe *QueryError
	if _, err := st.Lookup(context.Background(), Query{}); !errors.As(err, &qe) {
		t.Fatalf("empty query: %v", err)
	}
}

func TestReadOnlyHandleSeesFlushedEvents(t *testing.T) {
	t.Parallel()
	st, path := openTest(t, Options{})
	ro, err := store.Open(path, store.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer ro.Close()
	r := NewReader(ro)
	if ms := lookup(t, r, Query{QueueID: qid1}); len(ms) != 0 {
		t.Fatalf("found %d before recording", len(ms))
	}
	history(st, qid1, notice1, t0)
	if ms := lookup(t, r, Query{QueueID: qid1}); len(ms) != 0 {
		t.Fatalf("found %d before flush", len(ms))
	}
	flush(t, st)
	if ms := lookup(t, r, Query{QueueID: qid1}); len(ms) != 1 || len(ms[0].Events) != 8 {
		t.Fatalf("after flush: %+v", ms)
	}
}
