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

// signalsFunc starts relaying SIGINT and SIGTERM to the returned channel,
// until stop is called. Tests replace it.
type signalsFunc func() (sigs <-chan os.Signal, stop func())

func notifySignals() (<-chan os.Signal, func()) {
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, os.Interrupt, syscall.SIGTERM)
	return ch, func() { signal.Stop(ch) }
}

// lostConnWait is how long a draining evaluator waits for a lost
// connection to come back before it abandons its simulations: their
// results could not be delivered. It matches how long a stopping
// evaluator retries storing a result (transport's shutdownStore), and
// ends the evaluators of a tunerd that died with its embedded server
// within seconds, rather than after their simulations.
const lostConnWait = 3 * time.Second

// Causes of abandoning the simulations of a drain.
var (
	errAbandoned = errors.New("evaluator: abandoned by a second signal")
	errConnLost  = errors.New("evaluator: connection lost while draining")
)

// watchStop waits for ctx to end (the first signal), then drains: the
// evaluator reports itself draining, and the simulations it waits for are
// logged, at once and as each ends. The next SIGINT or SIGTERM abandons
// them (abandon is called), and so does a connection to NATS lost for
// lostConnWait. It returns when work ends.
//
// The first signal is not seen here: signals starts relaying only after
// ctx ended, and package signal hands each signal to the channels
// registered when it arrives.
func watchStop(ctx, work context.Context, abandon context.CancelCauseFunc, nc *nats.Conn, m *monitor, signals signalsFunc, log zerolog.Logger) {
	select {
	case <-ctx.Done():
	case <-work.Done():
		return
	}
	sigs, stop := signals()
	defer stop()
	conn := watchConnLost(nc)
	defer conn.close()
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
		case <-conn.status:
			conn.check()
		case <-conn.lost:
			log.Warn().Dur("waited", lostConnWait).Int64("in_flight", m.busy.Load()).
				Msg("the connection to NATS is lost: abandoning the simulations in flight, whose results cannot be delivered")
			abandon(errConnLost)
			return
		case <-m.ended:
			if n := m.busy.Load(); n != last && n > 0 {
				log.Info().Int64("in_flight", n).Msgf("draining: %s in flight", simulations(n))
				last = n
			}
		}
	}
}

// connWatch tells when a connection has been down for lostConnWait in a
// row: lost fires then. Call check on every value of status.
type connWatch struct {
	nc     *nats.Conn
	status chan nats.Status
	timer  *time.Timer
	lost   <-chan time.Time // nil while connected
}

func watchConnLost(nc *nats.Conn) *connWatch {
	w := &connWatch{nc: nc, status: nc.StatusChanged()}
	w.check()
	return w
}

// check starts the wait when the connection is down, and ends it when it
// is back.
func (w *connWatch) check() {
	switch {
	case w.nc.IsConnected() && w.timer != nil:
		w.timer.Stop()
		w.timer, w.lost = nil, nil
	case !w.nc.IsConnected() && w.timer == nil:
		w.timer = time.NewTimer(lostConnWait)
		w.lost = w.timer.C
	}
}

func (w *connWatch) close() {
	w.nc.RemoveStatusListener(w.status)
	if w.timer != nil {
		w.timer.Stop()
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
