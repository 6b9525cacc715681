package transport_test

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/share"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// Durable dispatch tests: an embedded server with JetStream (store in a
// temporary directory), objective "sq", study "st".
const obj, study = "sq", "st"

// fast makes a dead evaluator's task come back within 300 ms.
var fast = transport.DurableOptions{Heartbeat: 100 * time.Millisecond}

func startJS(t *testing.T) (*natsserver.Server, jetstream.JetStream) {
	t.Helper()
	s := startServer(t, natsserver.Options{StoreDir: t.TempDir()})
	return s, newJS(t, connect(t, s.URL()))
}

func newJS(t *testing.T, nc *nats.Conn) jetstream.JetStream {
	t.Helper()
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// ensure creates the journal and the objective's task queue.
func ensure(t *testing.T, js jetstream.JetStream, o transport.DurableOptions) {
	t.Helper()
	ctx := context.Background()
	if _, err := journal.EnsureStream(ctx, js, o.Replicas); err != nil {
		t.Fatal(err)
	}
	if _, err := transport.EnsureTasks(ctx, js, obj, o); err != nil {
		t.Fatal(err)
	}
}

// openQueue opens the study's journal, as a study does when it starts,
// and its queue on it.
func openQueue(t *testing.T, js jetstream.JetStream, o transport.DurableOptions) (*transport.Queue, *journal.Journal) {
	t.Helper()
	j, err := journal.Open(context.Background(), js, study, "fingerprint", journal.Options{Objective: obj})
	if err != nil {
		t.Fatal(err)
	}
	q, err := transport.OpenQueue(context.Background(), js, j, transport.QueueOptions{Objective: obj, Study: study, Durable: o, Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(q.Close)
	return q, j
}

func sqTask(trial, epoch string, x float64) *wire.Task {
	return &wire.Task{V: wire.Version, ID: study + "/" + trial, Study: study, Trial: trial, Objective: obj,
		Seed: 1, Params: map[string]float64{"x": x}, Names: []string{"x"}, Epoch: epoch}
}

// square answers x², counting its calls.
func square(calls *atomic.Int64) transport.Handler {
	return transport.HandlerFunc(func(ctx context.Context, t *wire.Task) wire.Reply {
		calls.Add(1)
		return wire.Reply{Value: t.Params["x"] * t.Params["x"]}
	})
}

// queueTask puts a task in the work queue as tunerd's Send does.
func queueTask(t *testing.T, js jetstream.JetStream, subject string, data []byte, msgID string) {
	t.Helper()
	if _, err := js.Publish(context.Background(), subject, data, jetstream.WithMsgID(msgID)); err != nil {
		t.Fatal(err)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// queued is the number of tasks in the objective's work queue.
func queued(t *testing.T, js jetstream.JetStream) uint64 {
	t.Helper()
	s, err := js.Stream(context.Background(), wire.TaskStream(obj))
	if err != nil {
		t.Fatal(err)
	}
	info, err := s.Info(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return info.State.Msgs
}

// send runs q.Send with a deadline well past what the test needs: a Send
// that waits for a result that never comes fails the test instead of
// hanging it.
func send(t *testing.T, q *transport.Queue, tasks ...*wire.Task) []*wire.Reply {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	reps, err := q.Send(ctx, tasks)
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	return reps
}

// An evaluator stored its result, then died before acking the task; tunerd
// restarts. The trial is both queued and stored: the journal has it (the
// study replays it from there, sending nothing), and the redelivered task
// is acked without running the simulation again.
func TestQueueStoredButUnackedTask(t *testing.T) {
	s, js := startJS(t)
	ensure(t, js, fast)
	ctx := context.Background()
	task := sqTask("000001", "e1", 3)
	queueTask(t, js, wire.TaskSubject(obj, study, task.Trial), mustJSON(t, task), "task:"+task.ID+":"+task.Epoch)
	cons, err := js.Consumer(ctx, wire.TaskStream(obj), wire.TaskConsumer)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if string(msg.Data()) != string(mustJSON(t, task)) {
		t.Fatalf("fetched %s", msg.Data())
	}
	stored := &wire.Reply{V: wire.Version, ID: task.ID, Value: 9, Evaluator: "died-before-ack"}
	if err := journal.Store(ctx, js, task, stored); err != nil {
		t.Fatal(err)
	}
	// Not acked: the evaluator is dead.

	_, j := openQueue(t, js, fast)
	rec, err := journal.Find(ctx, journalStream(t, js), study, task.Trial, task.Epoch)
	if !j.Stored(task.Trial) || !j.Queued(task.Trial) || err != nil || rec == nil || rec.Reply.Evaluator != "died-before-ack" || rec.Reply.Value != 9 {
		t.Fatalf("journal: stored %v, %+v (%v); want the stored result", j.Stored(task.Trial), rec, err)
	}

	// An evaluator gets the redelivered task: it finds the stored result
	// and acks the task without running it.
	var calls atomic.Int64
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: obj}, square(&calls))
	testutil.WaitFor(t, 10*time.Second, "the queue to empty", func() bool { return queued(t, js) == 0 })
	if n := calls.Load(); n != 0 {
		t.Errorf("simulation ran %d times for a task whose result was stored", n)
	}
}

// A task the evaluator cannot decode is answered with an input failure
// stored in the journal, so Send reports it instead of waiting forever,
// and the task leaves the queue.
func TestQueueMalformedTaskFails(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"not json", "not json", "bad task message"},
		{"other version", `{"v":9,"id":"st/000001","study":"st","trial":"000001","objective":"sq","seed":1,"params":{"x":3},"names":["x"],"epoch":"e1"}`,
			"unsupported protocol version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, js := startJS(t)
			ensure(t, js, fast)
			task := sqTask("000001", "e1", 3)
			queueTask(t, js, wire.TaskSubject(obj, study, task.Trial), []byte(tc.body), "task:"+task.ID+":"+task.Epoch)
			q, _ := openQueue(t, js, fast)
			var calls atomic.Int64
			serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: obj}, square(&calls))
			rep := send(t, q, task)[0]
			var ee *wire.EvalError
			if !errors.As(rep.Err(), &ee) || ee.Reason != wire.ReasonInput || !strings.Contains(ee.Msg, tc.want) {
				t.Fatalf("got %+v, want an input failure saying %q", rep, tc.want)
			}
			testutil.WaitFor(t, 10*time.Second, "the queue to empty", func() bool { return queued(t, js) == 0 })
			if n := calls.Load(); n != 0 {
				t.Errorf("handler ran %d times for a malformed task", n)
			}
		})
	}
}

