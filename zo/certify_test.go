package zo_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

// freeLambdaMin is the smallest eigenvalue of the true Hessian of f at x
// on the face of the box x lies on: the coordinates not held at a bound
// (within tol) by the true gradient, as the optimizers hold them. +Inf at
// a vertex.
func freeLambdaMin(f functions.Function, b zo.Box, x []float64, tol float64) float64 {
	d := len(x)
	g := make([]float64, d)
	f.Grad(g, x)
	at := b.AtBound(x, g, tol)
	var free []int
	for i := range at {
		if !at[i] {
			free = append(free, i)
		}
	}
	if len(free) == 0 {
		return math.Inf(1)
	}
	h := mat.NewSymDense(d, nil)
	f.Hess(h, x)
	sub := mat.NewSymDense(len(free), nil)
	for a, i := range free {
		for c, j := range free[a:] {
			sub.SetSym(a, a+c, h.At(i, j))
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(sub, false) {
		panic("eigen-decomposition failed")
	}
	return eig.Values(nil)[0]
}

// checkCertificate fails the test when a converged outcome is not a true
// (·, δ) second-order point: the true Hessian's smallest eigenvalue on the
// free face at the final point must be ≥ −δ.
func checkCertificate(t *testing.T, f functions.Function, b zo.Box, out *zo.Outcome) {
	t.Helper()
	if out.Status != zo.StatusConverged {
		return
	}
	if lm := freeLambdaMin(f, b, out.X, 1e-5*b.Scale()); lm < -out.Delta {
		t.Errorf("converged (%s) at %v, where the true λ_min on the free face is %g < −δ = %g", out.Reason, out.X, lm, -out.Delta)
	}
}

// isUncertified reports an outcome that ended on a small gradient the
// finder could not certify.
func isUncertified(out *zo.Outcome) bool {
	return out.Status == zo.StatusStopped && strings.Contains(out.Reason, "not certified")
}

// probeFailing answers from f but fails every batch that is a finder's
// direct curvature probe: 2 or 3 points whose spread is that of a probe
// (between r/2 and 5r, r = 1e-3 of the box scale, the finders' default
// probe length), wider than a gradient stencil (2μ) and narrower than
// line-search and escape candidates. Every retry of the probe fails too.
type probeFailing struct {
	tb     testing.TB
	f      functions.Function
	box    zo.Box
	probes int // probe batches failed
}

func (p *probeFailing) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	out := make([]zo.Result, len(batch))
	r := 1e-3 * p.box.Scale()
	spread := 0.0
	for _, a := range batch {
		for _, b := range batch {
			spread = math.Max(spread, floatsNorm(sub(a.X, b.X)))
		}
	}
	probe := (len(batch) == 2 || len(batch) == 3) && spread >= r/2 && spread <= 5*r
	if probe {
		p.probes++
	}
	for i, q := range batch {
		if !p.box.Contains(q.X) {
			p.tb.Fatalf("query outside the box: %v", q.X)
		}
		if probe {
			out[i] = zo.Result{Err: errors.New("simulated probe failure")}
			continue
		}
		out[i] = zo.Result{Value: p.f.Func(q.X)}
	}
	return out, nil
}

func sub(a, b []float64) []float64 {
	c := make([]float64, len(a))
	for i := range a {
		c[i] = a[i] - b[i]
	}
	return c
}

// TestFailedProbesNeverCertify: with every curvature probe failing, no
// method certifies the saddle 0 of the separable quartic ½(−x₁² + x₂² +
// x₃² + x₄²) + ¼Σxᵢ⁴ (λ_min = −1). Each run either escapes by other means
// and converges at a true minimum (f = −1/4, true λ_min on the free face
// ≥ −δ), or ends stopped, uncertified, with λ̂ NaN in its outcome. The
// finder methods, whose only escape from an exact saddle is the finder's
// direction, must end uncertified there.
func TestFailedProbesNeverCertify(t *testing.T) {
	const delta = 0.01
	f := functions.NewSeparableQuartic(4, 1)
	b := zo.Cube(4, -2, 2)
	for _, fc := range finderCases()[1:] {
		for _, name := range zo.Methods {
			t.Run(name+"/"+fc.name, func(t *testing.T) {
				o := &probeFailing{tb: t, f: f, box: b}
				m, err := zo.NewMethod(name, zo.Settings{Delta: delta}, fc.make(), rand.New(rand.NewPCG(1, 1)))
				if err != nil {
					t.Fatal(err)
				}
				out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: o, Max: 1_000_000}, zo.Problem{X0: make([]float64, 4), Box: b})
				if err != nil {
					t.Fatal(err)
				}
				switch {
				case out.Status == zo.StatusConverged:
					checkCertificate(t, f, b, out)
					if math.Abs(out.F-f.Min()) > 1e-3 {
						t.Errorf("converged at f = %g, the minimum is %g", out.F, f.Min())
					}
				case isUncertified(out):
					if !math.IsNaN(out.LambdaMin) || !strings.Contains(out.Reason, "NaN") {
						t.Errorf("uncertified with λ̂ = %g: %s", out.LambdaMin, out.Reason)
					}
				default:
					t.Errorf("status %s: %s", out.Status, out.Reason)
				}
				if ncf(name) {
					if !isUncertified(out) || out.F != 0 {
						t.Errorf("status %s at f = %g (%s); want stopped uncertified at the saddle", out.Status, out.F, out.Reason)
					}
					if o.probes < 3 {
						t.Errorf("%d curvature probes failed: the test tests nothing", o.probes)
					}
				}
			})
		}
	}
}

