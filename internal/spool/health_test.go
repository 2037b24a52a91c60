package spool

import (
	"os"
	"strings"
	"testing"
	"time"
)

func TestWriteHealthFollowsFailuresAndRecovery(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	at := time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)
	s.SetClock(func() time.Time { return at })
	if h := s.WriteHealth(); h.Failing() || h.Failures != 0 {
		t.Fatalf("fresh store: %+v", h)
	}
	put(t, s, []byte("x\r\n"), "b@x")
	if h := s.WriteHealth(); !h.LastOK.Equal(at) || h.Failing() {
		t.Fatalf("after a commit: %+v", h)
	}

	// The directory disappears (as good as unwritable, even for root).
	if err := os.Rename(s.dir, s.dir+".away"); err != nil {
		t.Fatal(err)
	}
	at = at.Add(time.Minute)
	if _, err := s.Create(&Envelope{Rcpts: []string{"b@x"}}); err == nil {
		t.Fatal("Create succeeded without a directory")
	}
	if err := s.Probe(); err == nil {
		t.Fatal("Probe succeeded without a directory")
	}
	h := s.WriteHealth()
	if !h.Failing() || h.Failures != 2 || !h.LastErrorAt.Equal(at) || !strings.Contains(h.LastError, "probe") {
		t.Fatalf("after failures: %+v", h)
	}

	if err := os.Rename(s.dir+".away", s.dir); err != nil {
		t.Fatal(err)
	}
	at = at.Add(time.Minute)
	if err := s.Probe(); err != nil {
		t.Fatal(err)
	}
	if h := s.WriteHealth(); h.Failing() || h.Failures != 2 || !h.LastOK.Equal(at) {
		t.Fatalf("after recovery: %+v", h)
	}
	if _, err := os.Stat(s.path(probeName)); !os.IsNotExist(err) {
		t.Error("probe file left behind")
	}
	// A failed body write abandoned by the caller counts too.
	w, err := s.Create(&Envelope{Rcpts: []string{"b@x"}})
	if err != nil {
		t.Fatal(err)
	}
	w.f.Close() // the next write(2) fails
	w.Write(make([]byte, writeChunk+1))
	w.Abort()
	if h := s.WriteHealth(); !h.Failing() || h.Failures != 3 {
		t.Fatalf("after an aborted failed write: %+v", h)
	}
}
