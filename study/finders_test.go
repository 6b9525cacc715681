package study

import (
	"bytes"
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/rs/zerolog"
	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

// fnOracle answers every query with f.
type fnOracle struct{ f functions.Function }

func (o fnOracle) Evaluate(_ context.Context, batch []zo.Query) ([]zo.Result, error) {
	out := make([]zo.Result, len(batch))
	for i, q := range batch {
		out[i] = zo.Result{Value: o.f.Func(q.X)}
	}
	return out, nil
}

// Every finder a user may choose, on a deterministic 12-d saddle problem
// started at its exact saddle, escapes along the direction it finds itself
// and ends converged at the minimum
// with a certificate that holds against the true Hessian, within a few
// thousand evaluations. (The online, dimer and power finders used to spend
// 29,000–44,000 evaluations certifying minima they had reached after a
// few hundred: their own certificates grow as L/δ; NewFinder has an
// adaptive Lanczos certify, and look for directions the finder then
// finds too.)
func TestEveryFinderCertifies(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	iso := functions.NewIsotropicQuartic(12, -1, 1, rng)
	problems := []struct {
		name string
		f    functions.Function
		min  float64
	}{
		{"isotropic quartic", iso, iso.Min()},
		{"separable quartic", functions.NewSeparableQuartic(12, 3), -0.75},
	}
	const budget = 3000
	for _, name := range finderNames() {
		if name == "none" {
			continue
		}
		for _, p := range problems {
			var escapedBy []string // the finders that reported a direction
			finder, err := NewFinder(name, 1, func(e negcurv.Estimates) {
				if e.Found {
					escapedBy = append(escapedBy, e.Finder)
				}
			})
			if err != nil {
				t.Fatal(err)
			}
			set := zo.Settings{Epsilon: DefaultEpsilon, Delta: zo.DefaultDelta(DefaultEpsilon)}
			gd := &zo.GD{Settings: set, Finder: finder, Rand: rand.New(rand.NewPCG(1, 2))}
			b := &zo.Budget{Oracle: fnOracle{p.f}, Max: budget}
			box := zo.Cube(12, -2, 2)
			out, err := gd.Minimize(context.Background(), b, zo.Problem{X0: make([]float64, 12), Box: box})
			if err != nil {
				t.Fatalf("%s on the %s: %v", name, p.name, err)
			}
			h := mat.NewSymDense(12, nil)
			p.f.Hess(h, out.X)
			lambda := functions.Spectrum(h)[0]
			if out.Status != zo.StatusConverged || len(out.Escapes) == 0 || math.Abs(out.F-p.min) > 1e-3 || lambda < -set.Delta {
				t.Errorf("%s on the %s: %s after %d of %d evaluations (%s), f = %g (f* = %g), %d escapes, true λ_min = %g (δ = %g)",
					name, p.name, out.Status, b.Used, budget, out.Reason, out.F, p.min, len(out.Escapes), lambda, set.Delta)
			}
			if len(escapedBy) == 0 || escapedBy[len(escapedBy)-1] != name {
				t.Errorf("%s on the %s: the directions found were %v; want the escape along the chosen finder's", name, p.name, escapedBy)
			}
			t.Logf("%s on the %s: %d evaluations, escape directions from %v", name, p.name, b.Used, escapedBy)
		}
	}
}

// A finder known to be expensive on a stochastic objective is named in a
// warning when the study starts; the same finder on a deterministic
// objective, and online on a stochastic one, are not.
func TestCautionForExpensiveFinders(t *testing.T) {
	for _, tc := range []struct {
		curvature string
		samples   int
		warn      bool
	}{{"power", 4, true}, {"dimer", 2, true}, {"deterministic", 3, true}, {"power", 1, false}, {"online", 4, false}, {"lanczos", 4, false}} {
		sc := testStudy("direct", 30)
		sc.Curvature, sc.Samples = tc.curvature, tc.samples
		if got := sc.Caution() != ""; got != tc.warn {
			t.Errorf("%s with %d samples: caution %q", tc.curvature, tc.samples, sc.Caution())
		}
	}
	var logs bytes.Buffer
	sc := testStudy("direct", 30)
	sc.Curvature, sc.Samples = "power", 4
	if _, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(quartic3), Logger: zerolog.New(&logs)}); err != nil {
		t.Fatal(err)
	}
	if line := logLine(t, &logs, sc.Caution()); line["level"] != "warn" || line["curvature"] != "power" {
		t.Errorf("caution logged as %v", line)
	}
}
