package functions

import (
	"math"
	"math/rand/v2"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

func TestRecoveryDerivatives(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(41, 42))
	for _, c := range []struct {
		name  string
		f     Function
		scale float64
	}{
		{"MatrixFactorization 3x1", NewMatrixFactorization(3, 1, rng), 2},
		{"MatrixFactorization 4x2", NewMatrixFactorization(4, 2, rng), 2},
		{"MatrixFactorization 2x3", NewMatrixFactorization(2, 3, rng), 2},
		{"PhaseRetrieval d=1", NewPhaseRetrieval(1, 0, rng), 2},
		{"PhaseRetrieval d=5", NewPhaseRetrieval(5, 0, rng), 2},
		{"PhaseRetrieval d=4 m=7", NewPhaseRetrieval(4, 7, rng), 2},
		{"Rastrigin D=1", Rastrigin{D: 1}, 5.12},
		{"Rastrigin D=4", Rastrigin{D: 4}, 5.12},
	} {
		for range 3 {
			checkDerivatives(t, c.name, c.f, randomPoint(rng, c.f.Dim(), c.scale), 1e-6)
		}
	}
}

func TestMatrixFactorization(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(43, 44))
	for _, c := range []struct{ n, r int }{{1, 1}, {3, 1}, {4, 2}, {5, 3}} {
		p := NewMatrixFactorization(c.n, c.r, rng)
		d := c.n * c.r
		if n, r := p.Dims(); n != c.n || r != c.r || p.Dim() != d {
			t.Fatalf("Dims() = %d, %d, Dim() = %d for n=%d, r=%d", n, r, p.Dim(), c.n, c.r)
		}
		m := p.Target()

		// Func against a direct sum over the row-major layout.
		x := randomPoint(rng, d, 1.5)
		var want float64
		for a := range c.n {
			for b := range c.n {
				var uu float64
				for q := range c.r {
					uu += x[a*c.r+q] * x[b*c.r+q]
				}
				r := uu - m.At(a, b)
				want += r * r
			}
		}
		want /= 4
		if got := p.Func(x); math.Abs(got-want) > 1e-12*want {
			t.Errorf("n=%d r=%d: f(%v) = %v, direct sum %v", c.n, c.r, x, got, want)
		}

		// The saddle U = 0.
		grad := make([]float64, d)
		hess := mat.NewSymDense(d, nil)
		x0 := p.Start()
		p.Grad(grad, x0)
		if n := floats.Norm(grad, 2); n != 0 {
			t.Errorf("n=%d r=%d: |grad| at 0 is %v", c.n, c.r, n)
		}
		if f, want := p.Func(x0), mat.Norm(m, 2)*mat.Norm(m, 2)/4; math.Abs(f-want) > 1e-12*want {
			t.Errorf("n=%d r=%d: f(0) = %v, want ¼‖M‖² = %v", c.n, c.r, f, want)
		}
		p.Hess(hess, x0)
		spec := Spectrum(hess)
		mspec := Spectrum(m)
		lmax := mspec[c.n-1]
		for k := range c.r {
			if math.Abs(spec[k]+lmax) > 1e-10*lmax {
				t.Errorf("n=%d r=%d: eigenvalue %d at 0 is %v, want -λ_max(M) = %v", c.n, c.r, k, spec[k], -lmax)
			}
		}
		if !(spec[0] < -1e-3) {
			t.Errorf("n=%d r=%d: lambda_min at 0 is %v, want < 0", c.n, c.r, spec[0])
		}

		// The minima U*O.
		if p.Min() != 0 {
			t.Errorf("Min() = %v", p.Min())
		}
		star := p.Minimizer()
		rot := randomOrthogonal(c.r, rng)
		var uo mat.Dense
		uo.Mul(mat.NewDense(c.n, c.r, star), rot)
		for _, x := range [][]float64{star, neg(star), uo.RawMatrix().Data} {
			if f := p.Func(x); f > 1e-24 {
				t.Errorf("n=%d r=%d: f at minimizer %v is %v", c.n, c.r, x, f)
			}
			p.Grad(grad, x)
			if n := floats.Norm(grad, 2); n > 1e-12 {
				t.Errorf("n=%d r=%d: |grad| at minimizer is %v", c.n, c.r, n)
			}
			p.Hess(hess, x)
			spec := Spectrum(hess)
			// r(r−1)/2 zero eigenvalues along the rotations (U* has full
			// column rank here since r ≤ n), the rest positive.
			zeros := c.r * (c.r - 1) / 2
			for k, l := range spec {
				if k < zeros && math.Abs(l) > 1e-9 || k >= zeros && l < 1e-6 {
					t.Errorf("n=%d r=%d: spectrum at minimizer %v, want %d zeros then positive", c.n, c.r, spec, zeros)
					break
				}
			}
		}

		// Built without the constructor.
		lit := &MatrixFactorization{UStar: p.UStar}
		if a, b := lit.Func(x), p.Func(x); a != b {
			t.Errorf("n=%d r=%d: literal f = %v, constructed %v", c.n, c.r, a, b)
		}
	}
}

