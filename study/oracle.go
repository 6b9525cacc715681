package study

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/multistart"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// spaceOracle maps queries from the unit box to user units.
type spaceOracle struct {
	space *Space
	next  zo.Oracle
}

func (s *spaceOracle) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	mapped := make([]zo.Query, len(batch))
	for i, q := range batch {
		mapped[i] = zo.Query{X: s.space.ToUser(q.X), Sample: q.Sample}
	}
	return s.next.Evaluate(ctx, mapped)
}

// tracker stops the study with zo.ErrTarget once a value at or below the
// target has been seen, and surfaces output-writing errors.
type tracker struct {
	run  *run
	next zo.Oracle
}

func (t *tracker) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	res, err := t.next.Evaluate(ctx, batch)
	if err != nil {
		return nil, err
	}
	t.run.mu.Lock()
	werr := t.run.err
	hit := t.run.sum.Best != nil && t.run.spec.reached(t.run.sum.Best.Value)
	t.run.mu.Unlock()
	if werr != nil {
		return nil, werr
	}
	if hit {
		return nil, zo.ErrTarget
	}
	return res, nil
}

var (
	_ zo.Oracle = (*spaceOracle)(nil)
	_ zo.Oracle = (*tracker)(nil)
)

// evalOracle turns queries (in user units) into tasks with deterministic
// trial ids, answers those the journal already has, sends the rest, and
// records every answer in trials.jsonl and the summary, in query order.
type evalOracle struct {
	run     *run
	names   []string
	seed    func(sample int) int64
	send    Sender
	journal Journal // nil: no journal (direct dispatch without JetStream)
	next    int     // next trial number
	// frontier is the first trial number no earlier run evaluated: the
	// journal answers none from it on.
	frontier int
}

// live reports whether the evaluations asked for from now on run live,
// not answered from the journal.
func (e *evalOracle) live() bool { return e.next >= e.frontier }

func (e *evalOracle) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	c := &e.run.clock
	c.enter(time.Now())
	defer func() { c.leave(time.Now()) }()
	tasks := make([]*wire.Task, len(batch))
	for i, q := range batch {
		params := make(map[string]float64, len(q.X))
		for j, n := range e.names {
			params[n] = q.X[j]
		}
		trial := wire.TrialID(e.next)
		e.next++
		tasks[i] = &wire.Task{
			V: wire.VersionVector, ID: e.run.spec.Name + "/" + trial, Study: e.run.spec.Name, Trial: trial,
			Objective: e.run.spec.Objective, Seed: e.seed(q.Sample), Params: params, Names: e.names,
		}
		if l := e.run.space.Labels(params); l != nil && nonFinite(params) == "" {
			tasks[i].Labels = l
		}
		if e.journal != nil {
			tasks[i].Epoch = e.journal.Epoch()
		}
	}
	reps := make([]*wire.Reply, len(tasks))
	var miss []*wire.Task
	var missAt []int
	for i, t := range tasks {
		if bad := nonFinite(t.Params); bad != "" {
			// An optimizer bug must not take the daemon down or reach a
			// simulator: the point is a failed evaluation.
			reps[i] = &wire.Reply{V: wire.Version, ID: t.ID, Error: "the optimizer asked for a non-finite value of " + bad, Reason: wire.ReasonInput}
			e.run.log.Error().Str("trial", t.Trial).Str("param", bad).Msg("non-finite query point refused")
			continue
		}
		rec, err := e.replay(ctx, t)
		if err != nil {
			e.run.fail(err)
			return nil, err
		}
		if rec != nil {
			reps[i] = &rec.Reply
			e.run.replayed(1)
			continue
		}
		miss = append(miss, t)
		missAt = append(missAt, i)
	}
	if len(miss) > 0 {
		start := time.Now()
		c.sent(start, len(miss), e.width())
		got, err := e.send.Send(ctx, miss)
		c.answered(start, time.Now())
		if err != nil {
			if ctx.Err() == nil {
				e.run.fail(err) // the study cannot go on: report why
			}
			return nil, err
		}
		if err := e.sync(ctx); err != nil {
			return nil, err
		}
		for k, r := range got {
			reps[missAt[k]] = r
		}
	}
	out := make([]zo.Result, len(tasks))
	first := e.next - len(tasks)
	for i, t := range tasks {
		reps[i] = e.run.spec.checkObjectives(reps[i])
		e.run.record(t, reps[i], first+i < e.frontier)
		if err := reps[i].Err(); err != nil {
			if first+i < e.frontier {
				err = replayedError{err} // failed in an earlier run
			}
			out[i] = zo.Result{Err: err}
		} else {
			out[i] = e.run.spec.result(reps[i]) // the optimizer's sign
		}
	}
	return out, nil
}

// sync waits until the journal has stored the results the dispatcher
// appended as they arrived, so that the optimizer never acts on a result
// a crash could lose.
func (e *evalOracle) sync(ctx context.Context) error {
	if e.journal == nil {
		return nil
	}
	if err := e.journal.Sync(ctx); err != nil {
		if ctx.Err() != nil {
			return ctx.Err() // stopped: what is not stored runs again on resume
		}
		err = fmt.Errorf("study %s: journaling: %w", e.run.spec.Name, err)
		e.run.fail(err)
		return err
	}
	return nil
}

// width is the number of tasks the sender has out at once; 0 when
// unbounded or unknown.
func (e *evalOracle) width() int {
	if w, ok := e.send.(interface{ Width() int }); ok {
		return w.Width()
	}
	return 0
}

// replay returns the journal's record of t, when an earlier run stored
// one: the answer, with no simulator run again. It fails when the record
// asked for another point or seed (the study changed).
func (e *evalOracle) replay(ctx context.Context, t *wire.Task) (*journal.Record, error) {
	if e.journal == nil || !e.journal.Stored(t.Trial) {
		return nil, nil
	}
	rec, err := e.journal.Lookup(ctx, t.Trial)
	if err != nil || rec == nil {
		return nil, err
	}
	if err := journal.Answers(rec, t); err != nil {
		return nil, err
	}
	return rec, nil
}

// nonFinite returns the name of a parameter that is NaN or infinite, or "".
func nonFinite(params map[string]float64) string {
	for k, v := range params {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return k
		}
	}
	return ""
}

// onceOracle answers a query whose point, in user units, and sample were
// answered before, or come earlier in the same batch, without sending it
// again: with integer parameters distinct points of the unit box round to
// the same integers, and a simulator runs each once. Failed answers are
// not kept (the failure policy retries them). It sits above the budget,
// which therefore counts the evaluations sent, not the queries asked.
type onceOracle struct {
	space *Space
	next  zo.Oracle
	known map[string]zo.Result // by point in user units and sample
}

func (o *onceOracle) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	out := make([]zo.Result, len(batch))
	var send []zo.Query
	var keys []string
	var at [][]int // the batch positions each query sent answers
	pos := map[string]int{}
	for i, q := range batch {
		k := multistart.Key(o.space.ToUser(q.X), q.Sample)
		if r, ok := o.known[k]; ok {
			out[i] = r
			continue
		}
		if j, ok := pos[k]; ok {
			at[j] = append(at[j], i)
			continue
		}
		pos[k] = len(send)
		send, keys, at = append(send, q), append(keys, k), append(at, []int{i})
	}
	if len(send) == 0 {
		return out, ctx.Err()
	}
	res, err := o.next.Evaluate(ctx, send)
	if err != nil {
		return nil, err
	}
	for j, r := range res {
		for _, i := range at[j] {
			out[i] = r
		}
		if r.Err == nil {
			o.known[keys[j]] = r
		}
	}
	return out, nil
}
