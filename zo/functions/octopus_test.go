package functions

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// octopi returns the octopus instances under test: the defaults in a few
// dimensions and one with other parameters.
func octopi() []Octopus {
	return []Octopus{
		NewOctopus(1), NewOctopus(2), NewOctopus(3), NewOctopus(6),
		{D: 4, Tau: 1.5, L: 2, Gamma: 0.7},
	}
}

// octopusPoint returns a random point of the domain with Basin k: the
// first k coordinates in (2τ, 6τ), the k-th (0-based) in [0, 2τ] and the
// rest in [0, τ], with random signs, all at least margin away from the
// piece boundaries τ and 2τ and from the domain's edge.
func octopusPoint(rng *rand.Rand, o Octopus, k int, margin float64) []float64 {
	tau := o.Tau
	x := make([]float64, o.D)
	for j := range x {
		var a float64
		switch {
		case j < k:
			a = 2*tau + margin + (4*tau-2*margin)*rng.Float64()
		case j == k:
			for {
				a = 2 * tau * rng.Float64()
				if math.Abs(a-tau) > margin && a < 2*tau-margin {
					break
				}
			}
		default:
			a = (tau - margin) * rng.Float64()
		}
		if rng.IntN(2) == 0 {
			a = -a
		}
		x[j] = a
	}
	return x
}

func TestOctopusNu(t *testing.T) {
	t.Parallel()
	if nu := NewOctopus(3).Nu(); math.Abs(nu-139.87) > 0.005 {
		t.Errorf("nu = %v, want ≈ 139.87", nu)
	}
	// ν is the value that joins the pieces at aᵢ = 2τ: 4Lτ² − g₁(2τ).
	for _, o := range octopi() {
		g1, _, _ := o.g1(2 * o.Tau)
		want := 4*o.L*o.Tau*o.Tau - g1
		if math.Abs(o.Nu()-want) > 1e-12*want {
			t.Errorf("%+v: Nu() = %v, 4Lτ² − g₁(2τ) = %v", o, o.Nu(), want)
		}
	}
}

func TestOctopusDerivatives(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(31, 32))
	for _, o := range octopi() {
		d := o.D
		for k := 0; k <= d; k++ {
			for range 4 {
				x := octopusPoint(rng, o, k, 1e-3)
				if !o.Domain(x) || o.Basin(x) != k {
					t.Fatalf("%+v: test point %v has Domain %v, Basin %d, want true, %d",
						o, x, o.Domain(x), o.Basin(x), k)
				}
				checkDerivatives(t, fmt.Sprintf("%+v", o), o, x, 1e-6)
			}
		}
	}
}

// TestOctopusReference checks Func against a direct transcription of the
// piecewise definition.
func TestOctopusReference(t *testing.T) {
	t.Parallel()
	ref := func(o Octopus, x []float64) float64 {
		tau, l, gam := o.Tau, o.L, o.Gamma
		nu := 13.0/6*gam*tau*tau + 37.0/6*l*tau*tau
		g1 := func(a float64) float64 {
			return -gam*a*a + (-14*l+10*gam)/(3*tau)*math.Pow(a-tau, 3) +
				(5*l-3*gam)/(2*tau*tau)*math.Pow(a-tau, 4)
		}
		g2 := func(a float64) float64 {
			return -gam - 10*(l+gam)/math.Pow(tau, 3)*math.Pow(a-2*tau, 3) -
				15*(l+gam)/math.Pow(tau, 4)*math.Pow(a-2*tau, 4) -
				6*(l+gam)/math.Pow(tau, 5)*math.Pow(a-2*tau, 5)
		}
		d := len(x)
		a := make([]float64, d)
		for j := range x {
			a[j] = math.Abs(x[j])
		}
		i := -1
		for j := range a {
			if a[j] <= 2*tau {
				i = j
				break
			}
		}
		var f float64
		if i < 0 {
			for j := range a {
				f += l * (a[j] - 4*tau) * (a[j] - 4*tau)
			}
			return f - float64(d)*nu
		}
		for j := range i {
			f += l * (a[j] - 4*tau) * (a[j] - 4*tau)
		}
		f -= float64(i) * nu
		if a[i] <= tau {
			f -= gam * a[i] * a[i]
			for j := i + 1; j < d; j++ {
				f += l * a[j] * a[j]
			}
			return f
		}
		f += g1(a[i])
		if i+1 < d {
			f += g2(a[i]) * a[i+1] * a[i+1]
			for j := i + 2; j < d; j++ {
				f += l * a[j] * a[j]
			}
		}
		return f
	}
	rng := rand.New(rand.NewPCG(33, 34))
	for _, o := range octopi() {
		for k := 0; k <= o.D; k++ {
			for range 5 {
				x := octopusPoint(rng, o, k, 0)
				got, want := o.Func(x), ref(o, x)
				if math.Abs(got-want) > 1e-11*math.Max(1, math.Abs(want)) {
					t.Errorf("%+v: f(%v) = %v, reference %v", o, x, got, want)
				}
			}
		}
	}
}

