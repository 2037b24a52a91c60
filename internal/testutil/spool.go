package testutil

import (
	"io"
	"testing"

	"github.com/posthorn/posthorn/internal/spool"
)

// SpoolBody returns the stored message (header and body) of m in st.
func SpoolBody(t testing.TB, st *spool.Store, m *spool.Message) string {
	t.Helper()
	b, err := st.OpenBody(m)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	data, err := io.ReadAll(b)
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}
