package zo

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"slices"
)

// GD is ZO-GD with negative-curvature finding (ZO-GD-NCF of "Zeroth-Order
// Negative Curvature Finding: Escaping Saddle Points without Gradients",
// Zhang, Xiong & Gu, NeurIPS 2022):
//
//	g ← CoordGE(x)
//	if ‖g‖ > ε: p ← H·g, H the L-BFGS inverse-Hessian approximation (p = g without curvature pairs)
//	            x ← P(x − t·p/‖p‖), t from a batched Armijo line search (trial length ‖p‖; for p = g the last step's)
//	else: v ← Finder(x); none with λ̂ ≥ −δ ⇒ stop, certified; a direction ⇒ x ← P(x ± s·v), the better sign
//
// Every line search and escape sends all its candidate steps (several
// lengths, both signs for an escape) as one batch, so on a fleet of
// evaluators each iteration costs two rounds, not one per trial step.
// Descent steps are preconditioned by L-BFGS (Settings.Memory): the
// trial lengths are 2‖p‖, ‖p‖, ‖p‖/2, ‖p‖/4 (‖p‖ is the quasi-Newton
// step); when p is not a descent direction, or its search finds no
// decrease, the pairs are dropped and the search is made along g from
// the last accepted step length. A none whose estimate is NaN or
// below −δ certifies nothing: the finder is called again from a fresh
// random start, up to 3 calls in all, and then the run stops, uncertified
// (StatusStopped).
//
// With Settings.SAMRadius set the descent follows the sharpness-aware
// direction of "Sharpness-Aware Minimization for Efficiently Improving
// Generalization" (Foret et al., ICLR 2021), the gradient estimate at
// x + ρ g/‖g‖ (one more estimate per step), still with the Armijo test
// on g; the stationarity test and the certificate use g.
type GD struct {
	Settings Settings
	Finder   Finder     // nil: stop at first-order stationarity (curvature "none")
	Rand     *rand.Rand // required when Finder is set
}

var _ Method = (*GD)(nil)

// Minimize runs ZO-GD from p.X0 until it converges or the oracle stops it.
// The returned error is non-nil only for invalid input; every other ending
// is an Outcome.Status.
func (m *GD) Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error) {
	if err := validate(p, m.Settings); err != nil {
		return nil, err
	}
	if m.Finder != nil && m.Rand == nil {
		return nil, errors.New("zo: GD with a finder needs a Rand")
	}
	r, err := setup(ctx, o, p, m.Settings, m.Rand)
	if err != nil {
		return nil, err
	}
	r.speculate = m.Settings.Speculate && !r.tooLarge() // speculation sends whole stencils
	started := r.start
	if r.s.EstimateNoise {
		started = r.startNoisy
	}
	if !started() {
		return r.out, nil
	}
	dsc := &descent{r: r, trial: r.s.Step * r.scale, qn: lbfgs{m: max(r.s.Memory, 0)}}
	for r.iterate() {
		g, free, fl := r.coordGradient()
		switch fl {
		case stop:
			return r.out, nil
		case again:
			continue
		}
		dsc.qn.observe(r.x, g)
		if r.out.GradNorm > r.s.Epsilon || r.latticeOpen() {
			if dsc.step(g, free) == stop {
				return r.out, nil
			}
			continue
		}
		switch dsc.flatHere() {
		case stop:
			return r.out, nil
		case again:
			continue // a plateau: the step grew past it
		}
		// Small gradient: try the other categories, then look for
		// negative curvature.
		if moved, fl := r.sweep(); fl == stop {
			return r.out, nil
		} else if moved {
			dsc.qn.reset() // a jump, not a step along the model
			continue
		}
		if r.stationary(m.Finder, g, free, r.all) == stop {
			return r.out, nil
		}
		dsc.qn.restart() // escaped
	}
	return r.out, nil
}

// descent is GD's descent step: a batched Armijo line search along the
// L-BFGS direction, or along the gradient estimate from the last
// accepted step length.
type descent struct {
	r     *run
	trial float64 // trial length of a step along the gradient
	qn    lbfgs
	// flatAt is the last point where flatHere estimated the noise.
	flatAt []float64
}

// flatHere is what GD does where every difference of the gradient
// estimate was exactly 0 (‖ĝ‖ = 0) with Settings.EstimateNoise: f may be
// flat at the step's scale, a plateau, whose certificate would say nothing
// of f. It estimates the noise once per such point (widening the line
// until the values differ): again when the step grew, and the next
// iteration estimates the gradient across the plateau; goOn otherwise. An
// exact saddle of a symmetric f also has ‖ĝ‖ = 0: its line shows
// curvature, the step stays, and the finder goes on.
func (d *descent) flatHere() flow {
	r := d.r
	if !r.s.EstimateNoise || r.out.GradNorm != 0 || slices.Equal(d.flatAt, r.x) {
		return goOn
	}
	d.flatAt = append(d.flatAt[:0], r.x...)
	grew, err := r.recalibrate(r.x, noiseSpacing)
	switch {
	case err != nil:
		return r.fail(err)
	case grew:
		return again
	}
	return goOn
}

// step moves the iterate downhill from x, whose gradient estimate g (on
// the free coordinates) has norm > ε. It returns stop, with the run
// ended, when no trial step decreases f.
func (d *descent) step(g []float64, free []bool) flow {
	r := d.r
	// sg is the gradient the step follows: g, or with SAM the estimate at
	// x + ρ g/‖g‖.
	sg := g
	if r.s.SAMRadius > 0 {
		var err error
		sg, err = samGradient(r.ctx, r.o, r.coord, r.box, r.x, g, r.s.SAMRadius*r.scale, r.all)
		if err != nil {
			return r.fail(err)
		}
		mask(sg, free)
	}
	if norm(sg) == 0 { // only a lattice neighbour is better (see lattice.go)
		if r.latticeStep() {
			d.qn.reset()
			return goOn
		}
		return d.stalled()
	}
	dir, t0 := sg, d.trial
	if len(d.qn.s) > 0 {
		// Quasi-Newton direction; its natural length is the trial step.
		dir = d.qn.direction(sg)
		mask(dir, free)
		t0 = norm(dir)
		if dot(dir, g) <= 0 || t0 == 0 || math.IsNaN(t0) {
			d.qn.reset()
			dir, t0 = sg, d.trial
		}
	}
	t, nx, nf, err := r.lineSearch(r.x, r.out.F, g, dir, t0, r.all)
	if err != nil {
		return r.fail(err)
	}
	if nx == nil && len(d.qn.s) > 0 {
		// The preconditioner misled; retry from a plain gradient step.
		d.qn.reset()
		t, nx, nf, err = r.lineSearch(r.x, r.out.F, g, sg, d.trial, r.all)
		if err != nil {
			return r.fail(err)
		}
	}
	if nx == nil {
		if r.latticeStep() {
			d.qn.reset()
			return goOn
		}
		return d.stalled()
	}
	r.set(nx, nf)
	d.trial = t
	r.report("step", math.NaN())
	return goOn
}

// stalled is what a step does when no trial step decreased f: with a new
// difference step (see run.stall), the next iteration estimates the
// gradient with it (again); otherwise the run has ended.
func (d *descent) stalled() flow {
	r := d.r
	if !r.stall(r.out.GradNorm) {
		return stop
	}
	d.qn.reset() // its pairs were measured with the old step
	d.trial = r.s.Step * r.scale
	return again
}
