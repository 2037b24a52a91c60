package msghdr

import (
	"bufio"
	"strings"
	"testing"
	"time"
)

// BenchmarkAcceptHeader is what a session does with the header of each
// message: read and classify it, then build the Received: field and the
// missing fields.
func BenchmarkAcceptHeader(b *testing.B) {
	msg := "From: <bench@example.org>\r\nTo: <sink@example.net>\r\n" +
		"Date: Sat, 21 Nov 2026 10:00:00 +0000\r\nMessage-Id: <bench.1@client.bench>\r\n" +
		"Subject: benchmark\r\n\r\nbody\r\n"
	sr := strings.NewReader(msg)
	br := bufio.NewReader(sr)
	tr := Trace{Helo: "client.bench", ClientIP: "127.0.0.1", By: "relay.bench", With: "ESMTP",
		ID: "0123456789abcdef0123456789abcdef", For: "sink@example.net", Time: time.Now()}
	b.ReportAllocs()
	for b.Loop() {
		sr.Reset(msg)
		br.Reset(sr)
		h, err := Read(br, 1<<20)
		if err != nil {
			b.Fatal(err)
		}
		_ = Received(tr)
		_ = Missing(h, tr.ID, tr.By, tr.Time)
	}
}
