package spool

import (
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"syscall"
)

// The journal (SyncJournal mode) holds small new messages without a file
// of their own. Every committing writer hands its finished file image to
// one appender, which writes everything that arrived since its last round
// to the current segment in one pwrite(2) and makes it durable with one
// fdatasync(2). A message that is delivered at its first attempt never gets
// a file: its record is marked done (one byte, made durable with the
// segment's shared fdatasync) and the segment is deleted once every record
// in it is done. A message that has to stay (deferred, held, partly
// delivered) is copied to a file of its own when its first state is saved,
// and from then on lives there like any other.
//
// Segment layout: the 8-byte segMagic, then records:
//
//	offset size  field
//	0      4     "PHJ1"
//	4      1     flag: 0 live, 'D' done (delivered, removed, or copied to a file)
//	5      3     zero
//	8      4     N = length of the image
//	12     N     the image: exactly the bytes of a committed spool file
//	             without state records (magic, envelope, message, checksums)
const (
	journalSubdir = "journal"
	segMagic      = "PHJSEG01"
	recMagic      = "PHJ1"
	recHeader     = 12
	recFlagAt     = 4
	flagLive      = 0
	flagDone      = 'D'
	// segmentLimit is the size after which the next round starts a new
	// segment. Small enough that a segment is deleted soon after its
	// messages are delivered, large enough that creating one is rare.
	segmentLimit = 4 << 20
	// maxBatchKeep bounds the capacity of the batch buffer kept between
	// rounds.
	maxBatchKeep = 1 << 20
)

// segment is one journal file.
type segment struct {
	path string
	f    *os.File
	sync *groupSync // fdatasync(f), shared by the appender and removals
	size int64      // end of the data written; owned by the appender

	// guarded by Store.jmu
	live    int  // records not done
	refs    int  // open bodies reading from it
	current bool // the appender may still write to it
	dropped bool
}

func newSegment(path string, f *os.File) *segment {
	return &segment{path: path, f: f, sync: newGroupSync(func() error { return fdatasync(f) })}
}

// setFlag writes the flag byte of the record whose image starts at off.
func (g *segment) setFlag(off int64, flag byte) error {
	_, err := g.f.WriteAt([]byte{flag}, off-recHeader+recFlagAt)
	return err
}

// jrec is where a live journal record's image is.
type jrec struct {
	seg *segment
	off int64 // image start in seg
	n   int64 // image length
}

// journal is the appender of SyncJournal mode.
type journal struct {
	s       *Store
	dir     string
	dirSync *groupSync // fsync of the journal directory
	limit   int64      // segment size after which a new one starts

	mu      sync.Mutex
	buf     []byte       // the round being collected
	recs    []pendingRec // its records
	round   *syncRun
	running bool

	// owned by the appender goroutine
	spare     []byte
	spareRecs []pendingRec
	cur       *segment
	seq       uint64 // of the last segment created or found
}

type pendingRec struct {
	id     string
	rel, n int64 // image offset in the round's buffer, image length
}

// journalDir is the segment directory of s.
func (s *Store) journalDir() string { return filepath.Join(s.dir, journalSubdir) }

// enableJournal creates the journal directory and the appender.
func (s *Store) enableJournal() error {
	dir := s.journalDir()
	if err := os.Mkdir(dir, 0o700); err != nil && !errors.Is(err, os.ErrExist) {
		return fmt.Errorf("spool: %w", err)
	}
	if s.sync != nil {
		if err := s.sync.Sync(); err != nil { // the new directory's entry
			return fmt.Errorf("spool: fsync %s: %w", s.dir, err)
		}
	}
	ds, err := s.journalDirSync()
	if err != nil {
		return err
	}
	s.jmu.Lock()
	seq := s.jseq
	s.jmu.Unlock()
	s.jnl = &journal{s: s, dir: dir, dirSync: ds, seq: seq, limit: segmentLimit}
	return nil
}

// journalDirSync returns the group fsync of the journal directory, opening
// it on first use.
func (s *Store) journalDirSync() (*groupSync, error) {
	s.jmu.Lock()
	defer s.jmu.Unlock()
	if s.jdirSync != nil {
		return s.jdirSync, nil
	}
	d, err := os.Open(s.journalDir())
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	s.jdirf, s.jdirSync = d, newGroupSync(d.Sync)
	return s.jdirSync, nil
}

