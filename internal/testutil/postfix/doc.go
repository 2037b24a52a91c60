// Package postfix runs real Postfix programs from Debian's postfix package
// (smtp-source, smtp-sink, postfix itself) and swaks as black-box peers in
// interop tests.
//
// Every helper takes a testing.TB and registers a t.Cleanup that stops what
// it started, so a test never leaks a process or a port.
//
// Flow of a typical interop test:
//
//	tools := postfix.Find(t)               // skip (or fail when required) if a tool is missing
//	sink := postfix.StartSink(t, tools, "") // smtp-sink on a free 127.0.0.1 port, counting messages
//	inst := postfix.StartInstance(t, tools, postfix.Options{RelayHost: sink.Addr})
//	postfix.RunSource(t, tools, inst.Addr, postfix.SourceOptions{Sessions: 5, Messages: 100})
//	sink.WaitCount(t, 100, 30*time.Second)
//
// Tools are optional on a developer machine: Find skips the test when one is
// missing. Setting POSTHORN_REQUIRE_INTEROP=1 (CI does) turns the skip into
// a failure, so a broken install cannot pass as "all skipped".
//
// A private Postfix instance (StartInstance) lives entirely under
// t.TempDir(): its own config directory, queue directory, data directory
// and mail log. It needs root, because Postfix daemons drop privileges to
// the postfix user; without root the test is skipped like a missing tool.
package postfix
