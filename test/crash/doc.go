// Package crash holds Posthorn's crash-and-restart test: the real posthorn
// binary is killed with SIGKILL while clients are submitting mail, restarted
// on the same data directory, and every message it had acknowledged with 250
// must then reach the upstream relay. Nothing else lives here; the package
// has only tests.
//
// One cycle of the test moves through these states:
//
//	start ─▶ load (8 SMTP clients; every 250 is written in the ledger)
//	      ─▶ fault (variant: the upstream goes down, or hangs after DATA)
//	      ─▶ SIGKILL under load ─▶ clients stop ─▶ upstream restored
//	      ─▶ restart on the same data_dir
//	      ─▶ (variant: SIGKILL again once redelivery has begun, restart again)
//	      ─▶ every acknowledged message received?
//	      ─▶ queue empty (queue list --json over the control socket)
//	      ─▶ SIGTERM, exit 0 ─▶ queue list --json offline is [] ─▶ quarantine empty
//
// Each variant runs four cycles (POSTHORN_CRASH_CYCLES for the long soak),
// 20 SIGKILLs in all, and the ledger accumulates across them: a message
// acknowledged in the first cycle must still have been delivered at the end
// of the last. Duplicates are allowed only for deliveries in
// flight at a crash, so there may be at most delivery.concurrency extra
// copies per kill. Messages that were sent but never acknowledged (the kill
// came between the fsync and the reply) may or may not arrive; they are not
// counted.
//
// POSTHORN_BIN=/path/to/posthorn runs the test against that binary instead
// of building ./cmd/posthorn from the module root.
package crash
