package zo

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
)

// Curvature is a negative-curvature finder's answer at a point.
type Curvature struct {
	// Direction is a unit vector along which the Hessian has curvature
	// vᵀ∇²f(x)v ≤ −δ/2, or nil for "none": no direction was found. A none
	// certifies, with high probability, that λ_min(∇²f(x)) ≥ −δ on the
	// free coordinates only when Lambda is a number ≥ −δ. A none with
	// Lambda NaN (the finder could not measure the curvature, e.g. its
	// probes kept failing) or below −δ certifies nothing: the optimizers
	// call the finder again, and stop uncertified if it still cannot
	// certify (see GD).
	Direction []float64
	// Lambda is the finder's estimate of the smallest Hessian eigenvalue at
	// x (the curvature along Direction when one was found); NaN when it
	// could not be measured.
	Lambda float64
	// Queries is the number of function evaluations the call spent.
	Queries int
}

// FindRequest is what a Finder gets: the point, what the optimizer already
// knows there, and the oracle to ask for more.
type FindRequest struct {
	Oracle     Oracle
	X          []float64 // the point; not modified
	F          float64   // f(X), averaged over Samples
	G          []float64 // gradient estimate at X by Estimator over Samples
	Estimator  CoordGE   // the optimizer's gradient estimator (step, box)
	Samples    []int     // samples to average over; a stochastic finder may draw others
	NumSamples int       // total number of samples (component functions) available
	Delta      float64   // curvature tolerance δ > 0
	// Free marks the coordinates the search may move; nil means all. At a
	// bound of the box the search is restricted to the face x lies on.
	Free []bool
	Rand *rand.Rand // source of every random choice
}

// Finder looks for a direction of negative curvature from function values
// alone. Implementations live in package negcurv.
type Finder interface {
	Find(ctx context.Context, req FindRequest) (Curvature, error)
}

// findAttempts is the number of finder calls made at one point, each
// from a fresh random start, before a method gives up certifying it.
const findAttempts = 3

// certifies reports whether a finder's none with estimate lambda
// certifies λ_min ≥ −δ: lambda must be a number ≥ −δ (+Inf, at a vertex
// of the box, does). NaN (the finder's curvature probe kept failing) and
// values below −δ certify nothing.
func certifies(lambda, delta float64) bool { return lambda >= -delta }

// findCurvature is every method's call of its finder at a point with a
// small gradient: it calls f until it returns a direction or a none that
// certifies the point (see certifies), at most findAttempts times. Every
// call draws its random start afresh from req.Rand. certified is true for
// the latter. When neither happened, c is the last none, whose Lambda is
// NaN or below −δ. c.Queries counts the queries of every call.
func findCurvature(ctx context.Context, f Finder, req FindRequest) (c Curvature, certified bool, err error) {
	queries := 0
	for range findAttempts {
		c, err = f.Find(ctx, req)
		queries += c.Queries
		c.Queries = queries
		if err != nil || c.Direction != nil {
			return c, false, err
		}
		if certifies(c.Lambda, req.Delta) {
			return c, true, nil
		}
	}
	return c, false, nil
}

// uncertified is the reason of a run that ends stopped where the finder
// neither found a direction nor certified the point.
func uncertified(gradNorm, lambda float64, s Settings) string {
	why := "below −δ"
	if math.IsNaN(lambda) {
		why = "NaN: the finder could not measure the curvature, e.g. its probes kept failing"
	}
	return fmt.Sprintf("not certified: ‖ĝ‖ = %.3g ≤ ε = %.3g, but in %d calls the curvature finder found no direction and its estimate λ̂_min = %.3g is not ≥ −δ = %.3g (%s); the point is not a certified second-order stationary point", gradNorm, s.Epsilon, findAttempts, lambda, -s.Delta, why)
}

// secondOrder is the step of the negative-curvature-finding methods at a
// point whose big-batch gradient g (over samples, with r.out.F = f(x)
// over samples) is at most ε. The finder (see findCurvature) either
// certifies x (the run ends converged; done is true), or supplies a
// direction, along which the batched two-sign escape moves x, or does
// neither: the run ends stopped, uncertified. A nil finder stops at
// first-order stationarity, as ZO-GD does.
func (r *run) secondOrder(f Finder, g []float64, free []bool, samples []int) (done bool, err error) {
	if f == nil {
		r.finish(StatusConverged, "first-order stationary point (no curvature finder)")
		r.report("done", math.NaN())
		return true, nil
	}
	c, certified, err := findCurvature(r.ctx, f, r.request(g, free, samples))
	if err != nil {
		return false, err
	}
	r.out.LambdaMin = c.Lambda
	if c.Direction == nil {
		if !certified {
			r.finish(StatusStopped, uncertified(r.out.GradNorm, c.Lambda, r.s))
			return true, nil
		}
		r.finish(StatusConverged, r.certificate(c.Lambda))
		r.report("certify", c.Lambda)
		return true, nil
	}
	from := r.out.F
	t, nx, nf, err := escapeSearch(r.ctx, r.o, r.box, r.x, r.out.F, c.Direction, r.escLen, r.s.Candidates, samples)
	if err != nil {
		return false, err
	}
	if nx == nil {
		r.finish(StatusStopped, fmt.Sprintf("negative curvature %.3g found but no step along it decreases the objective", c.Lambda))
		return true, nil
	}
	r.set(nx, nf)
	r.escLen = 2 * t
	r.out.Escapes = append(r.out.Escapes, Escape{Iteration: r.out.Iterations, Lambda: c.Lambda, Step: t, From: from, To: nf})
	r.report("escape", c.Lambda)
	return false, nil
}

// stationary is the step of the finder methods at a point whose gradient
// g over samples is small: see secondOrder. It returns stop when the run
// has ended, else again.
func (r *run) stationary(f Finder, g []float64, free []bool, samples []int) flow {
	done, err := r.secondOrder(f, g, free, samples)
	if err != nil {
		return r.fail(err)
	}
	if done {
		return stop
	}
	return again
}

// request is the finder request at the iterate, whose gradient estimate
// over samples is g.
func (r *run) request(g []float64, free []bool, samples []int) FindRequest {
	return FindRequest{
		Oracle: r.o, X: r.x, F: r.out.F, G: g, Estimator: r.coord, Samples: samples,
		NumSamples: r.s.Samples, Delta: r.s.Delta, Free: r.continuous(free), Rand: r.rng,
	}
}

// confirm is the baselines' use of a finder: at a point their own test
// calls second-order stationary, a finder (if any) gives the curvature
// estimate. ok is true only when the finder certifies the point (see
// findCurvature): it found no direction and its estimate is a number
// ≥ −δ. Otherwise (negative curvature found, or a none that certifies
// nothing) the baseline goes on with its own escape mechanism.
func (r *run) confirm(f Finder, g []float64, free []bool, samples []int) (ok bool, lambda float64, err error) {
	if f == nil {
		return true, math.NaN(), nil
	}
	c, certified, err := findCurvature(r.ctx, f, r.request(g, free, samples))
	if err != nil {
		return false, 0, err
	}
	return certified, c.Lambda, nil
}
