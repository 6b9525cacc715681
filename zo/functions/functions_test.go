package functions

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/mat"
)

// saddle is a documented saddle point and its smallest Hessian eigenvalue.
type saddle struct {
	x         []float64
	lambdaMin float64
}

// problem is a function with its documented critical points.
type problem struct {
	name   string
	f      Function
	fstar  float64     // documented f*
	min    float64     // f.Min()
	minima [][]float64 // documented global minimizers
	saddle []saddle
	scale  float64 // random test points are uniform in [−scale, scale]^d
}

func neg(x []float64) []float64 {
	y := make([]float64, len(x))
	floats.ScaleTo(y, -1, x)
	return y
}

func problems() []problem {
	rng := rand.New(rand.NewPCG(1, 2))
	var ps []problem
	for _, c := range []struct{ d, k int }{{1, 1}, {4, 1}, {5, 3}, {3, 0}} {
		s := NewSeparableQuartic(c.d, c.k)
		p := problem{name: "SeparableQuartic", f: s, fstar: -float64(c.k) / 4, min: s.Min(), scale: 2}
		p.minima = [][]float64{s.Minimizer(), neg(s.Minimizer())}
		if c.k > 0 {
			p.saddle = []saddle{{s.Start(), -1}}
			// Mixed critical point: +1 on one negative coordinate only.
			if c.k > 1 {
				x := make([]float64, c.d)
				x[0] = 1
				p.saddle = append(p.saddle, saddle{x, -1})
			}
		}
		ps = append(ps, p)
	}
	for _, c := range []struct{ d, k int }{{2, 1}, {6, 2}} {
		r := NewRotatedQuartic(c.d, c.k, rng)
		ps = append(ps, problem{
			name: "RotatedQuartic", f: r, fstar: -float64(c.k) / 4, min: r.Min(), scale: 2,
			minima: [][]float64{r.Minimizer(), neg(r.Minimizer())},
			saddle: []saddle{{r.Start(), -1}},
		})
	}
	for _, c := range []struct {
		d         int
		lmin, rho float64
	}{{1, -2, 1}, {2, -0.5, 2}, {7, -1, 0.25}} {
		q := NewIsotropicQuartic(c.d, c.lmin, c.rho, rng)
		ps = append(ps, problem{
			name: "IsotropicQuartic", f: q, fstar: -c.lmin * c.lmin / (4 * c.rho), min: q.Min(), scale: 2,
			minima: [][]float64{q.Minimizer(), neg(q.Minimizer())},
			saddle: []saddle{{q.Start(), c.lmin}},
		})
	}
	for _, d := range []int{2, 3, 10} {
		g := GrowingSaddle{D: d}
		m := float64(d - 1)
		ps = append(ps, problem{
			name: "GrowingSaddle", f: g, fstar: -m / 4, min: g.Min(), scale: 3,
			minima: [][]float64{g.Minimizer(), neg(g.Minimizer())},
			saddle: []saddle{{g.Start(), (m - math.Sqrt(m*m+4*m)) / 2}},
		})
	}
	for _, d := range []int{2, 3, 6} {
		r := Rosenbrock{D: d}
		ps = append(ps, problem{
			name: "Rosenbrock", f: r, fstar: 0, min: r.Min(), scale: 2,
			minima: [][]float64{r.Minimizer()},
		})
	}
	return ps
}

func randomPoint(rng *rand.Rand, d int, scale float64) []float64 {
	x := make([]float64, d)
	for i := range x {
		x[i] = scale * (2*rng.Float64() - 1)
	}
	return x
}

// fdGrad returns the central finite-difference gradient of f at x.
func fdGrad(f Function, x []float64, h float64) []float64 {
	g := make([]float64, len(x))
	xx := append([]float64(nil), x...)
	for i := range x {
		xx[i] = x[i] + h
		fp := f.Func(xx)
		xx[i] = x[i] - h
		fm := f.Func(xx)
		xx[i] = x[i]
		g[i] = (fp - fm) / (2 * h)
	}
	return g
}

