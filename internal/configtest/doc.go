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
//	auth     with a login: SMTP AUTH as that name with the right password
//	         (smtpd.Policy.Login; STARTTLS assumed when a certificate is
//	         configured): 502, 538 or 535 as the daemon answers, else the
//	         session may relay and belongs to the login's service
//	mail     the sender (smtpd.CheckSender)
//	rcpt     each recipient: smtp.max_recipients, then smtpd.CheckRcpt
//	data     the message: smtp.max_message_size, the header section and
//	         the Received: count against smtp.max_received_headers
//	route    delivery.upstreams in failover order, or direct MX delivery,
//	         for the recipients not on a list domain
//	list     a recipient on lists.domains: an existing list's address is
//	         accepted from any client (smtpd.Policy.Rcpt), any other refused
//	         550; after data, the poster found by each list's chain and its
//	         verdict
//	rule     each rule of the posting chain evaluated (hit or miss)
//
// The first refusal ends the case with outcome "refused" and its reply
// (code, enhanced code, text); a case where every step passes is
// "relayed" via the first upstream (or "direct"). Any refused recipient
// makes the case refused.
//
// A case with a list's posting address among its recipients is a post:
// lists.Chain.Evaluate runs on the message against the current list data
// (Options.Lists, opened read-only; Evaluate records nothing) and the
// outcome is the first list's action: "accepted" (distributed), "held",
// "rejected" or "discarded", with the rule that decided (Outcome.Rule,
// checked by expect_rule). Mail only to companion addresses (-owner,
// -request, ...) is "accepted" without a chain. With no list data every
// address on a list domain is unknown.
//
// Invariants are named checks that always run, each with a severity: a
// Failure refuses the configuration, a Warning is reported only.
// list-members-can-post simulates a plain member post to every list
// (lists.Store.CheckSettings) and is a Warning: lists may mean to hold
// members (announce-only), and such a change already needed confirmation.
package configtest
