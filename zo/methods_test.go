package zo_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"reflect"
	"slices"
	"strings"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

// variant is a method of the table with its settings.
type variant struct {
	label  string
	method string
	set    zo.Settings // Epsilon and Delta are the table's
	// some runs the variant with the finders none and lanczos only (the
	// finder is not what it tests), to keep the table's time down.
	some bool
}

// methodVariants: every method, SAM where a method has it, and the
// selectable estimators inside the variance-reduced epochs. InnerSteps > 1
// makes the epochs run on a deterministic objective too (with one sample
// they default to a single full-gradient step).
func methodVariants() []variant {
	v := make([]variant, 0, len(zo.Methods)+12)
	for _, name := range zo.Methods {
		v = append(v, variant{label: name, method: name})
	}
	return append(v,
		variant{"zo-gd+sam", zo.MethodGD, zo.Settings{SAMRadius: 0.01}, true},
		variant{"zo-sgd+sam", zo.MethodSGD, zo.Settings{SAMRadius: 0.01}, true},
		variant{"zo-sgd/coord-forward", zo.MethodSGD, zo.Settings{Estimator: zo.EstCoordForward}, true},
		variant{"zo-sgd/rand", zo.MethodSGD, zo.Settings{Estimator: zo.EstRand}, true},
		variant{"zo-sgd/randomk", zo.MethodSGD, zo.Settings{Estimator: zo.EstRandomK}, true},
		variant{"zo-scsg/N=4", zo.MethodSCSG, zo.Settings{InnerSteps: 4}, true},
		variant{"zo-scsg/rand/N=4", zo.MethodSCSG, zo.Settings{Estimator: zo.EstRand, InnerSteps: 4}, true},
		variant{"zo-spider/q=4", zo.MethodSPIDER, zo.Settings{InnerSteps: 4}, true},
		variant{"zo-spider/gauss/q=4", zo.MethodSPIDER, zo.Settings{Estimator: zo.EstGauss, InnerSteps: 4}, true},
		variant{"zo-ssrgd/randomk/q=4", zo.MethodSSRGD, zo.Settings{Estimator: zo.EstRandomK, InnerSteps: 4}, true},
		variant{"pagd/coord-forward", zo.MethodPAGD, zo.Settings{Estimator: zo.EstCoordForward}, true},
	)
}

// finderCase builds a fresh finder per run (a *negcurv.Dimer keeps state
// from one call to the next).
type finderCase struct {
	name string
	make func() zo.Finder
}

func finderCases() []finderCase {
	return []finderCase{
		{"none", func() zo.Finder { return nil }},
		{"lanczos", func() zo.Finder { return negcurv.Lanczos{} }},
		{"online", func() zo.Finder { return negcurv.Online{} }},
		{"deterministic", func() zo.Finder { return negcurv.Deterministic{} }},
		{"dimer", func() zo.Finder { return &negcurv.Dimer{} }},
		{"power", func() zo.Finder { return negcurv.Power{} }},
	}
}

// saddleProblems are the table's problems, each started at an exact
// saddle (gradient exactly zero, also for central differences). On
// [−3, 3] no escape length tried from the saddle lands on a minimum, so
// descent steps follow every escape.
func saddleProblems() []problem {
	rq := functions.NewRotatedQuartic(50, 1, rand.New(rand.NewPCG(50, 1)))
	gs := functions.GrowingSaddle{D: 20}
	return []problem{
		{"rotated-quartic-50", rq, zo.Cube(50, -3, 3), make([]float64, 50), rq.Min()},
		{"growing-saddle-20", gs, zo.Cube(20, -3, 3), make([]float64, 20), gs.Min()},
	}
}

// ncf reports whether the method finds negative curvature with its finder
// (and so, without one, stops at first-order stationarity).
func ncf(method string) bool {
	switch method {
	case zo.MethodGD, zo.MethodSGD, zo.MethodSCSG, zo.MethodSPIDER:
		return true
	}
	return false
}

