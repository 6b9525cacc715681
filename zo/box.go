package zo

import (
	"fmt"
	"math"
)

// Box is the feasible region [Lower, Upper] of an optimizer's coordinates.
// A nil Lower or Upper means unbounded on that side, for every coordinate.
// With a Lattice, some coordinates take only the lattice's values.
type Box struct {
	Lower, Upper []float64
	// Lattice, if set, makes some coordinates discrete (an integer
	// parameter): Project rounds them to the lattice, central CoordGE
	// differences them between the neighbouring lattice values, and ZO-GD
	// treats them as described in lattice.go. Nil: every coordinate is
	// continuous.
	Lattice Lattice
}

// Lattice is the set of values the discrete coordinates of a Box may take.
// Its values on a coordinate must lie within the box's bounds and include
// them; the lattice need not be evenly spaced (an integer parameter on a
// log scale).
type Lattice interface {
	// Discrete reports whether coordinate i takes lattice values only.
	Discrete(i int) bool
	// Round returns the lattice value of coordinate i nearest t (t within
	// the box); it is called for discrete coordinates only.
	Round(i int, t float64) float64
	// Neighbours returns the lattice values of coordinate i just below
	// and just above the lattice value t; at a bound, t itself on the side
	// with none.
	Neighbours(i int, t float64) (lo, hi float64)
}

// Choices is a Lattice some of whose coordinates are unordered
// (categorical parameters): their values have no neighbours to difference
// between (Neighbours returns t, t), and ZO-GD tries every other value of
// each at once where the rest of the point is stationary (see
// lattice.go).
type Choices interface {
	Lattice
	// Alternatives returns the values of coordinate i other than t for an
	// unordered coordinate, nil for any other.
	Alternatives(i int, t float64) []float64
}

// discrete reports whether coordinate i of b is on a lattice.
func (b Box) discrete(i int) bool { return b.Lattice != nil && b.Lattice.Discrete(i) }

// UnitBox returns [0, 1]^d.
func UnitBox(d int) Box { return Cube(d, 0, 1) }

// Cube returns [lo, hi]^d: the same bounds on every coordinate.
func Cube(d int, lo, hi float64) Box {
	l, h := make([]float64, d), make([]float64, d)
	for i := range l {
		l[i], h[i] = lo, hi
	}
	return Box{Lower: l, Upper: h}
}

// Validate reports whether the box is well formed for dimension d.
func (b Box) Validate(d int) error {
	if b.Lower != nil && len(b.Lower) != d {
		return fmt.Errorf("zo: box has %d lower bounds, want %d", len(b.Lower), d)
	}
	if b.Upper != nil && len(b.Upper) != d {
		return fmt.Errorf("zo: box has %d upper bounds, want %d", len(b.Upper), d)
	}
	for i := 0; i < d; i++ {
		if b.lo(i) >= b.hi(i) {
			return fmt.Errorf("zo: box coordinate %d is empty: [%g, %g]", i, b.lo(i), b.hi(i))
		}
	}
	return nil
}

func (b Box) lo(i int) float64 {
	if b.Lower == nil {
		return math.Inf(-1)
	}
	return b.Lower[i]
}

func (b Box) hi(i int) float64 {
	if b.Upper == nil {
		return math.Inf(1)
	}
	return b.Upper[i]
}

// Project clamps x onto the box in place, and rounds its discrete
// coordinates to the lattice.
func (b Box) Project(x []float64) {
	for i := range x {
		x[i] = math.Min(math.Max(x[i], b.lo(i)), b.hi(i))
		if b.discrete(i) {
			x[i] = b.Lattice.Round(i, x[i])
		}
	}
}

// Contains reports whether x lies in the box.
func (b Box) Contains(x []float64) bool {
	for i, v := range x {
		if v < b.lo(i) || v > b.hi(i) {
			return false
		}
	}
	return true
}

