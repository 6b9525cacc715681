package transport_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// startServer runs an embedded server on a random loopback port.
func startServer(tb testing.TB, o natsserver.Options) *natsserver.Server {
	tb.Helper()
	s, err := natsserver.Start(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	return s
}

func connect(tb testing.TB, url string) *nats.Conn {
	tb.Helper()
	nc, err := transport.Connect(transport.ConnOptions{URL: url})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// serve runs transport.Serve in the background until the test ends. It
// returns once Serve's subscription is known to the server.
func serve(tb testing.TB, nc *nats.Conn, o transport.ServeOptions, h transport.Handler) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	ready := make(chan struct{})
	o.Ready = func() { close(ready) }
	go func() { done <- transport.Serve(ctx, nc, o, h) }()
	tb.Cleanup(func() {
		cancel()
		<-done
	})
	select {
	case <-ready:
	case err := <-done:
		done <- err // for the cleanup
		tb.Fatalf("serve: %v", err)
	}
}

// oracle evaluates queries through a Dispatcher as a study does: one
// task per query, trial ids in order, parameters named by names, the seed
// given by seed (default: the sample index).
type oracle struct {
	d     *transport.Dispatcher
	o     transport.DispatchOptions
	names []string
	seed  func(int) int64
	next  int
}

func newOracle(tb testing.TB, nc *nats.Conn, names []string, seed func(int) int64, o transport.DispatchOptions) (*oracle, error) {
	tb.Helper()
	d, err := transport.NewDispatcher(nc, o)
	if err != nil {
		return nil, err
	}
	tb.Cleanup(d.Close)
	if seed == nil {
		seed = func(i int) int64 { return int64(i) }
	}
	return &oracle{d: d, o: o, names: names, seed: seed}, nil
}

func (or *oracle) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	tasks := make([]*wire.Task, len(batch))
	for i, q := range batch {
		params := map[string]float64{}
		for j, n := range or.names {
			params[n] = q.X[j]
		}
		trial := wire.TrialID(or.next)
		or.next++
		tasks[i] = &wire.Task{V: wire.Version, ID: or.o.Study + "/" + trial, Study: or.o.Study, Trial: trial,
			Objective: or.o.Objective, Seed: or.seed(q.Sample), Params: params, Names: or.names}
	}
	reps, err := or.d.Send(ctx, tasks)
	if err != nil {
		return nil, err
	}
	out := make([]zo.Result, len(reps))
	for i, r := range reps {
		out[i] = zo.Result{Value: r.Value, Err: r.Err()}
	}
	return out, nil
}

// sumHandler answers x1 + 10·x2 + seed, failing when x1 < 0.
func sumHandler(name string, calls *atomic.Int64) transport.Handler {
	return transport.HandlerFunc(func(ctx context.Context, t *wire.Task) wire.Reply {
		calls.Add(1)
		if t.Params["x1"] < 0 {
			return wire.Reply{Error: "negative x1", Reason: wire.ReasonExit, Evaluator: name}
		}
		return wire.Reply{Value: t.Params["x1"] + 10*t.Params["x2"] + float64(t.Seed), Evaluator: name}
	})
}