// tableRun is one run of a table line, with what the test checks.
type tableRun struct {
	out     *zo.Outcome
	queries int // counted by zo.Counter
	rounds  int
	evals   int // answered by the test oracle
	events  []string
}

func runLine(t *testing.T, v variant, fc finderCase, p problem, eps, delta float64, seed uint64) tableRun {
	t.Helper()
	inner := &boxed{tb: t, f: p.f, box: p.box}
	c := &zo.Counter{Oracle: inner}
	set := v.set
	set.Epsilon, set.Delta = eps, delta
	var run tableRun
	set.Progress = func(pr zo.Progress) { run.events = append(run.events, pr.Event) }
	m, err := zo.NewMethod(v.method, set, fc.make(), rand.New(rand.NewPCG(seed, 7)))
	if err != nil {
		t.Fatal(err)
	}
	out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: c, Max: 3_000_000}, zo.Problem{X0: p.x0, Box: p.box})
	if err != nil {
		t.Fatal(err)
	}
	run.out, run.queries, run.rounds, run.evals = out, c.Queries, c.Rounds, inner.evals
	return run
}

// TestMethodsEscapeSaddles is the table: every method (and variant) with
// every finder, started at an exact saddle of the rotated quartic (d = 50)
// and of the growing-dimension saddle (D = 20), ends converged with a
// certificate that holds against the truth: true gradient norm ≤ 2ε (ε
// plus the estimator's error) and true λ_min ≥ −δ by the exact Hessian;
// the reported value is f at the reported point; counts add up; the same
// seed gives the same run.
//
// A method that finds negative curvature with its finder, run without one
// (curvature "none"), is first-order by design: at an exact saddle its
// gradient estimate is zero and it stops there, converged with a
// first-order certificate. Those lines check that instead of λ_min.
//
// With -short only the finders none and lanczos run.
func TestMethodsEscapeSaddles(t *testing.T) {
	const eps, delta = 1e-3, 0.1
	for _, p := range saddleProblems() {
		for _, v := range methodVariants() {
			for _, fc := range finderCases() {
				if (v.some || testing.Short()) && fc.name != "none" && fc.name != "lanczos" {
					continue
				}
				t.Run(p.name+"/"+v.label+"/"+fc.name, func(t *testing.T) {
					t.Parallel()
					a := runLine(t, v, fc, p, eps, delta, 1)
					out := a.out
					if out.Status != zo.StatusConverged {
						t.Fatalf("status %s: %s", out.Status, out.Reason)
					}
					if got := p.f.Func(out.X); got != out.F {
						t.Errorf("reported value %g, f at the reported point %g", out.F, got)
					}
					if !p.box.Contains(out.X) {
						t.Errorf("reported point outside the box")
					}
					if gn := trueGradNorm(p.f, out.X); gn > 2*eps {
						t.Errorf("true gradient norm %g > 2ε = %g", gn, 2*eps)
					}
					if out.Epsilon != eps || out.Delta != delta {
						t.Errorf("outcome reports ε = %g, δ = %g", out.Epsilon, out.Delta)
					}
					if ncf(v.method) && fc.name == "none" {
						if !strings.Contains(out.Reason, "first-order") || out.F != 0 || len(out.Escapes) != 0 || !math.IsNaN(out.LambdaMin) {
							t.Errorf("without a finder: %s, f = %g, %d escapes, λ̂ = %g; want first-order at the saddle", out.Reason, out.F, len(out.Escapes), out.LambdaMin)
						}
					} else {
						if lm := lambdaMin(p.f, out.X); lm < -delta {
							t.Errorf("true λ_min %g < −δ = %g", lm, -delta)
						}
						if out.F > p.fstar+1e-4 {
							t.Errorf("final value %g, minimum %g", out.F, p.fstar)
						}
						if fc.name == "none" {
							if !math.IsNaN(out.LambdaMin) && v.method != zo.MethodRSPI {
								t.Errorf("no finder, but a curvature estimate %g", out.LambdaMin)
							}
						} else if out.LambdaMin < -delta || math.IsNaN(out.LambdaMin) {
							t.Errorf("finder's curvature estimate %g, want ≥ −δ = %g", out.LambdaMin, -delta)
						}
					}
					for _, e := range out.Escapes {
						if !(e.To < e.From) || math.IsNaN(e.Lambda) || math.IsInf(e.Lambda, 0) || !(e.Step > 0) {
							t.Errorf("escape record %+v", e)
						}
					}
					if last := a.events[len(a.events)-1]; last != "certify" && last != "done" {
						t.Errorf("last progress event %q", last)
					}
					if a.queries != a.evals || a.rounds == 0 || a.rounds > a.queries || out.Iterations == 0 || len(out.Escapes) > out.Iterations {
						t.Errorf("counts: %d queries counted, %d answered, %d rounds, %d iterations, %d escapes", a.queries, a.evals, a.rounds, out.Iterations, len(out.Escapes))
					}

					b := runLine(t, v, fc, p, eps, delta, 1)
					if fmt.Sprintf("%+v", a.out) != fmt.Sprintf("%+v", b.out) || !reflect.DeepEqual(a.out.X, b.out.X) || a.queries != b.queries || a.rounds != b.rounds || !slices.Equal(a.events, b.events) {
						t.Errorf("same seed, different runs:\n%+v\n%+v", a.out, b.out)
					}
					t.Logf("f=%.6g in %d queries, %d rounds, %d iterations, %d escapes, λ̂=%.3g", out.F, a.queries, a.rounds, out.Iterations, len(out.Escapes), out.LambdaMin)
				})
			}
		}
	}
}