func TestOctopusCriticalPoints(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(35, 36))
	for _, o := range octopi() {
		d := o.D
		nu := o.Nu()
		grad := make([]float64, d)
		hess := mat.NewSymDense(d, nil)

		// Start is the first saddle.
		if !floats.Equal(o.Start(), o.Saddle(0)) {
			t.Errorf("%+v: Start %v, Saddle(0) %v", o, o.Start(), o.Saddle(0))
		}
		for k := range d {
			for _, x := range [][]float64{o.Saddle(k), flipSigns(rng, o.Saddle(k))} {
				if f := o.Func(x); f != -float64(k)*nu {
					t.Errorf("%+v: f at saddle %v is %v, want %v", o, x, f, -float64(k)*nu)
				}
				o.Grad(grad, x)
				if n := floats.Norm(grad, 2); n != 0 {
					t.Errorf("%+v: |grad| at saddle %v is %v, want 0", o, x, n)
				}
				o.Hess(hess, x)
				spec := Spectrum(hess)
				if spec[0] != -2*o.Gamma || (d > 1 && spec[1] != 2*o.L) {
					t.Errorf("%+v: spectrum at saddle %v is %v, want -2γ = %v then 2L = %v",
						o, x, spec, -2*o.Gamma, 2*o.L)
				}
				if b := o.Basin(x); b != k {
					t.Errorf("%+v: Basin at saddle %d is %d", o, k, b)
				}
			}
		}

		if o.Min() != -float64(d)*nu {
			t.Errorf("%+v: Min() = %v, want -dν = %v", o, o.Min(), -float64(d)*nu)
		}
		for _, x := range [][]float64{o.Minimizer(), flipSigns(rng, o.Minimizer())} {
			if f := o.Func(x); f != o.Min() {
				t.Errorf("%+v: f at minimizer %v is %v, want %v", o, x, f, o.Min())
			}
			o.Grad(grad, x)
			if n := floats.Norm(grad, 2); n != 0 {
				t.Errorf("%+v: |grad| at minimizer %v is %v", o, x, n)
			}
			o.Hess(hess, x)
			if spec := Spectrum(hess); spec[0] != 2*o.L || spec[d-1] != 2*o.L {
				t.Errorf("%+v: spectrum at minimizer %v is %v, want all 2L", o, x, spec)
			}
			if b := o.Basin(x); b != d {
				t.Errorf("%+v: Basin at minimizer is %d, want %d", o, b, d)
			}
		}

		// Global: no point of the domain is lower.
		for range 300 {
			x := octopusPoint(rng, o, rng.IntN(d+1), 0)
			if f := o.Func(x); f < o.Min() {
				t.Errorf("%+v: f(%v) = %v below f* = %v", o, x, f, o.Min())
			}
		}
	}
}

