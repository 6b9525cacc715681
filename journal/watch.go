package journal

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/wire"
)

// Arrival is a result the watch saw stored: its record, or why it could
// not be read (an error wrapping ErrBadRecord).
type Arrival struct {
	Trial  string
	Record *Record
	Err    error
}

// Watch is a feed of the study's results as evaluators store them.
//
// It reads them through an ordered consumer, which nats.go recreates
// after a reconnect or a lost heartbeat. On a cluster that recreation can
// stall for good: it retries under one consumer name, and when its first
// try was placed on a server that had just died, every retry finds that
// consumer and waits for the dead server to answer. So the watch keeps an
// eye on its own progress: when nothing has arrived for stallAfter while
// the stream holds a result of the study it has not delivered, it drops
// the consumer and starts another from the next sequence it needs.
type Watch struct {
	stream  jetstream.Stream
	filter  string
	deliver func(Arrival)

	mu   sync.Mutex
	cc   jetstream.ConsumeContext
	gen  int       // generation of cc: deliveries of older ones are dropped
	next uint64    // the stream sequence after the last one delivered
	seen time.Time // the last delivery, or the last (re)start

	stop chan struct{}
	done chan struct{}
}

// Timing of the watch's supervision: how long it may go without a
// delivery before it checks for results it missed, how often it checks,
// and the bound on one check or one (re)start.
const (
	stallAfter = 5 * time.Second
	checkEvery = time.Second
	opTimeout  = 10 * time.Second
	// resetAttempts bounds nats.go's own recreations of a consumer, so
	// that a stalled one gives up and the watch starts another.
	resetAttempts = 3
)

// Watch calls deliver, one at a time, with every result of the study
// stored since the journal was opened, until Stop. Results stored before
// Open are the journal's Stored trials; together the two miss none, also
// across a reconnect, a server restart or the loss of a cluster node (the
// watch resumes where it was).
func (j *Journal) Watch(ctx context.Context, deliver func(Arrival)) (*Watch, error) {
	w := &Watch{
		stream: j.stream, filter: wire.ResultSubject(j.study, "*"), deliver: deliver, next: j.watchFrom,
		stop: make(chan struct{}), done: make(chan struct{}),
	}
	if err := w.start(ctx); err != nil {
		return nil, fmt.Errorf("journal: watching results of %s: %w", j.study, err)
	}
	go w.supervise()
	return w, nil
}

// start (re)starts the feed from w.next with a new ordered consumer,
// stopping the one it replaces.
func (w *Watch) start(ctx context.Context) error {
	w.mu.Lock()
	old, from := w.cc, w.next
	w.gen++
	gen := w.gen
	w.mu.Unlock()
	if old != nil {
		old.Stop()
	}
	cons, err := w.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:   []string{w.filter},
		DeliverPolicy:    jetstream.DeliverByStartSequencePolicy,
		OptStartSeq:      max(from, 1),
		MaxResetAttempts: resetAttempts,
	})
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) { w.handle(gen, m) })
	if err != nil {
		return err
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if gen != w.gen { // stopped meanwhile
		cc.Stop()
		return nil
	}
	w.cc, w.seen = cc, time.Now()
	return nil
}

// handle delivers a message of consumer generation gen, unless a newer
// consumer replaced it or its sequence was delivered already.
func (w *Watch) handle(gen int, m jetstream.Msg) {
	meta, err := m.Metadata()
	if err != nil {
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if gen != w.gen || meta.Sequence.Stream < w.next {
		return
	}
	w.next, w.seen = meta.Sequence.Stream+1, time.Now()
	subj := m.Subject()
	a := Arrival{Trial: subj[strings.LastIndexByte(subj, '.')+1:]}
	a.Record, a.Err = DecodeRecord(m.Data())
	if a.Err != nil {
		a.Err = fmt.Errorf("journal: result %s: %w", subj, a.Err)
	}
	w.deliver(a)
}

// supervise restarts the feed whenever it has stalled: nothing delivered
// for stallAfter while the stream holds a result of the study at or past
// the next sequence the feed needs.
func (w *Watch) supervise() {
	defer close(w.done)
	tick := time.NewTicker(checkEvery)
	defer tick.Stop()
	for {
		select {
		case <-w.stop:
			return
		case <-tick.C:
		}
		if w.stalled() {
			ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
			_ = w.start(ctx) // on failure, the next check tries again
			cancel()
		}
	}
}

// stalled reports whether the feed has been quiet for stallAfter and the
// stream holds a result it should have delivered.
func (w *Watch) stalled() bool {
	w.mu.Lock()
	quiet, next := time.Since(w.seen), w.next
	w.mu.Unlock()
	if quiet < stallAfter {
		return false
	}
	ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
	defer cancel()
	m, err := w.stream.GetLastMsgForSubject(ctx, w.filter)
	if err != nil {
		return false // nothing stored (ErrMsgNotFound), or the stream unavailable: check again later
	}
	return m.Sequence >= next
}

// Stop ends the feed.
func (w *Watch) Stop() {
	close(w.stop)
	<-w.done
	w.mu.Lock()
	cc := w.cc
	w.gen++
	w.mu.Unlock()
	cc.Stop()
}