// sampled is a stochastic oracle over a Noisy function: sample i is the
// component F(·; i), for i < n. It fails the test on a query outside the
// box or for a sample that does not exist.
type sampled struct {
	tb  testing.TB
	f   functions.Noisy
	box zo.Box
	n   int
}

func (s *sampled) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	out := make([]zo.Result, len(batch))
	for i, q := range batch {
		if !s.box.Contains(q.X) {
			s.tb.Fatalf("query outside the box: %v", q.X)
		}
		if q.Sample < 0 || q.Sample >= s.n {
			s.tb.Fatalf("sample %d of %d", q.Sample, s.n)
		}
		out[i] = zo.Result{Value: s.f.Eval(q.X, q.Sample)}
	}
	return out, nil
}

// mean is the finite sum f̄ = (1/n) Σᵢ F(·; i).
func (s *sampled) mean(x []float64) float64 {
	sum := 0.0
	for i := 0; i < s.n; i++ {
		sum += s.f.Eval(x, i)
	}
	return sum / float64(s.n)
}

// fdGrad is the central-difference gradient of f̄ with step h.
func (s *sampled) fdGrad(x []float64, h float64) []float64 {
	g := make([]float64, len(x))
	for i := range x {
		xp, xm := slices.Clone(x), slices.Clone(x)
		xp[i] += h
		xm[i] -= h
		g[i] = (s.mean(xp) - s.mean(xm)) / (2 * h)
	}
	return g
}

// fdLambdaMin is λ_min of the central-difference Hessian of f̄.
func (s *sampled) fdLambdaMin(x []float64) float64 {
	d := len(x)
	const h = 1e-3
	h2 := mat.NewSymDense(d, nil)
	cols := make([][]float64, d)
	for j := range x {
		xp, xm := slices.Clone(x), slices.Clone(x)
		xp[j] += h
		xm[j] -= h
		gp, gm := s.fdGrad(xp, 1e-5), s.fdGrad(xm, 1e-5)
		cols[j] = make([]float64, d)
		for i := range cols[j] {
			cols[j][i] = (gp[i] - gm[i]) / (2 * h)
		}
	}
	for i := 0; i < d; i++ {
		for j := i; j < d; j++ {
			h2.SetSym(i, j, (cols[i][j]+cols[j][i])/2)
		}
	}
	return functions.Spectrum(h2)[0]
}

