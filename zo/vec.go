package zo

import (
	"math"
	"math/rand/v2"
	"slices"
)

// Vector helpers of the methods. Vectors are plain []float64 of the
// problem's dimension; no d×d matrix is ever formed.

// step returns P(x + a·v).
func step(b Box, x, v []float64, a float64) []float64 {
	y := make([]float64, len(x))
	for i := range x {
		y[i] = x[i] + a*v[i]
	}
	b.Project(y)
	return y
}

// mask zeroes v on the coordinates not marked free.
func mask(v []float64, free []bool) {
	for i := range v {
		if !free[i] {
			v[i] = 0
		}
	}
}

// dot is aᵀb.
func dot(a, b []float64) float64 {
	s := 0.0
	for i := range a {
		s += a[i] * b[i]
	}
	return s
}

// sub returns a − b.
func sub(a, b []float64) []float64 {
	c := make([]float64, len(a))
	for i := range a {
		c[i] = a[i] - b[i]
	}
	return c
}

// norm is the Euclidean norm of v.
func norm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// unitRandom returns a vector uniform on the unit sphere of the
// coordinates marked free (all when free is nil), zero elsewhere.
func unitRandom(d int, rng *rand.Rand, free []bool) []float64 {
	for {
		u := make([]float64, d)
		for i := range u {
			if free == nil || free[i] {
				u[i] = rng.NormFloat64()
			}
		}
		if n := norm(u); n > 0 {
			for i := range u {
				u[i] /= n
			}
			return u
		}
		if free != nil && !slices.Contains(free, true) {
			return u
		}
	}
}
