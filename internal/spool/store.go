package spool

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// tmpPrefix named files being written by earlier versions; they are
// treated like uncommitted files.
const tmpPrefix = "tmp-"

// Store is one spool directory.
type Store struct {
	dir        string
	prefix     string // the cleaned dir and a separator: prefix+id is the file of id
	quarantine string
	dirf       *os.File
	sync       *groupSync // the directory fsync; nil when dir cannot be opened
	fs         *groupSync // syncfs of the file system, in SyncFS mode; else nil
	log        *slog.Logger
	tmpGrace   time.Duration
	now        func() time.Time // dates write outcomes; nil = time.Now
	stats      writeStats

	jnl *journal // the appender in SyncJournal mode; else nil
	// The journal's index, read by every store (a journal written in
	// SyncJournal mode is recovered whatever the mode now).
	jmu      sync.Mutex
	jidx     map[string]jrec     // live journal records by queue id
	segs     map[string]*segment // open segments by path
	jseq     uint64              // highest segment number found by Scan
	jdirf    *os.File
	jdirSync *groupSync
}

// SetTempGrace makes repairing scans keep uncommitted files younger than d:
// in a directory that other processes write to (the sendmail drop
// directory), a young uncommitted file is a message still being written.
func (s *Store) SetTempGrace(d time.Duration) { s.tmpGrace = d }