// After a fresh start, an evaluator still running a task of the old
// generation stores its result under the same trial id: the new
// generation's Send ignores it and waits for its own, live and on resume.
// Of two records of the same generation, the first stored counts.
func TestQueueIgnoresOtherGeneration(t *testing.T) {
	s, js := startJS(t)
	ensure(t, js, fast)
	ctx := context.Background()
	q, _ := openQueue(t, js, fast)
	task := sqTask("000001", "new", 2)
	type result struct {
		reps []*wire.Reply
		err  error
	}
	got := make(chan result, 1)
	go func() {
		ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
		defer cancel()
		reps, err := q.Send(ctx, []*wire.Task{task})
		got <- result{reps, err}
	}()
	// Send has published its task and waits; then the straggler's result
	// is stored, before any evaluator of the new generation runs.
	testutil.WaitFor(t, 10*time.Second, "a task in the queue", func() bool { return queued(t, js) == 1 })
	old := sqTask("000001", "old", 99)
	if err := journal.Store(ctx, js, old, &wire.Reply{V: wire.Version, ID: old.ID, Value: 9801}); err != nil {
		t.Fatal(err)
	}
	var calls atomic.Int64
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: obj}, square(&calls))
	r := <-got
	if r.err != nil {
		t.Fatal(r.err)
	}
	if r.reps[0].Value != 4 {
		t.Fatalf("got %+v, want 4 (x = 2), not the old generation's 9801", r.reps[0])
	}

	// A later duplicate of the same generation, under another message id.
	dup := mustJSON(t, journal.Record{V: wire.Version, Task: *task, Reply: wire.Reply{V: wire.Version, ID: task.ID, Value: 5}})
	if _, err := js.Publish(ctx, wire.ResultSubject(study, task.Trial), dup, jetstream.WithMsgID("another")); err != nil {
		t.Fatal(err)
	}
	// Resume: the journal answers with the first record of the
	// generation, the simulation having run once.
	rec, err := journal.Find(ctx, journalStream(t, js), study, task.Trial, task.Epoch)
	if err != nil || rec == nil || rec.Reply.Value != 4 || calls.Load() != 1 {
		t.Fatalf("resume: %+v (%v), %d simulations; want the first record of the generation (4) and 1", rec, err, calls.Load())
	}
}

