package study

import (
	"context"
	"encoding/binary"
	"hash/fnv"
	"math"
	"reflect"
	"testing"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// roughNoise is a value in [−1, 1] keyed on the parameters' bits: noise
// that is not smooth in the parameters, as adaptive time steps or
// iterative solvers give.
func roughNoise(params map[string]float64) float64 {
	h := fnv.New64a()
	var buf [8]byte
	for _, name := range []string{"x1", "x2", "x3"} {
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(params[name]))
		_, _ = h.Write(buf[:])
	}
	return 2*float64(h.Sum64()>>11)/(1<<53) - 1
}

// A difference step matched to the objective's noise. On the quartic
// with rough noise of 1e-6 (uniform: a standard deviation of 5.8e-7), the
// default step (1e-5 of each range) gives differences that are noise:
// ‖ĝ‖ ≈ 0.04 at the saddle, and a study with that step set stops there.
// Left unset, the study estimates the noise (ECnoise) and chooses the
// step; set to 1e-2, the user's step serves. Both converge to the
// minimum. ε = 1e-2 is what the noise allows: a step's decrease, ‖g‖²/2L,
// must exceed it.
func TestMuAgainstRoughNoise(t *testing.T) {
	noisy := handler(func(_ context.Context, task *wire.Task) wire.Reply {
		return wire.Reply{Value: testutil.SeparableQuartic(task.Params) + 1e-6*roughNoise(task.Params)}
	})
	for _, tc := range []struct {
		mu        float64
		converges bool
	}{{1e-5, false}, {0, true}, {1e-2, true}} {
		sc := testStudy("direct", 3000)
		sc.Mu, sc.Epsilon, sc.Delta = tc.mu, 1e-2, 0
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(noisy)})
		if err != nil {
			t.Fatal(err)
		}
		converged := s.Status == "converged" && s.Final != nil && math.Abs(s.Final.Value+0.25) < 1e-4
		t.Logf("mu = %g: %s after %d evaluations at %v, noise %+v (%s)", tc.mu, s.Status, s.Spent, s.Final, s.Noise, s.Reason)
		if converged != tc.converges {
			t.Errorf("mu = %g: %s at %+v (%s); converging to −0.25 is %v, want %v", tc.mu, s.Status, s.Final, s.Reason, converged, tc.converges)
		}
		switch {
		case tc.mu != 0 && s.Noise != nil:
			t.Errorf("mu = %g set: noise estimated %+v", tc.mu, s.Noise)
		case tc.mu == 0 && (s.Noise == nil || s.Noise.Level < 5.8e-7/3 || s.Noise.Level > 5.8e-7*3 || s.Noise.Mu < 1e-3):
			t.Errorf("mu unset: noise estimate %+v; want a level within 3× of 5.8e-7 and a step above 1e-3", s.Noise)
		}
	}
}

// A smooth deterministic objective shows no noise above round-off: the
// step stays the default, and the run is the one with the default step
// set (same rounds, same final point) but for the estimate's 8 values,
// which ride in the start point's batch.
func TestNoNoiseOnSmoothObjective(t *testing.T) {
	var runs []*Summary
	for _, mu := range []float64{0, zo.DefaultMu} {
		sc := testStudy("direct", 3000)
		sc.Mu = mu
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(quartic3)})
		if err != nil || s.Status != "converged" {
			t.Fatalf("mu = %g: %v, %+v", mu, err, s)
		}
		runs = append(runs, s)
	}
	auto, set := runs[0], runs[1]
	if auto.Noise == nil || auto.Noise.Level > 1e-12 || auto.Noise.Mu != zo.DefaultMu {
		t.Errorf("noise estimate %+v on a smooth objective; want round-off at most, and the default step", auto.Noise)
	}
	if auto.Rounds != set.Rounds || auto.Spent != set.Spent+noisePointsForTest || auto.Final.Value != set.Final.Value {
		t.Errorf("estimating the noise: %d evaluations in %d rounds to %g; with the step set: %d in %d to %g",
			auto.Spent, auto.Rounds, auto.Final.Value, set.Spent, set.Rounds, set.Final.Value)
	}
}

// noisePointsForTest is the values the noise estimate adds to the start.
const noisePointsForTest = 8