// TestMethodsFiniteSum runs the stochastic methods (and ZO-GD for
// reference) on a finite sum of 8 smooth random components around the
// rotated quartic (d = 10), where mini-batches, snapshots, refreshes and
// the selectable estimators inside epochs all run; the certificate is
// checked against the finite differences of the sum. (The baselines
// average every value over all samples: on a finite sum they are the
// deterministic methods of the main table.)
func TestMethodsFiniteSum(t *testing.T) {
	const (
		d          = 10
		n          = 8
		eps, delta = 1e-3, 0.05
	)
	rq := functions.NewRotatedQuartic(d, 1, rand.New(rand.NewPCG(10, 1)))
	nz := functions.Noisy{F: rq, Sigma: 0.02}
	b := zo.Cube(d, -2, 2)
	type line struct {
		label  string
		method string
		set    zo.Settings
	}
	// With the big batch a part of the sum (B = 4 of 8) the certificate
	// is the big batch's, whose gradient differs from the sum's by the
	// sampling error, about √d·σ/√8 here: it can be certified at ε only
	// for σ well below ε, so those lines use a quieter sum.
	quiet := functions.Noisy{F: rq, Sigma: 2e-4}
	stochastic := []string{zo.MethodSGD, zo.MethodSCSG, zo.MethodSPIDER, zo.MethodSSRGD}
	lines := []line{{zo.MethodGD, zo.MethodGD, zo.Settings{}}}
	for _, name := range stochastic {
		lines = append(lines, line{name, name, zo.Settings{}}, line{name + "/B=4", name, zo.Settings{BigBatch: 4, MiniBatch: 1}})
	}
	for _, est := range zo.Estimators[1:] {
		for _, name := range stochastic[:3] {
			lines = append(lines, line{name + "/" + est, name, zo.Settings{Estimator: est}})
		}
	}
	lines = append(lines, line{"zo-ssrgd/rand", zo.MethodSSRGD, zo.Settings{Estimator: zo.EstRand}})
	for _, l := range lines {
		t.Run(l.label, func(t *testing.T) {
			t.Parallel()
			o := &sampled{tb: t, f: nz, box: b, n: n}
			full := l.set.BigBatch == 0
			if !full {
				o.f = quiet
			}
			set := l.set
			set.Epsilon, set.Delta, set.Samples = eps, delta, n
			run := func() (*zo.Outcome, int) {
				c := &zo.Counter{Oracle: o}
				m, err := zo.NewMethod(l.method, set, negcurv.Lanczos{}, rand.New(rand.NewPCG(3, 3)))
				if err != nil {
					t.Fatal(err)
				}
				out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: c, Max: 3_000_000}, zo.Problem{X0: make([]float64, d), Box: b})
				if err != nil {
					t.Fatal(err)
				}
				return out, c.Queries
			}
			out, q := run()
			if out.Status != zo.StatusConverged {
				t.Fatalf("status %s: %s", out.Status, out.Reason)
			}
			if gn := floatsNorm(o.fdGrad(out.X, 1e-5)); gn > 2*eps {
				t.Errorf("gradient norm of the sum %g > 2ε = %g", gn, 2*eps)
			}
			if full {
				if got := o.mean(out.X); math.Abs(got-out.F) > 1e-12 {
					t.Errorf("reported value %g, f̄ at the reported point %g", out.F, got)
				}
			}
			if lm := o.fdLambdaMin(out.X); lm < -delta {
				t.Errorf("λ_min of the sum %g < −δ = %g", lm, -delta)
			}
			out2, q2 := run()
			if fmt.Sprintf("%+v", out) != fmt.Sprintf("%+v", out2) || q != q2 {
				t.Errorf("same seed, different runs:\n%+v\n%+v", out, out2)
			}
			t.Logf("f̄=%.6g in %d queries, %d iterations, %d escapes, λ̂=%.3g", out.F, q, out.Iterations, len(out.Escapes), out.LambdaMin)
		})
	}
}