// fdHess returns the central finite-difference Jacobian of f.Grad at x.
func fdHess(f Function, x []float64, h float64) *mat.Dense {
	d := len(x)
	hess := mat.NewDense(d, d, nil)
	xx := append([]float64(nil), x...)
	gp := make([]float64, d)
	gm := make([]float64, d)
	for j := range d {
		xx[j] = x[j] + h
		f.Grad(gp, xx)
		xx[j] = x[j] - h
		f.Grad(gm, xx)
		xx[j] = x[j]
		for i := range d {
			hess.Set(i, j, (gp[i]-gm[i])/(2*h))
		}
	}
	return hess
}

// checkDerivatives compares the gradient and Hessian of f at x with
// central finite differences (step 1e-5), to tol relative to max(1, their
// largest entry).
func checkDerivatives(t *testing.T, name string, f Function, x []float64, tol float64) {
	t.Helper()
	const h = 1e-5
	d := f.Dim()
	grad := make([]float64, d)
	f.Grad(grad, x)
	want := fdGrad(f, x, h)
	scale := math.Max(1, floats.Norm(grad, math.Inf(1)))
	if dist := floats.Distance(grad, want, math.Inf(1)); dist > tol*scale {
		t.Errorf("%s at %v: gradient %v, finite differences %v", name, x, grad, want)
	}
	hess := mat.NewSymDense(d, nil)
	f.Hess(hess, x)
	fd := fdHess(f, x, h)
	scale = math.Max(1, mat.Norm(hess, math.Inf(1)))
	if !mat.EqualApprox(hess, fd, tol*scale) {
		t.Errorf("%s at %v: Hessian\n%v\nfinite differences\n%v", name, x, mat.Formatted(hess), mat.Formatted(fd))
	}
}

func TestDerivatives(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(3, 4))
	for _, p := range problems() {
		for range 3 {
			x := randomPoint(rng, p.f.Dim(), p.scale)
			checkDerivatives(t, fmt.Sprintf("%s d=%d", p.name, p.f.Dim()), p.f, x, 1e-5)
		}
	}
}

func TestMinima(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(5, 6))
	for _, p := range problems() {
		d := p.f.Dim()
		if math.Abs(p.min-p.fstar) > 1e-12 {
			t.Errorf("%s d=%d: Min() = %v, documented f* = %v", p.name, d, p.min, p.fstar)
		}
		for _, x := range p.minima {
			if f := p.f.Func(x); math.Abs(f-p.fstar) > 1e-12 {
				t.Errorf("%s d=%d: f at minimizer %v is %v, want %v", p.name, d, x, f, p.fstar)
			}
			grad := make([]float64, d)
			p.f.Grad(grad, x)
			if n := floats.Norm(grad, 2); n > 1e-12 {
				t.Errorf("%s d=%d: |grad| at minimizer %v is %v", p.name, d, x, n)
			}
			hess := mat.NewSymDense(d, nil)
			p.f.Hess(hess, x)
			if l := Spectrum(hess)[0]; l <= 1e-9 {
				t.Errorf("%s d=%d: lambda_min at minimizer %v is %v, want > 0", p.name, d, x, l)
			}
		}
		// Global: no random point is lower.
		for range 200 {
			x := randomPoint(rng, d, p.scale)
			if f := p.f.Func(x); f < p.fstar-1e-12 {
				t.Errorf("%s d=%d: f(%v) = %v below f* = %v", p.name, d, x, f, p.fstar)
			}
		}
	}
}

