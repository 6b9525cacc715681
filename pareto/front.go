package pareto

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