func floatsNorm(v []float64) float64 {
	s := 0.0
	for _, x := range v {
		s += x * x
	}
	return math.Sqrt(s)
}

// TestMethodsStopOnBudget: every method ends with status budget when the
// oracle refuses a batch, without exceeding it, and still reports f at the
// reported point (or no value).
func TestMethodsStopOnBudget(t *testing.T) {
	p := saddleProblems()[0]
	for _, name := range zo.Methods {
		for _, max := range []int{50, 500, 2500} {
			t.Run(fmt.Sprintf("%s/%d", name, max), func(t *testing.T) {
				o := &zo.Budget{Oracle: &boxed{tb: t, f: p.f, box: p.box}, Max: max}
				m, err := zo.NewMethod(name, zo.Settings{Epsilon: 1e-6, Delta: 1e-3}, negcurv.Lanczos{}, rand.New(rand.NewPCG(1, 1)))
				if err != nil {
					t.Fatal(err)
				}
				out, err := m.Minimize(context.Background(), o, zo.Problem{X0: p.x0, Box: p.box})
				if err != nil {
					t.Fatal(err)
				}
				if out.Status != zo.StatusBudget || o.Used > max {
					t.Fatalf("status %s (%s) after %d queries", out.Status, out.Reason, o.Used)
				}
				if !math.IsNaN(out.F) && p.f.Func(out.X) != out.F {
					t.Errorf("reported value %g, f at the reported point %g", out.F, p.f.Func(out.X))
				}
			})
		}
	}
}

// TestMethodsIterationCap: MaxIterations ends every method with status
// budget.
func TestMethodsIterationCap(t *testing.T) {
	p := saddleProblems()[1]
	for _, name := range zo.Methods {
		m, err := zo.NewMethod(name, zo.Settings{Epsilon: 1e-9, MaxIterations: 5}, negcurv.Lanczos{}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Minimize(context.Background(), &boxed{tb: t, f: p.f, box: p.box}, zo.Problem{X0: p.x0, Box: p.box})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != zo.StatusBudget || out.Iterations != 5 {
			t.Errorf("%s: status %s after %d iterations", name, out.Status, out.Iterations)
		}
	}
}

func TestMethodsStopOnCancel(t *testing.T) {
	p := saddleProblems()[1]
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, name := range zo.Methods {
		m, err := zo.NewMethod(name, zo.Settings{}, nil, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Minimize(ctx, zo.Func(func(x []float64, _ int) float64 { return p.f.Func(x) }), zo.Problem{X0: p.x0, Box: p.box})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != zo.StatusStopped {
			t.Errorf("%s: status %s", name, out.Status)
		}
	}
}

// TestMethodsSurviveFailures: with 5% of the queries failing, every
// method still leaves the saddle for the minimum's neighbourhood, over 10
// seeds; and whenever a run ends converged, the exact Hessian's smallest
// eigenvalue on the free face at the final point is ≥ −δ.
func TestMethodsSurviveFailures(t *testing.T) {
	p := problems()[1] // rotated quartic, d = 10
	for _, name := range zo.Methods {
		t.Run(name, func(t *testing.T) {
			for seed := range uint64(10) {
				o := &boxed{tb: t, f: p.f, box: p.box, failRate: 0.05, rng: rand.New(rand.NewPCG(seed, 3))}
				m, err := zo.NewMethod(name, zo.Settings{Delta: 0.05}, negcurv.Lanczos{}, rand.New(rand.NewPCG(seed, 1)))
				if err != nil {
					t.Fatal(err)
				}
				out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: o, Max: 500_000}, zo.Problem{X0: p.x0, Box: p.box})
				if err != nil {
					t.Fatal(err)
				}
				checkCertificate(t, p.f, p.box, out)
				if math.IsNaN(out.F) || math.Abs(out.F-p.fstar) > 1e-2 {
					t.Errorf("seed %d: status %s (%s): value %g, want about %g", seed, out.Status, out.Reason, out.F, p.fstar)
				}
			}
		})
	}
}

