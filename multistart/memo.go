package multistart

import (
	"context"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/zotune/zotune/zo"
)

// memo is the oracle the runs talk to: it answers a query at a point that
// a space-filling batch evaluated from the answer already in hand, so that
// a run starting at an explored point does not evaluate it again, and
// passes every other query on. It counts the queries it passes on.
type memo struct {
	next  zo.Oracle
	known map[string]zo.Result // by point and sample; explored points only
	sent  int
}

// Key is the exact point (its bits) and sample: a map key for a query.
func Key(x []float64, sample int) string {
	b := make([]byte, 8*len(x)+8)
	for i, v := range x {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(v))
	}
	binary.LittleEndian.PutUint64(b[8*len(x):], uint64(sample))
	return string(b)
}

// Evaluate answers the known queries of batch and sends the others on as
// one batch; none at all when every query is known.
func (m *memo) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	out := make([]zo.Result, len(batch))
	var miss []zo.Query
	var at []int
	for i, q := range batch {
		if r, ok := m.known[Key(q.X, q.Sample)]; ok {
			out[i] = r
			continue
		}
		miss = append(miss, q)
		at = append(at, i)
	}
	if len(miss) == 0 {
		return out, ctx.Err()
	}
	res, err := m.next.Evaluate(ctx, miss)
	if err != nil {
		return nil, err
	}
	if len(res) != len(miss) {
		return nil, fmt.Errorf("multistart: oracle answered %d of %d queries", len(res), len(miss))
	}
	m.sent += len(miss)
	for k, i := range at {
		out[i] = res[k]
	}
	return out, nil
}

// values evaluates points over samples 0..samples−1 in one batch,
// remembers every successful answer, and returns each point's mean (+Inf
// for a point with a failed sample).
func (m *memo) values(ctx context.Context, pts [][]float64, samples int) ([]float64, error) {
	all := make([]int, samples)
	for i := range all {
		all[i] = i
	}
	var batch []zo.Query
	for _, p := range pts {
		for _, s := range all {
			batch = append(batch, zo.Query{X: p, Sample: s})
		}
	}
	res, err := m.Evaluate(ctx, batch)
	if err != nil {
		return nil, err
	}
	vals := make([]float64, len(pts))
	for i, q := range batch {
		r := res[i]
		if r.Err != nil || math.IsInf(vals[i/samples], 1) {
			vals[i/samples] = math.Inf(1)
			continue
		}
		m.known[Key(q.X, q.Sample)] = r
		vals[i/samples] += r.Value
	}
	for i := range vals {
		vals[i] /= float64(samples) // as the runs average: the sum, then the mean
	}
	return vals, nil
}