func TestSaddles(t *testing.T) {
	t.Parallel()
	for _, p := range problems() {
		d := p.f.Dim()
		for _, s := range p.saddle {
			grad := make([]float64, d)
			p.f.Grad(grad, s.x)
			if n := floats.Norm(grad, 2); n > 1e-14 {
				t.Errorf("%s d=%d: |grad| at saddle %v is %v, want 0", p.name, d, s.x, n)
			}
			hess := mat.NewSymDense(d, nil)
			p.f.Hess(hess, s.x)
			if l := Spectrum(hess)[0]; math.Abs(l-s.lambdaMin) > 1e-12 {
				t.Errorf("%s d=%d: lambda_min at saddle %v is %v, want %v", p.name, d, s.x, l, s.lambdaMin)
			}
		}
	}
	// The standard start of the saddle problems is exactly the saddle.
	for _, f := range []interface {
		Function
		Start() []float64
	}{NewSeparableQuartic(3, 1), NewRotatedQuartic(3, 1, rand.New(rand.NewPCG(1, 0))),
		NewIsotropicQuartic(3, -1, 1, rand.New(rand.NewPCG(1, 0))), GrowingSaddle{D: 3}} {
		x := f.Start()
		grad := make([]float64, f.Dim())
		f.Grad(grad, x)
		if f.Func(x) != 0 || floats.Norm(grad, 2) != 0 {
			t.Errorf("%T: start %v has f = %v, grad = %v, want exactly 0", f, x, f.Func(x), grad)
		}
	}
}

func TestGrowingSaddleLambdaMin(t *testing.T) {
	t.Parallel()
	for _, d := range []int{2, 3, 5, 50} {
		g := GrowingSaddle{D: d}
		hess := mat.NewSymDense(d, nil)
		g.Hess(hess, g.Start())
		spec := Spectrum(hess)
		if math.Abs(spec[0]-g.SaddleLambdaMin()) > 1e-12 {
			t.Errorf("D=%d: lambda_min %v, SaddleLambdaMin %v", d, spec[0], g.SaddleLambdaMin())
		}
		// Degenerate for D ≥ 3: D−2 zero eigenvalues.
		zeros := 0
		for _, l := range spec {
			if math.Abs(l) < 1e-12 {
				zeros++
			}
		}
		if zeros != d-2 {
			t.Errorf("D=%d: %d zero eigenvalues at the saddle, want %d", d, zeros, d-2)
		}
	}
	if l := (GrowingSaddle{D: 2}).SaddleLambdaMin(); math.Abs(l-(1-math.Sqrt(5))/2) > 1e-15 {
		t.Errorf("D=2: lambda_min %v, want (1-√5)/2", l)
	}
}

func TestRosenbrockStart(t *testing.T) {
	t.Parallel()
	got := Rosenbrock{D: 5}.Start()
	want := []float64{-1.2, 1, -1.2, 1, -1.2}
	if !floats.Equal(got, want) {
		t.Errorf("Start() = %v, want %v", got, want)
	}
	if f := (Rosenbrock{D: 2}).Func([]float64{-1.2, 1}); math.Abs(f-24.2) > 1e-12 {
		t.Errorf("f(-1.2, 1) = %v, want 24.2", f)
	}
}

// TestRandomOrthogonal checks that Q is orthogonal and equals the result
// of modified Gram–Schmidt on the columns of the same Gaussian matrix
// (which is what the example simulator computes).
func TestRandomOrthogonal(t *testing.T) {
	t.Parallel()
	for _, d := range []int{1, 2, 7} {
		q := randomOrthogonal(d, rand.New(rand.NewPCG(9, 0)))
		var qtq mat.Dense
		qtq.Mul(q.T(), q)
		id := mat.NewDiagDense(d, nil)
		for i := range d {
			id.SetDiag(i, 1)
		}
		if !mat.EqualApprox(&qtq, id, 1e-13) {
			t.Errorf("d=%d: QᵀQ =\n%v", d, mat.Formatted(&qtq))
		}

		rng := rand.New(rand.NewPCG(9, 0))
		a := make([][]float64, d)
		for i := range a {
			a[i] = make([]float64, d)
			for j := range a[i] {
				a[i][j] = rng.NormFloat64()
			}
		}
		cols := make([][]float64, d)
		for j := range d {
			v := make([]float64, d)
			for i := range d {
				v[i] = a[i][j]
			}
			for _, c := range cols[:j] {
				floats.AddScaled(v, -floats.Dot(c, v), c)
			}
			floats.Scale(1/floats.Norm(v, 2), v)
			cols[j] = v
		}
		for i := range d {
			for j := range d {
				if math.Abs(q.At(i, j)-cols[j][i]) > 1e-12 {
					t.Fatalf("d=%d: Q[%d][%d] = %v, Gram–Schmidt gives %v", d, i, j, q.At(i, j), cols[j][i])
				}
			}
		}
	}
}

