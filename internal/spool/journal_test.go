package spool

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// openJournal opens a store in SyncJournal mode in dir (a new temporary
// directory when dir is "").
func openJournal(t testing.TB, dir string) *Store {
	t.Helper()
	if dir == "" {
		dir = t.TempDir()
	}
	s, err := Open(filepath.Join(dir, "queue"), filepath.Join(dir, "quarantine"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.SetSyncMode(SyncJournal); err != nil {
		t.Fatal(err)
	}
	return s
}

// reopen closes s and opens its directory again, as a restarted daemon.
func reopen(t *testing.T, s *Store, dir string) *Store {
	t.Helper()
	s.Close()
	return openJournal(t, dir)
}

// messageFiles lists the message files (not the journal) in s.
func messageFiles(t *testing.T, s *Store) []string {
	t.Helper()
	names, err := readDirNames(s.dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range names {
		if ValidID(n) {
			out = append(out, n)
		}
	}
	return out
}

func segments(t *testing.T, s *Store) []string {
	t.Helper()
	names, err := readDirNames(s.journalDir())
	if err != nil {
		t.Fatal(err)
	}
	return sortedSegments(names)
}

// TestJournalRoundTrip: a message that fits in the buffer goes to the
// journal, a larger one to its own file; both read back the same, before
// and after a restart.
func TestJournalRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openJournal(t, dir)
	bodies := map[string][]byte{}
	journaled := map[string]bool{}
	for _, size := range []int{0, 1, 2048, 32 << 10, writeChunk - 1, writeChunk, 3*writeChunk + 17} {
		body := bytes.Repeat([]byte(fmt.Sprintf("%d-", size%10)), size)[:size]
		m := put(t, s, body, "b@example.net", "c@example.net")
		bodies[m.Env.ID] = body
		_, journaled[m.Env.ID] = s.journaled(m.Env.ID)
		if got := readBody(t, s, m); !bytes.Equal(got, body) {
			t.Fatalf("size %d: body differs", size)
		}
		if !s.Has(m.Env.ID) {
			t.Fatalf("size %d: Has is false", size)
		}
		l, err := s.Load(m.Env.ID)
		if err != nil || l.BodyLen != int64(size) || len(l.Env.Rcpts) != 2 {
			t.Fatalf("size %d: Load: %+v %v", size, l, err)
		}
	}
	// The buffer is flushed when less than a page of it is left.
	if n := len(messageFiles(t, s)); n != 3 {
		t.Fatalf("%d message files, want 3 (only the messages that outgrew the buffer)", n)
	}
	s = reopen(t, s, dir)
	res := scanAll(t, s, true)
	if len(res) != len(bodies) {
		t.Fatalf("%d messages after restart, want %d", len(res), len(bodies))
	}
	for id, body := range bodies {
		r := res[id]
		if r.Msg == nil {
			t.Fatalf("%s: %v", id, r.Err)
		}
		if got := readBody(t, s, r.Msg); !bytes.Equal(got, body) {
			t.Fatalf("%s: body differs after restart", id)
		}
		if _, ok := s.journaled(id); ok != journaled[id] {
			t.Fatalf("%s: journaled %v after restart, %v before", id, ok, journaled[id])
		}
	}
}

// TestJournalDeliveredNeverGetsAFile: messages removed after delivery
// leave no file, and their segment is deleted once nothing in it is live.
func TestJournalDeliveredNeverGetsAFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openJournal(t, dir)
	s.jnl.limit = 8 << 10 // a few messages per segment
	ids := putConcurrently(t, s, bytes.Repeat([]byte("x"), 2048), 10, 20, "b@example.net")
	if n := len(segments(t, s)); n < 3 {
		t.Fatalf("%d segments, want several", n)
	}
	for _, id := range ids {
		if err := s.Remove(id); err != nil {
			t.Fatal(err)
		}
	}
	if f := messageFiles(t, s); len(f) != 0 {
		t.Fatalf("message files: %v", f)
	}
	if segs := segments(t, s); len(segs) != 1 {
		t.Fatalf("segments left: %v, want only the current one", segs)
	}
	s = reopen(t, s, dir)
	if res := scanAll(t, s, true); len(res) != 0 {
		t.Fatalf("%d messages after restart, want 0", len(res))
	}
	if segs := segments(t, s); len(segs) != 0 {
		t.Fatalf("segments left after restart: %v", segs)
	}
}

// TestJournalSaveStateMovesToFile: the first saved state gives the message
// its own file; that file wins at restart, also when the record's done
// flag did not reach the disk.
func TestJournalSaveStateMovesToFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openJournal(t, dir)
	m := put(t, s, []byte("Subject: x\r\n\r\nhello\r\n"), "b@example.net", "c@example.net")
	r, _ := s.journaled(m.Env.ID)
	m.State.Rcpts[0].Status = Delivered
	if err := s.SaveState(m); err != nil {
		t.Fatal(err)
	}
	if _, ok := s.journaled(m.Env.ID); ok {
		t.Fatal("still in the journal index after its state was saved")
	}
	if got := string(readBody(t, s, m)); got != "Subject: x\r\n\r\nhello\r\n" {
		t.Fatalf("body from the file: %q", got)
	}
	m.State.Held = true
	if err := s.SaveState(m); err != nil {
		t.Fatal(err)
	}
	// A crash before the flag was written back: the record is live again.
	if err := r.seg.setFlag(r.off, flagLive); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir)
	res := scanAll(t, s, true)
	got := res[m.Env.ID].Msg
	if len(res) != 1 || got == nil || !got.State.Held || got.State.Rcpts[0].Status != Delivered {
		t.Fatalf("after restart: %+v", res)
	}
	if _, ok := s.journaled(m.Env.ID); ok {
		t.Fatal("the journal record won over the file")
	}
	if err := s.Remove(m.Env.ID); err != nil {
		t.Fatal(err)
	}
	s = reopen(t, s, dir)
	if res := scanAll(t, s, true); len(res) != 0 {
		t.Fatalf("removed message back after restart: %+v", res)
	}
}

