package trace

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/maillog"
)

func TestCodecRoundTrip(t *testing.T) {
	t.Parallel()
	base := t0.UnixNano()
	in := []maillog.Event{
		{Kind: maillog.Accepted, Time: t0, QueueID: "q", MessageID: " <m@x> ", Service: "gerrit", From: "a@x",
			Client: "10.0.0.1", Rcpts: 2, Size: 1 << 40},
		{Kind: maillog.Deferred, Time: t0.Add(-time.Second), QueueID: "q", MessageID: "<m@x>", Service: "gerrit", From: "a@x",
			Rcpt: "b@y", Upstream: "mx:25", Reply: "451 later", Attempts: 1, Next: t0.Add(time.Hour), Maybe: true},
		// Values that go back to empty must not be carried over.
		{Kind: maillog.Decision, Time: t0.Add(time.Second), QueueID: "q", From: "a@x", List: "dev", Action: "hold",
			Rules: []string{"nonmember", "size"}, Stage: "post"},
		{Kind: maillog.Delivered, Time: t0.Add(2 * time.Second), QueueID: "q", Rcpt: "c@y", Delay: 1500 * time.Millisecond,
			NoticeID: "n", Attempts: -3},
	}
	b, enc := newEncoder(nil, base)
	for i := range in {
		b = enc.add(b, &in[i])
	}
	out, err := decodeSegment(nil, 7, base, "q", b)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != len(in) {
		t.Fatalf("%d events, want %d", len(out), len(in))
	}
	for i, e := range in {
		want := Event{ID: 7<<idShift + int64(i), Time: e.Time, Kind: string(e.Kind), QueueID: "q",
			Service: e.Service, Sender: e.From, Rcpt: e.Rcpt, Client: e.Client, Upstream: e.Upstream, Reply: e.Reply,
			Stage: e.Stage, Attempts: e.Attempts, DelayMS: e.Delay.Milliseconds(), List: e.List, Action: e.Action,
			NoticeID: e.NoticeID, Rcpts: e.Rcpts, Size: e.Size, Next: e.Next, Rules: e.Rules, Maybe: e.Maybe}
		if e.MessageID != "" {
			want.MessageID = "<m@x>"
		}
		got := out[i]
		if !got.Time.Equal(want.Time) || !got.Next.Equal(want.Next) {
			t.Errorf("event %d: time %v next %v, want %v %v", i, got.Time, got.Next, want.Time, want.Next)
		}
		got.Time, got.Next, want.Time, want.Next = time.Time{}, time.Time{}, time.Time{}, time.Time{}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("event %d:\n got %+v\nwant %+v", i, got, want)
		}
	}
	// Carried strings are stored once: the second event repeats the
	// first's Message-ID, service and sender without their bytes.
	one, fresh := newEncoder(nil, base)
	one = fresh.add(one, &in[0])
	if len(b) >= 4*len(one) {
		t.Errorf("blob of 4 events is %d bytes, one alone %d: nothing carried over?", len(b), len(one))
	}
}

func TestCodecRefusesDamage(t *testing.T) {
	t.Parallel()
	b, enc := newEncoder(nil, 0)
	b = enc.add(b, &maillog.Event{Kind: maillog.Accepted, Time: t0, From: "a@x", Reply: "a long enough reply"})
	for name, blob := range map[string][]byte{
		"truncated":       b[:len(b)-3],
		"unknown version": append([]byte{99}, b[1:]...),
		"unknown field":   append([]byte{codecVersion, 0x80, 0x80, 0x80, 0x40, 0}, b[1:]...),
	} {
		_, err := decodeSegment(nil, 3, 0, "q", blob)
		var ce *CorruptError
		if !errors.As(err, &ce) || ce.Segment != 3 {
			t.Errorf("%s: err %v, want a CorruptError for segment 3", name, err)
		}
	}
	if evs, err := decodeSegment(nil, 3, 0, "q", []byte{codecVersion}); err != nil || len(evs) != 0 {
		t.Errorf("a link segment: %v, %v", evs, err)
	}
}
