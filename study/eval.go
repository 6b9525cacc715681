package study

import (
	"context"
	"math"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// Fingerprint identifies what determines a study's run: everything that
// changes which points it asks for or what their values mean (objective,
// algorithm, curvature finder, gradient estimator, seed, samples, epsilon,
// delta, the failure policy and the parameter space). Budgets
// (max_evaluations, max_time, target) are left out: they only stop the
// same deterministic run earlier or later, so raising one and resuming
// carries the run further. Neither is dispatch in it: both modes ask the
// same questions and share the journal.
func Fingerprint(sc *StudyConfig) string {
	type param struct {
		Name     string
		Min, Max float64
		Init     *float64
		Scale    string
	}
	est := sc.Estimator
	if est == "" {
		est = zo.EstCoord // the default, written or not
	}
	v := struct {
		Objective, Algorithm, Curvature, Estimator string
		Seed                                       uint64
		Samples                                    int
		Epsilon, Delta                             float64
		OnFailure                                  string
		MaxRetries                                 int
		Penalty                                    *float64
		Params                                     []param
	}{sc.Objective, sc.Algorithm, sc.Curvature, est, sc.Seed, sc.Samples, sc.Epsilon, sc.Delta,
		sc.FailurePolicy().name(), sc.MaxRetries, sc.Penalty, nil}
	for _, p := range sc.Params {
		v.Params = append(v.Params, param(p))
	}
	return journal.Fingerprint(v)
}

// sender is a dispatch mode: direct request/reply or the durable queue.
type sender interface {
	Send(ctx context.Context, tasks []*wire.Task) ([]*wire.Reply, error)
}

// evalOracle turns queries (in user units) into tasks with deterministic
// trial ids, answers those the journal already has, sends the rest, and
// records every answer in trials.jsonl and the summary, in query order.
type evalOracle struct {
	run     *run
	names   []string
	seed    func(sample int) int64
	send    sender
	journal *journal.Journal // nil: no journal (direct dispatch without JetStream)
	next    int              // next trial number
	// frontier is the first trial number no earlier run evaluated: the
	// journal answers none from it on.
	frontier int
}

// live reports whether the evaluations asked for from now on run live,
// not answered from the journal.
func (e *evalOracle) live() bool { return e.next >= e.frontier }

func (e *evalOracle) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	tasks := make([]*wire.Task, len(batch))
	for i, q := range batch {
		params := make(map[string]float64, len(q.X))
		for j, n := range e.names {
			params[n] = q.X[j]
		}
		trial := wire.TrialID(e.next)
		e.next++
		tasks[i] = &wire.Task{
			V: wire.Version, ID: e.run.sc.Name + "/" + trial, Study: e.run.sc.Name, Trial: trial,
			Objective: e.run.sc.Objective, Seed: e.seed(q.Sample), Params: params, Names: e.names,
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
		got, err := e.send.Send(ctx, miss)
		if err != nil {
			if ctx.Err() == nil {
				e.run.fail(err) // the study cannot go on: report why
			}
			return nil, err
		}
		for k, r := range got {
			reps[missAt[k]] = r
		}
	}
	out := make([]zo.Result, len(tasks))
	first := e.next - len(tasks)
	for i, t := range tasks {
		e.run.record(t, reps[i])
		if err := reps[i].Err(); err != nil {
			if first+i < e.frontier {
				err = replayedError{err} // failed in an earlier run
			}
			out[i] = zo.Result{Err: err}
		} else {
			out[i] = zo.Result{Value: reps[i].Value}
		}
	}
	return out, nil
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
