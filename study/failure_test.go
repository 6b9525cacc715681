package study

import (
	"context"
	"errors"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// script is an oracle whose answers are decided by a function of the call
// number (0, 1, ...) and the query's first coordinate. It logs every query.
type script struct {
	calls  int
	asked  []float64 // x[0] of every query, in order
	answer func(call int, x float64) zo.Result
}

func (s *script) Evaluate(_ context.Context, batch []zo.Query) ([]zo.Result, error) {
	out := make([]zo.Result, len(batch))
	for i, q := range batch {
		s.asked = append(s.asked, q.X[0])
		out[i] = s.answer(s.calls, q.X[0])
	}
	s.calls++
	return out, nil
}

func failWith(r wire.Reason) zo.Result {
	return zo.Result{Err: &wire.EvalError{ID: "s/000001", Reason: r, Msg: "test failure"}}
}

func queries(xs ...float64) []zo.Query {
	b := make([]zo.Query, len(xs))
	for i, x := range xs {
		b[i] = zo.Query{X: []float64{x}}
	}
	return b
}

// A transient failure is sent again, alone, until it succeeds; one that
// keeps failing stops after MaxRetries; a failure that will not change
// (exit) is not retried at all.
func TestPolicyRetries(t *testing.T) {
	s := &script{answer: func(call int, x float64) zo.Result {
		switch {
		case x == 1 && call < 2: // succeeds on its third attempt
			return failWith(wire.ReasonTimeout)
		case x == 2: // always crashes
			return failWith(wire.ReasonCrash)
		case x == 3: // deterministic failure
			return failWith(wire.ReasonExit)
		}
		return zo.Result{Value: 10 * x}
	}}
	var retries int
	p := newPolicyOracle(FailurePolicy{MaxRetries: 2}, s, func() bool { return false }, func(r, _ int) { retries += r })
	res, err := p.Evaluate(context.Background(), queries(0, 1, 2, 3))
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil || res[0].Value != 0 || res[1].Err != nil || res[1].Value != 10 {
		t.Errorf("results %+v: want 0 and 10 for the first two", res)
	}
	var ee *wire.EvalError
	if !errors.As(res[2].Err, &ee) || ee.Reason != wire.ReasonCrash {
		t.Errorf("always-crashing query: %+v, want its crash", res[2])
	}
	if !errors.As(res[3].Err, &ee) || ee.Reason != wire.ReasonExit {
		t.Errorf("exit query: %+v, want its exit failure", res[3])
	}
	// Batch 1: 0 1 2 3; retry 1: 1 2; retry 2: 1 2 (1 succeeds). x = 2 has
	// failed 3 times = 1 + MaxRetries, x = 3 once.
	want := []float64{0, 1, 2, 3, 1, 2, 1, 2}
	if !equalFloats(s.asked, want) {
		t.Errorf("queries sent %v, want %v", s.asked, want)
	}
	if retries != 4 {
		t.Errorf("retries counted %d, want 4", retries)
	}
}

// Under "penalize" a failure that remains takes the worst value seen so
// far, or the study's penalty; under "abort" it ends the study.
func TestPolicyPenalizeAndAbort(t *testing.T) {
	answer := func(_ int, x float64) zo.Result {
		if x < 0 {
			return failWith(wire.ReasonNonFinite)
		}
		return zo.Result{Value: x}
	}
	var penalized int
	count := func(_, p int) { penalized += p }
	p := newPolicyOracle(FailurePolicy{OnFailure: OnFailurePenalize, MaxRetries: 2}, &script{answer: answer}, func() bool { return true }, count)
	res, err := p.Evaluate(context.Background(), queries(-1, 5, 3, -2))
	if err != nil {
		t.Fatal(err)
	}
	// The first query failed before any value was seen: it stays a failure.
	if res[0].Err == nil || res[1].Value != 5 || res[2].Value != 3 || res[3].Err != nil || res[3].Value != 5 {
		t.Errorf("penalized results %+v: want a failure, 5, 3, 5", res)
	}
	if penalized != 1 {
		t.Errorf("penalized %d, want 1", penalized)
	}

	fixed := 100.0
	p = newPolicyOracle(FailurePolicy{OnFailure: OnFailurePenalize, Penalty: &fixed}, &script{answer: answer}, func() bool { return true }, nil)
	if res, err := p.Evaluate(context.Background(), queries(-1, 1)); err != nil || res[0].Value != 100 || res[0].Err != nil {
		t.Errorf("fixed penalty: %+v, %v; want 100", res, err)
	}

	p = newPolicyOracle(FailurePolicy{OnFailure: OnFailureAbort, MaxRetries: 2}, &script{answer: answer}, func() bool { return true }, nil)
	_, err = p.Evaluate(context.Background(), queries(1, -1))
	var ee *wire.EvalError
	if !errors.Is(err, ErrAborted) || !errors.As(err, &ee) || ee.Reason != wire.ReasonNonFinite {
		t.Errorf("abort: err %v, want ErrAborted wrapping the nonfinite failure", err)
	}
}

// Failures answered from the journal count against the retries as they
// did in the run that recorded them, so replay asks the same queries; but
// where the journal ends (the run stopped there), the query gets fresh
// retries, run live.
func TestPolicyFreshRetriesAtTheFrontier(t *testing.T) {
	replayedTimeout := zo.Result{Err: replayedError{&wire.EvalError{Reason: wire.ReasonTimeout, Msg: "earlier"}}}
	for _, tc := range []struct {
		name   string
		live   bool
		asked  int
		failed bool
	}{
		{"journal goes on", false, 3, true},
		{"journal ends", true, 4, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &script{answer: func(call int, _ float64) zo.Result {
				if call < 3 { // the three attempts of the earlier run
					return replayedTimeout
				}
				return zo.Result{Value: 7}
			}}
			p := newPolicyOracle(FailurePolicy{MaxRetries: 2}, s, func() bool { return tc.live }, nil)
			res, err := p.Evaluate(context.Background(), queries(0))
			if err != nil {
				t.Fatal(err)
			}
			if len(s.asked) != tc.asked || (res[0].Err != nil) != tc.failed {
				t.Errorf("asked %d times, result %+v; want %d times, failed %v", len(s.asked), res[0], tc.asked, tc.failed)
			}
		})
	}
}

