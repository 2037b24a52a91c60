package control

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/queue"
)

const (
	idA = "0123456789abcdef0123456789abcdef"
	idB = "fedcba9876543210fedcba9876543210"
)

// fakeOps records calls and knows the messages idA and idB.
type fakeOps struct {
	mu    sync.Mutex
	calls []string
	fail  error // returned by every action when set
}

func (f *fakeOps) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

func (f *fakeOps) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeOps) known(id string) error {
	if id != idA && id != idB {
		return fmt.Errorf("%s: %w", id, queue.ErrNotFound)
	}
	return f.failure()
}

func (f *fakeOps) failure() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.fail
}

func (f *fakeOps) List() []queue.Summary {
	f.record("list")
	return []queue.Summary{
		{ID: idA, From: "a@example.org", Size: 10, Arrival: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC),
			Recipients: []queue.RcptInfo{{Addr: "x@example.net", State: "pending", LastError: "451 try later"}}},
		{ID: idB, From: "", Held: true, Recipients: []queue.RcptInfo{{Addr: "y@example.net", State: "pending"}}},
	}
}

func (f *fakeOps) Show(id string) (*queue.Detail, error) {
	f.record("show " + id)
	if err := f.known(id); err != nil {
		return nil, err
	}
	return &queue.Detail{Summary: queue.Summary{ID: id, From: "a@example.org"}, Headers: "Subject: hi\r\n"}, nil
}

func (f *fakeOps) op(name string) func(string) error {
	return func(id string) error {
		f.record(name + " " + id)
		if id == "" && name == "flush" {
			return f.failure()
		}
		return f.known(id)
	}
}

func (f *fakeOps) Flush(id string) error   { return f.op("flush")(id) }
func (f *fakeOps) Hold(id string) error    { return f.op("hold")(id) }
func (f *fakeOps) Release(id string) error { return f.op("release")(id) }
func (f *fakeOps) Delete(id string) error  { return f.op("delete")(id) }

// serve starts the API on a socket in a temporary directory.
func serve(t *testing.T, ops QueueOps, pickup func()) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "control.sock")
	ln, err := Listen(path)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: NewHandler(ops, pickup), ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-done
	})
	return path
}

func TestClientRoundTrip(t *testing.T) {
	t.Parallel()
	ops := &fakeOps{}
	var pokes int
	var mu sync.Mutex
	c := NewClient(serve(t, ops, func() { mu.Lock(); pokes++; mu.Unlock() }))

	list, err := c.ListErr()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != idA || list[0].Recipients[0].LastError != "451 try later" || !list[1].Held {
		t.Fatalf("list = %+v", list)
	}
	d, err := c.Show(idB)
	if err != nil {
		t.Fatal(err)
	}
	if d.ID != idB || d.Headers != "Subject: hi\r\n" {
		t.Fatalf("show = %+v", d)
	}
	for _, step := range []struct {
		name string
		fn   func(string) error
	}{{"flush", c.Flush}, {"hold", c.Hold}, {"release", c.Release}, {"delete", c.Delete}} {
		if err := step.fn(idA); err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
	}
	if err := c.Flush(""); err != nil {
		t.Fatal(err)
	}
	if err := c.Pickup(); err != nil {
		t.Fatal(err)
	}
	want := []string{"list", "show " + idB, "flush " + idA, "hold " + idA, "release " + idA, "delete " + idA, "flush "}
	if got := ops.Calls(); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("calls = %q, want %q", got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if pokes != 1 {
		t.Fatalf("pickup called %d times", pokes)
	}
}

func TestClientErrors(t *testing.T) {
	t.Parallel()
	ops := &fakeOps{}
	c := NewClient(serve(t, ops, nil))
	unknown := "00000000000000000000000000000000"

	if _, err := c.Show(unknown); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("show unknown: %v", err)
	}
	if err := c.Hold(unknown); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("hold unknown: %v", err)
	}
	err := c.Delete("../etc")
	var ce *Error
	if !errors.As(err, &ce) || ce.Status != http.StatusBadRequest || errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("bad id: %v", err)
	}
	if err := c.Pickup(); !errors.As(err, &ce) || ce.Status != http.StatusNotImplemented {
		t.Fatalf("pickup without pickup: %v", err)
	}
	ops.mu.Lock()
	ops.fail = errors.New("disk on fire")
	ops.mu.Unlock()
	err = c.Release(idA)
	if !errors.As(err, &ce) || ce.Status != http.StatusInternalServerError || ce.Message != "disk on fire" {
		t.Fatalf("failing op: %v", err)
	}
	if c.List() == nil {
		t.Fatal("list failed")
	}
}