func flipSigns(rng *rand.Rand, x []float64) []float64 {
	y := append([]float64(nil), x...)
	for i := range y {
		if rng.IntN(2) == 0 {
			y[i] = -y[i]
		}
	}
	return y
}

// TestOctopusContinuity checks that f is C¹ (indeed C²) across the piece
// boundaries |xᵢ| = τ and |xᵢ| = 2τ: values, gradients and Hessians just
// either side agree, and a central difference straddling the boundary
// matches the gradient there.
func TestOctopusContinuity(t *testing.T) {
	t.Parallel()
	const eps = 1e-7
	rng := rand.New(rand.NewPCG(37, 38))
	for _, o := range octopi() {
		d := o.D
		gm, gp, g0 := make([]float64, d), make([]float64, d), make([]float64, d)
		hm, hp := mat.NewSymDense(d, nil), mat.NewSymDense(d, nil)
		for i := range d {
			for _, b := range []float64{o.Tau, 2 * o.Tau} {
				for range 4 {
					x := octopusPoint(rng, o, i, 0)
					s := 1.0
					if rng.IntN(2) == 0 {
						s = -1
					}
					xm := append([]float64(nil), x...)
					xp := append([]float64(nil), x...)
					x0 := append([]float64(nil), x...)
					xm[i], xp[i], x0[i] = s*(b-eps), s*(b+eps), s*b
					if !o.Domain(xm) || !o.Domain(xp) || !o.Domain(x0) {
						t.Fatalf("%+v: boundary points %v, %v not in the domain", o, xm, xp)
					}
					fm, fp := o.Func(xm), o.Func(xp)
					o.Grad(gm, xm)
					o.Grad(gp, xp)
					o.Grad(g0, x0)
					o.Hess(hm, xm)
					o.Hess(hp, xp)
					if math.Abs(fp-fm) > 1e-4 {
						t.Errorf("%+v: f jumps across |x_%d| = %v at %v: %v, %v", o, i, b, x0, fm, fp)
					}
					if dist := floats.Distance(gm, gp, math.Inf(1)); dist > 1e-4 {
						t.Errorf("%+v: gradient jumps across |x_%d| = %v at %v: %v, %v", o, i, b, x0, gm, gp)
					}
					if !mat.EqualApprox(hm, hp, 1e-3) {
						t.Errorf("%+v: Hessian jumps across |x_%d| = %v at %v:\n%v\n%v",
							o, i, b, x0, mat.Formatted(hm), mat.Formatted(hp))
					}
					// The difference quotient across the boundary is the
					// derivative at the boundary.
					const h = 1e-5
					xm[i], xp[i] = s*b-h, s*b+h
					fd := (o.Func(xp) - o.Func(xm)) / (2 * h)
					if math.Abs(fd-g0[i]) > 1e-6*math.Max(1, math.Abs(fd)) {
						t.Errorf("%+v: across |x_%d| = %v at %v: difference quotient %v, gradient %v",
							o, i, b, x0, fd, g0[i])
					}
				}
			}
		}
	}
}

