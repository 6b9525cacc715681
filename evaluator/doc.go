// Package evaluator is the evaluator program, shared by the evaluator
// command (cmd/evaluator) and "tunerd evaluator": it connects to NATS and
// serves one objective with transport.Serve, running the user's simulator
// through a simexec.Runner for each task.
//
// [Main] takes the command line and returns the exit status, so that both
// commands and the tests run the very same code in-process. Run
// "evaluator --help" for the flags.
package evaluator
