package transport_test

import (
	"context"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// BenchmarkHeterogeneousFleet runs batches of tasks on two evaluators of
// 4 slots each, one answering in T and one in 5T (T = 20 ms, or 2 ms with
// -short), direct and durable (with the study's slots, as tunerd runs it,
// and unbounded: every task of a batch queued at once), and reports how much of the time tasks
// were waiting the fast evaluator's slots stood idle ("fast-idle", 0 is
// the aim: a pull-based fleet leaves no fast slot idle while a task waits)
// and the share of tasks the fast evaluator ran (≈ 5/6 when it is kept
// busy). A task waits from its batch's start until an evaluator starts
// it; the tunerd side sends at most 8 at once, the fleet's slots.
//
//	go test -run '^$' -bench HeterogeneousFleet -benchtime 20x ./transport
func BenchmarkHeterogeneousFleet(b *testing.B) {
	T := 20 * time.Millisecond
	if testing.Short() {
		T = 2 * time.Millisecond
	}
	const batch, slots = 48, 4
	for _, mode := range []string{"direct", "durable", "durable-unbounded"} {
		b.Run(mode, func(b *testing.B) {
			s := startServer(b, natsserver.Options{StoreDir: b.TempDir()})
			send := fleetSender(b, s, mode, 2*slots)
			tl := &timeline{}
			serve(b, connect(b, s.URL()), transport.ServeOptions{Objective: "sum", Slots: slots, Name: "fast"}, tl.handler("fast", T))
			serve(b, connect(b, s.URL()), transport.ServeOptions{Objective: "sum", Slots: slots, Name: "slow"}, tl.handler("slow", 5*T))
			trial := 0
			b.ResetTimer()
			for range b.N {
				tasks := make([]*wire.Task, batch)
				for k := range tasks {
					id := wire.TrialID(trial)
					trial++
					tasks[k] = &wire.Task{V: wire.VersionVector, ID: "bench/" + id, Study: "bench", Trial: id, Objective: "sum",
						Params: wire.Params{"x1": float64(k), "x2": 1}, Names: []string{"x1", "x2"}}
				}
				tl.batch(time.Now(), batch)
				if err := send(tasks); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			idle, fastShare := tl.fastIdle(slots)
			b.ReportMetric(idle, "fast-idle")
			b.ReportMetric(fastShare, "fast-share")
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "evals/s")
		})
	}
}

// fleetSender opens mode's dispatch of study "bench" to objective "sum",
// at most width tasks out at once.
func fleetSender(b *testing.B, s *natsserver.Server, mode string, width int) func([]*wire.Task) error {
	ctx := context.Background()
	nc := connect(b, s.URL())
	if mode == "direct" {
		d, err := transport.NewDispatcher(nc, transport.DispatchOptions{Study: "bench", Objective: "sum", MaxInFlight: width})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(d.Close)
		return func(tasks []*wire.Task) error { _, err := d.Send(ctx, tasks); return err }
	}
	js, err := jetstream.New(nc)
	if err != nil {
		b.Fatal(err)
	}
	j, err := journal.Open(ctx, js, "bench", "bench", journal.Options{Objective: "sum"})
	if err != nil {
		b.Fatal(err)
	}
	var slots transport.Slots
	if mode == "durable" {
		slots = transport.NewSlots(width)
	}
	q, err := transport.OpenQueue(ctx, js, j, transport.QueueOptions{Objective: "sum", Study: "bench", Slots: slots, Logger: zerologNop()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(q.Close)
	return func(tasks []*wire.Task) error { _, err := q.Send(ctx, tasks); return err }
}

// timeline records when batches start and when each evaluator's
// simulations start and end.
type timeline struct {
	mu      sync.Mutex
	batches []batchStart
	runs    []run
}

type batchStart struct {
	at time.Time
	n  int
}

type run struct {
	who        string
	start, end time.Time
}

func (tl *timeline) batch(at time.Time, n int) {
	tl.mu.Lock()
	tl.batches = append(tl.batches, batchStart{at, n})
	tl.mu.Unlock()
}

// handler is an evaluator called who whose simulations take d.
func (tl *timeline) handler(who string, d time.Duration) transport.Handler {
	return transport.HandlerFunc(func(ctx context.Context, t *wire.Task) wire.Reply {
		start := time.Now()
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
		tl.mu.Lock()
		tl.runs = append(tl.runs, run{who, start, time.Now()})
		tl.mu.Unlock()
		return wire.Reply{Value: t.Params["x1"]}
	})
}

// fastIdle is the fraction of the fast evaluator's slot time left idle
// while a task of the running batch had not started, and the share of
// the tasks it ran. Batches run one after another: a batch's tasks wait
// from its start until each starts.
func (tl *timeline) fastIdle(slots int) (idle, share float64) {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	runs := slices.Clone(tl.runs)
	slices.SortFunc(runs, func(a, b run) int { return a.start.Compare(b.start) })
	var waiting, busy time.Duration // slot time while tasks wait; of it, busy
	fast, k := 0, 0
	for _, bt := range tl.batches {
		// The batch's runs are the next bt.n by start time.
		rs := runs[k:min(k+bt.n, len(runs))]
		k += len(rs)
		if len(rs) == 0 {
			continue
		}
		until := rs[len(rs)-1].start // the last task of the batch starts
		waiting += time.Duration(slots) * until.Sub(bt.at)
		for _, r := range rs {
			if r.who != "fast" {
				continue
			}
			fast++
			s, e := r.start, r.end
			if s.Before(bt.at) {
				s = bt.at
			}
			if e.After(until) {
				e = until
			}
			if e.After(s) {
				busy += e.Sub(s)
			}
		}
	}
	if waiting <= 0 || len(runs) == 0 {
		return 0, 0
	}
	return 1 - float64(busy)/float64(waiting), float64(fast) / float64(len(runs))
}

// A direct task that reaches an evaluator with no free slot is bounced to
// one that has a slot, rather than wait behind a long simulation: with
// one evaluator held on its only slot, every other task of a v3 study is
// run by the other evaluator while the first is still held. (Before
// bounces, each task had an even chance of queueing behind the held one.)
func TestDirectBusyBounces(t *testing.T) {
	s := startServer(t, natsserver.Options{})
	nc := connect(t, s.URL())
	var done atomic.Int64
	d, err := transport.NewDispatcher(nc, transport.DispatchOptions{Study: "st", Objective: "sq", MaxInFlight: 2,
		Record: func(*wire.Task, *wire.Reply) { done.Add(1) }})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	task := func(i int) *wire.Task {
		id := wire.TrialID(i)
		return &wire.Task{V: wire.VersionVector, ID: "st/" + id, Study: "st", Trial: id, Objective: "sq",
			Params: wire.Params{"x": float64(i)}, Names: []string{"x"}}
	}
	h := newHeld()
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: "sq", Slots: 1, Name: "held"}, h)
	ctx := t.Context()
	first := make(chan error, 1)
	go func() { _, err := d.Send(ctx, []*wire.Task{task(0)}); first <- err }()
	<-h.begun // the held evaluator runs task 0 until released
	var calls atomic.Int64
	serve(t, connect(t, s.URL()), transport.ServeOptions{Objective: "sq", Slots: 1, Name: "free"}, square(&calls))
	rest := make([]*wire.Task, 9)
	for i := range rest {
		rest[i] = task(i + 1)
	}
	sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	reps, err := d.Send(sctx, rest) // returns only if none queued behind task 0
	if err != nil {
		close(h.release)
		t.Fatalf("the tasks did not all run while one evaluator was held: %v (%d of 9 done)", err, done.Load())
	}
	for _, r := range reps {
		if r.Err() != nil || r.Evaluator != "free" {
			t.Fatalf("reply %+v: want every task run by the free evaluator", r)
		}
	}
	if n := done.Load(); n != 9 || h.started.Load() != 1 {
		t.Fatalf("%d tasks done, %d started on the held evaluator; want 9 and 1", n, h.started.Load())
	}
	close(h.release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
}
