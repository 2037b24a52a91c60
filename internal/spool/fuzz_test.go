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
