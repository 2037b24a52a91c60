// Package configtest runs a configuration's tests ([[test]] tables and
// test_files) and the built-in invariants against a candidate
// configuration, without a network, a spool or a running daemon.
// posthorn check and every reload call Run; a failure refuses the
// configuration.
//
// Each test case is a simulated submission that goes through the same
// decisions as the daemon, in order, each recorded as a Step of the case's
// trail:
//
//	client   the client address: client, or the first host address of
//	         service's first network, or a posthorn sendmail submission by
//	         user (local, always allowed to relay)
//	trust    smtp.trusted_networks (smtpd.Policy.Trusted)
//	service  the [[service]] the client belongs to (smtpd.Policy.ServiceOf,
//	         config.ServiceForUser)
//	mail     the sender (smtpd.CheckSender)
//	rcpt     each recipient: smtp.max_recipients, then smtpd.CheckRcpt
//	data     the message: smtp.max_message_size, the header section and
//	         the Received: count against smtp.max_received_headers
//	route    delivery.upstreams in failover order, or direct MX delivery
//
// The first refusal ends the case with outcome "refused" and its reply
// (code, enhanced code, text); a case where every step passes is
// "relayed" via the first upstream (or "direct"). Any refused recipient
// makes the case refused. Later stages (lists and their rule chains) add
// their own steps to the same trail.
//
// Invariants are named checks that always run, each with a severity: a
// Failure refuses the configuration, a Warning is reported only.
package configtest