// Scale is the typical width of the box: the mean width over bounded
// coordinates, or 1 when none is bounded. Default step lengths are
// fractions of it, so the same defaults work for the unit box and for a
// test function on [-3, 3]^d.
func (b Box) Scale() float64 {
	if b.Lower == nil || b.Upper == nil {
		return 1
	}
	s, n := 0.0, 0
	for i := range b.Lower {
		w := b.Upper[i] - b.Lower[i]
		if !math.IsInf(w, 0) {
			s += w
			n++
		}
	}
	if n == 0 {
		return 1
	}
	return s / float64(n)
}

// AtBound reports, per coordinate, whether x is within tol of a bound and
// the direction -g would push it out of the box there. Those coordinates
// are held fixed: the first-order stationarity measure and the search
// for negative curvature are restricted to the face of the box x lies on.
func (b Box) AtBound(x, g []float64, tol float64) []bool {
	out := make([]bool, len(x))
	for i := range x {
		atLo := x[i] <= b.lo(i)+tol
		atHi := x[i] >= b.hi(i)-tol
		switch {
		case atLo && atHi:
			out[i] = true
		case atLo:
			out[i] = g == nil || g[i] > 0
		case atHi:
			out[i] = g == nil || g[i] < 0
		}
	}
	return out
}

// Split splits v coordinate-wise for a probe of length r from x that
// cannot follow v, or −v, as a whole without leaving the box (at a corner,
// along a v that points out of the box in both senses). fwd holds the
// components vᵢ with xᵢ + r·vᵢ in the box, bwd = v − fwd the others,
// which fit backwards: xᵢ − r·bwdᵢ in the box. So x + r·fwd and x − r·bwd
// are both in the box, and their difference is r·v. If some coordinate
// fits neither way (the box is narrower than 2r|vᵢ| there), the length
// returned is the largest l < r at which every coordinate fits one way,
// and the split is made at l; otherwise l = r. Forward is preferred where
// both fit. l is 0 only if x is outside the box.
func (b Box) Split(x, v []float64, r float64) (fwd, bwd []float64, l float64) {
	up := func(i int, s float64) float64 { // reach along s·vᵢ in coordinate i
		switch vi := s * v[i]; {
		case vi > 0:
			return (b.hi(i) - x[i]) / vi
		case vi < 0:
			return (b.lo(i) - x[i]) / vi
		}
		return math.Inf(1)
	}
	l = r
	for i := range v {
		l = math.Min(l, math.Max(up(i, 1), up(i, -1)))
	}
	l = math.Max(l, 0)
	fwd, bwd = make([]float64, len(v)), make([]float64, len(v))
	for i, vi := range v {
		if up(i, 1) >= l {
			fwd[i] = vi
		} else {
			bwd[i] = vi
		}
	}
	return fwd, bwd, l
}

// Reach returns how far x can move along v and along −v without leaving
// the box: the largest a ≥ 0 with x + a·v in the box, and the largest
// with x − a·v (each capped at 1e300, for a v that never leaves it).
func (b Box) Reach(x, v []float64) (fwd, bwd float64) {
	return reach(b, x, v, 1), reach(b, x, v, -1)
}

// reach is the largest a ≥ 0 with x + sign·a·v inside the box (capped at
// 1e300).
func reach(b Box, x, v []float64, sign float64) float64 {
	a := 1e300
	for i, vi := range v {
		vi *= sign
		switch {
		case vi > 0:
			a = math.Min(a, (b.hi(i)-x[i])/vi)
		case vi < 0:
			a = math.Min(a, (b.lo(i)-x[i])/vi)
		}
	}
	return math.Max(a, 0)
}

// freeCoords marks the coordinates not held at a bound by the gradient.
func freeCoords(b Box, x, g []float64, tol float64) []bool {
	at := b.AtBound(x, g, tol)
	free := make([]bool, len(x))
	for i := range at {
		free[i] = !at[i]
	}
	return free
}