// TestJournalCrashLeftovers: what a crash can leave is sorted out at start:
// an unfinished round at a segment's end is dropped silently; an
// unfinished or cut copy to a file gives way to the journal record; a
// damaged record in the middle is reported and quarantined and the records
// after it are kept.
func TestJournalCrashLeftovers(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openJournal(t, dir)
	var ms []*Message
	for i := range 4 {
		ms = append(ms, put(t, s, []byte(fmt.Sprintf("message %d\r\n", i)), "b@example.net"))
	}
	seg := s.jnl.cur
	// An unfinished round: a record header and half an image.
	r0, _ := s.journaled(ms[0].Env.ID)
	img := make([]byte, r0.n)
	if _, err := seg.f.ReadAt(img, r0.off); err != nil {
		t.Fatal(err)
	}
	tail := append([]byte(recMagic+"\x00\x00\x00\x00"), byte(len(img)), 0, 0, 0)
	tail = append(tail, img[:len(img)/2]...)
	if _, err := seg.f.WriteAt(tail, seg.size); err != nil {
		t.Fatal(err)
	}
	// Message 1: a copy to a file that stopped before its final magic.
	partial := append([]byte(magicPartial), img[len(Magic):]...)
	if err := os.WriteFile(s.path(ms[1].Env.ID), partial, 0o600); err != nil {
		t.Fatal(err)
	}
	// Message 2: a copy cut short after its final magic.
	if err := os.WriteFile(s.path(ms[2].Env.ID), img[:len(img)-3], 0o600); err != nil {
		t.Fatal(err)
	}
	// Message 3's record is damaged in the middle of its body.
	r3, _ := s.journaled(ms[3].Env.ID)
	if _, err := seg.f.WriteAt([]byte("X"), r3.off+ms[3].BodyOff); err != nil {
		t.Fatal(err)
	}
	// ... and a good record follows it.
	m4 := put(t, s, []byte("message 4\r\n"), "b@example.net")
	if _, err := seg.f.WriteAt(tail, seg.size); err != nil {
		t.Fatal(err)
	}

	s = reopen(t, s, dir)
	res := scanAll(t, s, true)
	for _, m := range []*Message{ms[0], ms[1], ms[2], m4} {
		r := res[m.Env.ID]
		if r.Msg == nil {
			t.Fatalf("%s lost: %v", m.Env.ID, r.Err)
		}
		if want := string(readBody(t, s, m)); want == "" {
			t.Fatalf("%s: empty body", m.Env.ID)
		}
	}
	if _, ok := res[ms[3].Env.ID]; ok {
		t.Fatal("the damaged record was recovered")
	}
	var corrupt []ScanResult
	for _, r := range res {
		var ce *CorruptError
		if errors.As(r.Err, &ce) {
			corrupt = append(corrupt, r)
		}
	}
	if len(corrupt) != 1 {
		t.Fatalf("corrupt reports: %+v, want one", corrupt)
	}
	if f := messageFiles(t, s); len(f) != 0 {
		t.Fatalf("unfinished copies left: %v", f)
	}
	q, err := readDirNames(filepath.Join(dir, "quarantine"))
	if err != nil || len(q) != 1 {
		t.Fatalf("quarantine: %v %v", q, err)
	}
}