// wells is a sharp well at (x1, x2) = (−1, 0) (width 0.05, depth 1) beside
// a flat one at (−1.5, 1) (width 0.5, depth 0.9), plus x3².
func wells(p map[string]float64) float64 {
	d2 := func(a, b float64) float64 { return (p["x1"]-a)*(p["x1"]-a) + (p["x2"]-b)*(p["x2"]-b) }
	sharp := math.Exp(-d2(-1, 0) / (2 * 0.05 * 0.05))
	flat := 0.9 * math.Exp(-d2(-1.5, 1)/(2*0.5*0.5))
	return -sharp - flat + p["x3"]*p["x3"]
}

// Sharpness-aware steps (sam_radius) follow the gradient a radius uphill
// of the point, where a well narrower than the radius no longer pulls.
// From the rim of the sharp well plain steps fall into it (f = −1.07);
// steps with sam_radius = 0.05 (0.2 in the parameters' units) end in the
// flat one (f = −0.9): a higher value, and the minimum that a
// perturbation of the parameters does not spoil — what SAM is for.
func TestSAMRadiusPrefersFlatMinima(t *testing.T) {
	h := handler(func(_ context.Context, task *wire.Task) wire.Reply { return wire.Reply{Value: wells(task.Params)} })
	for _, tc := range []struct {
		radius float64
		want   float64 // x1 at the end
	}{{0, -1}, {0.05, -1.5}} {
		sc := testStudy("direct", 3000)
		sc.SAMRadius = tc.radius
		sc.Params[0].Init = ptr(-0.9)
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(h)})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("sam_radius = %g: %s after %d evaluations at %v (%s)", tc.radius, s.Status, s.Spent, s.Final, s.Reason)
		if s.Final == nil || math.Abs(s.Final.Params["x1"]-tc.want) > 0.05 {
			t.Errorf("sam_radius = %g: %s at %+v; want x1 near %g", tc.radius, s.Status, s.Final, tc.want)
		}
	}
}

// A piecewise-constant objective (the quartic rounded to 1e-3, as a
// simulator with a coarse mesh, a count or a cross-validation error gives)
// is flat at the default step: with mu = 1e-5 set, every difference at the
// saddle is 0, and the study "converges" there (value 0) with a
// certificate of the plateau it sits on. Left to estimate the noise, the
// study finds the values flat on its short line, widens it until they
// differ, takes the rounding for noise, and with the step that calls for
// reaches the minimum, −0.25.
func TestPlateauObjective(t *testing.T) {
	rounded := handler(func(_ context.Context, task *wire.Task) wire.Reply {
		return wire.Reply{Value: 1e-3 * math.Round(testutil.SeparableQuartic(task.Params)/1e-3)}
	})
	for _, tc := range []struct {
		mu    float64
		final float64
	}{{1e-5, 0}, {0, -0.25}} {
		sc := testStudy("direct", 3000)
		sc.Mu = tc.mu
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(rounded)})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("mu = %g: %s after %d evaluations at %v, noise %+v (%s)", tc.mu, s.Status, s.Spent, s.Final.Value, s.Noise, s.Reason)
		if s.Final == nil || s.Final.Value != tc.final {
			t.Errorf("mu = %g: %s at %+v; want the final value %g", tc.mu, s.Status, s.Final, tc.final)
		}
		if tc.mu == 0 && (s.Noise == nil || s.Noise.Level == 0 || s.Noise.Mu <= 1e-3) {
			t.Errorf("noise estimate %+v; want the rounding found, and a wide step", s.Noise)
		}
	}
}

// A plateau met on the way, not at the start: the quartic is rounded to
// 0.01 only where it is below −0.05, so the start (the saddle, 0) is
// smooth and the escape lands on the minimum's plateau, −0.25. With
// mu = 1e-5 set, every difference there is 0 and the study ends
// "converged" with ‖ĝ‖ = 0 and λ̂_min = 0: a certificate of the plateau,
// which says nothing of f. Estimating the noise, the study finds the
// differences all 0 there, widens its line and its step across the
// terraces, and does not claim that certificate.
func TestPlateauOnTheWay(t *testing.T) {
	terraced := handler(func(_ context.Context, task *wire.Task) wire.Reply {
		v := testutil.SeparableQuartic(task.Params)
		if v < -0.05 {
			v = 0.01 * math.Round(v/0.01)
		}
		return wire.Reply{Value: v}
	})
	for _, mu := range []float64{1e-5, 0} {
		sc := testStudy("direct", 3000)
		sc.Mu = mu
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(terraced)})
		if err != nil || s.Final == nil {
			t.Fatalf("mu = %g: %v, %+v", mu, err, s)
		}
		t.Logf("mu = %g: %s after %d evaluations at %v, noise %+v (%s)", mu, s.Status, s.Spent, s.Final.Value, s.Noise, s.Reason)
		plateau := s.Status == "converged" && s.Final.GradNorm != nil && *s.Final.GradNorm == 0
		if s.Final.Value != -0.25 || plateau != (mu != 0) {
			t.Errorf("mu = %g: %s at %g (%s); a plateau's certificate: %v", mu, s.Status, s.Final.Value, s.Reason, plateau)
		}
		if mu == 0 && (s.Noise == nil || s.Noise.Mu < 1e-2) {
			t.Errorf("noise estimate %+v; want the terraces found and the step across them", s.Noise)
		}
	}
}

