// Command evaluator serves one objective for zotune: it takes evaluation
// tasks from NATS and answers each by running the user's simulator.
//
// Usage:
//
//	evaluator --nats URL --objective NAME [--slots N] [--timeout DUR] [--mode exec|stdio] -- CMD ARG...
//
// Any number of evaluators may serve the same objective, on any number of
// machines; tasks are shared among them through a NATS queue group, and
// each evaluator takes a task only when one of its --slots is free.
//
// The simulator contract is that of package simexec: in exec mode CMD runs
// once per evaluation in a fresh working directory, with {name}, {seed},
// {trial}, {study} and {workdir} in its arguments replaced by the task's
// values; the request also arrives as JSON on stdin and in ZOTUNE_*
// environment variables; the last line of stdout is the result (a number or
// {"value": ...}). In stdio mode one long-lived process per slot reads a
// request per line and answers a line per request, a JSON object echoing
// the request's id ({"id": ..., "value": ...}; --answers plain accepts
// answers without it, which cannot be proven to belong to their request).
// Whatever a simulator leaves running is killed when it exits.
//
// Credentials come from --token, --user/--password, --nkey, --creds and the
// --tls-* flags, or from NATS_TOKEN, NATS_USER, NATS_PASSWORD and
// NATS_CREDS (better for secrets: a command line is visible to every user of
// the host); the server from --nats or NATS_URL. Credentials the server
// refuses, at start or on a reconnect, end the evaluator with exit status 1
// and a message saying so; so does a server certificate that cannot be
// verified, or a permission denied on the subjects the objective's tasks and
// results travel on. Simulators do not inherit the NATS credential
// variables. See docs/security.md.
//
// On SIGINT or SIGTERM the evaluator drains: it stops taking tasks, lets
// the simulations in flight finish (each within --timeout), delivers their
// results, drains its connection and exits 0. A second signal abandons the
// simulations still running (the tuner re-sends them elsewhere) and kills
// their simulators. Usage errors exit 2, other failures 1.
//
// Every evaluator registers the NATS micro service "zotune-evaluator":
// `nats micro ls`, `nats micro info zotune-evaluator` and `nats micro stats
// zotune-evaluator` list the fleet with each evaluator's objective, mode,
// slots and counts, and a request on zotune.evaluators.status gathers a
// JSON status from each (api.Client.Evaluators).
//
// Run "evaluator --help" for every flag. The program itself is package
// evaluator, which "tunerd evaluator" runs too.
package main
