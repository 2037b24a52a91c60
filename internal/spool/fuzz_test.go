package spool

import (
	"bytes"
	"testing"
)

func FuzzDecode(f *testing.F) {
	s := openStore(f)
	m := put(f, s, []byte("Subject: hi\r\n\r\nbody\r\n"), "b@x", "c@y")
	m.State.Rcpts[0].Attempts = 2
	if err := s.SaveState(m); err != nil {
		f.Fatal(err)
	}
	data, err := readFile(s.path(m.Env.ID))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(Magic))
	f.Fuzz(func(t *testing.T, data []byte) {
		m, err := Decode(bytes.NewReader(data), int64(len(data)), true)
		if err != nil {
			return
		}
		if len(m.State.Rcpts) != len(m.Env.Rcpts) {
			t.Fatalf("state for %d recipients, envelope has %d", len(m.State.Rcpts), len(m.Env.Rcpts))
		}
		if m.BodyOff+m.BodyLen > int64(len(data)) || m.StateEnd > int64(len(data)) {
			t.Fatalf("offsets beyond the data: %+v", m)
		}
	})
}

// FuzzJournalSegment feeds arbitrary bytes to the segment parser: it must
// not panic, and every record it accepts lies within the data and decodes.
func FuzzJournalSegment(f *testing.F) {
	s := openJournal(f, "")
	for i := range 3 {
		put(f, s, bytes.Repeat([]byte("line\r\n"), i*10), "b@x", "c@y")
	}
	data, err := readFile(s.jnl.cur.path)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte(segMagic + recMagic))
	f.Fuzz(func(t *testing.T, data []byte) {
		off := int64(len(segMagic))
		for n := 0; off < int64(len(data)) && n < 1000; n++ {
			m, size, _, err := parseRecord(data, off)
			if err != nil {
				next := resync(data, off+1)
				if next < 0 {
					return
				}
				if next <= off {
					t.Fatalf("resync went back from %d to %d", off, next)
				}
				off = next
				continue
			}
			if off+recHeader+size > int64(len(data)) || m.BodyOff+m.BodyLen > size {
				t.Fatalf("record beyond the data: %+v", m)
			}
			off += recHeader + size
		}
	})
}
