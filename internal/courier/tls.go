package courier

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/textproto"
	"time"
)

// startTLS sends STARTTLS on a session that has just said EHLO and performs
// the handshake.
//
// go-smtp's client can only STARTTLS before it has said EHLO with our own
// name, so this step talks to the connection directly. Nothing the server
// sent before the handshake is kept (RFC 3207 section 4.2), and the new
// client is given a synthetic greeting (greetedConn) so that it goes
// straight to EHLO over TLS.
func startTLS(ctx context.Context, nc net.Conn, cfg *tls.Config, timeout time.Duration) (*tls.Conn, error) {
	if err := nc.SetDeadline(time.Now().Add(timeout)); err != nil {
		return nil, err
	}
	if _, err := nc.Write([]byte("STARTTLS\r\n")); err != nil {
		return nil, err
	}
	// One byte at a time: nothing after the reply may be consumed, the
	// TLS handshake reads the rest.
	r := textproto.NewReader(bufio.NewReaderSize(oneByteReader{nc}, 16))
	code, msg, err := r.ReadResponse(220)
	if err != nil {
		return nil, fmt.Errorf("STARTTLS refused: %d %s: %w", code, msg, err)
	}
	tc := tls.Client(nc, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		return nil, err
	}
	if err := nc.SetDeadline(time.Time{}); err != nil {
		return nil, err
	}
	return tc, nil
}

// oneByteReader reads at most one byte per call.
type oneByteReader struct{ r io.Reader }

func (o oneByteReader) Read(p []byte) (int, error) {
	if len(p) > 1 {
		p = p[:1]
	}
	return o.r.Read(p)
}

// greetedConn replays a greeting before reading from the connection.
type greetedConn struct {
	net.Conn
	greeting []byte
}

func (g *greetedConn) Read(p []byte) (int, error) {
	if len(g.greeting) > 0 {
		n := copy(p, g.greeting)
		g.greeting = g.greeting[n:]
		return n, nil
	}
	return g.Conn.Read(p)
}