func TestDispatchRoundTrip(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	var calls atomic.Int64
	for i := 0; i < 2; i++ {
		serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: "sum", Slots: 3, Name: fmt.Sprintf("ev%d", i)}, sumHandler(fmt.Sprintf("ev%d", i), &calls))
	}
	var mu sync.Mutex
	var recorded []*wire.Reply
	d, err := newOracle(t, connect(t, s.URL()), []string{"x1", "x2"}, func(i int) int64 { return int64(100 * i) }, transport.DispatchOptions{
		Study: "st", Objective: "sum", MaxInFlight: 4,
		Record: func(_ *wire.Task, r *wire.Reply) {
			mu.Lock()
			recorded = append(recorded, r)
			mu.Unlock()
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	batch := []zo.Query{}
	for i := 0; i < 20; i++ {
		batch = append(batch, zo.Query{X: []float64{float64(i) - 1, 0.5}, Sample: i % 2})
	}
	res, err := d.Evaluate(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		x1 := float64(i) - 1
		if x1 < 0 {
			var ee *wire.EvalError
			if !errors.As(r.Err, &ee) || ee.Reason != wire.ReasonExit {
				t.Errorf("query %d: want exit failure, got %v", i, r.Err)
			}
			continue
		}
		want := x1 + 5 + float64(100*(i%2))
		if r.Err != nil || r.Value != want {
			t.Errorf("query %d: got %v, %v; want %v", i, r.Value, r.Err, want)
		}
	}
	if got := calls.Load(); got != 20 {
		t.Errorf("handler ran %d times, want 20", got)
	}
	if len(recorded) != 20 {
		t.Errorf("recorded %d replies, want 20", len(recorded))
	}
}

// peakHandler answers 1 after work (simulated work), and keeps the peak
// number of calls running at once.
func peakHandler(work time.Duration) (transport.Handler, *atomic.Int64) {
	var cur, peak atomic.Int64
	return transport.HandlerFunc(func(ctx context.Context, t *wire.Task) wire.Reply {
		n := cur.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		time.Sleep(work)
		cur.Add(-1)
		return wire.Reply{Value: 1}
	}), &peak
}

func TestDispatchBoundsInFlight(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	h, peak := peakHandler(2 * time.Millisecond)
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: "o", Slots: 8}, h)
	d, _ := newOracle(t, connect(t, s.URL()), []string{"x"}, nil, transport.DispatchOptions{Study: "s", Objective: "o", MaxInFlight: 3})
	batch := make([]zo.Query, 30)
	for i := range batch {
		batch[i] = zo.Query{X: []float64{float64(i)}}
	}
	if _, err := d.Evaluate(context.Background(), batch); err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p > 3 || p < 1 {
		t.Fatalf("peak in-flight %d, want 1..3", p)
	}
}

func TestDispatchWaitsForLateEvaluator(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	var logs testutil.SyncBuffer
	d, _ := newOracle(t, connect(t, s.URL()), []string{"x1", "x2"}, nil, transport.DispatchOptions{
		Study: "s", Objective: "late", RetryWait: 10 * time.Millisecond, WaitEvaluators: 30 * time.Second,
		Logger: zerolog.New(&logs),
	})
	done := make(chan []zo.Result, 1)
	go func() {
		res, err := d.Evaluate(context.Background(), []zo.Query{{X: []float64{1, 2}}})
		if err != nil {
			t.Error(err)
		}
		done <- res
	}()
	// Start the evaluator only after the dispatcher has found nobody.
	testutil.WaitFor(t, 10*time.Second, "the dispatcher to find no evaluator", func() bool { return strings.Contains(logs.String(), "no evaluator is serving") })
	var calls atomic.Int64
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: "late"}, sumHandler("late", &calls))
	select {
	case res := <-done:
		if res[0].Err != nil || res[0].Value != 21 {
			t.Fatalf("got %+v", res[0])
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no answer after the evaluator appeared")
	}
}

func TestDispatchNoEvaluatorFails(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	d, _ := newOracle(t, connect(t, s.URL()), []string{"x"}, nil, transport.DispatchOptions{
		Study: "s", Objective: "nobody", RetryWait: 5 * time.Millisecond, WaitEvaluators: 100 * time.Millisecond,
	})
	res, err := d.Evaluate(context.Background(), []zo.Query{{X: []float64{1}}})
	if err != nil {
		t.Fatal(err)
	}
	var ee *wire.EvalError
	if !errors.As(res[0].Err, &ee) || ee.Reason != wire.ReasonDelivery {
		t.Fatalf("want a delivery failure, got %v", res[0].Err)
	}
}