func TestNoisyDeterministicAndSeeded(t *testing.T) {
	t.Parallel()
	n := Noisy{F: NewSeparableQuartic(5, 1), Sigma: 0.1}
	x := []float64{0.3, -0.2, 1, 0.5, -1}
	a := n.Eval(x, 7)
	if b := n.Eval(x, 7); a != b {
		t.Errorf("same seed: %v then %v", a, b)
	}
	if b := n.Eval(x, 8); a == b {
		t.Errorf("seeds 7 and 8 give the same value %v", a)
	}
	if f := n.F.Func(x); a == f {
		t.Errorf("noise added nothing: %v", a)
	}
	if got, want := (Noisy{F: n.F}).Eval(x, 7), n.F.Func(x); got != want {
		t.Errorf("Sigma = 0: Eval = %v, want Func = %v", got, want)
	}

	// Concurrent callers see the same values.
	var wg sync.WaitGroup
	for seed := range 8 {
		wg.Go(func() {
			want := n.Eval(x, seed)
			for range 20 {
				if got := n.Eval(x, seed); got != want {
					t.Errorf("seed %d: %v then %v", seed, want, got)
				}
			}
		})
	}
	wg.Wait()
}

func TestNoisySmooth(t *testing.T) {
	t.Parallel()
	rng := rand.New(rand.NewPCG(11, 12))
	for _, ell := range []float64{0, 0.3} {
		n := Noisy{F: NewSeparableQuartic(20, 2), Sigma: 1, LengthScale: ell}
		for seed := range 5 {
			x := randomPoint(rng, 20, 1)
			v := randomPoint(rng, 20, 1)
			floats.Scale(1/floats.Norm(v, 2), v)
			// Directional derivatives at two step sizes agree: the field is
			// smooth, not just continuous.
			deriv := func(h float64) float64 {
				xp := append([]float64(nil), x...)
				xm := append([]float64(nil), x...)
				floats.AddScaled(xp, h, v)
				floats.AddScaled(xm, -h, v)
				return (n.Noise(xp, seed) - n.Noise(xm, seed)) / (2 * h)
			}
			d1, d2 := deriv(1e-3), deriv(1e-4)
			if math.Abs(d1-d2) > 1e-4*math.Max(1, math.Abs(d1)) {
				t.Errorf("ell=%v seed %d: directional derivative %v (h=1e-3) vs %v (h=1e-4)", ell, seed, d1, d2)
			}
			// Small moves give small changes.
			xs := append([]float64(nil), x...)
			floats.AddScaled(xs, 1e-8, v)
			if diff := math.Abs(n.Noise(xs, seed) - n.Noise(x, seed)); diff > 1e-6 {
				t.Errorf("ell=%v seed %d: moving 1e-8 changes the noise by %v", ell, seed, diff)
			}
		}
	}
}

func TestNoisyMoments(t *testing.T) {
	t.Parallel()
	const seeds = 4000
	n := Noisy{F: NewSeparableQuartic(3, 1), Sigma: 1}
	for _, x := range [][]float64{{0, 0, 0}, {0.5, -1, 2}} {
		var sum, sum2 float64
		for s := range seeds {
			v := n.Noise(x, s)
			sum += v
			sum2 += v * v
		}
		mean := sum / seeds
		variance := sum2/seeds - mean*mean
		// Standard error of the mean is 1/√4000 ≈ 0.016.
		if math.Abs(mean) > 0.08 {
			t.Errorf("x=%v: mean noise over seeds %v, want ≈ 0", x, mean)
		}
		if math.Abs(variance-1) > 0.1 {
			t.Errorf("x=%v: noise variance over seeds %v, want ≈ 1", x, variance)
		}
	}
}

