// Package queue schedules and performs the delivery of spooled messages.
//
// Every message in the spool has one item here, in exactly one of these
// places:
//
//	fresh   new mail, first in first out
//	retry   waiting for its next attempt (a heap ordered by time)
//	flight  owned by a delivery worker or an operator action
//	held    put aside by an operator until released
//
// Workers take the next item — alternating between fresh mail and due
// retries when both are waiting, so a large backlog never starves new mail —
// hand its pending recipients to the courier, and record the outcome of each
// recipient durably before anything else happens:
//
//	delivered            recipient done
//	permanent failure    recipient failed: a bounce (RFC 3464) is spooled first
//	temporary failure    recipient stays pending; retried per the schedule
//	past max_lifetime    pending recipients fail as expired (bounce)
//	past delay_warning   a delay notice is spooled once
//
// A message with no pending recipient left is removed from the spool. Null
// sender messages and our own notices never cause a notification.
//
// Items in retry and held are cold (cold.go): once their state is on disk
// they drop the message and keep only what scheduling needs; the message is
// read back from the spool when it is next attempted or asked about. So a
// backlog of deferred mail costs about a hundred bytes per message.
package queue