func TestPhaseRetrieval(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(45, 46))
	for _, c := range []struct{ d, m int }{{1, 0}, {3, 0}, {8, 0}, {5, 12}} {
		p := NewPhaseRetrieval(c.d, c.m, rng)
		d := c.d
		m := c.m
		if m <= 0 {
			m = 10 * d
		}
		if p.Dim() != d || p.Measurements() != m {
			t.Fatalf("Dim %d, Measurements %d, want %d, %d", p.Dim(), p.Measurements(), d, m)
		}
		if n := floats.Norm(p.XStar, 2); math.Abs(n-1) > 1e-14 {
			t.Errorf("d=%d: |x*| = %v, want 1", d, n)
		}

		// Func against a direct sum.
		x := randomPoint(rng, d, 1)
		var want float64
		for k := range m {
			var ax, as float64
			for j := range d {
				ax += p.A.At(k, j) * x[j]
				as += p.A.At(k, j) * p.XStar[j]
			}
			r := ax*ax - as*as
			want += r * r
		}
		want /= 4 * float64(m)
		if got := p.Func(x); math.Abs(got-want) > 1e-12*want {
			t.Errorf("d=%d: f(%v) = %v, direct sum %v", d, x, got, want)
		}

		// The saddle at 0.
		grad := make([]float64, d)
		hess := mat.NewSymDense(d, nil)
		x0 := p.Start()
		p.Grad(grad, x0)
		if n := floats.Norm(grad, 2); n != 0 {
			t.Errorf("d=%d: |grad| at 0 is %v", d, n)
		}
		p.Hess(hess, x0)
		if l := Spectrum(hess)[0]; !(l < -0.5) {
			t.Errorf("d=%d: lambda_min at 0 is %v, want clearly negative (≈ -3)", d, l)
		}

		// The minima ±x*.
		if p.Min() != 0 {
			t.Errorf("Min() = %v", p.Min())
		}
		for _, x := range [][]float64{p.Minimizer(), neg(p.Minimizer())} {
			if f := p.Func(x); f > 1e-28 {
				t.Errorf("d=%d: f at minimizer is %v", d, f)
			}
			p.Grad(grad, x)
			if n := floats.Norm(grad, 2); n > 1e-13 {
				t.Errorf("d=%d: |grad| at minimizer is %v", d, n)
			}
			p.Hess(hess, x)
			if l := Spectrum(hess)[0]; !(l > 1e-3) {
				t.Errorf("d=%d: lambda_min at minimizer is %v, want > 0", d, l)
			}
		}

		// Built without the constructor.
		lit := &PhaseRetrieval{A: p.A, XStar: p.XStar}
		if a, b := lit.Func(x), p.Func(x); a != b {
			t.Errorf("d=%d: literal f = %v, constructed %v", d, a, b)
		}
	}

	// The default m = 10d yields λ_min(∇²f(0)) near its expectation −3.
	p := NewPhaseRetrieval(10, 0, rng)
	hess := mat.NewSymDense(10, nil)
	p.Hess(hess, p.Start())
	if l := Spectrum(hess)[0]; l < -6 || l > -1.5 {
		t.Errorf("d=10: lambda_min at 0 is %v, want ≈ -3", l)
	}
}