// checkPanics fails the test for every call in calls that does not
// panic.
func checkPanics(t *testing.T, calls map[string]func()) {
	t.Helper()
	for name, fn := range calls {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("%s: no panic", name)
				}
			}()
			fn()
		}()
	}
}

func TestPanics(t *testing.T) {
	t.Parallel()
	checkPanics(t, map[string]func(){
		"separable k>d":   func() { NewSeparableQuartic(2, 3) },
		"isotropic lmin":  func() { NewIsotropicQuartic(2, 0.5, 1, rand.New(rand.NewPCG(1, 0))) },
		"isotropic rho":   func() { NewIsotropicQuartic(2, -1, 0, rand.New(rand.NewPCG(1, 0))) },
		"rosenbrock D=1":  func() { Rosenbrock{D: 1}.Func([]float64{0}) },
		"growing D=1":     func() { GrowingSaddle{D: 1}.Func([]float64{0}) },
		"func dim":        func() { NewSeparableQuartic(2, 1).Func([]float64{0}) },
		"grad dim":        func() { Rosenbrock{D: 2}.Grad(make([]float64, 3), []float64{0, 0}) },
		"hess dim":        func() { GrowingSaddle{D: 2}.Hess(mat.NewSymDense(3, nil), []float64{0, 0}) },
		"noisy features":  func() { Noisy{F: Rosenbrock{D: 2}, Sigma: 1, Features: -1}.Eval([]float64{0, 0}, 1) },
		"rotated x dim":   func() { NewRotatedQuartic(2, 1, rand.New(rand.NewPCG(1, 0))).Func([]float64{0}) },
		"isotropic x dim": func() { NewIsotropicQuartic(2, -1, 1, rand.New(rand.NewPCG(1, 0))).Func([]float64{0}) },
	})
}

// TestIsotropicLiteral checks Min and Minimizer of an IsotropicQuartic
// built without the constructor, from H alone.
func TestIsotropicLiteral(t *testing.T) {
	t.Parallel()
	q := NewIsotropicQuartic(5, -0.7, 1.5, rand.New(rand.NewPCG(21, 0)))
	lit := &IsotropicQuartic{H: q.H, Rho: q.Rho}
	if math.Abs(lit.Min()-q.Min()) > 1e-12 {
		t.Errorf("Min: literal %v, constructed %v", lit.Min(), q.Min())
	}
	if !floats.EqualApprox(lit.Minimizer(), q.Minimizer(), 1e-12) {
		t.Errorf("Minimizer: literal %v, constructed %v", lit.Minimizer(), q.Minimizer())
	}

	// H positive definite: the minimum is the origin.
	psd := &IsotropicQuartic{H: mat.NewSymDense(2, []float64{2, 1, 1, 2}), Rho: 1}
	if psd.Min() != 0 || !floats.Equal(psd.Minimizer(), []float64{0, 0}) {
		t.Errorf("positive definite H: Min %v, Minimizer %v, want 0 at the origin", psd.Min(), psd.Minimizer())
	}

	// Two negative eigenvalues: the global minimum lies along the smaller.
	two := &IsotropicQuartic{H: mat.NewSymDense(3, []float64{-1, 0, 0, 0, -2, 0, 0, 0, 3}), Rho: 2}
	want := -4.0 / 8
	x := two.Minimizer()
	if two.Min() != want || math.Abs(two.Func(x)-want) > 1e-15 || math.Abs(math.Abs(x[1])-1) > 1e-15 {
		t.Errorf("two negative eigenvalues: Min %v, f(%v) = %v, want %v at ±e₂", two.Min(), x, two.Func(x), want)
	}
}