// journalStream is the journal stream.
func journalStream(t *testing.T, js jetstream.JetStream) jetstream.Stream {
	t.Helper()
	s, err := js.Stream(context.Background(), wire.JournalStream)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// A record that cannot be read, stored for a task Send waits for, fails
// Send at once, naming it, instead of being waited past.
func TestQueueBadRecordFailsPromptly(t *testing.T) {
	_, js := startJS(t)
	ensure(t, js, fast)
	q, _ := openQueue(t, js, fast)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	go func() {
		testutil.WaitFor(t, 10*time.Second, "a task in the queue", func() bool { return queued(t, js) == 1 })
		_, _ = js.Publish(context.Background(), wire.ResultSubject(study, "000001"), []byte("garbage"))
	}()
	_, err := q.Send(ctx, []*wire.Task{sqTask("000001", "e1", 1)})
	if !errors.Is(err, journal.ErrBadRecord) || !strings.Contains(err.Error(), wire.ResultSubject(study, "000001")) {
		t.Fatalf("want ErrBadRecord naming the record, got %v", err)
	}
}

// A handler's non-finite value or metric cannot go into JSON: the stored
// result is a nonfinite failure, and Send returns it.
func TestDurableNonFiniteReply(t *testing.T) {
	s, js := startJS(t)
	ensure(t, js, fast)
	h := transport.HandlerFunc(func(ctx context.Context, t *wire.Task) wire.Reply {
		if t.Params["x"] == 1 {
			return wire.Reply{Value: math.NaN()}
		}
		return wire.Reply{Value: 1, Metrics: map[string]float64{"m": math.Inf(1)}}
	})
	q, _ := openQueue(t, js, fast)
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: obj, Slots: 2}, h)
	for i, rep := range send(t, q, sqTask("000001", "e1", 1), sqTask("000002", "e1", 2)) {
		var ee *wire.EvalError
		if !errors.As(rep.Err(), &ee) || ee.Reason != wire.ReasonNonFinite || !strings.Contains(ee.Msg, "not encodable") {
			t.Errorf("task %d: got %+v, want a nonfinite failure", i, rep)
		}
	}
}

// gate is a dialer that can refuse connections, to keep a client away
// from a restarted server for as long as a test needs.
type gate struct{ closed atomic.Bool }

func (g *gate) Dial(network, address string) (net.Conn, error) {
	if g.closed.Load() {
		return nil, errors.New("gate closed")
	}
	return net.Dial(network, address)
}

// The server restarts while Send waits, before the queue has seen any
// result, and a result is stored before the queue reconnects: the
// recreated watcher still delivers it.
func TestQueueResultStoredWhileReconnecting(t *testing.T) {
	store := t.TempDir()
	s1, err := natsserver.Start(natsserver.Options{StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	s1closed := false
	t.Cleanup(func() {
		if !s1closed {
			s1.Close()
		}
	})
	url := s1.URL()
	var g gate
	qnc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(20*time.Millisecond), nats.SetCustomDialer(&g))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(qnc.Close)
	js := newJS(t, qnc)
	ensure(t, js, fast)
	q, _ := openQueue(t, js, fast)
	task := sqTask("000001", "e1", 3)
	got := make(chan error, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		reps, err := q.Send(ctx, []*wire.Task{task})
		if err == nil && reps[0].Value != 9 {
			err = errors.New("wrong value")
		}
		got <- err
	}()
	testutil.WaitFor(t, 10*time.Second, "a task in the queue", func() bool { return queued(t, js) == 1 })

	g.closed.Store(true)
	s1.Close()
	s1closed = true
	s2 := startServer(t, natsserver.Options{StoreDir: store, Listen: strings.TrimPrefix(url, "nats://")})
	ejs := newJS(t, connect(t, s2.URL()))
	// JetStream may take a moment to serve the recovered streams.
	testutil.WaitFor(t, 10*time.Second, "the restarted server to store a result", func() bool {
		return journal.Store(context.Background(), ejs, task, &wire.Reply{V: wire.Version, ID: task.ID, Value: 9}) == nil
	})
	if qnc.IsConnected() {
		t.Fatal("the queue's connection is up before the result was stored")
	}
	g.closed.Store(false)
	if err := <-got; err != nil {
		t.Fatalf("the result stored while the queue was reconnecting: %v", err)
	}
}

// tunerd restarts with a shorter heartbeat: a running evaluator picks it
// up, and a simulation of several new ack waits is not redelivered.
func TestEvaluatorFollowsHeartbeatChange(t *testing.T) {
	s, js := startJS(t)
	ensure(t, js, transport.DurableOptions{Heartbeat: time.Second})
	var logs testutil.SyncBuffer
	var calls atomic.Int64
	h := transport.HandlerFunc(func(ctx context.Context, t *wire.Task) wire.Reply {
		calls.Add(1)
		select { // a simulation of 2.4 s: four ack waits of 600 ms
		case <-ctx.Done():
		case <-time.After(2400 * time.Millisecond):
		}
		return wire.Reply{Value: 1}
	})
	// Two slots: a redelivery would find a free one.
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: obj, Slots: 2, Logger: zerolog.New(&logs)}, h)
	testutil.WaitFor(t, 10*time.Second, "the evaluator to pull", func() bool { return strings.Contains(logs.String(), "pulling durable tasks") })
	// A heartbeat of 200 ms, not the other tests' 100 ms: a loaded
	// machine can miss one of those, and the test would see a redelivery
	// it is not about.
	shorter := transport.DurableOptions{Heartbeat: 200 * time.Millisecond}
	ensure(t, js, shorter)
	testutil.WaitFor(t, 10*time.Second, "the evaluator to see the new settings", func() bool { return strings.Contains(logs.String(), "task queue settings changed") })
	q, _ := openQueue(t, js, shorter)
	if rep := send(t, q, sqTask("000001", "e1", 1))[0]; rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("simulation ran %d times, want 1 (no redelivery)", n)
	}
}

