package spool

import (
	"encoding/binary"
	"errors"
	"hash/crc32"
	"os"
	"path/filepath"
	"testing"
)

// damage rewrites the file of m.
func damage(t *testing.T, s *Store, m *Message, fn func([]byte) []byte) {
	t.Helper()
	path := s.path(m.Env.ID)
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, fn(data), 0o600); err != nil {
		t.Fatal(err)
	}
}

// withEnvelope replaces the envelope JSON (fixing its length and, if
// fixCRC, its checksum).
func withEnvelope(js []byte, fixCRC bool) func([]byte) []byte {
	return func(data []byte) []byte {
		envLen := binary.LittleEndian.Uint32(data[len(Magic):])
		rest := data[headerFixed+int(envLen):]
		out := append([]byte(nil), data[:len(Magic)]...)
		out = binary.LittleEndian.AppendUint32(out, uint32(len(js)))
		out = append(out, js...)
		if fixCRC {
			out = binary.LittleEndian.AppendUint32(out, crc32.Checksum(js, castagnoli))
			rest = rest[crcBytes:]
		}
		return append(out, rest...)
	}
}

// TestCorruptFilesQuarantinedRestScanned: each kind of damage is reported
// as a CorruptError and quarantined, and the good messages around them are
// all still scanned.
func TestCorruptFilesQuarantinedRestScanned(t *testing.T) {
	t.Parallel()
	s := openStore(t)
	var good []*Message
	for range 3 {
		good = append(good, put(t, s, []byte("Subject: good\r\n\r\nfine\r\n"), "b@x"))
	}
	cases := []struct {
		name string
		fn   func([]byte) []byte
	}{
		{"truncated in the envelope", func(d []byte) []byte { return d[:headerFixed+5] }},
		{"garbage envelope, bad checksum", withEnvelope([]byte("\x00\xffgarbage{{{"), false)},
		{"garbage envelope, valid checksum", withEnvelope([]byte("{not json"), true)},
		{"envelope without recipients", withEnvelope([]byte(`{"id":"x","rcpts":[]}`), true)},
		{"body truncated", func(d []byte) []byte { return d[:len(d)-10] }},
		{"body missing", func(d []byte) []byte {
			envLen := binary.LittleEndian.Uint32(d[len(Magic):])
			return d[:headerFixed+int(envLen)+crcBytes+bodyLenBytes]
		}},
		{"body length garbage", func(d []byte) []byte {
			envLen := binary.LittleEndian.Uint32(d[len(Magic):])
			binary.LittleEndian.PutUint64(d[headerFixed+int(envLen)+crcBytes:], 1<<62)
			return d
		}},
		{"bad magic", func(d []byte) []byte { copy(d, "GARBAGE!"); return d }},
	}
	bad := map[string]string{}
	for _, c := range cases {
		m := put(t, s, []byte("Subject: doomed\r\n\r\nsome body text here\r\n"), "c@x")
		damage(t, s, m, c.fn)
		bad[m.Env.ID] = c.name
	}
	got := scanAll(t, s, true)
	for _, m := range good {
		if got[m.Env.ID].Msg == nil {
			t.Errorf("good message %s not scanned: %+v", m.Env.ID, got[m.Env.ID])
		}
	}
	for id, name := range bad {
		var ce *CorruptError
		if !errors.As(got[id].Err, &ce) {
			t.Errorf("%s: scan result %+v, want a CorruptError", name, got[id])
			continue
		}
		if _, err := os.Stat(filepath.Join(s.quarantine, id)); err != nil {
			t.Errorf("%s: not quarantined: %v", name, err)
		}
		if _, err := os.Stat(s.path(id)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s: still in the queue directory", name)
		}
	}
	// A second scan sees only the good messages.
	if again := scanAll(t, s, true); len(again) != len(good) {
		t.Errorf("second scan found %d files, want the %d good ones", len(again), len(good))
	}
}