// append makes image (a committed file image of message id) durable in the
// journal and indexes it. It returns once the record is on stable storage.
func (j *journal) append(id string, image []byte) error {
	j.mu.Lock()
	if j.round == nil {
		j.round = &syncRun{done: make(chan struct{})}
	}
	r := j.round
	rel := int64(len(j.buf))
	j.buf = append(j.buf, recMagic...)
	j.buf = append(j.buf, flagLive, 0, 0, 0)
	j.buf = binary.LittleEndian.AppendUint32(j.buf, uint32(len(image)))
	j.buf = append(j.buf, image...)
	j.recs = append(j.recs, pendingRec{id: id, rel: rel + recHeader, n: int64(len(image))})
	if !j.running {
		j.running = true
		go j.run()
	}
	j.mu.Unlock()
	<-r.done
	return r.err
}

// run writes rounds until nobody is waiting.
func (j *journal) run() {
	for {
		j.mu.Lock()
		r, buf, recs := j.round, j.buf, j.recs
		if r == nil {
			j.running = false
			j.mu.Unlock()
			return
		}
		j.round, j.buf, j.recs = nil, j.spare[:0], j.spareRecs[:0]
		j.mu.Unlock()
		r.err = j.write(buf, recs)
		if cap(buf) > maxBatchKeep {
			buf = nil
		}
		clear(recs) // drop the ids
		j.spare, j.spareRecs = buf[:0], recs[:0]
		close(r.done)
	}
}

// write appends one round to the current segment and syncs it.
func (j *journal) write(buf []byte, recs []pendingRec) error {
	seg, err := j.segment()
	if err != nil {
		return err
	}
	epoch := seg.sync.failures.Load()
	base := seg.size
	if _, err := seg.f.WriteAt(buf, base); err != nil {
		j.abandon(seg, base)
		return &WriteError{Op: "journal write", Err: err}
	}
	err = seg.sync.Sync()
	if err == nil && seg.sync.failures.Load() != epoch {
		err = errEarlierSyncFailed
	}
	if err != nil {
		j.abandon(seg, base)
		return &WriteError{Op: "journal fdatasync", Err: err}
	}
	seg.size = base + int64(len(buf))
	s := j.s
	s.jmu.Lock()
	for _, r := range recs {
		s.jidx[r.id] = jrec{seg: seg, off: base + r.rel, n: r.n}
	}
	seg.live += len(recs)
	s.jmu.Unlock()
	return nil
}

// segment returns the segment to append to, starting a new one when the
// current one is full or was abandoned.
func (j *journal) segment() (*segment, error) {
	if j.cur != nil && j.cur.size < j.limit {
		return j.cur, nil
	}
	seg, err := j.create()
	if err != nil {
		return nil, err
	}
	if old := j.cur; old != nil {
		j.s.retire(old)
	}
	j.cur = seg
	return seg, nil
}

// create makes a new segment durable (its header and its directory entry)
// before anything is appended to it.
func (j *journal) create() (*segment, error) {
	var f *os.File
	var path string
	if j.seq == 0 {
		j.seq = j.s.highestSegment()
	}
	for range 100 {
		j.seq++
		path = filepath.Join(j.dir, segmentName(j.seq))
		var err error
		f, err = openFile(path, syscall.O_RDWR|syscall.O_CREAT|syscall.O_EXCL, 0o600)
		if err == nil {
			break
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, &WriteError{Op: "journal create", Err: err}
		}
	}
	if f == nil {
		return nil, &WriteError{Op: "journal create", Err: os.ErrExist}
	}
	fail := func(op string, err error) (*segment, error) {
		_ = f.Close()
		_ = os.Remove(path)
		return nil, &WriteError{Op: op, Err: err}
	}
	if _, err := f.WriteAt([]byte(segMagic), 0); err != nil {
		return fail("journal write", err)
	}
	if err := fdatasync(f); err != nil {
		return fail("journal fdatasync", err)
	}
	if err := j.dirSync.Sync(); err != nil {
		return fail("fsync journal directory", err)
	}
	seg := newSegment(path, f)
	seg.size = int64(len(segMagic))
	seg.current = true
	j.s.jmu.Lock()
	j.s.segs[path] = seg
	j.s.jmu.Unlock()
	return seg, nil
}

func segmentName(seq uint64) string { return fmt.Sprintf("%016x.seg", seq) }

// abandon gives up a segment after a failed write or sync: the round's
// bytes are cut off (if the file system still lets us) and the next round
// starts a new segment. The records acknowledged before stay where they
// are.
func (j *journal) abandon(seg *segment, base int64) {
	_ = seg.f.Truncate(base)
	j.cur = nil
	j.s.retire(seg)
}