// With one slot and the task queue in place, direct requests do not wait
// for the evaluator's idle fetch (up to 1 s each).
func TestDirectNotHeldByIdleFetch(t *testing.T) {
	s, js := startJS(t)
	ensure(t, js, fast)
	var calls atomic.Int64
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: obj, Slots: 1}, square(&calls))
	cons, err := js.Consumer(context.Background(), wire.TaskStream(obj), wire.TaskConsumer)
	if err != nil {
		t.Fatal(err)
	}
	testutil.WaitFor(t, 10*time.Second, "the evaluator to fetch", func() bool {
		info, err := cons.Info(context.Background())
		return err == nil && info.NumWaiting > 0
	})
	d, err := newOracle(t, connect(t, s.URL()), []string{"x"}, nil, transport.DispatchOptions{Study: study, Objective: obj})
	if err != nil {
		t.Fatal(err)
	}
	batch := make([]zo.Query, 10)
	for i := range batch {
		batch[i] = zo.Query{X: []float64{float64(i)}}
	}
	start := time.Now()
	res, err := d.Evaluate(context.Background(), batch)
	if err != nil {
		t.Fatal(err)
	}
	// Waiting for the fetch would take about 10 s.
	if el := time.Since(start); el > 4*time.Second {
		t.Errorf("10 direct requests took %s: they waited for the idle fetch", el)
	}
	for i, r := range res {
		if r.Err != nil || r.Value != float64(i*i) {
			t.Errorf("query %d: %+v", i, r)
		}
	}
}

// Direct requests and durable tasks share the slots: never more run at
// once than the evaluator has.
func TestSlotsBoundBothModes(t *testing.T) {
	s, js := startJS(t)
	ensure(t, js, fast)
	h, peak := peakHandler(5 * time.Millisecond)
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: obj, Slots: 2}, h)
	q, _ := openQueue(t, js, fast)
	d, err := newOracle(t, connect(t, s.URL()), []string{"x"}, nil, transport.DispatchOptions{Study: "direct", Objective: obj, MaxInFlight: 4})
	if err != nil {
		t.Fatal(err)
	}
	direct := make(chan error, 1)
	go func() {
		batch := make([]zo.Query, 20)
		for i := range batch {
			batch[i] = zo.Query{X: []float64{1}}
		}
		res, err := d.Evaluate(context.Background(), batch)
		for _, r := range res {
			err = errors.Join(err, r.Err)
		}
		direct <- err
	}()
	var tasks []*wire.Task
	for i := range 20 {
		tasks = append(tasks, sqTask(wire.TrialID(i), "e1", 1))
	}
	for _, rep := range send(t, q, tasks...) {
		if rep.Err() != nil {
			t.Fatal(rep.Err())
		}
	}
	if err := <-direct; err != nil {
		t.Fatal(err)
	}
	if p := peak.Load(); p < 1 || p > 2 {
		t.Fatalf("peak of %d simulations at once on 2 slots", p)
	}
}