// valley is a narrow curved valley in a, b (Rosenbrock's, minimum 0 at
// a = b = 1) and a log-scale rate (best at 1e-2), plus noise of ±5e-5
// keyed on the parameters, as a simulator with adaptive time steps gives.
func valley(p map[string]float64) float64 {
	r := math.Log10(p["rate"])
	v := (p["a"]-1)*(p["a"]-1) + 10*(p["b"]-p["a"]*p["a"])*(p["b"]-p["a"]*p["a"]) + (r+2)*(r+2)
	return v + 1e-4*(roughNoise(map[string]float64{"x1": p["a"], "x2": p["b"], "x3": p["rate"]})/2)
}

// In a narrow valley the step the noise calls for, taken with the typical
// |f‴| of the rule, is too wide: its differences are mostly truncation
// error, and the line search stalls far above the noise (at 0.01, tried
// from outside with a Python simulator of this shape). The study then
// shrinks the step, and goes on to the noise floor.
func TestNoisyNarrowValley(t *testing.T) {
	h := handler(func(_ context.Context, task *wire.Task) wire.Reply { return wire.Reply{Value: valley(task.Params)} })
	sc := testStudy("direct", 3000)
	sc.Params = []Param{
		{Name: "a", Min: -2, Max: 2, Scale: "linear"}, {Name: "b", Min: -2, Max: 2, Scale: "linear"},
		{Name: "rate", Min: 1e-5, Max: 1, Scale: "log"},
	}
	s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(h)})
	if err != nil || s.Final == nil {
		t.Fatalf("%v, %+v", err, s)
	}
	t.Logf("%s after %d evaluations at %g, noise %+v (%s)", s.Status, s.Spent, s.Final.Value, s.Noise, s.Reason)
	if s.Final.Value > 1e-3 || s.Noise == nil || s.Noise.Level == 0 {
		t.Errorf("%s at %g with noise %+v; want below 1e-3, the noise found", s.Status, s.Final.Value, s.Noise)
	}
}

// rosenbrock3 answers with the 3-d Rosenbrock function, whose curved
// valley takes many descent steps.
var rosenbrock3 = handler(func(_ context.Context, task *wire.Task) wire.Reply {
	x := []float64{task.Params["x1"], task.Params["x2"], task.Params["x3"]}
	f := 0.0
	for i := range 2 {
		f += 100*(x[i+1]-x[i]*x[i])*(x[i+1]-x[i]*x[i]) + (1-x[i])*(1-x[i])
	}
	return wire.Reply{Value: f}
})

// speculate = true sends the next gradient's stencil with each line
// search: on Rosenbrock's valley the study ends at the same point with the
// same value, in fewer rounds, for more evaluations.
func TestSpeculate(t *testing.T) {
	run := func(spec bool) *Summary {
		sc := testStudy("direct", 5000)
		sc.Speculate = spec
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(rosenbrock3)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	plain, spec := run(false), run(true)
	if plain.Status != string(zo.StatusConverged) || spec.Status != plain.Status {
		t.Fatalf("status %s, %s with speculation", plain.Status, spec.Status)
	}
	if !reflect.DeepEqual(plain.Final.Params, spec.Final.Params) || plain.Final.Value != spec.Final.Value {
		t.Errorf("speculation moved the end: %+v, plain %+v", spec.Final, plain.Final)
	}
	if spec.Rounds >= plain.Rounds || spec.Spent <= plain.Spent {
		t.Errorf("speculation: %d rounds and %d evaluations, plain %d and %d; want fewer rounds, more evaluations", spec.Rounds, spec.Spent, plain.Rounds, plain.Spent)
	}
	t.Logf("rounds %d → %d, evaluations %d → %d", plain.Rounds, spec.Rounds, plain.Spent, spec.Spent)
}
