package transport_test

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// held is a handler whose simulations run until release is closed (or
// their context ends), answering x².
type held struct {
	release        chan struct{}
	begun          chan struct{} // a value for each simulation begun
	started, ended atomic.Int64  // simulations begun, and finished with a value
	abandoned      atomic.Int64  // simulations that saw their context end
}

func newHeld() *held {
	return &held{release: make(chan struct{}), begun: make(chan struct{}, 100)}
}

func (h *held) Handle(ctx context.Context, t *wire.Task) wire.Reply {
	h.started.Add(1)
	h.begun <- struct{}{}
	select {
	case <-h.release:
		h.ended.Add(1)
		return wire.Reply{Value: t.Params["x"] * t.Params["x"]}
	case <-ctx.Done():
		h.abandoned.Add(1)
		return wire.Reply{Error: "abandoned", Reason: wire.ReasonTimeout}
	}
}

// serveDrained runs Serve with a Drain channel; it returns the channel to
// close, the ctx's cancel and Serve's outcome.
func serveDrained(t *testing.T, nc *nats.Conn, o transport.ServeOptions, h transport.Handler) (drain chan struct{}, cancel context.CancelFunc, done chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	drain, done = make(chan struct{}), make(chan error, 1)
	ready := make(chan struct{})
	o.Drain, o.Ready = drain, func() { close(ready) }
	go func() { done <- transport.Serve(ctx, nc, o, h) }()
	t.Cleanup(func() {
		cancel()
		<-done
		done <- nil // for the test, if it reads after this
	})
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("serve: %v", err)
	}
	return drain, cancel, done
}

// serveResult waits for Serve to return.
func serveResult(t *testing.T, done chan error) error {
	t.Helper()
	select {
	case err := <-done:
		done <- err // for the cleanup
		return err
	case <-time.After(30 * time.Second):
		t.Fatal("Serve did not return")
		return nil
	}
}

// Drained while two direct requests run and a third waits for a slot:
// the two finish and get their replies, the third is never run, new
// requests find no evaluator, and Serve returns nil.
func TestDrainDirect(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	h := newHeld()
	nc := connect(t, s.URL())
	drain, _, done := serveDrained(t, nc, transport.ServeOptions{Objective: "sq", Slots: 2, NoDurable: true}, h)

	client := connect(t, s.URL())
	type answer struct {
		rep *wire.Reply
		err error
	}
	answers := make(chan answer, 3)
	for i := range 3 {
		timeout := 30 * time.Second
		if i == 2 {
			timeout = 2 * time.Second // never answered
		}
		task := mustJSON(t, &wire.Task{V: wire.Version, ID: fmt.Sprintf("st/%d", i), Study: "st", Trial: fmt.Sprint(i),
			Objective: "sq", Params: map[string]float64{"x": float64(i + 2)}})
		go func() {
			msg, err := client.Request(wire.EvalSubject("sq"), task, timeout)
			if err != nil {
				answers <- answer{err: err}
				return
			}
			rep, err := wire.DecodeReply(msg.Data)
			answers <- answer{rep, err}
		}()
		if i < 2 {
			<-h.begun
		}
	}
	// The third request has reached the evaluator, which waits for a slot.
	testutil.WaitFor(t, 10*time.Second, "the third request to reach the evaluator", func() bool {
		return nc.Stats().InMsgs >= 3
	})
	close(drain)
	testutil.WaitFor(t, 10*time.Second, "the evaluator to leave the queue group", func() bool {
		_, err := client.Request(wire.EvalSubject("sq"), []byte("{}"), time.Second)
		return errors.Is(err, nats.ErrNoResponders)
	})
	if n := h.started.Load(); n != 2 {
		t.Fatalf("%d simulations started, want the 2 in flight", n)
	}
	close(h.release)

	values := map[string]float64{}
	for range 3 {
		a := <-answers
		if a.err != nil {
			if !errors.Is(a.err, nats.ErrTimeout) {
				t.Errorf("request: %v", a.err)
			}
			continue
		}
		if a.rep.Err() != nil {
			t.Errorf("reply %s: %v", a.rep.ID, a.rep.Err())
		}
		values[a.rep.ID] = a.rep.Value
	}
	if len(values) != 2 || values["st/0"] != 4 || values["st/1"] != 9 {
		t.Errorf("replies %v; want st/0 = 4 and st/1 = 9, and no reply to st/2", values)
	}
	if err := serveResult(t, done); err != nil {
		t.Errorf("Serve returned %v after the drain, want nil", err)
	}
	if n := h.started.Load(); n != 2 {
		t.Errorf("%d simulations started, want 2: none after the drain began", n)
	}
}

