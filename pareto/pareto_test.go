package pareto

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/zotune/zotune/zo"
)

func TestMinNorm(t *testing.T) {
	for _, tc := range []struct {
		name string
		g    [][]float64
		d    []float64
	}{
		{"orthogonal pair", [][]float64{{1, 0}, {0, 1}}, []float64{0.5, 0.5}},
		{"one dominates", [][]float64{{1, 0}, {3, 0}}, []float64{1, 0}},
		{"opposed: stationary", [][]float64{{1, 2}, {-1, -2}}, []float64{0, 0}},
		{"three around 0", [][]float64{{1, 0}, {0, 1}, {-1, -1}}, []float64{0, 0}},
		{"three, one inside", [][]float64{{2, 0}, {0, 2}, {1, 1}}, []float64{1, 1}},
	} {
		alpha, d := minNorm(tc.g)
		sum := 0.0
		for _, a := range alpha {
			sum += a
			if a < 0 {
				t.Errorf("%s: negative weight in %v", tc.name, alpha)
			}
		}
		if math.Abs(sum-1) > 1e-9 || math.Hypot(d[0]-tc.d[0], d[1]-tc.d[1]) > 1e-3 {
			t.Errorf("%s: α = %v, d = %v; want d = %v", tc.name, alpha, d, tc.d)
		}
		// The min-norm property: gⱼᵀd ≥ ‖d‖² for every j.
		for j, g := range tc.g {
			if dot(g, d) < dot(d, d)-1e-3 {
				t.Errorf("%s: g%d·d = %g < ‖d‖² = %g", tc.name, j, dot(g, d), dot(d, d))
			}
		}
	}
}

func TestFront(t *testing.T) {
	var fr Front[string]
	for _, p := range []struct {
		f    []float64
		name string
		in   bool
	}{
		{[]float64{3, 3}, "a", true},
		{[]float64{1, 4}, "b", true},
		{[]float64{3, 3}, "a again", false}, // equal: the first stays
		{[]float64{4, 4}, "dominated", false},
		{[]float64{2, 2}, "c", true}, // drops a
		{[]float64{4, 1}, "d", true},
	} {
		if got := fr.Add(p.f, p.name); got != p.in {
			t.Errorf("Add(%v) = %v, want %v", p.f, got, p.in)
		}
	}
	var names []string
	for _, it := range fr.Items() {
		names = append(names, it.Payload)
	}
	if len(names) != 3 || names[0] != "b" || names[1] != "c" || names[2] != "d" {
		t.Errorf("front %v, want [b c d]", names)
	}
}

// twoBowls answers f₁ = ‖x − a‖² and f₂ = ‖x − b‖², whose Pareto set is
// the segment [a, b], and counts its evaluations.
type twoBowls struct {
	a, b  []float64
	evals int
}

func (o *twoBowls) Evaluate(_ context.Context, batch []zo.Query) ([]zo.Result, error) {
	out := make([]zo.Result, len(batch))
	for k, q := range batch {
		f1, f2 := 0.0, 0.0
		for i, x := range q.X {
			f1 += (x - o.a[i]) * (x - o.a[i])
			f2 += (x - o.b[i]) * (x - o.b[i])
		}
		out[k] = zo.Result{Value: f1, Values: []float64{f2}}
	}
	o.evals += len(batch)
	return out, nil
}

// distToSegment is the distance from x to the segment [a, b].
func distToSegment(x, a, b []float64) float64 {
	ab, ax := 0.0, 0.0
	for i := range x {
		ab += (b[i] - a[i]) * (b[i] - a[i])
		ax += (x[i] - a[i]) * (b[i] - a[i])
	}
	s := math.Min(math.Max(ax/ab, 0), 1)
	d := 0.0
	for i := range x {
		p := a[i] + s*(b[i]-a[i])
		d += (x[i] - p) * (x[i] - p)
	}
	return math.Sqrt(d)
}

// From eight spread start points in 5-d, every walker of MGDA ends
// Pareto-stationary, on the segment between the two minima, and the
// walkers end at different points of it (a front, not one point).
func TestMGDATwoBowls(t *testing.T) {
	const d = 5
	o := &twoBowls{a: []float64{0.5, 0.5, 0, 0, -1}, b: []float64{-0.5, 1, 0.5, 0, 1}}
	rng := rand.New(rand.NewPCG(1, 2))
	var starts [][]float64
	for range 7 {
		x := make([]float64, d)
		for i := range x {
			x[i] = 4*rng.Float64() - 2
		}
		starts = append(starts, x)
	}
	m := &Method{Objectives: 2, Epsilon: 1e-4, Starts: starts}
	box := zo.Cube(d, -2, 2)
	out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: o, Max: 50000}, zo.Problem{X0: make([]float64, d), Box: box})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s after %d iterations, %d evaluations: %s", out.Status, out.Iterations, o.evals, out.Reason)
	if out.Status != zo.StatusConverged || len(out.Front) != 8 {
		t.Fatalf("%s with %d end points; want converged with 8", out.Status, len(out.Front))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, x := range out.Front {
		if dist := distToSegment(x, o.a, o.b); dist > 1e-3 {
			t.Errorf("end point %v is %g from the Pareto set", x, dist)
		}
		// Pareto-stationary by the true gradients 2(x − a) and 2(x − b):
		// their least-norm convex combination is within the estimate's
		// ε (plus the differences' error).
		g1, g2 := make([]float64, d), make([]float64, d)
		for i := range x {
			g1[i], g2[i] = 2*(x[i]-o.a[i]), 2*(x[i]-o.b[i])
		}
		if _, dt := minNorm([][]float64{g1, g2}); norm(dt) > 2*m.Epsilon {
			t.Errorf("end point %v: the true gradients' least-norm combination has norm %g > 2ε", x, norm(dt))
		}
		f1 := 0.0
		for i := range x {
			f1 += (x[i] - o.a[i]) * (x[i] - o.a[i])
		}
		lo, hi = math.Min(lo, f1), math.Max(hi, f1)
	}
	if hi-lo < 0.1 {
		t.Errorf("the end points span f₁ ∈ [%g, %g]: not a front", lo, hi)
	}
}

