package spool

import (
	"bytes"
	"errors"
	"os"
	"syscall"
	"testing"
)

func openSyncFS(t testing.TB) *Store {
	t.Helper()
	s := openStore(t)
	if err := s.SetSyncMode(SyncFS); err != nil {
		t.Fatal(err)
	}
	if s.fs == nil {
		t.Fatal("SyncFS mode not taken")
	}
	return s
}

// TestSyncFSRoundTrip: in SyncFS mode messages commit, keep their state,
// survive a repairing scan and are removed like in the default mode.
func TestSyncFSRoundTrip(t *testing.T) {
	t.Parallel()
	s := openSyncFS(t)
	ids := putConcurrently(t, s, []byte("Subject: x\r\n\r\nhello\r\n"), 10, 10, "b@example.net", "c@example.net")
	res := scanAll(t, s, true)
	if len(res) != 100 {
		t.Fatalf("%d messages after the scan, want 100", len(res))
	}
	for _, id := range ids {
		m := res[id].Msg
		if m == nil {
			t.Fatalf("%s missing: %v", id, res[id].Err)
		}
		m.State.Rcpts[0].Status = Delivered
		if err := s.SaveState(m); err != nil {
			t.Fatal(err)
		}
		got, err := s.Load(id)
		if err != nil || got.State.Rcpts[0].Status != Delivered || got.State.Rcpts[1].Status != Pending {
			t.Fatalf("state after save: %+v %v", got, err)
		}
		if err := s.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	if res := scanAll(t, s, true); len(res) != 0 {
		t.Fatalf("%d messages left after removal", len(res))
	}
}

// TestSyncFSFailureIsNotAcknowledged: a failed syncfs fails the commit and
// the state save, with a WriteError, and leaves no message behind.
func TestSyncFSFailureIsNotAcknowledged(t *testing.T) {
	t.Parallel()
	s := openSyncFS(t)
	m := put(t, s, []byte("x\r\n"), "b@example.net")
	s.fs.do = func() error { return syscall.EIO }
	w, err := s.Create(&Envelope{From: "a@example.org", Rcpts: []string{"b@example.net"}})
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("y\r\n")
	var we *WriteError
	if _, err := w.Commit(); !errors.As(err, &we) || we.Op != "syncfs" || !errors.Is(err, syscall.EIO) {
		t.Fatalf("commit with a failing syncfs: %v", err)
	}
	if _, err := os.Stat(s.path(w.ID())); !os.IsNotExist(err) {
		t.Fatalf("unacknowledged file left behind: %v", err)
	}
	m.State.Held = true
	if err := s.SaveState(m); !errors.As(err, &we) {
		t.Fatalf("state save with a failing syncfs: %v", err)
	}
}

// TestSyncFSEarlierFailureFailsWritesInFlight: a syncfs that fails while
// a message is being written may have taken that file's write-back error,
// so that message is not acknowledged even though its own syncfs succeeds.
// A message begun after the failure commits.
func TestSyncFSEarlierFailureFailsWritesInFlight(t *testing.T) {
	t.Parallel()
	s := openSyncFS(t)
	ok := s.fs.do
	w, err := s.Create(&Envelope{From: "a@example.org", Rcpts: []string{"b@example.net"}})
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("in flight\r\n")
	s.fs.do = func() error { return syscall.EIO }
	if err := s.fs.Sync(); err == nil {
		t.Fatal("the failing run succeeded")
	}
	s.fs.do = ok
	if _, err := w.Commit(); !errors.Is(err, errEarlierSyncFailed) {
		t.Fatalf("commit after an earlier failed syncfs: %v, want errEarlierSyncFailed", err)
	}
	if _, err := os.Stat(s.path(w.ID())); !os.IsNotExist(err) {
		t.Fatalf("unacknowledged file left behind: %v", err)
	}
	put(t, s, []byte("after\r\n"), "b@example.net")
}

func BenchmarkCommit2KSyncFS(b *testing.B) {
	s := openSyncFS(b)
	body := bytes.Repeat([]byte("x"), 2048)
	b.SetParallelism(10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			put(b, s, body, "b@example.net")
		}
	})
}
