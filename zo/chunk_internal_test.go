package zo

import (
	"context"
	"math"
	"reflect"
	"testing"
)

// batchSizes records the size of every batch an oracle gets.
type batchSizes struct {
	inner Oracle
	sizes []int
}

func (o *batchSizes) Evaluate(ctx context.Context, batch []Query) ([]Result, error) {
	o.sizes = append(o.sizes, len(batch))
	return o.inner.Evaluate(ctx, batch)
}

// A gradient whose stencil is too large for one batch goes out in batches
// of the bound, and the run is the same, bit for bit: same iterates, same
// queries, same outcome, in more rounds.
func TestChunkedGradient(t *testing.T) {
	const d = 40
	f := Func(func(x []float64, _ int) float64 {
		v := (x[0]*x[0] - 1) * (x[0]*x[0] - 1) // minima at ±1
		for i := 1; i < d; i++ {
			v += (1 + float64(i)/d) * (x[i] - 0.1) * (x[i] - 0.1)
		}
		return v
	})
	run := func(bound int) (*Outcome, *batchSizes) {
		saved := gradientBatchFloats
		gradientBatchFloats = bound
		defer func() { gradientBatchFloats = saved }()
		o := &batchSizes{inner: f}
		m := &GD{Settings: Settings{Epsilon: 1e-4}}
		x0 := make([]float64, d)
		x0[0] = 0.2
		out, err := m.Minimize(context.Background(), o, Problem{X0: x0})
		if err != nil {
			t.Fatal(err)
		}
		return out, o
	}
	whole, wo := run(defaultBatchFloats)
	chunked, co := run(2 * d * d / 3) // 26 queries per gradient batch
	if whole.Status != StatusConverged || math.Abs(whole.X[0]) < 0.9 {
		t.Fatalf("the reference run did not converge to a minimum: %+v", whole)
	}
	if !reflect.DeepEqual(whole.X, chunked.X) || whole.F != chunked.F || whole.Iterations != chunked.Iterations || whole.Status != chunked.Status {
		t.Errorf("chunked run differs:\n whole %+v\n chunked %+v", whole, chunked)
	}
	sum := func(s []int) (n, most int) {
		for _, k := range s {
			n, most = n+k, max(most, k)
		}
		return n, most
	}
	wn, wmost := sum(wo.sizes)
	cn, cmost := sum(co.sizes)
	if wn != cn || len(co.sizes) <= len(wo.sizes) || wmost < 2*d || cmost >= 2*d {
		t.Errorf("queries %d and %d (want equal), rounds %d and %d (want more chunked), largest batch %d and %d (want < %d chunked)",
			wn, cn, len(wo.sizes), len(co.sizes), wmost, cmost, 2*d)
	}
}
