// Package simexec runs a user's simulator command for one evaluation, as the
// simulator contract (docs: contract §3) lays down. It depends on the
// wire messages only; the evaluator serves tasks over NATS with a
// [Runner] as the handler.
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
// Standard input receives one JSON object and a newline; its first field,
// "id", is the task's id, "<study>/<trial>":
//
//	{"id":"demo/17","study":"demo","trial":"17","seed":7,"params":{"x1":0.25,"x2":-1.5}}
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
// metrics. An object that has an "id" must have the request's ("parse"
// otherwise). Anything else fails the evaluation, never yielding a silent
// value: a non-zero exit ("exit"), no parseable last line ("parse"), NaN or
// ±Inf ("nonfinite"), running past the timeout ("timeout"; the simulator
// and all it started are killed) or a command that cannot be started
// ("start"). Failures carry the tail of standard error.
//
// As soon as the simulator exits, anything it left running is killed (see
// Containment), so no process outlives its evaluation, and output written
// after the simulator's own exit never becomes its value.
//
// # Stdio mode
//
// A long-lived process per concurrent caller (one per evaluator slot) reads
// one request object per line on standard input and answers one line per
// request on standard output, in order. Processes start lazily; only
// {workdir} (a directory per process) may be used in argv. A process that
// dies mid-request fails that evaluation with reason "crash"; one that
// times out is killed ("timeout"); either way a fresh process serves the
// next request. A process that had answered earlier requests and ends
// without answering the current one (one that exits between requests) gets
// the request retried once on a fresh process; a crash is reported only if
// that one dies too. Standard error is drained continuously and its tail
// attached to failures.
//
// An answer must provably belong to its request. By default
// ([AnswersID]) it is a JSON object echoing the request's id, with a
// numeric "value" and optional numeric metrics:
//
//	{"id":"demo/17","value":1.25,"iters":30}
//
// A line that does not name the request (a bare number, an object without
// "id"), names another, is blank, is over 64 KiB or is no answer at all
// fails the evaluation in flight at once ("parse"), and the process is
// replaced rather than risk a request being given another's answer; so is
// a process that writes while no request is in flight (a banner, an answer
// printed twice). After each of its first few answers a process must stay
// quiet for 25 ms before its next request is sent. A well-formed NaN or
// ±Inf answer with the right id fails its evaluation ("nonfinite") but
// keeps the process.
//
// [AnswersPlain] accepts a bare number or an object without "id", for
// simulators that cannot echo ids, and is warned about at start: nothing
// proves such an answer belongs to its request. What can be checked is:
// on Linux each request is sent but for its last two bytes ("}\n"), which
// follow only once the simulator has read the rest (FIONREAD on the stdin
// pipe says so); output written before then fails the request, and so
// does a line arriving while any of the request is unread. A simulator
// that never reads stdin, or prints a banner before reading its first
// request, never gets a value accepted. Plain mode cannot catch a numeric
// line written after the simulator read the request and before its real
// answer (a progress count, say), nor one written by another thread of the
// simulator while it is waiting for the rest of the request; elsewhere than
// on Linux it cannot tell when a request was read at all. Blank lines,
// output while no request is in flight and the settle check apply as in
// id mode.
//
// # Containment
//
// Nothing a simulator starts outlives it. On Linux with cgroup v2, where
// the evaluator may create cgroups below its own (its "0::" line in
// /proc/self/cgroup, under the cgroup2 mount in /proc/self/mountinfo),
// each simulator process (exec mode: one per evaluation; stdio mode: one
// per process) starts in a cgroup of its own (clone3 CLONE_INTO_CGROUP).
// When the simulator exits, or is killed for its timeout, its whole cgroup
// is killed (cgroup.kill, or each process in cgroup.procs before Linux
// 5.14), however its descendants left its process group or session, waited
// to be empty and removed; Close removes the Runner's cgroup. At start a
// Runner also kills and removes the cgroups of evaluators in its cgroup
// that died without closing theirs (zotune-PID-*, PID no longer running).
//
// Otherwise, or with [Options.NoCgroup], the evaluator becomes a child
// subreaper and each simulator runs in a process group of its own with
// [TokenEnv] set to a token of its own, which its descendants inherit.
// When it exits, its group and every process whose environment
// (/proc/PID/environ) holds its token are killed, over and over until none
// is left, and those reparented to the evaluator are reaped, each by its
// pid. A descendant that both leaves the process group and clears its
// environment escapes this. On systems other than Linux only the process
// group is killed. [Runner.Containment] says which containment is in use;
// the evaluator logs it at start.
//
// # Running as another user
//
// With [Options.RunAs] simulators run as that user (its uid, gid and
// groups) in working directories given to it. New refuses a user that
// does not exist, one the evaluator may not switch to (that takes root,
// or CAP_SETUID and CAP_SETGID), and a work directory the user cannot
// enter. The simulator's environment is still the evaluator's (less the
// NATS credentials), HOME included.
package simexec
