// Package evaluator is the evaluator program, shared by the evaluator
// command (cmd/evaluator) and "tunerd evaluator": it connects to NATS and
// serves one objective with transport.Serve, running the user's simulator
// through a simexec.Runner for each task. It registers the NATS micro
// service wire.EvaluatorService, which reports what it serves and counts the
// simulations it runs (wire.EvaluatorStatus), and it drains on the first signal:
// the simulations in flight finish and their results are delivered; a
// second signal abandons them.
//
// [Main] takes the command line and returns the exit status, so that both
// commands and the tests run the very same code in-process. Run
// "evaluator --help" for the flags.
package evaluator
