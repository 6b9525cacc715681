// Package simexec runs a user's simulator command for one evaluation, as the
// simulator contract (docs: contract §3) lays down. A [Runner] is a
// [transport.Handler]: cmd/evaluator plugs it into [transport.Serve].
//
// # Exec mode
//
// Each evaluation runs the command once, without a shell, in a fresh working
// directory created under [Options.Dir] and removed afterwards. In argv,
// {name} is replaced by the value of parameter name (the shortest decimal
// that parses back to the same float64), and {seed}, {trial}, {study} and
// {workdir} by theirs. Placeholders may sit inside a longer argument
// ("--x={x1}"). A brace group that looks like a placeholder ({identifier})
// but names no parameter fails the evaluation with reason "input"; other
// braces, such as JSON text, are passed through untouched.
//
// Standard input receives one JSON object and a newline:
//
//	{"study":"demo","trial":"17","seed":7,"params":{"x1":0.25,"x2":-1.5}}
//
// and the environment carries ZOTUNE_STUDY, ZOTUNE_TRIAL, ZOTUNE_SEED,
// ZOTUNE_WORKDIR and ZOTUNE_PARAMS (the "params" object of that JSON).
// ZOTUNE_PARAMS is left out when it would exceed 100 KiB (Linux refuses a
// single environment string over 128 KiB); the params are on stdin anyway.
// The simulator inherits the evaluator's environment without the NATS
// credentials (NATS_TOKEN, NATS_USER, NATS_PASSWORD, NATS_CREDS, and
// NATS_URL when it holds a user or password).
//
// The result is the last non-empty line of standard output: a number, or a
// JSON object with a numeric "value" whose other numeric fields become
// metrics. Anything else fails the evaluation, never yielding a silent
// value: a non-zero exit ("exit"), no parseable last line ("parse"), NaN or
// ±Inf ("nonfinite"), running past the timeout ("timeout"; the whole process
// group is killed) or a command that cannot be started ("start"). Failures
// carry the tail of standard error.
//
// The simulator runs in its own process group; as soon as it exits,
// anything it left running in that group is killed, so no process outlives
// its evaluation, and output written after the simulator's own exit never
// becomes its value.
//
// # Stdio mode
//
// A long-lived process per concurrent caller (one per evaluator slot) reads
// one request object per line on standard input and answers one line per
// request on standard output, in order, parsed like the exec-mode result.
// Processes start lazily; only {workdir} (a directory per process) may be
// used in argv. A process that dies mid-request fails that evaluation with
// reason "crash"; one that times out is killed ("timeout"); either way a
// fresh process serves the next request. A process that had answered
// earlier requests and ends without answering the current one (one that
// exits between requests) gets the request retried once on a fresh
// process; a crash is reported only if that one dies too. Standard error is
// drained continuously and its tail attached to failures.
//
// A stdio process must write exactly one line per request on standard
// output. An answer that is not a number or a JSON object with a numeric
// "value" ("parse"), an answer line over 64 KiB, or output written while no
// request is in flight (a banner, an answer printed twice) means the
// process may be out of step with its requests: the evaluation in flight,
// if any, fails and the process is replaced rather than risk a request
// being given another's answer. After each of its first few answers a
// process must stay quiet for 25 ms before its next request is sent: a
// simulator printing more than one line per request is caught there. A
// well-formed NaN or ±Inf answer fails its evaluation ("nonfinite") but
// keeps the process.
package simexec