// retire marks seg as no longer appended to, and deletes it if nothing in
// it is live.
func (s *Store) retire(seg *segment) {
	s.jmu.Lock()
	seg.current = false
	drop := s.droppableLocked(seg)
	s.jmu.Unlock()
	if drop {
		s.dropSegment(seg)
	}
}

// droppableLocked reports whether seg can be deleted now, and if so marks
// it dropped so that only one caller deletes it.
func (s *Store) droppableLocked(seg *segment) bool {
	if seg.current || seg.live > 0 || seg.refs > 0 || seg.dropped {
		return false
	}
	seg.dropped = true
	delete(s.segs, seg.path)
	return true
}

// dropSegment deletes a segment none of whose records is live. The
// directory fsync keeps a crash from bringing it back with records whose
// done flag was not synced (those copied to files).
func (s *Store) dropSegment(seg *segment) {
	_ = seg.f.Close()
	if err := os.Remove(seg.path); err != nil && !errors.Is(err, os.ErrNotExist) {
		s.log.Error("cannot delete journal segment", slog.String("file", seg.path), slog.String("error", err.Error()))
		return
	}
	ds, err := s.journalDirSync()
	if err == nil {
		err = ds.Sync()
	}
	if err != nil {
		s.log.Error("cannot fsync journal directory", slog.String("error", err.Error()))
	}
}

// journaled returns where message id is in the journal, if it is there.
func (s *Store) journaled(id string) (jrec, bool) {
	s.jmu.Lock()
	r, ok := s.jidx[id]
	s.jmu.Unlock()
	return r, ok
}

// forget takes a record out of the index once it is done.
func (s *Store) forget(id string, r jrec) {
	s.jmu.Lock()
	if cur, ok := s.jidx[id]; ok && cur == r {
		delete(s.jidx, id)
		r.seg.live--
	}
	drop := s.droppableLocked(r.seg)
	s.jmu.Unlock()
	if drop {
		s.dropSegment(r.seg)
	}
}

// removeJournaled marks a delivered or deleted journal record done, durably.
func (s *Store) removeJournaled(id string, r jrec) error {
	epoch := r.seg.sync.failures.Load()
	if err := r.seg.setFlag(r.off, flagDone); err != nil {
		return &WriteError{Op: "journal write", Err: err}
	}
	err := r.seg.sync.Sync()
	if err == nil && r.seg.sync.failures.Load() != epoch {
		err = errEarlierSyncFailed
	}
	if err != nil {
		// The caller keeps the message; so does the file, as far as it can.
		_ = r.seg.setFlag(r.off, flagLive)
		return &WriteError{Op: "journal fdatasync", Err: err}
	}
	s.forget(id, r)
	return nil
}

// materialize gives a journal message a file of its own, with the state
// record rec after its image, durably; then its record is done.
func (s *Store) materialize(m *Message, r jrec, rec []byte) error {
	buf := make([]byte, r.n+int64(len(rec)))
	if _, err := r.seg.f.ReadAt(buf[:r.n], r.off); err != nil {
		return &WriteError{Op: "journal read", Err: err}
	}
	copy(buf, magicPartial)
	copy(buf[r.n:], rec)
	path := s.path(m.Env.ID)
	epoch := s.syncEpoch()
	f, err := openFile(path, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_TRUNC, 0o600)
	if err != nil {
		return &WriteError{Op: "create", Err: err}
	}
	fail := func(op string, err error) error {
		if f != nil {
			_ = f.Close()
		}
		_ = os.Remove(path)
		return &WriteError{Op: op, Err: err}
	}
	if _, err := f.Write(buf); err != nil {
		return fail("write", err)
	}
	if _, err := f.WriteAt([]byte(Magic), 0); err != nil {
		return fail("write", err)
	}
	if err := s.syncWrite(f, epoch); err != nil {
		return fail("fdatasync", err)
	}
	err = f.Close()
	f = nil
	if err != nil {
		return fail("close", err)
	}
	if err := s.syncEntry(path); err != nil {
		return fail("fsync directory", err)
	}
	// The file is durable and wins over the record at recovery; the flag
	// only saves that comparison, so it is not synced.
	if err := r.seg.setFlag(r.off, flagDone); err != nil {
		s.log.Warn("cannot mark journal record done", slog.String("queue_id", m.Env.ID), slog.String("error", err.Error()))
	}
	s.forget(m.Env.ID, r)
	m.StateEnd, m.Torn = r.n+int64(len(rec)), false
	return nil
}