// TestMethodsAllQueriesFail: an objective that always fails ends as
// failed, not in a loop.
func TestMethodsAllQueriesFail(t *testing.T) {
	p := problems()[1]
	o := &boxed{tb: t, f: p.f, box: p.box, failRate: 1, rng: rand.New(rand.NewPCG(3, 3))}
	for _, name := range zo.Methods {
		m, err := zo.NewMethod(name, zo.Settings{}, negcurv.Lanczos{}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			t.Fatal(err)
		}
		out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: o, Max: 1_000_000}, zo.Problem{X0: p.x0, Box: p.box})
		if err != nil {
			t.Fatal(err)
		}
		if out.Status != zo.StatusFailed && out.Status != zo.StatusStopped {
			t.Errorf("%s: status %s (%s)", name, out.Status, out.Reason)
		}
	}
}

func TestNewMethod(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	want := []string{"zo-gd", "zo-sgd", "zo-scsg", "zo-spider", "pagd", "zpsgd", "rspi", "zo-ssrgd"}
	if !slices.Equal(zo.Methods, want) {
		t.Fatalf("Methods = %v, want %v", zo.Methods, want)
	}
	for _, name := range zo.Methods {
		m, err := zo.NewMethod(name, zo.Settings{}, negcurv.Lanczos{}, rng)
		if err != nil || m == nil {
			t.Errorf("%s: %v", name, err)
		}
	}
	for _, c := range []struct {
		name string
		s    zo.Settings
		rng  *rand.Rand
	}{
		{"zo-newton", zo.Settings{}, rng},
		{"zo-gd", zo.Settings{}, nil},
		{"zo-gd", zo.Settings{Estimator: "rand"}, rng},
		{"pagd", zo.Settings{Estimator: "gauss"}, rng},
		{"rspi", zo.Settings{Estimator: "coord"}, rng},
		{"zo-spider", zo.Settings{SAMRadius: 0.1}, rng},
		{"zo-gd", zo.Settings{Perturb: 2}, rng},
		{"zo-sgd", zo.Settings{Estimator: "sphere"}, rng},
		{"zo-sgd", zo.Settings{Samples: 4, BigBatch: 8}, rng},
		{"zo-sgd", zo.Settings{Samples: 8, BigBatch: 4, MiniBatch: 6}, rng},
	} {
		if _, err := zo.NewMethod(c.name, c.s, nil, c.rng); err == nil {
			t.Errorf("NewMethod(%q, %+v) accepted", c.name, c.s)
		}
	}
	// Methods built directly need a Rand too.
	p := problems()[0]
	for _, m := range []zo.Method{&zo.SGD{}, &zo.SCSG{}, &zo.SPIDER{}, &zo.PAGD{}, &zo.ZPSGD{}, &zo.RSPI{}, &zo.SSRGD{}} {
		if _, err := m.Minimize(context.Background(), zo.Func(func(x []float64, _ int) float64 { return p.f.Func(x) }), zo.Problem{X0: p.x0, Box: p.box}); err == nil {
			t.Errorf("%T without a Rand accepted", m)
		}
	}
}

// TestSAMStep: the sharpness-aware GD queries the gradient at the SAM
// point (one more estimate per descent step) and still converges.
func TestSAMStep(t *testing.T) {
	p := problems()[0]
	count := func(rho float64) (int, *zo.Outcome) {
		c := &zo.Counter{Oracle: &boxed{tb: t, f: p.f, box: p.box}}
		m := &zo.GD{Settings: zo.Settings{Epsilon: 1e-4, Delta: 1e-2, SAMRadius: rho}, Finder: negcurv.Lanczos{}, Rand: rand.New(rand.NewPCG(1, 2))}
		out, err := m.Minimize(context.Background(), c, zo.Problem{X0: p.x0, Box: p.box})
		if err != nil {
			t.Fatal(err)
		}
		return c.Queries, out
	}
	q0, out0 := count(0)
	q1, out1 := count(0.01)
	if out0.Status != zo.StatusConverged || out1.Status != zo.StatusConverged {
		t.Fatalf("status %s, %s with SAM", out0.Status, out1.Status)
	}
	if math.Abs(out1.F-p.fstar) > 1e-6 || q1 <= q0 {
		t.Errorf("SAM: f = %g in %d queries; plain: f = %g in %d", out1.F, q1, out0.F, q0)
	}
}

