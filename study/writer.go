package study

import (
	"sync"
	"time"
)

// summaryEvery is the shortest time between two rewrites of summary.json
// while a study runs. The optimizer never waits for one: it asks for a
// rewrite and goes on (see writer).
const summaryEvery = 50 * time.Millisecond

// writer rewrites summary.json off the optimizer's path: the optimizer
// asks (soon) after each iteration, a goroutine writes the state at that
// moment at most once per summaryEvery, and stop waits for the last
// rewrite to end, so that the final summary, written after it, is never
// overwritten by a running one.
type writer struct {
	kick chan struct{} // buffered 1: a rewrite is due
	quit chan struct{} // closed by stop
	done chan struct{} // closed when the goroutine has ended
	once sync.Once
}

// startWriter starts the rewriting of r's summary.
func (r *run) startWriter() {
	w := &writer{kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	r.writer = w
	go func() {
		defer close(w.done)
		for {
			select {
			case <-w.quit:
				return
			case <-w.kick:
			}
			if err := r.write(); err != nil {
				r.log.Error().Err(err).Msg("writing summary")
			}
			select {
			case <-w.quit:
				return
			case <-time.After(summaryEvery):
			}
		}
	}()
}

// writeSoon asks for a rewrite of the summary; it does not wait for it.
func (r *run) writeSoon() {
	if r.writer == nil {
		return
	}
	select {
	case r.writer.kick <- struct{}{}:
	default: // one is due already
	}
}

// stopWriter ends the rewriting and waits for a rewrite under way.
func (r *run) stopWriter() {
	if r.writer == nil {
		return
	}
	r.writer.once.Do(func() { close(r.writer.quit) })
	<-r.writer.done
}