// TestJournalFailedSyncNotAcknowledged: a round whose fdatasync fails is
// not acknowledged and is not recovered; the messages before it are, and
// the next round goes to a new segment.
func TestJournalFailedSyncNotAcknowledged(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	s := openJournal(t, dir)
	before := put(t, s, []byte("before\r\n"), "b@example.net")
	seg := s.jnl.cur
	seg.sync.do = func() error { return syscall.EIO }
	w, err := s.Create(&Envelope{From: "a@example.org", Rcpts: []string{"b@example.net"}})
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("lost\r\n")
	var we *WriteError
	if _, err := w.Commit(); !errors.As(err, &we) || !errors.Is(err, syscall.EIO) {
		t.Fatalf("commit with a failing fdatasync: %v", err)
	}
	if s.Has(w.ID()) {
		t.Fatal("the failed message is indexed")
	}
	// The failing segment still refuses removals durably.
	if err := s.Remove(before.Env.ID); !errors.As(err, &we) {
		t.Fatalf("remove with a failing fdatasync: %v", err)
	}
	after := put(t, s, []byte("after\r\n"), "b@example.net")
	if s.jnl.cur == seg {
		t.Fatal("still appending to the failed segment")
	}
	s = reopen(t, s, dir)
	res := scanAll(t, s, true)
	if len(res) != 2 || res[before.Env.ID].Msg == nil || res[after.Env.ID].Msg == nil {
		t.Fatalf("after restart: %+v", res)
	}
}

// TestJournalOpenBodyKeepsSegment: a segment is not deleted while a body
// read from it is open.
func TestJournalOpenBodyKeepsSegment(t *testing.T) {
	t.Parallel()
	s := openJournal(t, "")
	s.jnl.limit = 1 // every round starts a new segment
	m := put(t, s, []byte("kept\r\n"), "b@example.net")
	first := s.jnl.cur.path
	b, err := s.OpenBody(m)
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, []byte("next\r\n"), "b@example.net") // retires the first segment
	if err := s.Remove(m.Env.ID); err != nil {
		t.Fatal(err)
	}
	got := make([]byte, 6)
	if _, err := b.ReadAt(got, 0); err != nil || string(got) != "kept\r\n" {
		t.Fatalf("read after remove: %q %v", got, err)
	}
	if _, err := os.Stat(first); err != nil {
		t.Fatalf("segment deleted while a body is open: %v", err)
	}
	b.Close()
	if _, err := os.Stat(first); !os.IsNotExist(err) {
		t.Fatalf("segment kept after the body closed: %v", err)
	}
}

func BenchmarkCommit2KJournal(b *testing.B) {
	s := openJournal(b, "")
	body := bytes.Repeat([]byte("x"), 2048)
	b.SetParallelism(10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			put(b, s, body, "b@example.net")
		}
	})
}
