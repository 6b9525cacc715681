package pareto

import (
	"cmp"
	"slices"
)

// Front is the non-dominated set of the points offered to it, every
// objective minimised: a point is dominated when another is no worse in
// every objective and better in one. Each point carries a payload T (the
// study's parameters and trial). Ties — equal objectives — keep the first.
// Adding is O(size of the front).
type Front[T any] struct {
	items []Item[T]
}

// Item is a point of a front: its objectives and payload.
type Item[T any] struct {
	F       []float64
	Payload T
}

// dominates reports whether a dominates b.
func dominates(a, b []float64) bool {
	better := false
	for j := range a {
		if a[j] > b[j] {
			return false
		}
		better = better || a[j] < b[j]
	}
	return better
}

// equal reports whether a and b are the same objectives.
func equal(a, b []float64) bool {
	for j := range a {
		if a[j] != b[j] {
			return false
		}
	}
	return true
}

// Add offers a point with objectives f; it reports whether the point
// joined the front (dropping the points it dominates).
func (fr *Front[T]) Add(f []float64, payload T) bool {
	for _, it := range fr.items {
		if dominates(it.F, f) || equal(it.F, f) {
			return false
		}
	}
	kept := fr.items[:0]
	for _, it := range fr.items {
		if !dominates(f, it.F) {
			kept = append(kept, it)
		}
	}
	fr.items = append(kept, Item[T]{F: append([]float64(nil), f...), Payload: payload})
	return true
}

// Items returns the front's points, in the order they joined it.
func (fr *Front[T]) Items() []Item[T] { return fr.items }

// Hypervolume2 is the area that the points pts dominate (both objectives
// minimised) within the reference point ref: the usual measure of how
// well a set covers a bi-objective front.
func Hypervolume2(pts [][2]float64, ref [2]float64) float64 {
	in := slices.Clone(pts)
	slices.SortFunc(in, func(p, q [2]float64) int { return cmp.Or(cmp.Compare(p[0], q[0]), cmp.Compare(p[1], q[1])) })
	hv, best := 0.0, ref[1]
	for _, p := range in {
		if p[0] < ref[0] && p[1] < best {
			hv += (ref[0] - p[0]) * (best - p[1])
			best = p[1]
		}
	}
	return hv
}