// Drained while two durable tasks run and a third is queued: the two
// finish, their results are stored and their tasks acked; the third stays
// queued, never run, and Serve returns nil.
func TestDrainDurable(t *testing.T) {
	s, js := startJS(t)
	ensure(t, js, fast)
	tasks := []*wire.Task{sqTask("000000", "e1", 2), sqTask("000001", "e1", 3), sqTask("000002", "e1", 4)}
	h := newHeld()
	drain, _, done := serveDrained(t, connect(t, s.URL()), transport.ServeOptions{Objective: obj, Slots: 2}, h)
	for _, task := range tasks {
		queueTask(t, js, wire.TaskSubject(obj, study, task.Trial), mustJSON(t, task), "task:"+task.ID+":"+task.Epoch)
	}
	<-h.begun
	<-h.begun
	close(drain)
	close(h.release)
	if err := serveResult(t, done); err != nil {
		t.Errorf("Serve returned %v after the drain, want nil", err)
	}

	ctx := context.Background()
	ran := 0
	for _, task := range tasks {
		rec, err := journal.Find(ctx, journalStream(t, js), study, task.Trial, task.Epoch)
		switch {
		case err != nil:
			t.Fatal(err)
		case rec == nil:
			continue
		case rec.Reply.Err() != nil || rec.Reply.Value != task.Params["x"]*task.Params["x"]:
			t.Errorf("trial %s: stored %+v; want x² = %v", task.Trial, rec.Reply, task.Params["x"]*task.Params["x"])
		}
		ran++
	}
	if ran != 2 || h.started.Load() != 2 || h.ended.Load() != 2 {
		t.Errorf("%d results stored, %d simulations started, %d finished; want the 2 in flight at the drain", ran, h.started.Load(), h.ended.Load())
	}
	if n := queued(t, js); n != 1 {
		t.Errorf("%d tasks queued after the drain, want 1: the two that ran are acked, the third never taken", n)
	}
}

// A drain cut short by cancelling ctx abandons what is left, as a plain
// cancel does: the simulations see their context end, no result is stored
// or sent, the durable task goes back to the queue, and Serve returns
// context.Canceled.
func TestDrainAbandoned(t *testing.T) {
	s, js := startJS(t)
	ensure(t, js, fast)
	task := sqTask("000000", "e1", 2)
	h := newHeld()
	nc := connect(t, s.URL())
	drain, cancel, done := serveDrained(t, nc, transport.ServeOptions{Objective: obj, Slots: 2}, h)
	queueTask(t, js, wire.TaskSubject(obj, study, task.Trial), mustJSON(t, task), "task:"+task.ID+":"+task.Epoch)
	<-h.begun
	direct := make(chan error, 1)
	go func() {
		_, err := connect(t, s.URL()).Request(wire.EvalSubject(obj), mustJSON(t, &wire.Task{V: wire.Version, ID: "direct/1",
			Study: "direct", Trial: "1", Objective: obj, Params: map[string]float64{"x": 1}}), 2*time.Second)
		direct <- err
	}()
	<-h.begun
	close(drain)
	cancel()
	if err := serveResult(t, done); !errors.Is(err, context.Canceled) {
		t.Errorf("Serve returned %v, want context.Canceled", err)
	}
	if n := h.abandoned.Load(); n != 2 {
		t.Errorf("%d simulations abandoned, want 2", n)
	}
	if err := <-direct; !errors.Is(err, nats.ErrTimeout) {
		t.Errorf("the abandoned direct request got %v, want no reply (a timeout)", err)
	}
	if rec, err := journal.Find(context.Background(), journalStream(t, js), study, task.Trial, task.Epoch); err != nil || rec != nil {
		t.Errorf("an abandoned task's result was stored: %+v (%v)", rec, err)
	}
	if n := queued(t, js); n != 1 {
		t.Errorf("%d tasks queued, want the abandoned one back", n)
	}
}
