// Package testutil provides loopback test doubles shared by Posthorn's
// package tests: a recording and scriptable fake SMTP upstream, listeners
// that refuse or hang, and self-signed TLS material.
//
// An Upstream moves between two states: running (listening on its address,
// answering as its current Script says) and stopped (nothing listens; dials
// are refused). NewUpstream starts it; Stop and Start move between the states
// on the same address, so a client sees a relay go down and come back. The
// Script is read at the moment each step of a session happens, so a test can
// change it between (or during) deliveries:
//
//	accept ─▶ HangGreeting? hold the connection, never write
//	       ─▶ Greeting set? send that reply, close
//	       ─▶ 220 ─▶ EHLO (Ehlo) ─▶ [STARTTLS] ─▶ MAIL (Mail) ─▶ RCPT (Rcpt)
//	       ─▶ DATA ─▶ DropInData? close while the body arrives
//	               ─▶ HangAfterData? read the body, never answer the dot
//	               ─▶ Data set? that reply : 250 and the message is recorded
//
// Everything a test starts here is stopped by t.Cleanup.
package testutil