func equalFloats(a, b []float64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] && !(math.IsNaN(a[i]) && math.IsNaN(b[i])) {
			return false
		}
	}
	return true
}

// flaky is quartic3 whose first n evaluations time out, counting every
// evaluation it is asked for.
type flaky struct {
	mu    sync.Mutex
	n     int
	calls int
}

func (f *flaky) Handle(ctx context.Context, t *wire.Task) wire.Reply {
	f.mu.Lock()
	f.calls++
	fail := f.calls <= f.n
	f.mu.Unlock()
	if fail {
		return wire.Reply{Error: "simulator timed out", Reason: wire.ReasonTimeout}
	}
	return quartic3(ctx, t)
}

// A transient failure at the start point is retried like any other; when
// the retries of one run are not enough, the study ends failed but
// resumable, and running it again retries the start point and carries on
// to the same end as a run that never failed.
func TestStartPointTransientFailure(t *testing.T) {
	for _, dispatch := range []string{"direct", "durable"} {
		t.Run(dispatch, func(t *testing.T) {
			sc := testStudy(dispatch, 400)
			sc.Mu = zo.DefaultMu // no noise estimate: the start batch is the start point alone
			clean := func() *Summary {
				s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(quartic3)})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}()

			// Two timeouts: the retries of the first run get through.
			s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem((&flaky{n: 2}).Handle)})
			if err != nil {
				t.Fatal(err)
			}
			if s.Status != clean.Status || s.Retries != 2 || s.Failures != 2 || s.Final == nil || s.Final.Value != clean.Final.Value {
				t.Errorf("two timeouts at the start: %s (%s), %d retries, %d failures; want %s at %v after 2 retries",
					s.Status, s.Reason, s.Retries, s.Failures, clean.Status, clean.Final.Value)
			}

			// Four timeouts: the first run gives up after three attempts.
			f := &flaky{n: 4}
			m := mem(f.Handle)
			dir := t.TempDir()
			o := RunOptions{DataDir: dir, Backend: m}
			s, err = Run(context.Background(), &sc, o)
			if err != nil {
				t.Fatal(err)
			}
			if s.Status != "failed" || !s.Resumable || !strings.Contains(s.Reason, "transient") {
				t.Fatalf("four timeouts at the start: %s (%s), resumable %v; want failed, resumable", s.Status, s.Reason, s.Resumable)
			}
			if f.calls != 3 {
				t.Errorf("first run sent %d evaluations, want 3", f.calls)
			}
			s, err = Run(context.Background(), &sc, o)
			if err != nil {
				t.Fatal(err)
			}
			if s.Status != clean.Status || s.Final == nil || s.Final.Value != clean.Final.Value || s.Failures != 4 {
				t.Errorf("resumed: %s (%s), %d failures; want %s at %v with the 4 failures", s.Status, s.Reason, s.Failures, clean.Status, clean.Final.Value)
			}
			if disk := readSummary(filepath.Join(dir, "s", "summary.json")); disk == nil || disk.Resumable {
				t.Errorf("summary.json after the resumed run: %+v", disk)
			}
		})
	}
}
