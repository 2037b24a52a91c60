package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/mbox"
)

const archList = "wiki-research-l@lists.example.org"

func archiveCLI(t *testing.T, cfg string, args ...string) cliResult {
	t.Helper()
	return archiveCLIEnv(t, context.Background(), archiveEnv{}, cfg, args...)
}

func archiveCLIEnv(t *testing.T, ctx context.Context, env archiveEnv, cfg string, args ...string) cliResult {
	t.Helper()
	var out, errb bytes.Buffer
	code := archiveMain(ctx, append([]string{"--config", cfg}, args...), &out, &errb, env)
	return cliResult{code, out.String(), errb.String()}
}

// newArchiveCLI writes a config with a fresh data directory holding the
// lists archList and other@lists.example.org.
func newArchiveCLI(t *testing.T) (cfg, dataDir string) {
	t.Helper()
	cfg, dataDir = testConfig(t, "")
	listsCLI(t, cfg, "create", archList).must(t, 0)
	listsCLI(t, cfg, "create", "other@lists.example.org").must(t, 0)
	return cfg, dataDir
}

// testMbox writes n messages (a thread: each replies to the one before)
// as an mbox file, with a broken message at position broken (-1: none).
func testMbox(t *testing.T, n, broken int) string {
	t.Helper()
	var b bytes.Buffer
	w := mbox.NewWriter(&b)
	base := time.Date(2015, 3, 30, 10, 0, 0, 0, time.UTC)
	for i := range n {
		d := base.Add(time.Duration(i) * 12 * time.Hour)
		var raw string
		if i == broken {
			raw = "this is not a header at all\x00\nno colon here\n\nbody\n"
		} else {
			raw = fmt.Sprintf("From: Ann <ann@example.org>\nMessage-ID: <m%d@example.org>\nDate: %s\nSubject: Re: post %d\n", i, d.Format(time.RFC1123Z), i)
			if i > 0 {
				raw += fmt.Sprintf("In-Reply-To: <m%d@example.org>\n", i-1)
			}
			raw += fmt.Sprintf("\nbody %d\nFrom the start, a quoted line.\n", i)
		}
		if err := w.Write("ann@example.org", d, []byte(raw)); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(t.TempDir(), "list.mbox")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// openTestArchive opens the archive of dataDir for checks.
func openTestArchive(t *testing.T, dataDir string) *archive.Archive {
	t.Helper()
	db, a, err := openArchive(context.Background(), dataDir, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return a
}

// archNumbers maps each live post's Message-ID (or permalink) to its number.
func archNumbers(t *testing.T, a *archive.Archive, list string) map[string]int64 {
	t.Helper()
	out := map[string]int64{}
	err := a.Export(context.Background(), list, time.Time{}, time.Time{}, func(e *archive.Entry, _ []byte) error {
		key := e.MessageID
		if key == "" {
			key = e.Permalink
		}
		out[key] = e.Number
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestArchiveImportTwiceAddsNothingAndReportsBroken(t *testing.T) {
	t.Parallel()
	cfg, dataDir := newArchiveCLI(t)
	path := testMbox(t, 6, 3)
	r := archiveCLI(t, cfg, "import", "wiki-research-l", path).must(t, 0)
	if !strings.Contains(r.stdout, "6 added, 0 already archived") {
		t.Errorf("first import: %s", r.stdout)
	}
	if !strings.Contains(r.stdout, "archived raw, header unreadable: message 3") {
		t.Errorf("broken message not reported: %s", r.stdout)
	}
	a := openTestArchive(t, dataDir)
	before := archNumbers(t, a, archList)
	if len(before) != 6 {
		t.Fatalf("numbers: %v", before)
	}
	e, err := a.Get(context.Background(), archList, 4)
	if err != nil || e.ParseError == "" {
		t.Fatalf("broken message not archived as number 4: %+v %v", e, err)
	}
	raw, err := a.Raw(context.Background(), archList, 2)
	if err != nil || !bytes.Contains(raw, []byte("\nFrom the start, a quoted line.")) {
		t.Fatalf("From-quoting not undone: %q %v", raw, err)
	}

	r = archiveCLI(t, cfg, "import", archList, path, "--json").must(t, 0)
	var res importResult
	if err := json.Unmarshal([]byte(r.stdout), &res); err != nil {
		t.Fatal(err)
	}
	if res.Report.Added != 0 || res.List != archList {
		t.Fatalf("second import: %+v", res)
	}
	sameArchNumbers(t, before, archNumbers(t, a, archList))
}

func sameArchNumbers(t *testing.T, want, got map[string]int64) {
	t.Helper()
	if len(want) != len(got) {
		t.Fatalf("numbers: got %v, want %v", got, want)
	}
	for k, n := range want {
		if got[k] != n {
			t.Errorf("%s: number %d, want %d", k, got[k], n)
		}
	}
}

func TestArchiveImportKeepNumbersAndLegacyPaths(t *testing.T) {
	t.Parallel()
	cfg, dataDir := newArchiveCLI(t)
	path := testMbox(t, 5, -1)
	archiveCLI(t, cfg, "import", archList, path, "--keep-numbers", "--format", "mboxrd").must(t, 0)
	a := openTestArchive(t, dataDir)
	ctx := context.Background()
	for i := range 5 {
		e, err := a.GetByPermalink(ctx, archList, archive.PermalinkFor(fmt.Sprintf("m%d@example.org", i)))
		if err != nil || e.Number != int64(i) {
			t.Fatalf("m%d: %+v %v", i, e, err)
		}
	}
	n, err := a.LegacyRedirect(ctx, archList, "/pipermail/wiki-research-l/2015-April/000004.html")
	if err != nil || n != 4 {
		t.Fatalf("legacy redirect: %d %v", n, err)
	}
	if n, err := a.LegacyRedirect(ctx, archList, "/pipermail/wiki-research-l/2015-March/000001.html"); err != nil || n != 1 {
		t.Fatalf("legacy redirect: %d %v", n, err)
	}
	if r := archiveCLI(t, cfg, "import", archList, path, "--format", "mbox"); r.code != 2 {
		t.Errorf("bad format: %+v", r)
	}
}

func TestArchiveExportImportReproducesNumbers(t *testing.T) {
	t.Parallel()
	cfg, dataDir := newArchiveCLI(t)
	path := testMbox(t, 6, -1)
	archiveCLI(t, cfg, "import", archList, path).must(t, 0)
	archiveCLI(t, cfg, "delete", archList, "2").must(t, 2) // --reason is required
	r := archiveCLI(t, cfg, "delete", archList, "2", "--reason", "posted by mistake", "--author", "rob").must(t, 0)
	if !strings.Contains(r.stdout, "removed") {
		t.Errorf("delete: %s", r.stdout)
	}
	out := filepath.Join(t.TempDir(), "export.mbox")
	archiveCLI(t, cfg, "export", archList, "-o", out).must(t, 0)
	r = archiveCLI(t, cfg, "import", "other@lists.example.org", out, "--keep-numbers").must(t, 0)
	if !strings.Contains(r.stdout, "5 added") {
		t.Errorf("import of the export: %s", r.stdout)
	}
	a := openTestArchive(t, dataDir)
	want := archNumbers(t, a, archList)
	sameArchNumbers(t, want, archNumbers(t, a, "other@lists.example.org"))
	if _, ok := want["m1@example.org"]; ok || len(want) != 5 { // number 2 is m1
		t.Fatalf("deleted post exported: %v", want)
	}
	// A date range: the second day only (posts m2 and m3).
	r = archiveCLI(t, cfg, "export", archList, "--since", "2015-03-31", "--until", "2015-03-31").must(t, 0)
	if got := strings.Count(r.stdout, "\nX-Posthorn-Archive-Number: "); got != 2 || !strings.HasPrefix(r.stdout, "From ann@example.org ") || !strings.Contains(r.stdout, "<m2@") || !strings.Contains(r.stdout, "<m3@") {
		t.Errorf("range export has %d messages:\n%s", got, r.stdout)
	}
	if !strings.Contains(r.stdout, "\n>From the start") {
		t.Errorf("export is not mboxrd-quoted:\n%s", r.stdout)
	}
}

func TestArchiveRebuildShowAndDelete(t *testing.T) {
	t.Parallel()
	cfg, dataDir := newArchiveCLI(t)
	archiveCLI(t, cfg, "import", archList, testMbox(t, 5, -1)).must(t, 0) // numbers 1..5
	a := openTestArchive(t, dataDir)
	before := archNumbers(t, a, archList)
	r := archiveCLI(t, cfg, "rebuild", archList).must(t, 0)
	if !strings.Contains(r.stdout, "re-indexed 5 posts in 2 months") || !strings.Contains(r.stdout, "numbers unchanged") {
		t.Errorf("rebuild: %s", r.stdout)
	}
	sameArchNumbers(t, before, archNumbers(t, a, archList))

	r = archiveCLI(t, cfg, "show", archList, "5", "--json").must(t, 0)
	var shown map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &shown); err != nil {
		t.Fatal(err)
	}
	if shown["Number"] != 5.0 || shown["prev_date"] != 4.0 || shown["next_date"] != nil || shown["prev_thread"] != 4.0 {
		t.Errorf("show --json: %s", r.stdout)
	}
	r = archiveCLI(t, cfg, "show", archList, "1").must(t, 0)
	if !strings.Contains(r.stdout, "subject:    Re: post 0") || !strings.Contains(r.stdout, "\nbody 0\n") {
		t.Errorf("show: %s", r.stdout)
	}
	archiveCLI(t, cfg, "delete", archList, "1", "--reason", "spam").must(t, 0)
	r = archiveCLI(t, cfg, "show", archList, "1").must(t, 0)
	if !strings.Contains(r.stdout, "removed:") || !strings.Contains(r.stdout, "spam") || strings.Contains(r.stdout, "body 0") {
		t.Errorf("show tombstone: %s", r.stdout)
	}
	if r := archiveCLI(t, cfg, "show", archList, "99"); r.code != 1 || !strings.Contains(r.stderr, "no message 99") {
		t.Errorf("show missing: %+v", r)
	}
	if r := archiveCLI(t, cfg, "show", "nosuch", "1"); r.code != 1 || !strings.Contains(r.stderr, "no list") {
		t.Errorf("show unknown list: %+v", r)
	}
	if r := archiveCLI(t, cfg, "show", archList, "x"); r.code != 2 {
		t.Errorf("bad number: %+v", r)
	}
}

func TestArchiveInterruptedImportResumes(t *testing.T) {
	t.Parallel()
	cfg, dataDir := newArchiveCLI(t)
	path := testMbox(t, 9, -1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var shown []archive.ImportProgress
	env := archiveEnv{batch: 2, terminal: true, progress: func(p archive.ImportProgress) {
		shown = append(shown, p)
		if p.Messages >= 4 {
			cancel()
		}
	}}
	r := archiveCLIEnv(t, ctx, env, cfg, "import", archList, path, "--keep-numbers")
	if r.code != 1 || !strings.Contains(r.stderr, "interrupted after 4 messages") {
		t.Fatalf("interrupted import: %+v", r)
	}
	if !strings.Contains(r.stderr, "4 messages, 4 added") || !strings.Contains(r.stderr, " left") {
		t.Errorf("no progress line: %q", r.stderr)
	}
	a := openTestArchive(t, dataDir)
	if got := archNumbers(t, a, archList); len(got) != 4 {
		t.Fatalf("after the interruption: %v", got)
	}
	r = archiveCLIEnv(t, context.Background(), archiveEnv{batch: 2}, cfg, "import", archList, path, "--keep-numbers").must(t, 0)
	if !strings.Contains(r.stderr, "resuming the import") || !strings.Contains(r.stdout, "5 added, 1 already archived") {
		t.Fatalf("resumed import: %+v", r)
	}
	got := archNumbers(t, a, archList)
	for i := range 9 {
		if n, ok := got[fmt.Sprintf("m%d@example.org", i)]; !ok || n != int64(i) {
			t.Errorf("m%d: number %d (%t)", i, n, ok)
		}
	}
	if len(got) != 9 {
		t.Errorf("duplicates: %v", got)
	}
}

func TestArchiveProgressText(t *testing.T) {
	t.Parallel()
	p := archive.ImportProgress{Messages: 100, Added: 90, Offset: 1000, Elapsed: 10 * time.Second, Rate: 10}
	got := progressText(p, 3000, 0)
	for _, want := range []string{"100 messages", "90 added", "10/s", "33.3%", "20s left"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}

func TestArchiveUsage(t *testing.T) {
	t.Parallel()
	cfg, _ := testConfig(t, "")
	for _, args := range [][]string{{}, {"frobnicate", "x"}, {"import", archList}, {"export"}, {"import", archList, "f", "--bogus"}} {
		if r := archiveCLI(t, cfg, args...); r.code != 2 {
			t.Errorf("%v: exit %d, want 2: %s", args, r.code, r.stderr)
		}
	}
	if r := archiveCLI(t, cfg, "help").must(t, 0); !strings.Contains(r.stdout, "--keep-numbers") {
		t.Errorf("help: %s", r.stdout)
	}
}

func TestArchiveImportIndexesDecodedText(t *testing.T) {
	t.Parallel()
	cfg, dataDir := newArchiveCLI(t)
	var b bytes.Buffer
	raw := "From: Ann <ann@example.org>\nMessage-ID: <b64@example.org>\nSubject: =?utf-8?q?caf=C3=A9?=\n" +
		"MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: base64\n\n" +
		"c3RyaXBlZCB6ZWJyYXMK\n" // "striped zebras"
	if err := mbox.NewWriter(&b).Write("ann@example.org", time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC), []byte(raw)); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "b64.mbox")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	archiveCLI(t, cfg, "import", archList, path).must(t, 0)
	a := openTestArchive(t, dataDir)
	for _, words := range []string{"zebras", "café"} {
		hits, n, err := a.Search(context.Background(), archive.Query{List: archList, Words: words})
		if err != nil || n != 1 || len(hits) != 1 {
			t.Errorf("search %q: %d hits, %v", words, n, err)
		}
	}
}

func TestArchiveHookIsIdempotent(t *testing.T) {
	t.Parallel()
	_, dataDir := testConfig(t, "")
	a := openTestArchive(t, dataDir)
	hook := archiveHook(a)
	raw := []byte("From: Ann <ann@example.org>\r\nMessage-ID: <hook@example.org>\r\nSubject: hi\r\n\r\nbody\r\n")
	for range 2 {
		if err := hook(context.Background(), archList, raw); err != nil {
			t.Fatal(err)
		}
	}
	if got := archNumbers(t, a, archList); len(got) != 1 || got["hook@example.org"] != 1 {
		t.Fatalf("numbers after two calls: %v", got)
	}
}
