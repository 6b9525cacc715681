package zo

import (
	"context"
	"errors"
	"fmt"
	"math"
)

// Query is one function evaluation: a point in the optimizer's coordinates
// and a sample index. The sample selects the component function f_i (for a
// simulator: the seed it runs with). Two queries with the same Sample at
// nearby points form a common-random-numbers pair.
type Query struct {
	X      []float64
	Sample int
}

// Result is the answer to one Query. Err is non-nil when the evaluation
// failed (the simulator crashed, timed out, printed garbage...); Value is
// then meaningless. A failed evaluation is data, not a fatal error: the
// optimizer decides what to do with it.
type Result struct {
	Value float64
	// Values are the further objectives of a multi-objective problem
	// (package pareto), measured with Value by the same evaluation; nil
	// for one objective.
	Values []float64
	Err    error
}

// Oracle evaluates a batch of queries, in parallel where it can. The
// returned slice has one Result per query, in order. A non-nil error means
// the oracle itself can no longer answer (context cancelled, transport
// closed, budget exhausted); per-query failures are reported in Result.Err.
//
// Implementations must not retain or modify the query slices after
// Evaluate returns.
type Oracle interface {
	Evaluate(ctx context.Context, batch []Query) ([]Result, error)
}

// ErrBudget is returned by an Oracle (see Budget) when the study's
// evaluation budget is spent.
var ErrBudget = errors.New("zo: evaluation budget exhausted")

// Func is an in-memory Oracle over a Go function, for tests and
// benchmarks. F receives the point and the sample index. Func evaluates
// queries sequentially in the calling goroutine.
type Func func(x []float64, sample int) float64

// Evaluate implements Oracle.
func (f Func) Evaluate(ctx context.Context, batch []Query) ([]Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	out := make([]Result, len(batch))
	for i, q := range batch {
		out[i] = Result{Value: f(q.X, q.Sample)}
	}
	return out, nil
}

// Counter wraps an Oracle and counts queries and batches ("rounds": on a
// fleet of evaluators each batch costs about one simulation time).
// It is not safe for concurrent use; optimizers call it sequentially.
type Counter struct {
	Oracle   Oracle
	Queries  int // queries sent, successful or not
	Failures int // queries that came back with Result.Err set
	Rounds   int // batches sent
}

// Evaluate implements Oracle.
func (c *Counter) Evaluate(ctx context.Context, batch []Query) ([]Result, error) {
	if len(batch) == 0 {
		return nil, nil
	}
	res, err := c.Oracle.Evaluate(ctx, batch)
	if err != nil {
		return nil, err
	}
	c.Rounds++
	c.Queries += len(batch)
	for _, r := range res {
		if r.Err != nil {
			c.Failures++
		}
	}
	return res, nil
}

// Budget wraps an Oracle and refuses batches that would take the total
// number of queries past Max, returning ErrBudget. Max <= 0 means no limit.
// A query spends the budget whether its evaluation succeeds or fails.
type Budget struct {
	Oracle Oracle
	Max    int
	Used   int // evaluations spent: the queries answered, failed ones included
	Failed int // of those, the ones answered with Result.Err set
}

// Evaluate implements Oracle.
func (b *Budget) Evaluate(ctx context.Context, batch []Query) ([]Result, error) {
	if b.Max > 0 && b.Used+len(batch) > b.Max {
		return nil, fmt.Errorf("%w: %s; the next batch of %d would exceed it", ErrBudget, SpentLine(b.Used, b.Max, b.Failed), len(batch))
	}
	res, err := b.Oracle.Evaluate(ctx, batch)
	if err != nil {
		return nil, err
	}
	b.Used += len(batch)
	for _, r := range res {
		if r.Err != nil {
			b.Failed++
		}
	}
	return res, nil
}

// SpentLine is how every count of a budget reads, wherever it is logged
// or printed: "57 evaluations spent of 60 (34 succeeded, 23 failed)".
// spent counts every evaluation, failed ones included, as max does;
// max <= 0 (no limit) leaves out "of max".
func SpentLine(spent, max, failed int) string {
	noun, of := "evaluations", ""
	if spent == 1 {
		noun = "evaluation"
	}
	if max > 0 {
		of = fmt.Sprintf(" of %d", max)
	}
	return fmt.Sprintf("%d %s spent%s (%d succeeded, %d failed)", spent, noun, of, spent-failed, failed)
}

var (
	_ Oracle = Func(nil)
	_ Oracle = (*Counter)(nil)
	_ Oracle = (*Budget)(nil)
)

// Values evaluates f, averaged over samples, at each point in one batch.
// A point with any failed sample gets +Inf and is counted in failed.
func Values(ctx context.Context, o Oracle, points [][]float64, samples []int) (vals []float64, failed int, err error) {
	res, err := o.Evaluate(ctx, valueQueries(points, samples))
	if err != nil {
		return nil, 0, err
	}
	vals, failed = meanValues(res, len(points), len(samples))
	return vals, failed, nil
}

// valueQueries returns the queries of f at every point over samples,
// point by point.
func valueQueries(points [][]float64, samples []int) []Query {
	batch := make([]Query, 0, len(points)*len(samples))
	for _, p := range points {
		for _, s := range samples {
			batch = append(batch, Query{X: p, Sample: s})
		}
	}
	return batch
}

// meanValues averages the answers to valueQueries over the samples; a
// point with any failed sample gets +Inf and is counted in failed.
func meanValues(res []Result, points, samples int) (vals []float64, failed int) {
	vals = make([]float64, points)
	for i := range vals {
		sum := 0.0
		for k := 0; k < samples; k++ {
			r := res[i*samples+k]
			if r.Err != nil {
				sum = math.Inf(1)
				break
			}
			sum += r.Value
		}
		if math.IsInf(sum, 1) {
			failed++
			vals[i] = sum
			continue
		}
		vals[i] = sum / float64(samples)
	}
	return vals, failed
}