func TestOctopusDomain(t *testing.T) {
	t.Parallel()
	o := NewOctopus(4)
	tau := o.Tau
	nan := math.NaN()
	grad := make([]float64, 4)
	hess := mat.NewSymDense(4, nil)
	for _, c := range []struct {
		x      []float64
		in     bool
		basin  int
		finite bool
	}{
		{[]float64{0, 0, 0, 0}, true, 0, true},
		{[]float64{0, tau, -tau, tau}, true, 0, true},     // on the edge
		{[]float64{0, 1.01 * tau, 0, 0}, false, 0, false}, // x₂ too large
		{[]float64{1.5 * tau, 0, 0, 2 * tau}, false, 0, false},
		{[]float64{5 * tau, 1.5 * tau, 0, 0}, true, 1, true},
		{[]float64{5 * tau, 1.5 * tau, 0, 1.1 * tau}, false, 1, false},
		{[]float64{5 * tau, 2.5 * tau, -3 * tau, 0.9 * tau}, true, 3, true},
		{[]float64{5 * tau, 2.5 * tau, 1.9 * tau, 1.1 * tau}, false, 2, false},
		{[]float64{5 * tau, -9 * tau, 3 * tau, 2.01 * tau}, true, 4, true}, // final basin
		{[]float64{0, 0, 3 * tau, 0}, false, 0, false},
		{[]float64{0, nan, 0, 0}, false, 0, false},
		{[]float64{nan, 0, 0, 0}, false, 1, false},
	} {
		if got := o.Domain(c.x); got != c.in {
			t.Errorf("Domain(%v) = %v, want %v", c.x, got, c.in)
		}
		if got := o.Basin(c.x); got != c.basin {
			t.Errorf("Basin(%v) = %d, want %d", c.x, got, c.basin)
		}
		f := o.Func(c.x)
		o.Grad(grad, c.x)
		o.Hess(hess, c.x)
		if c.finite {
			if math.IsInf(f, 0) || math.IsNaN(f) || math.IsNaN(floats.Sum(grad)) || math.IsNaN(mat.Sum(hess)) {
				t.Errorf("x = %v in the domain: f = %v, grad = %v", c.x, f, grad)
			}
			continue
		}
		hasNaN := floats.HasNaN(c.x)
		if hasNaN && !math.IsNaN(f) || !hasNaN && !math.IsInf(f, 1) {
			t.Errorf("f(%v) = %v outside the domain, want +Inf (NaN for NaN input)", c.x, f)
		}
		for _, g := range grad {
			if !math.IsNaN(g) {
				t.Errorf("grad(%v) = %v outside the domain, want NaN", c.x, grad)
				break
			}
		}
		if h := mat.Sum(hess); !math.IsNaN(h) {
			t.Errorf("Hessian at %v outside the domain is not NaN", c.x)
		}
	}

	// Leaving the domain: a later coordinate crossing τ while aᵢ ≤ 2τ.
	rng := rand.New(rand.NewPCG(39, 40))
	for range 50 {
		k := rng.IntN(3)
		x := octopusPoint(rng, o, k, 0)
		j := k + 1 + rng.IntN(3-k)
		x[j] = tau * (1 + 1e-9 + 3*rng.Float64())
		if rng.IntN(2) == 0 {
			x[j] = -x[j]
		}
		if o.Domain(x) || !math.IsInf(o.Func(x), 1) {
			t.Errorf("x = %v: Domain %v, f = %v, want false, +Inf", x, o.Domain(x), o.Func(x))
		}
	}
}

func TestOctopusPanics(t *testing.T) {
	t.Parallel()
	checkPanics(t, map[string]func(){
		"d=0":         func() { NewOctopus(0) },
		"saddle k=d":  func() { NewOctopus(2).Saddle(2) },
		"saddle k<0":  func() { NewOctopus(2).Saddle(-1) },
		"zero tau":    func() { Octopus{D: 2, L: 1, Gamma: 1}.Func([]float64{0, 0}) },
		"x dim":       func() { NewOctopus(2).Func([]float64{0}) },
		"grad dim":    func() { NewOctopus(2).Grad(make([]float64, 3), []float64{0, 0}) },
		"hess dim":    func() { NewOctopus(2).Hess(mat.NewSymDense(3, nil), []float64{0, 0}) },
		"domain dim":  func() { NewOctopus(2).Domain([]float64{0}) },
		"basin dim":   func() { NewOctopus(2).Basin([]float64{0}) },
		"neg gamma":   func() { Octopus{D: 2, Tau: 1, L: 1, Gamma: -1}.Min() },
		"nan tau":     func() { Octopus{D: 2, Tau: math.NaN(), L: 1, Gamma: 1}.Start() },
		"zero L grad": func() { Octopus{D: 1, Tau: 1, Gamma: 1}.Grad([]float64{0}, []float64{0}) },
	})
}
