package evaluator

import (
	"context"
	"errors"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"
)

// errAbandoned ends the evaluator's work when a second signal abandons
// the simulations in flight.
var errAbandoned = errors.New("evaluator: abandoned by a second signal")

// signalsFunc starts relaying SIGINT and SIGTERM to the returned channel,
// until stop is called. Tests replace it.
type signalsFunc func() (sigs <-chan os.Signal, stop func())

func notifySignals() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

// watchStop waits for ctx to end (the first signal), then drains: the
// evaluator reports itself draining, and the simulations it waits for are
// logged, at once and as each ends. The next SIGINT or SIGTERM abandons
// them: abandon is called. It returns when work ends.
//
// The first signal is not seen here: signals starts relaying only after
// ctx ended, and package signal hands each signal to the channels
// registered when it arrives.
func watchStop(ctx, work context.Context, abandon context.CancelCauseFunc, m *monitor, signals signalsFunc, log zerolog.Logger) {
	select {
	case <-ctx.Done():
	case <-work.Done():
		return
	}
	sigs, stop := signals()
	defer stop()
	m.draining.Store(true)
	last := m.busy.Load()
	log.Info().Int64("in_flight", last).Msgf("draining: %s in flight; a second signal abandons them", simulations(last))
	for {
		select {
		case <-work.Done():
			return
		case sig := <-sigs:
			log.Warn().Str("signal", sig.String()).Int64("in_flight", m.busy.Load()).Msg("abandoning the simulations in flight")
			abandon(errAbandoned)
			return
		case <-m.ended:
			if n := m.busy.Load(); n != last && n > 0 {
				log.Info().Int64("in_flight", n).Msgf("draining: %s in flight", simulations(n))
				last = n
			}
		}
	}
}

// simulations says "1 simulation" or "n simulations".
func simulations(n int64) string {
	if n == 1 {
		return "1 simulation"
	}
	return strconv.FormatInt(n, 10) + " simulations"
}

// drainConn drains nc and waits, up to drainTimeout, for it to close.
func drainConn(nc *nats.Conn, log zerolog.Logger) {
	closed := make(chan struct{})
	var once sync.Once
	nc.SetClosedHandler(func(*nats.Conn) { once.Do(func() { close(closed) }) })
	if err := nc.Drain(); err != nil {
		nc.Close()
		return
	}
	select {
	case <-closed:
	case <-time.After(drainTimeout):
		log.Warn().Dur("timeout", drainTimeout).Msg("connection drain timed out; closing")
		nc.Close()
	}
}
