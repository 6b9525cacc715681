package negcurv_test

import (
	"context"
	"fmt"
	"math/rand/v2"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

// A finder at the saddle of the rotated quartic (λ_min = −1) and at its
// minimum (λ_min = 1), with δ = 0.1.
func ExampleDeterministic() {
	ctx := context.Background()
	f := functions.NewRotatedQuartic(20, 1, rand.New(rand.NewPCG(1, 0)))
	o := zo.Func(func(x []float64, _ int) float64 { return f.Func(x) })
	est := zo.CoordGE{Mu: 1e-5, Box: zo.Cube(20, -2, 2)}
	finder := negcurv.Deterministic{}
	for _, x := range [][]float64{f.Start(), f.Minimizer()} {
		g, _, _ := est.Estimate(ctx, o, x, []int{0})
		c, err := finder.Find(ctx, zo.FindRequest{
			Oracle: o, X: x, F: f.Func(x), G: g, Estimator: est,
			Samples: []int{0}, NumSamples: 1, Delta: 0.1, Rand: rand.New(rand.NewPCG(1, 2)),
		})
		if err != nil {
			fmt.Println(err)
			return
		}
		if c.Direction != nil {
			fmt.Printf("direction, curvature %.1f\n", c.Lambda)
		} else {
			fmt.Printf("none: λ_min ≥ −δ (estimate %.1f)\n", c.Lambda)
		}
	}
	// Output:
	// direction, curvature -1.0
	// none: λ_min ≥ −δ (estimate 1.0)
}

// Every finder reports what it estimated: here Online's L̂, step and the
// iteration count T that would certify a none.
func ExampleOnline() {
	ctx := context.Background()
	f := functions.NewSeparableQuartic(10, 1)
	o := zo.Func(func(x []float64, _ int) float64 { return f.Func(x) })
	est := zo.CoordGE{Mu: 1e-5, Box: zo.Cube(10, -2, 2)}
	x := f.Start()
	g, _, _ := est.Estimate(ctx, o, x, []int{0})
	var e negcurv.Estimates
	finder := negcurv.Online{Settings: negcurv.Settings{Report: func(got negcurv.Estimates) { e = got }}}
	c, err := finder.Find(ctx, zo.FindRequest{
		Oracle: o, X: x, F: f.Func(x), G: g, Estimator: est,
		Samples: []int{0}, NumSamples: 1, Delta: 0.1, Rand: rand.New(rand.NewPCG(3, 4)),
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("found %v, curvature %.1f\n", c.Direction != nil, c.Lambda)
	fmt.Printf("L̂ = %.1f, η = %.1f, T = %d, steps %d\n", e.L, e.Step, e.MaxIterations, e.Iterations)
	// Output:
	// found true, curvature -1.0
	// L̂ = 1.0, η = 1.0, T = 175, steps 15
}
