// Package test holds black-box interop scenarios: the posthorn binary is
// built once, run as a separate process with a config file under
// t.TempDir(), and driven by real peers from Debian — Postfix's
// smtp-source and smtp-sink, a private Postfix instance, and swaks.
//
// Each scenario starts its own processes on free 127.0.0.1 ports and stops
// them in t.Cleanup: posthorn gets SIGTERM and must exit 0 after draining;
// Postfix is stopped with "postfix stop"; smtp-sink is killed.
//
// POSTHORN_BIN=/path/to/posthorn runs them against that binary instead of
// building ./cmd/posthorn.
//
// The scenarios skip when a tool is missing, unless
// POSTHORN_REQUIRE_INTEROP=1 (set by .ci/run), which makes them fail.
package test
