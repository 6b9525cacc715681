package negcurv_test

import (
	"context"
	"errors"
	"math"
	"testing"

	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

// TestFindersAtCorner: at the corner 0 of [0, 2]⁴, a saddle of the
// separable quartic with curvature −1 along e₁ and e₂ (the free
// coordinates there: the gradient holds x₃ and x₄ at their bound), every
// finder returns a direction whose true curvature is ≤ −δ/2 and whose
// estimate is the true −1, whatever mix of e₁ and e₂ it finds (most mixes
// leave the box both ways, and its probe has to be shifted into the box).
func TestFindersAtCorner(t *testing.T) {
	const delta = 0.1
	f := functions.NewSeparableQuartic(4, 2)
	b := zo.Cube(4, 0, 2)
	x := make([]float64, 4)
	h := hessian(f, x)
	for _, fd := range finders {
		for _, free := range [][]bool{{true, true, false, false}, nil} {
			for seed := range uint64(10) {
				req := request(t, inBoxExact(t, f, b), b, x, delta, seed)
				req.Free = free
				got, err := fd.new().Find(context.Background(), req)
				if err != nil {
					t.Fatal(err)
				}
				if got.Direction == nil {
					t.Fatalf("%s, seed %d, free %v: no direction; estimate %g", fd.name, seed, free, got.Lambda)
				}
				if c := curvature(h, got.Direction); c > -delta/2 {
					t.Errorf("%s, seed %d: direction %v has true curvature %g", fd.name, seed, got.Direction, c)
				}
				if math.Abs(got.Lambda+1) > 0.01 {
					t.Errorf("%s, seed %d: estimate %g, true −1", fd.name, seed, got.Lambda)
				}
			}
		}
	}
}

// probeFlaky answers from an oracle but fails every batch of 2 or 3
// queries (the finders' curvature probes at one sample; every product of
// d = 6 is a batch of 12 or more) while fewer than failures probe batches
// have failed in a row.
type probeFlaky struct {
	zo.Oracle
	failures int
	streak   int // probe batches failed in a row
	sent     int // probe batches sent
}

func (p *probeFlaky) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	if len(batch) != 2 && len(batch) != 3 {
		return p.Oracle.Evaluate(ctx, batch)
	}
	p.sent++
	if p.streak < p.failures {
		p.streak++
		out := make([]zo.Result, len(batch))
		for i := range out {
			out[i].Err = errors.New("simulated probe failure")
		}
		return out, nil
	}
	p.streak = 0
	return p.Oracle.Evaluate(ctx, batch)
}

// TestFindersRetryFailedProbes: at the saddle of the rotated quartic
// (λ_min = −1), a curvature probe that fails twice and then answers
// still confirms a direction; one that always fails is sent 3 times and
// the answer is none with the estimate NaN, never a number that could
// certify the saddle.
func TestFindersRetryFailedProbes(t *testing.T) {
	const delta = 0.1
	q := quartics(6)[1]
	b := zo.Cube(6, -2, 2)
	h := hessian(q.f, q.saddle)
	for _, fd := range finders {
		for seed := range uint64(5) {
			flaky := &probeFlaky{Oracle: inBoxExact(t, q.f, b), failures: 2}
			got, err := fd.new().Find(context.Background(), request(t, flaky, b, q.saddle, delta, seed))
			if err != nil {
				t.Fatal(err)
			}
			if got.Direction == nil || curvature(h, got.Direction) > -delta/2 || flaky.sent != 3 {
				t.Errorf("%s, seed %d, probe failing twice: direction %v, estimate %g, %d probe sends", fd.name, seed, got.Direction, got.Lambda, flaky.sent)
			}

			dead := &probeFlaky{Oracle: inBoxExact(t, q.f, b), failures: math.MaxInt}
			got, err = fd.new().Find(context.Background(), request(t, dead, b, q.saddle, delta, seed))
			if err != nil {
				t.Fatal(err)
			}
			if got.Direction != nil || !math.IsNaN(got.Lambda) || dead.sent != 3 {
				t.Errorf("%s, seed %d, probe always failing: direction %v, estimate %g after %d probe sends; want none, NaN, 3", fd.name, seed, got.Direction, got.Lambda, dead.sent)
			}
		}
	}
}
