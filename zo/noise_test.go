package zo

import (
	"math"
	"math/rand/v2"
	"testing"
)

// ECnoise recovers the standard deviation of noise added to smooth
// functions, whatever the smooth part, and finds none in a smooth function
// or in round-off alone.
func TestECnoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	line := func(f func(s float64) float64, h float64) []float64 {
		v := make([]float64, noisePoints)
		for k := range v {
			v[k] = f(float64(k) * h)
		}
		return v
	}
	smooth := []func(s float64) float64{
		func(s float64) float64 { return 0 },
		func(s float64) float64 { return 1 + 3*s - 8*s*s },
		func(s float64) float64 { return math.Exp(s) * math.Sin(5*s) },
		func(s float64) float64 { return 64*s*s*s*s - 8*s*s },
	}
	for _, sd := range []float64{1e-9, 1e-6, 1e-3} {
		for i, f := range smooth {
			var ratios []float64
			for range 20 {
				noisy := func(s float64) float64 { return f(s) + sd*rng.NormFloat64() }
				got, ok, _ := ecnoise(line(noisy, noiseSpacing))
				if ok {
					ratios = append(ratios, got/sd)
				}
			}
			// ECnoise is a one-sample estimate: most land within a
			// factor of 3 of the truth, and it answers most of the time.
			within := 0
			for _, r := range ratios {
				if r > 1.0/3 && r < 3 {
					within++
				}
			}
			if len(ratios) < 15 || within < 14 {
				t.Errorf("noise %g on smooth function %d: %d answers of 20, %d within 3× (%v)", sd, i, len(ratios), within, ratios)
			}
		}
	}
	for i, f := range smooth[1:] {
		if got, ok, _ := ecnoise(line(f, noiseSpacing)); ok && got > 1e-12 {
			t.Errorf("smooth function %d: noise %g found", i+1, got)
		}
	}
}