func TestHandlerStatusAndBodies(t *testing.T) {
	t.Parallel()
	h := NewHandler(&fakeOps{}, func() {})
	cases := []struct {
		method, path string
		status       int
		body         string // substring of the reply
	}{
		{"GET", "/v1/queue", 200, `"id":"` + idA},
		{"GET", "/v1/queue/" + idA, 200, `"headers":"Subject: hi\r\n"`},
		{"GET", "/v1/queue/nothex", 400, `{"error":"invalid queue id \"nothex\""}`},
		{"GET", "/v1/queue/00000000000000000000000000000000", 404, `"error":`},
		{"POST", "/v1/queue/" + idA + "/hold", 200, `{"ok":true}`},
		{"POST", "/v1/queue/" + idA + "/bounce", 400, `unknown action`},
		{"POST", "/v1/queue/flush", 200, `{"ok":true}`},
		{"POST", "/v1/pickup", 200, `{"ok":true}`},
		{"DELETE", "/v1/queue/" + idA, 405, ``},
		{"GET", "/v1/other", 404, ``},
	}
	for _, tc := range cases {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(tc.method, tc.path, nil))
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), tc.body) {
			t.Errorf("%s %s = %d %s, want %d containing %s", tc.method, tc.path, rec.Code, rec.Body, tc.status, tc.body)
		}
		if tc.body != "" && !json.Valid(rec.Body.Bytes()) {
			t.Errorf("%s %s: reply is not JSON: %s", tc.method, tc.path, rec.Body)
		}
	}
}

func TestEmptyListIsArray(t *testing.T) {
	t.Parallel()
	rec := httptest.NewRecorder()
	NewHandler(&emptyOps{}, nil).ServeHTTP(rec, httptest.NewRequest("GET", "/v1/queue", nil))
	if strings.TrimSpace(rec.Body.String()) != "[]" {
		t.Fatalf("empty list = %q", rec.Body)
	}
}

type emptyOps struct{ fakeOps }

func (*emptyOps) List() []queue.Summary { return nil }

func TestListenSocketMode(t *testing.T) {
	t.Parallel()
	path := serve(t, &fakeOps{}, nil)
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Fatalf("mode = %v", fi.Mode())
	}
	// A second daemon must not steal a live socket.
	if ln, err := Listen(path); err == nil {
		_ = ln.Close()
		t.Fatal("listened on a socket in use")
	}
}

func TestListenStaleAndNonSocket(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	if err != nil {
		t.Fatal(err)
	}
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	_ = ln.Close()
	if _, err := os.Lstat(stale); err != nil {
		t.Fatalf("stale socket not left behind: %v", err)
	}
	ln2, err := Listen(stale)
	if err != nil {
		t.Fatalf("stale socket not replaced: %v", err)
	}
	_ = ln2.Close()

	plain := filepath.Join(dir, "file")
	if err := os.WriteFile(plain, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	if ln, err := Listen(plain); err == nil {
		_ = ln.Close()
		t.Fatal("listened over a regular file")
	}
	if b, _ := os.ReadFile(plain); string(b) != "keep" {
		t.Fatal("regular file changed")
	}
}

func TestClientDaemonDown(t *testing.T) {
	t.Parallel()
	c := NewClient(filepath.Join(t.TempDir(), "none.sock"))
	c.Timeout = 5 * time.Second
	if err := c.Pickup(); err == nil {
		t.Fatal("no error without a daemon")
	}
	if _, err := c.ListErr(); err == nil {
		t.Fatal("no error without a daemon")
	}
}
