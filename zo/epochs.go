package zo

import (
	"math"
)

// The epochs of the variance-reduced methods SCSG, SPIDER and SSRGD: each
// starts with a refresh (a big-batch gradient) and a line-searched first
// step; an epoch whose inner steps did harm is undone.

// epochs is the state SCSG, SPIDER and SSRGD carry from one epoch to the
// next.
type epochs struct {
	trial float64   // trial length of the next line search
	kappa float64   // step factor: halved after an epoch that did harm, doubled back up to 1 after a good one
	x1    []float64 // the point after the first step of the last epoch, when the epoch went on
}

func (r *run) newEpochs() *epochs {
	return &epochs{trial: r.s.Step * r.scale, kappa: 1}
}

// keepFirst keeps x, the point after the first step of an epoch of n
// steps, when the epoch goes on (n > 1): the next refresh compares the
// end of the epoch with it.
func (e *epochs) keepFirst(x []float64, n int) {
	if n > 1 {
		e.x1 = append([]float64(nil), x...)
	}
}

// refresh is the head of an epoch of SCSG, SPIDER and SSRGD: one batch
// with the central CoordGE gradient at x over S, the values over S at x
// and, if the last epoch went on, at x1, and, if test is not nil, the
// value at x over test. If x1 is lower than x, the epoch's inner steps
// did harm: x goes back to x1, κ halves and a new epoch starts (again).
// A void estimate is counted. Otherwise x gets its value and gradient
// norm over S, and fTest is the value at x over test (over S when test
// is nil).
func (r *run) refresh(e *epochs, S, test []int) (g []float64, free []bool, fTest float64, fl flow) {
	pts := [][]float64{r.x}
	if e.x1 != nil {
		pts = append(pts, e.x1)
	}
	lists := [][]Query{r.coord.Queries(r.x, S), valueQueries(pts, S)}
	if test != nil {
		lists = append(lists, valueQueries([][]float64{r.x}, test))
	}
	res, err := r.send(lists...)
	if err != nil {
		return nil, nil, 0, r.fail(err)
	}
	g = make([]float64, r.d)
	failed := r.coord.Gradient(r.x, S, res[0], g)
	vals, _ := meanValues(res[1], len(pts), len(S))
	fTest = vals[0]
	if test != nil {
		tv, _ := meanValues(res[2], 1, len(test))
		fTest = tv[0]
	}
	if e.x1 != nil {
		if vals[1] < vals[0] {
			// The epoch's inner steps did harm: back to its first step.
			r.set(e.x1, vals[1])
			e.x1 = nil
			e.kappa /= 2
			return nil, nil, 0, again
		}
		e.kappa = math.Min(1, 2*e.kappa)
	}
	if failed == r.d || math.IsInf(vals[0], 1) {
		if r.void() {
			return nil, nil, 0, stop
		}
		return nil, nil, 0, again
	}
	r.fails = 0
	e.x1 = nil
	free = r.freeAt(r.x, g)
	r.at(g, vals[0])
	return g, free, fTest, goOn
}

// openEpoch begins an epoch of SCSG and SPIDER: it counts the iteration
// (stop at the cap), refreshes over B samples (see refresh), calls the
// finder at a gradient ≤ ε (see stationary) and otherwise takes the first
// step (see firstStep). It returns the refreshed gradient g, the point x0
// the first step left and the step's length t.
func (r *run) openEpoch(e *epochs, f Finder) (g, x0 []float64, t float64, fl flow) {
	if !r.iterate() {
		return nil, nil, 0, stop
	}
	S := r.batch(r.bigB)
	g, free, _, fl := r.refresh(e, S, nil)
	if fl == goOn && r.out.GradNorm <= r.s.Epsilon {
		fl = r.stationary(f, g, free, S)
	}
	if fl != goOn {
		return nil, nil, 0, fl
	}
	x0 = append([]float64(nil), r.x...)
	t, fl = r.firstStep(e, g, S)
	return g, x0, t, fl
}

// innerStep begins an inner step of SCSG, SPIDER and SSRGD: it counts
// the iteration and estimates the gradient at x and at y on b fresh
// samples, with fresh random choices of Settings.Estimator, the same at
// both points (see pair), and any values at points over valSamples in the
// same batch. fl is stop when the run has ended (the iteration cap, an
// oracle error), again when the pair is void (the epoch ends), else goOn.
func (r *run) innerStep(y []float64, points [][]float64, valSamples []int) (gx, gy, vals []float64, fl flow) {
	if !r.iterate() {
		return nil, nil, nil, stop
	}
	S := r.batch(r.miniB)
	st := r.est.Draw(r.d, r.rng)
	gx, gy, void, vals, err := r.pair(st, r.x, y, S, points, valSamples)
	if err != nil {
		return nil, nil, nil, r.fail(err)
	}
	if void {
		return nil, nil, nil, again
	}
	return gx, gy, vals, goOn
}

// firstStep is the first step of an epoch of SCSG, SPIDER and SSRGD,
// along the refreshed gradient g over S: the Armijo line search on f_S
// from the last accepted length, which becomes the next trial length.
// With no decrease the run stops if S holds every sample; else a new
// epoch draws another batch (again).
func (r *run) firstStep(e *epochs, g []float64, S []int) (t float64, fl flow) {
	t, fl = r.descend(g, e.trial, S)
	if fl == goOn {
		e.trial = t
	}
	return t, fl
}