// Open opens (creating if needed) the spool directory dir. Corrupt files are
// moved to quarantineDir ("" disables moving: they are only reported).
func Open(dir, quarantineDir string, log *slog.Logger) (*Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if quarantineDir != "" {
		if err := os.MkdirAll(quarantineDir, 0o700); err != nil {
			return nil, fmt.Errorf("spool: %w", err)
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s := &Store{dir: dir, prefix: filepath.Clean(dir) + string(filepath.Separator), quarantine: quarantineDir, log: log,
		jidx: make(map[string]jrec), segs: make(map[string]*segment)}
	f, err := os.Open(dir)
	switch {
	case err == nil:
		s.dirf, s.sync = f, newGroupSync(f.Sync)
	case errors.Is(err, os.ErrPermission):
		// A write-only drop directory (mode 01733) cannot be opened to fsync
		// it; new entries are made durable with syncfs on the file instead.
	default:
		return nil, fmt.Errorf("spool: %w", err)
	}
	return s, nil
}

// Close releases the directory handles and the journal's segments. Writes
// must have ended.
func (s *Store) Close() error {
	if s.jnl != nil && s.jnl.cur != nil {
		s.retire(s.jnl.cur) // deleted if nothing in it is live
		s.jnl.cur = nil
	}
	s.jmu.Lock()
	for _, seg := range s.segs {
		_ = seg.f.Close()
	}
	clear(s.segs)
	clear(s.jidx)
	if s.jdirf != nil {
		_ = s.jdirf.Close()
		s.jdirf, s.jdirSync = nil, nil
	}
	s.jmu.Unlock()
	if s.dirf == nil {
		return nil
	}
	return s.dirf.Close()
}

// SyncMode is how the spool makes a write durable.
type SyncMode int

const (
	// SyncFile: fdatasync the file, then the group-committed fsync of the
	// directory for its entry. Only this spool's files are written.
	SyncFile SyncMode = iota
	// SyncFS: one group-committed syncfs(2) of the file system covers the
	// data, the inode and the directory entry of every write waiting: one
	// device flush per batch instead of one per file. It also writes
	// whatever else is dirty on that file system, so it suits a file system
	// that is not shared with heavy writers.
	SyncFS
	// SyncJournal: a new message that fits in one 64 KiB buffer is
	// appended to a shared journal segment, one write and one fdatasync
	// for every message committing at that moment, and gets a file of its
	// own (as in SyncFile mode) only if it is still queued when its state
	// is first saved. See journal.go.
	SyncJournal
)

// SetSyncMode chooses how writes are made durable; call it before the
// store is used. SyncFS and SyncJournal need a directory that can be
// opened (not a write-only drop directory); otherwise the store stays in
// SyncFile mode.
func (s *Store) SetSyncMode(m SyncMode) error {
	s.fs, s.jnl = nil, nil
	if s.dirf == nil {
		return nil
	}
	switch m {
	case SyncFS:
		dirf := s.dirf
		s.fs = newGroupSync(func() error { return syncfs(dirf) })
	case SyncJournal:
		return s.enableJournal()
	}
	return nil
}

// syncEpoch is the number of failed syncfs runs so far; a write that began
// at epoch e is durable only if the epoch is still e after its syncfs.
func (s *Store) syncEpoch() uint64 {
	if s.fs == nil {
		return 0
	}
	return s.fs.failures.Load()
}

// syncWrite makes writes to f durable, f being a file of this spool that
// the caller wrote since syncEpoch returned epoch: fdatasync in SyncFile
// mode (the entry is synced separately), the shared syncfs in SyncFS mode.
func (s *Store) syncWrite(f *os.File, epoch uint64) error {
	if s.fs == nil {
		if err := fdatasync(f); err != nil {
			return &WriteError{Op: "fdatasync", Err: err}
		}
		return nil
	}
	if err := s.fs.Sync(); err != nil {
		return &WriteError{Op: "syncfs", Err: err}
	}
	if s.fs.failures.Load() != epoch {
		// A syncfs failed while this file was being written: its write-back
		// error may have been reported to that run, not to ours.
		return &WriteError{Op: "syncfs", Err: errEarlierSyncFailed}
	}
	return nil
}

var errEarlierSyncFailed = errors.New("a file system sync failed while the file was written")

// syncEntry makes the directory entry of path durable: the shared
// directory fsync (or the shared syncfs in SyncFS mode), or syncfs where
// the directory cannot be read.
func (s *Store) syncEntry(path string) error {
	if s.fs != nil {
		return s.fs.Sync()
	}
	if s.sync != nil {
		return s.sync.Sync()
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	return syncfs(f)
}

// Dir is the spool directory.
func (s *Store) Dir() string { return s.dir }

func (s *Store) path(id string) string {
	if ValidID(id) {
		return s.prefix + id // what Join returns, without its Clean
	}
	return filepath.Join(s.dir, id)
}

// openFile is os.OpenFile for the spool's regular files. os.OpenFile tries
// to register every file with the network poller, which costs four fcntl
// and a failing epoll_ctl on Linux; a file made with os.NewFile is used
// with plain blocking system calls, which is what happens to a regular file
// anyway.
func openFile(path string, flag int, perm uint32) (*os.File, error) {
	for {
		fd, err := syscall.Open(path, flag|syscall.O_CLOEXEC, perm)
		if err == nil {
			return os.NewFile(uintptr(fd), path), nil
		}
		if err != syscall.EINTR {
			return nil, &os.PathError{Op: "open", Path: path, Err: err}
		}
	}
}

// Create starts a new message. env.ID is set if empty.
func (s *Store) Create(env *Envelope) (*Writer, error) {
	if env.ID == "" {
		env.ID = NewID()
	}
	if len(env.Rcpts) == 0 {
		return nil, errors.New("spool: message without recipients")
	}
	epoch := s.syncEpoch()
	bp := bufPool.Get().(*[]byte)
	buf, err := encodeHead((*bp)[:0], env)
	if err != nil {
		return nil, err
	}
	w := &Writer{store: s, env: env, tmp: s.path(env.ID), buf: buf, bodyOff: int64(len(buf)), epoch: epoch}
	if s.jnl == nil {
		// A file from the start; in SyncJournal mode only once the message
		// outgrows the buffer (see Writer.flush).
		if err := w.create(); err != nil {
			w.release()
			return nil, s.noteWrite(err)
		}
	}
	return w, nil
}

// Load decodes the message id (without verifying the body checksum).
func (s *Store) Load(id string) (*Message, error) {
	if !ValidID(id) {
		return nil, fmt.Errorf("spool: invalid queue id %q", id)
	}
	if r, ok := s.journaled(id); ok {
		return Decode(io.NewSectionReader(r.seg.f, r.off, r.n), r.n, false)
	}
	f, err := openFile(s.path(id), syscall.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return Decode(f, fi.Size(), false)
}

// Body is an open message body.
type Body struct {
	*io.SectionReader
	f     *os.File
	seg   *segment // when reading from the journal: f is nil
	store *Store
}

// Close closes the underlying file, or lets go of the journal segment.
func (b *Body) Close() error {
	if b.seg == nil {
		return b.f.Close()
	}
	s, seg := b.store, b.seg
	b.seg = nil
	s.jmu.Lock()
	seg.refs--
	drop := s.droppableLocked(seg)
	s.jmu.Unlock()
	if drop {
		s.dropSegment(seg)
	}
	return nil
}

// OpenBody opens the body of m for reading.
func (s *Store) OpenBody(m *Message) (*Body, error) {
	s.jmu.Lock()
	r, ok := s.jidx[m.Env.ID]
	if ok {
		r.seg.refs++
	}
	s.jmu.Unlock()
	if ok {
		return &Body{SectionReader: io.NewSectionReader(r.seg.f, r.off+m.BodyOff, m.BodyLen), seg: r.seg, store: s}, nil
	}
	f, err := openFile(s.path(m.Env.ID), syscall.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	return &Body{SectionReader: io.NewSectionReader(f, m.BodyOff, m.BodyLen), f: f}, nil
}

// SaveState appends m.State to the message's file and fdatasyncs it.
func (s *Store) SaveState(m *Message) error {
	return s.noteWrite(s.saveState(m))
}

func (s *Store) saveState(m *Message) error {
	rec, err := encodeState(&m.State)
	if err != nil {
		return err
	}
	if r, ok := s.journaled(m.Env.ID); ok {
		return s.materialize(m, r, rec)
	}
	epoch := s.syncEpoch()
	f, err := openFile(s.path(m.Env.ID), syscall.O_WRONLY, 0)
	if err != nil {
		return &WriteError{Op: "open", Err: err}
	}
	defer f.Close()
	if _, err := f.WriteAt(rec, m.StateEnd); err != nil {
		return &WriteError{Op: "write", Err: err}
	}
	end := m.StateEnd + int64(len(rec))
	if m.Torn {
		if err := f.Truncate(end); err != nil {
			return &WriteError{Op: "truncate", Err: err}
		}
	}
	if err := s.syncWrite(f, epoch); err != nil {
		return err
	}
	m.StateEnd, m.Torn = end, false
	return nil
}

// Remove deletes a finished message and makes the deletion durable.
func (s *Store) Remove(id string) error {
	if !ValidID(id) {
		return fmt.Errorf("spool: invalid queue id %q", id)
	}
	if r, ok := s.journaled(id); ok {
		return s.noteWrite(s.removeJournaled(id, r))
	}
	if err := os.Remove(s.path(id)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return s.noteWrite(&WriteError{Op: "remove", Err: err})
	}
	if err := s.syncEntry(s.dir); err != nil {
		return s.noteWrite(&WriteError{Op: "fsync directory", Err: err})
	}
	return s.noteWrite(nil)
}

// Has reports whether message id is queued here (committed or not).
func (s *Store) Has(id string) bool {
	if _, ok := s.journaled(id); ok {
		return true
	}
	_, err := os.Lstat(s.path(id))
	return err == nil
}

// Adopt moves a committed message file from another spool on the same file
// system (the sendmail drop directory) into this one, durably.
func (s *Store) Adopt(from *Store, id string) error {
	if !ValidID(id) {
		return fmt.Errorf("spool: invalid queue id %q", id)
	}
	if _, err := os.Stat(s.path(id)); err == nil {
		return fmt.Errorf("spool: %s already queued", id)
	}
	if err := os.Rename(from.path(id), s.path(id)); err != nil {
		return s.noteWrite(&WriteError{Op: "rename", Err: err})
	}
	if err := s.syncEntry(s.path(id)); err != nil {
		return s.noteWrite(&WriteError{Op: "fsync directory", Err: err})
	}
	return s.noteWrite(from.syncEntry(s.path(id)))
}

// ScanResult is one message found by Scan.
type ScanResult struct {
	ID  string
	Msg *Message // nil when Err is set
	Err error    // a *CorruptError or an I/O error
}

// Scan reads every committed message, in files and in the journal, in no
// particular order. With repair set (the daemon at start), leftover
// temporary files — messages never acknowledged — are removed, corrupt
// files quarantined and journal segments with nothing live deleted;
// without it (read-only tools) nothing is changed. Nothing may write to
// the store while it scans.
func (s *Store) Scan(repair bool, fn func(ScanResult)) error {
	found, err := s.scanJournal(repair, fn)
	if err != nil {
		return err
	}
	d, err := os.Open(s.dir)
	if err != nil {
		return err
	}
	defer d.Close()
	scratch := make([]byte, 32<<10)
	for {
		names, err := d.Readdirnames(1024)
		for _, name := range names {
			s.scanOne(name, repair, scratch, fn, found)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	s.indexJournal(found, repair, fn)
	return nil
}

func (s *Store) scanOne(name string, repair bool, scratch []byte, fn func(ScanResult), journal map[string]jfound) {
	if strings.HasPrefix(name, tmpPrefix) {
		s.dropPartial(name, repair, &PartialError{"temporary file"})
		return
	}
	if !ValidID(name) {
		return
	}
	_, inJournal := journal[name]
	m, err := s.decodeFile(name, repair, scratch)
	var pe *PartialError
	if errors.As(err, &pe) {
		s.dropPartial(name, repair, pe)
		return
	}
	if err == nil && m.Env.ID != name {
		err = &CorruptError{Reason: fmt.Sprintf("envelope id %s does not match file name", m.Env.ID)}
	}
	if err != nil {
		var ce *CorruptError
		isCorrupt := errors.As(err, &ce)
		if isCorrupt && inJournal {
			// A copy from the journal that a crash cut short: the journal
			// record still holds the message.
			if repair {
				s.log.Warn("removing an unfinished copy of a journal message", slog.String("file", name), slog.String("error", err.Error()))
				_ = os.Remove(filepath.Join(s.dir, name))
			}
			return
		}
		if isCorrupt && repair {
			s.quarantineFile(name, err)
		}
		fn(ScanResult{ID: name, Err: err})
		return
	}
	if inJournal {
		// Copied from the journal: the file has the newer state and wins.
		// Make sure it is durable before its record stops counting.
		delete(journal, name)
		if repair {
			s.settleFile(name)
		}
	}
	fn(ScanResult{ID: name, Msg: m})
}

// settleFile fdatasyncs a file found at start whose journal record is
// about to be forgotten (a crash may have come before its own sync).
func (s *Store) settleFile(name string) {
	f, err := openFile(filepath.Join(s.dir, name), syscall.O_RDONLY, 0)
	if err == nil {
		err = fdatasync(f)
		_ = f.Close()
	}
	if err == nil && s.sync != nil {
		err = s.sync.Sync()
	}
	if err != nil {
		s.log.Warn("cannot sync a message file copied from the journal", slog.String("file", name), slog.String("error", err.Error()))
	}
}

// dropPartial removes an uncommitted file when repairing, unless it is
// young enough to be still in the hands of its writer.
func (s *Store) dropPartial(name string, repair bool, why error) {
	if !repair {
		return
	}
	path := filepath.Join(s.dir, name)
	if s.tmpGrace > 0 {
		fi, err := os.Stat(path)
		if err != nil || time.Since(fi.ModTime()) < s.tmpGrace {
			return
		}
	}
	s.log.Info("removing unacknowledged partial message", slog.String("file", name), slog.String("reason", why.Error()))
	_ = os.Remove(path)
}

func (s *Store) decodeFile(name string, verify bool, scratch []byte) (*Message, error) {
	f, err := openFile(filepath.Join(s.dir, name), syscall.O_RDONLY, 0)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return decode(f, fi.Size(), verify, scratch)
}

func (s *Store) quarantineFile(name string, cause error) {
	s.log.Error("quarantining corrupt spool file", slog.String("file", name), slog.String("error", cause.Error()))
	if s.quarantine == "" {
		return
	}
	if err := os.Rename(filepath.Join(s.dir, name), filepath.Join(s.quarantine, name)); err != nil {
		s.log.Error("cannot quarantine spool file", slog.String("file", name), slog.String("error", err.Error()))
		return
	}
	_ = s.syncEntry(s.dir)
}

func readFile(path string) ([]byte, error) { return os.ReadFile(path) }
