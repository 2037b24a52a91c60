package spool

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
)

// jfound is a live journal record found by a scan.
type jfound struct {
	rec jrec
	msg *Message
}

// parseSegmentName returns the number of a segment file name.
func parseSegmentName(name string) (uint64, bool) {
	hex, ok := strings.CutSuffix(name, ".seg")
	if !ok || len(hex) != 16 {
		return 0, false
	}
	n, err := strconv.ParseUint(hex, 16, 64)
	return n, err == nil
}

// highestSegment is the largest segment number in the journal directory.
func (s *Store) highestSegment() uint64 {
	s.jmu.Lock()
	hi := s.jseq
	s.jmu.Unlock()
	names, _ := readDirNames(s.journalDir())
	for _, name := range names {
		if n, ok := parseSegmentName(name); ok {
			hi = max(hi, n)
		}
	}
	return hi
}

func readDirNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer d.Close()
	return d.Readdirnames(-1)
}

// scanJournal reads every segment and returns its live records by id.
// Unreadable stretches in the middle of a segment (valid records after
// them) are reported through fn as corrupt and, when repairing, copied to
// the quarantine directory; an unreadable end is an unfinished write that
// was never acknowledged.
func (s *Store) scanJournal(repair bool, fn func(ScanResult)) (map[string]jfound, error) {
	names, err := readDirNames(s.journalDir())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	found := make(map[string]jfound)
	var data []byte
	for _, name := range sortedSegments(names) {
		seq, _ := parseSegmentName(name)
		s.jmu.Lock()
		s.jseq = max(s.jseq, seq)
		s.jmu.Unlock()
		data, err = s.scanSegment(name, repair, found, fn, data)
		if err != nil {
			return nil, err
		}
	}
	return found, nil
}

