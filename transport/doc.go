// Package transport carries evaluations over NATS, both ways.
//
// On tunerd's side a study's tasks go out by one of two dispatch modes:
// direct request/reply to the objective's queue group (Dispatcher), or
// the objective's durable JetStream work queue (Queue), whose results come
// back through the journal (package journal). On an evaluator's side Serve
// answers both: direct requests, and tasks pulled from the work queue when
// a slot is free, with heartbeats while the simulation runs and the result
// stored in the journal before the task is acked. Connect dials NATS with
// the credentials and TLS of the config.
//
// The messages themselves are package wire's. Transport knows nothing of
// optimizers or studies: a study reaches it through the daemon's backend.
// See docs/protocol.md and docs/reliability.md.
package transport