// A simulation finishes after the server is gone, and the evaluator is
// then told to stop: it gives up storing the result within a few seconds
// and returns, rather than retrying for a minute against a server that
// died with its tunerd (the task stays queued in the store and runs again
// on the next start).
func TestEvaluatorStopsPromptlyWithoutServer(t *testing.T) {
	srv, js := startJS(t)
	ensure(t, js, fast)
	queueTask(t, js, wire.TaskSubject(obj, study, "000000"), mustJSON(t, sqTask("000000", "e", 2)), "task:0")

	nc := connect(t, srv.URL())
	running, finish := make(chan struct{}), make(chan struct{})
	handler := transport.HandlerFunc(func(ctx context.Context, task *wire.Task) wire.Reply {
		close(running)
		<-finish
		return wire.Reply{Value: 4}
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	served := make(chan error, 1)
	go func() { served <- transport.Serve(ctx, nc, transport.ServeOptions{Objective: obj, Slots: 1}, handler) }()
	select {
	case <-running:
	case <-time.After(30 * time.Second):
		t.Fatal("the task never reached the evaluator")
	}
	srv.Close()
	testutil.WaitFor(t, 30*time.Second, "the connection to notice the server is gone", nc.IsReconnecting)
	close(finish) // the result cannot be stored now: its publication waits in the reconnect buffer
	testutil.WaitFor(t, 30*time.Second, "the evaluator to try to store the result", func() bool {
		n, err := nc.Buffered()
		return err == nil && n > 0
	})
	cancel()
	select {
	case <-served:
	case <-time.After(30 * time.Second):
		t.Fatal("Serve kept retrying to store a result after it was stopped and its server was gone")
	}
}

// An evaluator that is stopped hands its durable task back and stores
// nothing: it must not take the task again while shutting down (each
// delivery counts) and declare it stale, which would store a failure for
// a trial that never ran.
func TestShutdownStoresNoRecord(t *testing.T) {
	for i := range 10 {
		s, js := startJS(t)
		o := transport.DurableOptions{MaxRedeliveries: 1}
		ensure(t, js, o)
		task := sqTask(wire.TrialID(i), "e1", 3)
		queueTask(t, js, wire.TaskSubject(obj, study, task.Trial), mustJSON(t, task), "task:"+task.ID+":"+task.Epoch)

		started := make(chan struct{}, 100)
		h := transport.HandlerFunc(func(ctx context.Context, _ *wire.Task) wire.Reply {
			started <- struct{}{}
			<-ctx.Done()
			return wire.Reply{Error: "abandoned", Reason: wire.ReasonTimeout}
		})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			done <- transport.Serve(ctx, connect(t, s.URL()), transport.ServeOptions{Objective: obj, Slots: 2}, h)
		}()
		select {
		case <-started:
		case <-time.After(20 * time.Second):
			t.Fatal("the task never started")
		}
		cancel()
		<-done

		if rec, err := journal.Find(context.Background(), journalStream(t, js), study, task.Trial, task.Epoch); err != nil || rec != nil {
			t.Fatalf("round %d: a stopped evaluator stored %+v (%v) for a task it never finished", i, rec, err)
		}
		if n := queued(t, js); n != 1 {
			t.Fatalf("round %d: %d tasks queued after the evaluator stopped, want the one handed back", i, n)
		}
	}
}

// With Slots, a study queues a task only once it has a slot: however many
// slots its evaluators have, no more of its tasks run at once, and every
// slot is given back.
func TestQueueSlotsBound(t *testing.T) {
	s, js := startJS(t)
	ensure(t, js, fast)
	h, peak := peakHandler(2 * time.Millisecond)
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: obj, Slots: 8}, h)
	j, err := journal.Open(context.Background(), js, study, "fingerprint", journal.Options{Objective: obj})
	if err != nil {
		t.Fatal(err)
	}
	pool := share.New(2)
	q, err := transport.OpenQueue(context.Background(), js, j, transport.QueueOptions{Objective: obj, Study: study, Durable: fast, Slots: pool.Study(study), Logger: zerolog.Nop()})
	if err != nil {
		t.Fatal(err)
	}
	defer q.Close()
	var tasks []*wire.Task
	for i := range 30 {
		tasks = append(tasks, sqTask(wire.TrialID(i), j.Epoch(), float64(i)))
	}
	for i, rep := range send(t, q, tasks...) {
		if rep.Err() != nil || rep.ID != tasks[i].ID {
			t.Fatalf("task %d: %+v", i, rep)
		}
	}
	if p := peak.Load(); p < 1 || p > 2 {
		t.Fatalf("peak of %d simulations at once on 2 slots of the study's", p)
	}
	if n, w := pool.InFlight(); n != 0 || w != 0 {
		t.Fatalf("after the batch: %d slots held, %d waiting", n, w)
	}
}
