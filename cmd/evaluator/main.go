package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/zotune/zotune/evaluator"
)

func main() {
	// The first signal drains the evaluator; evaluator.Main itself listens
	// for a second one, which abandons the simulations in flight.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := evaluator.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
