package multistart

import (
	"math"
	"math/rand/v2"

	"github.com/zotune/zotune/zo"
)

// LatinHypercube returns n points of a Latin hypercube in box b (bounded
// on every coordinate): each coordinate's range is cut into n equal
// strata, every stratum holds exactly one point, and the strata are
// matched across coordinates by independent random permutations, each
// point drawn uniformly within its cell (McKay, Beckman & Conover,
// Technometrics 1979). Every one-dimensional projection is therefore
// evenly covered, which plain random points are not, at the cost of one
// batch of n points whatever d is. Of tries such designs, the one whose
// closest pair of points is farthest apart is kept (maximin), so that no
// two points of a small design sit next to each other.
func LatinHypercube(n int, b zo.Box, rng *rand.Rand) [][]float64 {
	const tries = 8
	var best [][]float64
	bestSep := -1.0
	for range tries {
		pts := oneHypercube(n, b, rng)
		if sep := minSeparation(pts, b); sep > bestSep {
			best, bestSep = pts, sep
		}
	}
	return best
}

// oneHypercube draws one Latin hypercube of n points in b.
func oneHypercube(n int, b zo.Box, rng *rand.Rand) [][]float64 {
	d := len(b.Lower)
	pts := make([][]float64, n)
	for i := range pts {
		pts[i] = make([]float64, d)
	}
	for j := range d {
		w := (b.Upper[j] - b.Lower[j]) / float64(n)
		for i, s := range rng.Perm(n) {
			pts[i][j] = b.Lower[j] + w*(float64(s)+rng.Float64())
		}
	}
	return pts
}

// minSeparation is the smallest distance between two of pts, each
// coordinate measured in units of its box width.
func minSeparation(pts [][]float64, b zo.Box) float64 {
	sep := math.Inf(1)
	for i := range pts {
		for k := i + 1; k < len(pts); k++ {
			sep = math.Min(sep, distance(pts[i], pts[k], b))
		}
	}
	return sep
}

// distance is the Euclidean distance between x and y with each coordinate
// in units of its box width, over √d: 1 is the diagonal of the box.
func distance(x, y []float64, b zo.Box) float64 {
	s := 0.0
	for j := range x {
		t := (x[j] - y[j]) / (b.Upper[j] - b.Lower[j])
		s += t * t
	}
	return math.Sqrt(s / float64(len(x)))
}
