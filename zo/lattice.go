package zo

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Discrete coordinates (Box.Lattice: integer parameters). ZO-GD works on
// the continuous relaxation, but every point it asks for lies on the
// lattice (Box.Project rounds), and on a discrete coordinate:
//
//   - the central difference spans the two neighbouring lattice values
//     (CoordGE.stencil), never less than one unit, so its pair of values
//     are the ±1 neighbours of the point;
//   - those values replace the difference quotient in the gradient
//     (latticeGradient): the one-sided slope towards the better
//     neighbour when one improves on f(x), and 0 when neither does;
//   - the curvature finders see only the continuous coordinates (their
//     Free mask holds the discrete ones), so a certificate's λ̂_min is
//     of the continuous part;
//   - a point counts as stationary only when no ±1 neighbour improves
//     on it (latticeOpen), and where a line search along the gradient
//     finds no decrease, the step goes to the best neighbour (its value
//     is known from the stencil: no evaluation).
//
// An unordered coordinate (Choices: a categorical parameter) has no
// neighbours: its difference is 0, descent never moves it, and where the
// rest of the point is stationary (the gradient small, no ±1 neighbour
// better) every other value of every unordered coordinate is tried in one
// batch (sweep); the best, if it improves, is taken and descent goes on
// from there — block-coordinate descent, with the continuous block
// certified by the finder.
//
// A converged point is therefore (ε, δ)-stationary in the continuous
// coordinates, lattice-optimal in the integer ones (no change of one by
// one unit improves it), and no single categorical change improves it.

// neighbour is a lattice neighbour of the iterate and its value.
type neighbour struct {
	x []float64
	f float64
}

// latticeGradient adjusts the central CoordGE estimate g at the iterate x,
// whose value over every sample is fx, on the discrete coordinates, from
// res, the answers to r.coord.Queries(x, r.all): see above. It records
// the best neighbour that improves on fx in r.better (nil: none).
func (r *run) latticeGradient(x []float64, res []Result, g []float64) {
	r.better = nil
	fx := r.out.F
	if r.box.Lattice == nil || math.IsNaN(fx) {
		return
	}
	n := len(r.all)
	for i := range x {
		if !r.box.discrete(i) {
			continue
		}
		lo, hi := r.coord.stencil(x, i)
		side, fs := math.NaN(), math.Inf(1)
		for k, v := range []float64{hi, lo} {
			f, ok := meanAt(res, n, 2*r.d, 2*i+k)
			if v != x[i] && ok && f < fs {
				side, fs = v, f
			}
		}
		if !(fs < fx) {
			g[i] = 0
			continue
		}
		g[i] = (fs - fx) / (side - x[i])
		if r.better == nil || fs < r.better.f {
			r.better = &neighbour{x: with(x, i, side), f: fs}
		}
	}
}

// meanAt is the mean of the answers at offset j of each of n samples
// whose answers are stride apart; ok is false when one failed.
func meanAt(res []Result, n, stride, j int) (mean float64, ok bool) {
	sum := 0.0
	for k := range n {
		rs := res[k*stride+j]
		if rs.Err != nil {
			return 0, false
		}
		sum += rs.Value
	}
	return sum / float64(n), true
}

// latticeOpen reports whether a ±1 neighbour of the iterate along a
// discrete coordinate improves on it: it is not stationary then, however
// small the gradient.
func (r *run) latticeOpen() bool { return r.better != nil }

// latticeStep moves the iterate to its best improving neighbour, whose
// value the gradient's stencil gave; it returns false when none improves.
func (r *run) latticeStep() bool {
	if r.better == nil {
		return false
	}
	r.set(r.better.x, r.better.f)
	r.better = nil
	r.report("step", math.NaN())
	return true
}

// continuous returns free with the discrete coordinates held: the
// coordinates a curvature finder may move.
func (r *run) continuous(free []bool) []bool {
	if r.box.Lattice == nil {
		return free
	}
	out := make([]bool, r.d)
	for i := range out {
		out[i] = (free == nil || free[i]) && !r.box.discrete(i)
	}
	return out
}

// discreteCount is the number of discrete coordinates.
func (b Box) discreteCount(d int) int {
	n := 0
	for i := range d {
		if b.discrete(i) {
			n++
		}
	}
	return n
}

// sweep tries, in one batch, every other value of every unordered
// coordinate at the iterate, once per point, and moves to the best if it
// improves on f(x): moved is true then. fl is stop when the run ended.
func (r *run) sweep() (moved bool, fl flow) {
	ch, ok := r.box.Lattice.(Choices)
	if !ok || slices.Equal(r.swept, r.x) {
		return false, goOn
	}
	var pts [][]float64
	for i := range r.x {
		for _, a := range ch.Alternatives(i, r.x[i]) {
			pts = append(pts, with(r.x, i, a))
		}
	}
	r.swept = slices.Clone(r.x)
	if len(pts) == 0 {
		return false, goOn
	}
	vals, _, err := Values(r.ctx, r.o, pts, r.all)
	if err != nil {
		return false, r.fail(err)
	}
	j := -1
	for k, v := range vals {
		if v < r.out.F && (j < 0 || v < vals[j]) {
			j = k
		}
	}
	if j < 0 {
		return false, goOn
	}
	r.set(pts[j], vals[j])
	r.report("switch", math.NaN())
	return true, goOn
}

// unordered counts the discrete coordinates that are unordered.
func (r *run) unordered() int {
	ch, ok := r.box.Lattice.(Choices)
	if !ok {
		return 0
	}
	n := 0
	for i := range r.x {
		if ch.Alternatives(i, r.x[i]) != nil {
			n++
		}
	}
	return n
}

// certificate is the reason of a run that ends converged with the
// finder's estimate lambda: what holds on the continuous coordinates and,
// with discrete ones, what holds on them.
func (r *run) certificate(lambda float64) string {
	cert := fmt.Sprintf("(ε, δ) second-order stationary point: ‖ĝ‖ = %.3g ≤ ε = %.3g, λ̂_min = %.3g ≥ −δ = %.3g", r.out.GradNorm, r.s.Epsilon, lambda, -r.s.Delta)
	k := r.box.discreteCount(r.d)
	if k == 0 {
		return cert
	}
	var parts []string
	if c := r.unordered(); c > 0 {
		parts = append(parts, fmt.Sprintf("no single change of one of the %d categorical parameters improves the point", c))
		k -= c
	}
	if k > 0 {
		parts = append([]string{fmt.Sprintf("lattice-optimal in the %d integer parameters: no ±1 change of one improves the point", k)}, parts...)
	}
	if r.box.discreteCount(r.d) == r.d {
		return strings.Join(parts, "; ") + " (there is no continuous parameter: no gradient or curvature to certify)"
	}
	return fmt.Sprintf("%s over the %d continuous parameters; %s", cert, r.d-r.box.discreteCount(r.d), strings.Join(parts, "; "))
}