func TestSettingsValidateNew(t *testing.T) {
	for _, s := range []zo.Settings{
		{Estimator: "nope"}, {Directions: -1}, {BigBatch: 2}, {Samples: 4, MiniBatch: 5},
		{InnerSteps: -1}, {SAMRadius: -0.1}, {SAMRadius: 1}, {Perturb: math.NaN()},
	} {
		if s.Validate() == nil {
			t.Errorf("%+v accepted", s)
		}
	}
	if err := (zo.Settings{Samples: 8, BigBatch: 8, MiniBatch: 2, Estimator: "gauss", Directions: 3}).Validate(); err != nil {
		t.Error(err)
	}
}

func ExampleNewMethod() {
	// The separable quartic ½Σaᵢxᵢ² + ¼Σxᵢ⁴ with a = (−1, 1, 1) has a
	// saddle at 0 and minima at (±1, 0, 0) with value −1/4.
	f := functions.NewSeparableQuartic(3, 1)
	oracle := zo.Func(func(x []float64, _ int) float64 { return f.Func(x) })
	for _, name := range []string{"zo-spider", "pagd"} {
		m, err := zo.NewMethod(name, zo.Settings{Delta: 0.1}, negcurv.Lanczos{}, rand.New(rand.NewPCG(1, 1)))
		if err != nil {
			fmt.Println(err)
			return
		}
		out, _ := m.Minimize(context.Background(), oracle, zo.Problem{X0: []float64{0, 0, 0}, Box: zo.Cube(3, -2, 2)})
		fmt.Printf("%s: %s, f = %.4f, |x1| = %.2f\n", name, out.Status, out.F, math.Abs(out.X[0]))
	}
	// Output:
	// zo-spider: converged, f = -0.2500, |x1| = 1.00
	// pagd: converged, f = -0.2500, |x1| = 1.00
}

// TestMethodsMinimumOnBound: where the minimum over the box lies on its
// boundary, every method ends converged at a point of the box whose true
// gradient, on the coordinates not held at a bound, is at most 2ε.
func TestMethodsMinimumOnBound(t *testing.T) {
	const eps = 1e-3
	f := functions.NewSeparableQuartic(8, 2)
	b := zo.Cube(8, 0.3, 1) // the minimum (1, 1, 0, …, 0) is at a corner of the face x₃…x₈ = 0.3
	x0 := make([]float64, 8)
	for i := range x0 {
		x0[i] = 0.6
	}
	for _, name := range zo.Methods {
		t.Run(name, func(t *testing.T) {
			m, err := zo.NewMethod(name, zo.Settings{Epsilon: eps, Delta: 0.1}, negcurv.Lanczos{}, rand.New(rand.NewPCG(1, 1)))
			if err != nil {
				t.Fatal(err)
			}
			out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: &boxed{tb: t, f: f, box: b}, Max: 1_000_000}, zo.Problem{X0: x0, Box: b})
			if err != nil {
				t.Fatal(err)
			}
			if out.Status != zo.StatusConverged || !b.Contains(out.X) {
				t.Fatalf("status %s (%s) at %v", out.Status, out.Reason, out.X)
			}
			g := make([]float64, 8)
			f.Grad(g, out.X)
			at := b.AtBound(out.X, g, 1e-4)
			for i := range g {
				if at[i] {
					g[i] = 0
				}
			}
			if gn := floatsNorm(g); gn > 2*eps {
				t.Errorf("projected true gradient %g at %v", gn, out.X)
			}
			if got := f.Func(out.X); got != out.F {
				t.Errorf("reported value %g, f at the reported point %g", out.F, got)
			}
		})
	}
}