// scripted is a Finder that gives fixed answers in turn (the last one
// again once they are used up) and counts its calls.
type scripted struct {
	answers []zo.Curvature
	calls   int
}

func (s *scripted) Find(_ context.Context, req zo.FindRequest) (zo.Curvature, error) {
	if req.Rand == nil {
		return zo.Curvature{}, errors.New("no Rand")
	}
	c := s.answers[min(s.calls, len(s.answers)-1)]
	s.calls++
	return c, nil
}

// TestUncertifiedNoneIsRetried: the methods certify only a none whose
// estimate is a number ≥ −δ. A none with λ̂ NaN or below −δ makes a
// method call its finder again, 3 calls in all at one point, and then
// stop uncertified with λ̂ in the reason (the finder methods and RSPI),
// or go on with its own escape (the perturbation baselines, which then
// never converge on such a finder); a certifying none on a later call is
// accepted.
func TestUncertifiedNoneIsRetried(t *testing.T) {
	const delta = 0.01
	f := functions.NewSeparableQuartic(4, 1)
	b := zo.Cube(4, -2, 2)
	nan := zo.Curvature{Lambda: math.NaN()}
	for _, c := range []struct {
		name      string
		answers   []zo.Curvature
		converged bool
		lambda    string // in the reason of an uncertified ending
	}{
		{"negative", []zo.Curvature{{Lambda: -1}}, false, "-1"},
		{"nan", []zo.Curvature{nan}, false, "NaN"},
		{"just-below", []zo.Curvature{{Lambda: -1.01 * delta}}, false, "-0.0101"},
		{"third-call", []zo.Curvature{nan, {Lambda: -1}, {Lambda: 0.5}}, true, ""},
	} {
		for _, name := range zo.Methods {
			t.Run(c.name+"/"+name, func(t *testing.T) {
				fd := &scripted{answers: c.answers}
				m, err := zo.NewMethod(name, zo.Settings{Delta: delta}, fd, rand.New(rand.NewPCG(1, 1)))
				if err != nil {
					t.Fatal(err)
				}
				o := &zo.Budget{Oracle: &boxed{tb: t, f: f, box: b}, Max: 200_000}
				out, err := m.Minimize(context.Background(), o, zo.Problem{X0: make([]float64, 4), Box: b})
				if err != nil {
					t.Fatal(err)
				}
				if fd.calls == 0 {
					t.Fatalf("finder never called: %s (%s)", out.Status, out.Reason)
				}
				baseline := !ncf(name) && name != zo.MethodRSPI
				switch {
				case c.converged:
					if out.Status != zo.StatusConverged || out.LambdaMin != 0.5 || fd.calls != 3 {
						t.Errorf("status %s (%s), λ̂ = %g after %d calls; want converged on the third", out.Status, out.Reason, out.LambdaMin, fd.calls)
					}
				case baseline:
					if out.Status == zo.StatusConverged || fd.calls < 3 || fd.calls%3 != 0 {
						t.Errorf("status %s (%s) after %d finder calls", out.Status, out.Reason, fd.calls)
					}
				default:
					if !isUncertified(out) || fd.calls != 3 || !strings.Contains(out.Reason, "λ̂_min = "+c.lambda) {
						t.Errorf("status %s (%s) after %d finder calls; want stopped uncertified after 3", out.Status, out.Reason, fd.calls)
					}
				}
			})
		}
	}
}

// boxedQuarticMin is the minimum of the separable quartic over the box
// [lo, hi]^d: each coordinate minimises ½aᵢx² + ¼x⁴ on [lo, hi]
// independently, at a bound or at a critical point (0, or ±√−aᵢ).
func boxedQuarticMin(q *functions.SeparableQuartic, lo, hi float64) float64 {
	sum := 0.0
	for _, a := range q.A {
		phi := func(x float64) float64 { return 0.5*a*x*x + 0.25*x*x*x*x }
		best := math.Min(phi(lo), phi(hi))
		cands := []float64{0}
		if a < 0 {
			cands = append(cands, math.Sqrt(-a), -math.Sqrt(-a))
		}
		for _, x := range cands {
			if x >= lo && x <= hi {
				best = math.Min(best, phi(x))
			}
		}
		sum += best
	}
	return sum
}

