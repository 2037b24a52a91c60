package spool

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func openStore(t testing.TB) *Store {
	t.Helper()
	dir := t.TempDir()
	s, err := Open(filepath.Join(dir, "queue"), filepath.Join(dir, "quarantine"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func put(t testing.TB, s *Store, body []byte, rcpts ...string) *Message {
	t.Helper()
	env := &Envelope{From: "a@example.org", Rcpts: rcpts, Arrival: time.Unix(1700000000, 0).UTC()}
	w, err := s.Create(env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.ReadFrom(bytes.NewReader(body)); err != nil {
		t.Fatal(err)
	}
	m, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// putConcurrently commits workers×each messages from workers goroutines
// and returns their ids.
func putConcurrently(t testing.TB, s *Store, body []byte, workers, each int, rcpts ...string) []string {
	t.Helper()
	var wg sync.WaitGroup
	ids := make(chan string, workers*each)
	for range workers {
		wg.Go(func() {
			for range each {
				ids <- put(t, s, body, rcpts...).Env.ID
			}
		})
	}
	wg.Wait()
	close(ids)
	var out []string
	for id := range ids {
		out = append(out, id)
	}
	return out
}

func readBody(t *testing.T, s *Store, m *Message) []byte {
	t.Helper()
	b, err := s.OpenBody(m)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func scanAll(t *testing.T, s *Store, repair bool) map[string]ScanResult {
	t.Helper()
	got := map[string]ScanResult{}
	if err := s.Scan(repair, func(r ScanResult) { got[r.ID] = r }); err != nil {
		t.Fatal(err)
	}
	return got
}

func TestRoundTrip(t *testing.T) {
	t.Parallel()
	for _, size := range []int{0, 1, 2048, writeChunk - 1, writeChunk, 3*writeChunk + 17} {
		t.Run(fmt.Sprint(size), func(t *testing.T) {
			s := openStore(t)
			body := bytes.Repeat([]byte("0123456789abcdef\r\n"), size/18+1)[:size]
			m := put(t, s, body, "b@example.net", "c@example.net")
			got, err := s.Load(m.Env.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Env.From != "a@example.org" || len(got.Env.Rcpts) != 2 || got.BodyLen != int64(size) {
				t.Fatalf("decoded %+v", got)
			}
			if !bytes.Equal(readBody(t, s, got), body) {
				t.Fatal("body differs")
			}
			res := scanAll(t, s, true)
			if r := res[m.Env.ID]; r.Err != nil || r.Msg == nil {
				t.Fatalf("scan: %+v", r)
			}
		})
	}
}

func TestWriteAndReadFromAgree(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	w, err := s.Create(&Envelope{Rcpts: []string{"x@y"}})
	if err != nil {
		t.Fatal(err)
	}
	body := strings.Repeat("line of text\r\n", 20000)
	for i := 0; i < len(body); i += 1000 {
		if _, err := w.WriteString(body[i:min(i+1000, len(body))]); err != nil {
			t.Fatal(err)
		}
	}
	m, err := w.Commit()
	if err != nil {
		t.Fatal(err)
	}
	if string(readBody(t, s, m)) != body {
		t.Fatal("body differs")
	}
	if res := scanAll(t, s, true); res[m.Env.ID].Err != nil {
		t.Fatal(res[m.Env.ID].Err)
	}
}

func TestStateRecords(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	m := put(t, s, []byte("Subject: x\r\n\r\nhi\r\n"), "b@x", "c@x")
	for i := 1; i <= 3; i++ {
		m.State.Rcpts[0].Attempts = i
		m.State.Rcpts[0].LastError = fmt.Sprintf("451 try %d", i)
		if err := s.SaveState(m); err != nil {
			t.Fatal(err)
		}
	}
	m.State.Rcpts[1].Status = Delivered
	m.State.Held = true
	if err := s.SaveState(m); err != nil {
		t.Fatal(err)
	}
	got, err := s.Load(m.Env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State.Rcpts[0].Attempts != 3 || got.State.Rcpts[1].Status != Delivered || !got.State.Held {
		t.Fatalf("state %+v", got.State)
	}
	if got.StateEnd != m.StateEnd || got.Torn {
		t.Fatalf("state end %d torn %v, want %d", got.StateEnd, got.Torn, m.StateEnd)
	}
}

// A crash in the middle of appending a state record leaves the previous state.
func TestTornStateRecord(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	m := put(t, s, []byte("body\r\n"), "b@x")
	m.State.Rcpts[0].Attempts = 1
	if err := s.SaveState(m); err != nil {
		t.Fatal(err)
	}
	rec, _ := encodeState(&State{Rcpts: []Rcpt{{Status: Delivered, Attempts: 2}}})
	f, err := os.OpenFile(s.path(m.Env.ID), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.Write(rec[:len(rec)-3])
	f.Close()
	got, err := s.Load(m.Env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State.Rcpts[0].Status != Pending || got.State.Rcpts[0].Attempts != 1 || !got.Torn {
		t.Fatalf("after torn append: %+v torn=%v", got.State, got.Torn)
	}
	// The next save overwrites the torn bytes.
	got.State.Rcpts[0].Attempts = 5
	if err := s.SaveState(got); err != nil {
		t.Fatal(err)
	}
	again, err := s.Load(m.Env.ID)
	if err != nil {
		t.Fatal(err)
	}
	if again.State.Rcpts[0].Attempts != 5 || again.Torn {
		t.Fatalf("after repair: %+v torn=%v", again.State, again.Torn)
	}
}

func TestScanRemovesTempAndQuarantinesCorrupt(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	good := put(t, s, []byte("good\r\n"), "b@x")
	bad := put(t, s, []byte("this body will be damaged\r\n"), "b@x")
	// Flip one body byte.
	f, err := os.OpenFile(s.path(bad.Env.ID), os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteAt([]byte("X"), bad.BodyOff+3)
	f.Close()
	// An unacknowledged partial message.
	w, err := s.Create(&Envelope{Rcpts: []string{"c@x"}})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("partial"))
	w.flush()
	tmp := w.tmp

	ro := scanAll(t, s, false)
	if ro[bad.Env.ID].Err != nil {
		t.Fatal("read-only scan verifies no body checksum, so must not report it")
	}
	if _, err := os.Stat(tmp); err != nil {
		t.Fatal("read-only scan removed a temp file")
	}

	res := scanAll(t, s, true)
	if res[good.Env.ID].Msg == nil {
		t.Fatalf("good message: %+v", res[good.Env.ID])
	}
	var ce *CorruptError
	if !errors.As(res[bad.Env.ID].Err, &ce) {
		t.Fatalf("bad message: %+v", res[bad.Env.ID])
	}
	if _, err := os.Stat(filepath.Join(s.quarantine, bad.Env.ID)); err != nil {
		t.Fatal("corrupt file not quarantined:", err)
	}
	if _, err := os.Stat(tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("temp file not removed")
	}
	w.Abort()
}

func TestAbortLeavesNothing(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	w, err := s.Create(&Envelope{Rcpts: []string{"c@x"}})
	if err != nil {
		t.Fatal(err)
	}
	w.Write([]byte("x"))
	w.Abort()
	names, _ := os.ReadDir(s.dir)
	if len(names) != 0 {
		t.Fatalf("left %v", names)
	}
}

func TestRemoveAndAdopt(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	drop, err := Open(filepath.Join(t.TempDir(), "drop"), "", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer drop.Close()
	m := put(t, drop, []byte("dropped\r\n"), "b@x")
	if err := s.Adopt(drop, m.Env.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Load(m.Env.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Remove(m.Env.ID); err != nil {
		t.Fatal(err)
	}
	if len(scanAll(t, s, false)) != 0 {
		t.Fatal("not removed")
	}
	if err := s.Remove("../../etc/passwd"); err == nil {
		t.Fatal("accepted a path as id")
	}
}

func TestConcurrentCommits(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	var wg sync.WaitGroup
	ids := make(chan string, 200)
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 10; i++ {
				ids <- put(t, s, []byte("x\r\n"), "b@x").Env.ID
			}
		}()
	}
	wg.Wait()
	close(ids)
	res := scanAll(t, s, true)
	n := 0
	for id := range ids {
		n++
		if res[id].Msg == nil {
			t.Fatalf("%s missing", id)
		}
	}
	if n != 200 || len(res) != 200 {
		t.Fatalf("got %d/%d", n, len(res))
	}
}

func BenchmarkCommit2K(b *testing.B) {
	s := openStore(b)
	body := bytes.Repeat([]byte("x"), 2048)
	b.SetParallelism(10)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			put(b, s, body, "b@example.net")
		}
	})
}

func TestTempGraceKeepsYoungTempFiles(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	s.SetTempGrace(time.Hour)
	w, err := s.Create(&Envelope{Rcpts: []string{"c@x"}})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	w.Write([]byte("being written by another process"))
	w.flush()
	scanAll(t, s, true)
	if _, err := os.Stat(w.tmp); err != nil {
		t.Fatal("young temp file removed:", err)
	}
	old := time.Now().Add(-2 * time.Hour)
	os.Chtimes(w.tmp, old, old)
	scanAll(t, s, true)
	if _, err := os.Stat(w.tmp); !errors.Is(err, os.ErrNotExist) {
		t.Fatal("stale temp file kept")
	}
}
