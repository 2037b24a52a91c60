package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/posthorn/posthorn/internal/archive"
	"github.com/posthorn/posthorn/internal/mbox"
)

// checkpointKey names an import of path into list: the file's absolute
// path and size, a hash of its first 64 KiB, and the import's options,
// so that a changed file starts afresh instead of resuming at an offset
// that no longer begins a message.
func checkpointKey(list string, f *os.File, size int64, format mbox.Format, keep bool) (string, error) {
	abs, err := filepath.Abs(f.Name())
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.NewSectionReader(f, 0, 64<<10)); err != nil {
		return "", err
	}
	return fmt.Sprintf("mbox:%s:%s:%d:%s:%s:keep=%t", list, abs, size, hex.EncodeToString(h.Sum(nil))[:32], format, keep), nil
}

func parseFormat(s string) (mbox.Format, error) {
	switch s {
	case "", "auto":
		return mbox.Auto, nil
	case "mboxo":
		return mbox.Mboxo, nil
	case "mboxrd":
		return mbox.Mboxrd, nil
	}
	return mbox.Auto, usagef("--format %q: want auto, mboxo or mboxrd", s)
}

// mboxSource reads an mbox file for archive.Import. Data that is not a
// message (bytes before the first "From " line, a message over a size
// limit) is reported on stderr and counted, never passed over silently.
type mboxSource struct {
	r        *mbox.Reader
	stderr   io.Writer
	problems []string
}

func (s *mboxSource) Next() ([]byte, int64, time.Time, error) {
	for range 1 << 20 {
		m, err := s.r.Next()
		var fe *mbox.FormatError
		var tl *mbox.TooLargeError
		switch {
		case errors.As(err, &fe):
			s.report(fe.Error())
			continue
		case errors.As(err, &tl):
			s.report(tl.Error())
			continue
		case err != nil:
			return nil, 0, time.Time{}, err
		}
		return m.Raw, m.Offset, m.Date, nil
	}
	return nil, 0, time.Time{}, errors.New("mbox: too many unreadable parts in a row")
}

func (s *mboxSource) report(p string) {
	s.problems = append(s.problems, p)
	fmt.Fprintln(s.stderr, "posthorn archive import: not archived:", p)
}

// importResult is the JSON form of an import's report.
type importResult struct {
	List    string               `json:"list"`
	File    string               `json:"file"`
	Resumed int64                `json:"resumed_at"`
	Report  archive.ImportReport `json:"report"`
	Mbox    []string             `json:"mbox_problems"`
	Format  string               `json:"format"`
}

// archiveImport imports an mbox file, resuming an interrupted import of
// the same file from its checkpoint.
func archiveImport(c *archiveCommand) error {
	if len(c.args.words) != 2 {
		return usagef("want LIST MBOX")
	}
	format, err := parseFormat(c.args.opts["--format"])
	if err != nil {
		return err
	}
	list, err := c.list()
	if err != nil {
		return err
	}
	f, err := os.Open(c.args.words[1])
	if err != nil {
		return err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return err
	}
	keep := c.args.has("--keep-numbers")
	key, err := checkpointKey(list, f, st.Size(), format, keep)
	if err != nil {
		return err
	}
	start, err := c.arch.ResumeOffset(c.ctx, key)
	if err != nil {
		return err
	}
	if start > st.Size() {
		start = 0
	}
	if _, err := f.Seek(start, io.SeekStart); err != nil {
		return err
	}
	if start > 0 {
		fmt.Fprintf(c.stderr, "resuming the import of %s at byte %d of %d\n", f.Name(), start, st.Size())
	}
	src := &mboxSource{r: mbox.NewReaderAt(f, format, start), stderr: c.stderr}
	pl := &progressLine{w: c.stderr, size: st.Size(), start: start,
		on: c.env.terminal || isTerminal(c.stderr)}
	o := archive.ImportOptions{KeepNumbers: keep, Checkpoint: key, BatchSize: c.env.batch,
		Progress: func(p archive.ImportProgress) {
			pl.show(p)
			if c.env.progress != nil {
				c.env.progress(p)
			}
		}}
	rep, err := c.arch.Import(c.ctx, list, src, o)
	pl.end()
	res := importResult{List: list, File: f.Name(), Resumed: start, Report: rep, Mbox: src.problems, Format: src.r.Format().String()}
	if errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		printImport(c.stdout, res)
		return fmt.Errorf("interrupted after %d messages, all committed; run the same command again to resume", rep.Messages)
	}
	if err != nil {
		return err
	}
	if c.args.has("--json") {
		enc := json.NewEncoder(c.stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	printImport(c.stdout, res)
	return nil
}

func printImport(w io.Writer, res importResult) {
	r := res.Report
	fmt.Fprintf(w, "%s: read %d messages (%s) from %s: %d added, %d already archived", res.List, r.Messages,
		res.Format, res.File, r.Added, r.Existing)
	if r.Skipped > 0 {
		fmt.Fprintf(w, ", %d skipped before the checkpoint", r.Skipped)
	}
	fmt.Fprintf(w, " in %s\n", r.Elapsed.Round(time.Millisecond))
	for _, p := range r.Unparsed {
		fmt.Fprintf(w, "  archived raw, header unreadable: message %d at byte %d, number %d: %s\n", p.Index, p.Offset, p.Number, p.Problem)
	}
	for _, p := range r.Conflicts {
		fmt.Fprintf(w, "  number taken: message %d at byte %d (%s) got number %d: %s\n", p.Index, p.Offset, p.MessageID, p.Number, p.Problem)
	}
	for _, p := range res.Mbox {
		fmt.Fprintf(w, "  not a message, not archived: %s\n", p)
	}
}

// progressLine shows an import's progress on one terminal line: messages,
// rate, and time left estimated from the bytes still to read.
type progressLine struct {
	w     io.Writer
	size  int64 // of the file
	start int64 // offset the run started at
	on    bool
	shown bool
}

func (p *progressLine) show(ip archive.ImportProgress) {
	if !p.on {
		return
	}
	p.shown = true
	fmt.Fprintf(p.w, "\r%s", progressText(ip, p.size, p.start))
}

func (p *progressLine) end() {
	if p.shown {
		fmt.Fprintln(p.w)
	}
}

// progressText is the progress line's text.
func progressText(ip archive.ImportProgress, size, start int64) string {
	pct := 100.0
	if size > 0 {
		pct = 100 * float64(ip.Offset) / float64(size)
	}
	left := "?"
	if secs := ip.Elapsed.Seconds(); secs > 0 && ip.Offset > start {
		rate := float64(ip.Offset-start) / secs
		left = time.Duration(float64(size-ip.Offset) / rate * float64(time.Second)).Round(time.Second).String()
	}
	return fmt.Sprintf("%d messages, %d added, %.0f/s, %.1f%%, %s left   ", ip.Messages, ip.Added, ip.Rate, pct, left)
}

// isTerminal reports whether w is a character device (a terminal).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}