// sortedSegments keeps the segment names, oldest first (their names are
// fixed-width hex numbers).
func sortedSegments(names []string) []string {
	var out []string
	for _, n := range names {
		if _, ok := parseSegmentName(n); ok {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// scanSegment reads one segment into buf (reused across segments) and adds
// its live records to found.
func (s *Store) scanSegment(name string, repair bool, found map[string]jfound, fn func(ScanResult), buf []byte) ([]byte, error) {
	path := filepath.Join(s.journalDir(), name)
	seg, err := s.openSegment(path)
	if errors.Is(err, os.ErrNotExist) {
		return buf, nil
	}
	if err != nil {
		return buf, err
	}
	fi, err := seg.f.Stat()
	if err != nil {
		return buf, err
	}
	size := fi.Size()
	if int64(cap(buf)) < size {
		buf = make([]byte, size)
	}
	data := buf[:size]
	if _, err := seg.f.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return buf, fmt.Errorf("spool: reading %s: %w", path, err)
	}
	if size < int64(len(segMagic)) || string(data[:len(segMagic)]) != segMagic {
		s.badSegment(seg, name, size, repair, fn)
		return buf, nil
	}
	off := int64(len(segMagic))
	for off < size {
		m, n, flag, err := parseRecord(data, off)
		if err == nil {
			if flag == flagLive {
				found[m.Env.ID] = jfound{rec: jrec{seg: seg, off: off + recHeader, n: n}, msg: m}
			}
			off += recHeader + n
			continue
		}
		next := resync(data, off+1)
		if next < 0 {
			if repair && !allZero(data[off:]) {
				s.log.Info("journal segment ends with an unfinished write (never acknowledged)",
					slog.String("file", name), slog.Int64("offset", off), slog.Int64("bytes", size-off))
			}
			break
		}
		ce := &CorruptError{Offset: off, Reason: fmt.Sprintf("journal record unreadable (%v); %d bytes up to the next record skipped", err, next-off)}
		s.log.Error("corrupt journal segment", slog.String("file", name), slog.String("error", ce.Error()))
		if repair {
			s.quarantineBytes(fmt.Sprintf("%s-%d", name, off), data[off:next])
		}
		fn(ScanResult{ID: journalSubdir + "/" + name, Err: ce})
		off = next
	}
	return buf, nil
}

// openSegment returns the open segment at path, opening it if this store
// has not yet.
func (s *Store) openSegment(path string) (*segment, error) {
	s.jmu.Lock()
	seg := s.segs[path]
	s.jmu.Unlock()
	if seg != nil {
		return seg, nil
	}
	f, err := openFile(path, syscall.O_RDWR, 0)
	if errors.Is(err, os.ErrPermission) || errors.Is(err, syscall.EROFS) {
		f, err = openFile(path, syscall.O_RDONLY, 0) // a read-only look
	}
	if err != nil {
		return nil, err
	}
	seg = newSegment(path, f)
	s.jmu.Lock()
	if have := s.segs[path]; have != nil {
		s.jmu.Unlock()
		_ = f.Close()
		return have, nil
	}
	s.segs[path] = seg
	s.jmu.Unlock()
	return seg, nil
}

// badSegment handles a segment without a valid header: empty or shorter
// than the header (created by a writer that died before anything in it was
// acknowledged) it is removed; otherwise it is reported and quarantined.
func (s *Store) badSegment(seg *segment, name string, size int64, repair bool, fn func(ScanResult)) {
	s.jmu.Lock()
	current := seg.current
	s.jmu.Unlock()
	if current || !repair {
		return
	}
	s.jmu.Lock()
	seg.dropped = true
	delete(s.segs, seg.path)
	s.jmu.Unlock()
	_ = seg.f.Close()
	if size < int64(len(segMagic)) {
		_ = os.Remove(seg.path)
		return
	}
	ce := &CorruptError{Reason: "journal segment without its header"}
	s.log.Error("corrupt journal segment", slog.String("file", name), slog.String("error", ce.Error()))
	fn(ScanResult{ID: journalSubdir + "/" + name, Err: ce})
	if s.quarantine != "" {
		if err := os.Rename(seg.path, filepath.Join(s.quarantine, "journal-"+name)); err != nil {
			s.log.Error("cannot quarantine journal segment", slog.String("file", name), slog.String("error", err.Error()))
		}
	}
}

// parseRecord decodes the record at off: its message (body checksum
// verified for a live record), image length and flag.
func parseRecord(data []byte, off int64) (*Message, int64, byte, error) {
	size := int64(len(data))
	if off+recHeader > size {
		return nil, 0, 0, errors.New("short record header")
	}
	h := data[off : off+recHeader]
	if string(h[:len(recMagic)]) != recMagic {
		return nil, 0, 0, errors.New("bad record magic")
	}
	flag := h[recFlagAt]
	if flag != flagLive && flag != flagDone {
		return nil, 0, 0, fmt.Errorf("bad record flag %#x", flag)
	}
	n := int64(binary.LittleEndian.Uint32(h[8:]))
	if off+recHeader+n > size {
		return nil, 0, 0, errors.New("record runs past the end")
	}
	img := data[off+recHeader : off+recHeader+n]
	m, err := decode(bytes.NewReader(img), n, flag == flagLive, nil)
	if err != nil {
		return nil, 0, 0, err
	}
	if m.StateEnd != n {
		return nil, 0, 0, errors.New("record longer than its message")
	}
	return m, n, flag, nil
}

// resync finds the next readable record at or after from, or -1.
func resync(data []byte, from int64) int64 {
	for from < int64(len(data)) {
		i := bytes.Index(data[from:], []byte(recMagic))
		if i < 0 {
			return -1
		}
		at := from + int64(i)
		if _, _, _, err := parseRecord(data, at); err == nil {
			return at
		}
		from = at + 1
	}
	return -1
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// quarantineBytes keeps an unreadable stretch of a segment for inspection.
func (s *Store) quarantineBytes(name string, b []byte) {
	if s.quarantine == "" {
		return
	}
	path := filepath.Join(s.quarantine, "journal-"+name)
	if err := os.WriteFile(path, b, 0o600); err != nil {
		s.log.Error("cannot quarantine journal bytes", slog.String("file", path), slog.String("error", err.Error()))
	}
}

// indexJournal replaces the journal index with what a scan found (less the
// messages that have a valid file, which wins), reports those messages
// through fn, and, when repairing, deletes segments with nothing live.
func (s *Store) indexJournal(found map[string]jfound, repair bool, fn func(ScanResult)) {
	s.jmu.Lock()
	clear(s.jidx)
	for _, seg := range s.segs {
		seg.live = 0
	}
	for id, f := range found {
		s.jidx[id] = f.rec
		f.rec.seg.live++
	}
	var drop []*segment
	if repair {
		for _, seg := range s.segs {
			if s.droppableLocked(seg) {
				drop = append(drop, seg)
			}
		}
	}
	s.jmu.Unlock()
	for _, seg := range drop {
		s.dropSegment(seg)
	}
	for id, f := range found {
		fn(ScanResult{ID: id, Msg: f.msg})
	}
}
