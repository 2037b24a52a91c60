package queue

import (
	"github.com/posthorn/posthorn/internal/maillog"
	"github.com/posthorn/posthorn/internal/spool"
)

// event starts a mail log event about the message env.
func event(env *spool.Envelope, k maillog.Kind) maillog.Event {
	return maillog.Event{Kind: k, QueueID: env.ID, MessageID: env.MessageID, Service: env.Service, From: env.From}
}

func errEvent(env *spool.Envelope, op string, err error) maillog.Event {
	e := event(env, maillog.Error)
	e.Stage, e.Reply = op, err.Error()
	return e
}

func opEvent(env *spool.Envelope, action string) maillog.Event {
	e := event(env, maillog.Operator)
	e.Action = action
	return e
}