// saddleLine answers f₁ = q(x₁) + x₂² and f₂ = q(x₁) + (x₂ − 1)² with
// q(a) = −a²/2 + a⁴/4: both objectives have a saddle in x₁ along the line
// x₁ = 0, where their x₂ gradients oppose, so the points (0, y), y ∈ [0, 1],
// are Pareto-stationary saddles; the Pareto set is x₁ = ±1.
type saddleLine struct{}

func (saddleLine) Evaluate(_ context.Context, batch []zo.Query) ([]zo.Result, error) {
	out := make([]zo.Result, len(batch))
	for k, q := range batch {
		a, y := q.X[0], q.X[1]
		qa := -a*a/2 + a*a*a*a/4
		out[k] = zo.Result{Value: qa + y*y, Values: []float64{qa + (y-1)*(y-1)}}
	}
	return out, nil
}

// MGDA has no curvature finding: a walker started on the saddle line ends
// there, Pareto-stationary and not Pareto-optimal; one started off it
// reaches the Pareto set. The spread of start points, not curvature, is
// what keeps a population off such points (see Method).
func TestMGDAStopsAtCommonSaddle(t *testing.T) {
	m := &Method{Objectives: 2, Epsilon: 1e-4, Starts: [][]float64{{0.3, 0.5}}}
	out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: saddleLine{}, Max: 20000}, zo.Problem{X0: []float64{0, 0.5}, Box: zo.Cube(2, -2, 2)})
	if err != nil {
		t.Fatal(err)
	}
	if out.Status != zo.StatusConverged {
		t.Fatalf("%s: %s", out.Status, out.Reason)
	}
	if on, off := out.Front[0], out.Front[1]; on[0] != 0 || math.Abs(off[0]-1) > 1e-3 {
		t.Errorf("ends %v (from the saddle line) and %v (from off it); want x₁ = 0 and x₁ = 1", on, off)
	}
}

// firstInt makes coordinate 0 of a box an integer in [−3, 3].
type firstInt struct{}

func (firstInt) Discrete(i int) bool            { return i == 0 }
func (firstInt) Round(_ int, t float64) float64 { return math.Round(t) }
func (firstInt) Neighbours(_ int, t float64) (float64, float64) {
	return math.Max(t-1, -3), math.Min(t+1, 3)
}

// mixedBowls: f₁ = 5(n − 0.2)² + y², f₂ = 5(n − 0.1)² + (y − 1)², n an
// integer. At n = 0 neither neighbour dominates, and y ∈ [0, 1] is
// Pareto-stationary: a walker started at (0, 0.5) ends converged there,
// the integer's large differences kept out of the continuous direction.
type mixedBowls struct{}

func (mixedBowls) Evaluate(_ context.Context, batch []zo.Query) ([]zo.Result, error) {
	out := make([]zo.Result, len(batch))
	for k, q := range batch {
		n, y := q.X[0], q.X[1]
		out[k] = zo.Result{Value: 5*(n-0.2)*(n-0.2) + y*y, Values: []float64{5*(n-0.1)*(n-0.1) + (y-1)*(y-1)}}
	}
	return out, nil
}

func TestMGDALattice(t *testing.T) {
	box := zo.Cube(2, -3, 3)
	box.Lattice = firstInt{}
	m := &Method{Objectives: 2, Epsilon: 1e-4, Starts: [][]float64{{2, -2}}}
	out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: mixedBowls{}, Max: 20000}, zo.Problem{X0: []float64{0, 0.5}, Box: box})
	if err != nil {
		t.Fatal(err)
	}
	for k, x := range out.Front {
		if out.Runs[k].Status != zo.StatusConverged || x[0] != 0 || x[1] < -1e-3 || x[1] > 1+1e-3 {
			t.Errorf("run %d: %s at %v (%s); want converged at n = 0, y in [0, 1]", k, out.Runs[k].Status, x, out.Runs[k].Reason)
		}
	}
}

// The hypervolume of a staircase, by hand: points (1, 3), (2, 2), (3, 1)
// and a dominated (3, 3), reference (4, 4): 3·1 + 2·1 + 1·1 = 6; points
// outside the reference count nothing.
func TestHypervolume2(t *testing.T) {
	pts := [][2]float64{{3, 1}, {3, 3}, {1, 3}, {2, 2}, {5, 0}}
	if got := Hypervolume2(pts, [2]float64{4, 4}); got != 6 {
		t.Errorf("hypervolume %g, want 6", got)
	}
}