// TestMethodsEscapeCorner: the corner 0 of the box [0, 2]⁴ is a saddle of
// the separable quartic ½(−x₁² − x₂² + x₃² + x₄²) + ¼Σxᵢ⁴ with feasible
// negative curvature −1 along e₁ and e₂; most directions the finders
// return there (a random mix of e₁ and e₂) leave the box both ways, so
// their products and probes must split them coordinate-wise. Every method
// with every finder (and RSPI with its own power iteration, on the
// baselines' products) must leave the corner and reach the
// box-constrained minimum −1/2 (at (1, 1, 0, 0)), and a converged run
// must hold its certificate against the true Hessian on the free face.
func TestMethodsEscapeCorner(t *testing.T) {
	const delta = 0.1
	f := functions.NewSeparableQuartic(4, 2)
	b := zo.Cube(4, 0, 2)
	fstar := boxedQuarticMin(f, 0, 2)
	if math.Abs(fstar+0.5) > 1e-15 {
		t.Fatalf("box-constrained minimum %g, want −1/2", fstar)
	}
	if lm := freeLambdaMin(f, b, make([]float64, 4), 1e-5); lm != -1 {
		t.Fatalf("true λ_min at the corner %g, want −1", lm)
	}
	for _, fc := range finderCases() {
		for _, name := range zo.Methods {
			if fc.name == "none" && name != zo.MethodRSPI {
				continue
			}
			for seed := range uint64(3) {
				o := &zo.Budget{Oracle: &boxed{tb: t, f: f, box: b}, Max: 1_000_000}
				m, err := zo.NewMethod(name, zo.Settings{Delta: delta}, fc.make(), rand.New(rand.NewPCG(seed, 1)))
				if err != nil {
					t.Fatal(err)
				}
				out, err := m.Minimize(context.Background(), o, zo.Problem{X0: make([]float64, 4), Box: b})
				if err != nil {
					t.Fatal(err)
				}
				if math.IsNaN(out.F) || math.Abs(out.F-fstar) > 1e-3 {
					t.Errorf("%s/%s/%d: status %s (%s) at %v, f = %g; want f within 1e-3 of %g", name, fc.name, seed, out.Status, out.Reason, out.X, out.F, fstar)
				}
				checkCertificate(t, f, b, out)
			}
		}
	}
}

// TestBoxSplit: a vector that leaves the box both ways from a corner is
// split into a part that fits forward and a part that fits backward, at
// the full length when every coordinate fits one way, else at the largest
// length at which each does.
func TestBoxSplit(t *testing.T) {
	b := zo.Box{Lower: []float64{0, 0, 0, -1}, Upper: []float64{2, 2, 1e-4, 1}}
	x := []float64{0, 2, 0, 0.5}
	for _, c := range []struct {
		v    []float64
		r, l float64
	}{
		{[]float64{0.6, 0.8, 0, 0}, 0.1, 0.1},        // x₂ at its upper bound goes backward
		{[]float64{-0.6, -0.8, 0, 0}, 0.1, 0.1},      // x₁ at its lower bound goes backward
		{[]float64{0.6, 0, 0.8, 0}, 0.1, 1e-4 / 0.8}, // x₃'s width 1e-4 < 2·0.1·0.8: shorter
		{[]float64{0, 0, 0, 1}, 1, 1.5},              // capped at r: l = r
	} {
		fwd, bwd, l := b.Split(x, c.v, c.r)
		if math.Abs(l-math.Min(c.l, c.r)) > 1e-15 {
			t.Errorf("v = %v: length %g, want %g", c.v, l, math.Min(c.l, c.r))
		}
		p, m := make([]float64, 4), make([]float64, 4)
		for i := range c.v {
			if fwd[i]+bwd[i] != c.v[i] || (fwd[i] != 0 && bwd[i] != 0) {
				t.Errorf("v = %v: split %v + %v", c.v, fwd, bwd)
			}
			p[i], m[i] = x[i]+l*fwd[i], x[i]-l*bwd[i]
		}
		if !within(b, p, 1e-15) || !within(b, m, 1e-15) {
			t.Errorf("v = %v: x + l·fwd = %v, x − l·bwd = %v, not both in the box", c.v, p, m)
		}
	}
}

// within reports whether x is in the box up to round-off tol.
func within(b zo.Box, x []float64, tol float64) bool {
	for i, v := range x {
		if v < b.Lower[i]-tol || v > b.Upper[i]+tol {
			return false
		}
	}
	return true
}