func TestDispatchRetriesLostReply(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	var calls atomic.Int64
	// The first delivery is swallowed (an evaluator that died mid-task):
	// the dispatcher must retry after its per-attempt timeout.
	h := transport.HandlerFunc(func(ctx context.Context, t *wire.Task) wire.Reply {
		if calls.Add(1) == 1 {
			<-ctx.Done()
			return wire.Reply{}
		}
		return wire.Reply{Value: 7}
	})
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: "flaky", Slots: 2}, h)
	d, _ := newOracle(t, connect(t, s.URL()), []string{"x"}, nil, transport.DispatchOptions{
		Study: "s", Objective: "flaky", Timeout: 200 * time.Millisecond, RetryWait: time.Millisecond,
	})
	res, err := d.Evaluate(context.Background(), []zo.Query{{X: []float64{1}}})
	if err != nil {
		t.Fatal(err)
	}
	// Two calls at least: the swallowed one and the retry that answered (a
	// machine stalled past the 200 ms timeout may make a third).
	if res[0].Err != nil || res[0].Value != 7 || calls.Load() < 2 {
		t.Fatalf("got %+v after %d calls; want 7 from a retry", res[0], calls.Load())
	}
}

func TestConnectRefusedCredentials(t *testing.T) {
	s := startServer(t, natsserver.Options{Token: "right"})
	_, err := transport.Connect(transport.ConnOptions{URL: s.URL(), Token: "wrong"})
	if !errors.Is(err, transport.ErrAuth) {
		t.Fatalf("want ErrAuth, got %v", err)
	}
	nc, err := transport.Connect(transport.ConnOptions{URL: s.URL(), Token: "right"})
	if err != nil {
		t.Fatal(err)
	}
	nc.Close()
}

func zerologNop() zerolog.Logger { return zerolog.Nop() }

// A misbehaving peer on the objective's subject answers each task twice
// (the second time with a wrong value), answers some tasks with another
// task's id first, and answers the first delivery of one task only after
// the dispatcher retried it (a late reply). The dispatcher takes the first
// reply that names its task, and only that: every value returned is the
// right one, whatever arrived before or after.
func TestDispatchDuplicateForeignAndLateReplies(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	nc := connect(t, s.URL())
	var late atomic.Pointer[nats.Msg] // the held first delivery of task 3
	_, err := nc.QueueSubscribe(wire.EvalSubject("dup"), wire.QueueGroup+"dup", func(m *nats.Msg) {
		task, err := wire.DecodeTask(m.Data)
		if err != nil {
			t.Errorf("peer: %v", err)
			return
		}
		x := task.Params["x"]
		reply := func(id string, v float64) {
			data, _ := json.Marshal(wire.Reply{V: wire.Version, ID: id, Value: v, Evaluator: "peer"})
			_ = m.Respond(data)
		}
		switch {
		case x == 3 && late.CompareAndSwap(nil, m):
			return // held: answered after the retry
		case int(x)%2 == 1:
			reply("s/999999", -1) // another task's answer first
		}
		reply(task.ID, x*x)
		reply(task.ID, 1e9) // and a duplicate
		if x == 3 {
			// The retry is answered: now the first delivery's late reply.
			held := late.Load()
			data, _ := json.Marshal(wire.Reply{V: wire.Version, ID: task.ID, Value: -5, Evaluator: "late"})
			_ = held.Respond(data)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	d, err := newOracle(t, connect(t, s.URL()), []string{"x"}, nil, transport.DispatchOptions{
		Study: "s", Objective: "dup", MaxInFlight: 4, Timeout: 300 * time.Millisecond, RetryWait: time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	var batch []zo.Query
	for x := range 8 {
		batch = append(batch, zo.Query{X: []float64{float64(x)}})
	}
	res, err := d.Evaluate(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	for x, r := range res {
		if r.Err != nil || r.Value != float64(x*x) {
			t.Errorf("x = %d: got %+v, want %d", x, r, x*x)
		}
	}
	if late.Load() == nil {
		t.Error("the late reply was never held back")
	}
}