func TestRastrigin(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(47, 48))
	for _, d := range []int{1, 2, 7} {
		r := Rastrigin{D: d}
		grad := make([]float64, d)
		hess := mat.NewSymDense(d, nil)
		x := r.Minimizer()
		r.Grad(grad, x)
		r.Hess(hess, x)
		if f := r.Func(x); f != 0 || r.Min() != 0 {
			t.Errorf("D=%d: f(0) = %v, Min() = %v, want 0", d, f, r.Min())
		}
		if n := floats.Norm(grad, 2); n != 0 {
			t.Errorf("D=%d: |grad| at 0 is %v", d, n)
		}
		if spec := Spectrum(hess); math.Abs(spec[0]-(2+40*math.Pi*math.Pi)) > 1e-12 {
			t.Errorf("D=%d: lambda_min at 0 is %v", d, spec[0])
		}
		start := r.Start()
		if f := r.Func(start); math.Abs(f-26.25*float64(d)) > 1e-12 {
			t.Errorf("D=%d: f(start) = %v, want %v", d, f, 26.25*float64(d))
		}
		r.Grad(grad, start)
		for _, g := range grad {
			if math.Abs(g-5) > 1e-12 {
				t.Errorf("D=%d: grad at start %v, want 5", d, grad)
				break
			}
		}
		lo, hi := r.Bounds()
		for range 200 {
			x := randomPoint(rng, d, hi)
			if f := r.Func(x); f < 0 {
				t.Errorf("D=%d: f(%v) = %v < 0", d, x, f)
			}
		}
		if lo != -hi {
			t.Errorf("Bounds() = %v, %v", lo, hi)
		}
	}

	// A local minimum near each integer n, at about n − n/(1 + 20π²).
	for n := -5; n <= 5; n++ {
		x := float64(n)
		for range 20 { // Newton on the one-dimensional gradient
			g := 2*x + 20*math.Pi*math.Sin(2*math.Pi*x)
			h := 2 + 40*math.Pi*math.Pi*math.Cos(2*math.Pi*x)
			x -= g / h
		}
		approx := float64(n) - float64(n)/(1+20*math.Pi*math.Pi)
		if math.Abs(x-approx) > 1e-3 {
			t.Errorf("local minimum near %d at %v, approximation %v", n, x, approx)
		}
		hess := mat.NewSymDense(1, nil)
		Rastrigin{D: 1}.Hess(hess, []float64{x})
		if hess.At(0, 0) <= 0 {
			t.Errorf("critical point %v near %d is not a minimum", x, n)
		}
	}
}

func TestRecoveryPanics(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(1, 0))
	checkPanics(t, map[string]func(){
		"factorization n=0": func() { NewMatrixFactorization(0, 1, rng) },
		"factorization r=0": func() { NewMatrixFactorization(2, 0, rng) },
		"factorization x":   func() { NewMatrixFactorization(2, 2, rng).Func(make([]float64, 3)) },
		"factorization hess": func() {
			NewMatrixFactorization(2, 2, rng).Hess(mat.NewSymDense(3, nil), make([]float64, 4))
		},
		"phase d=0":    func() { NewPhaseRetrieval(0, 5, rng) },
		"phase grad":   func() { NewPhaseRetrieval(2, 0, rng).Grad(make([]float64, 3), make([]float64, 2)) },
		"rastrigin D0": func() { Rastrigin{}.Func(nil) },
		"rastrigin x":  func() { Rastrigin{D: 2}.Func([]float64{0}) },
	})
}
