package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/zotune/zotune/evaluator"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// After the first signal, a second one kills the process outright.
		<-ctx.Done()
		stop()
	}()
	code := evaluator.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
