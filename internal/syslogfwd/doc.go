// Package syslogfwd forwards slog records to a central collector as RFC 5424
// syslog messages over TCP (optionally TLS), framed by octet counting
// (RFC 6587 section 3.4.1: "LEN SP MSG").
//
// Flow: the slog.Handler returned by (*Forwarder).Handler is a tee. Every
// record goes to the next handler (stderr) unchanged; a copy is formatted
// at once into a complete frame and put on a bounded in-memory queue. That
// is all the logging call does: it never waits for the network. When the
// queue is full the oldest queued frame is dropped and counted (Dropped), so
// that after an outage the collector receives the most recent records.
//
// Run owns the connection and moves through these states:
//
//	disconnected ──dial (+TLS handshake) ok──▶ connected
//	     ▲   │ dial failed: wait (exponential backoff ReconnectMin..ReconnectMax, jittered)
//	     │   └──────────────┘
//	connected ──write error, write timeout, or the collector closed──▶ disconnected
//	          (the batch whose write failed is kept and written first after reconnecting)
//	any state ──ctx done or Close──▶ flushing ──▶ stopped
//	          (flushing writes what is queued within FlushTimeout, dialling once if needed)
//
// Delivery is at least once only while the connection lasts: TCP syslog has
// no acknowledgements, so frames already handed to the kernel when the
// collector dies can be lost, and a batch re-sent after a failed write can
// arrive twice. A collector is never expected to send anything; reading
// from the connection detects that it closed while the forwarder was idle.
//
// Message layout: PRI from the facility and the record's level (Debug 7,
// Info 6, Warn 4, Error 3); VERSION 1; TIMESTAMP in UTC with microseconds;
// HOSTNAME, APP-NAME, PROCID (the process id); MSGID "mail" for records of
// the mail log (attribute log="mail") and "-" otherwise; STRUCTURED-DATA
// [posthorn@32473 queue_id="…" service="…"] when the record carries those
// attributes; MSG is the record as one JSON object, the same one
// slog.JSONHandler writes (without the trailing newline and without a BOM,
// that is MSG-ANY, so collectors can hand it to a JSON parser as is).
package syslogfwd
