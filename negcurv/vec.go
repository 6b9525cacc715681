package negcurv

import (
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"
)

// Vector helpers of the finders.

// unit returns y/‖y‖.
func unit(y []float64) []float64 {
	v := make([]float64, len(y))
	floats.ScaleTo(v, 1/floats.Norm(y, 2), y)
	return v
}

// unitFree zeroes v on the fixed coordinates and scales it to unit
// length in place; it reports false when nothing is left (v = 0).
func unitFree(v []float64, free []bool) bool {
	maskFree(v, free)
	n := floats.Norm(v, 2)
	if n == 0 {
		return false
	}
	floats.Scale(1/n, v)
	return true
}

// maskFree zeroes v on the coordinates not marked free (none when free
// is nil).
func maskFree(v []float64, free []bool) {
	if free == nil {
		return
	}
	for i := range v {
		if !free[i] {
			v[i] = 0
		}
	}
}

// randomUnit returns a uniformly random unit vector on the free
// coordinates (all when free is nil) of dimension d.
func randomUnit(d int, free []bool, rng *rand.Rand) []float64 {
	v := make([]float64, d)
	for i := range v {
		if free == nil || free[i] {
			v[i] = rng.NormFloat64()
		}
	}
	floats.Scale(1/floats.Norm(v, 2), v)
	return v
}
