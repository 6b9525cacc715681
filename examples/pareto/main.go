// Command pareto measures zotune's multi-objective search (package
// pareto's MGDA, as a study with several objectives runs it) on
// bi-objective problems with a known Pareto front: the hypervolume of the
// non-dominated set of every point evaluated, against the true front's,
// at several budgets and seeds. nsga2.py runs Optuna's NSGA-II on the same
// problems and budgets for comparison (a benchmark aid; zotune does not
// depend on it).
//
// Usage:
//
//	go run ./examples/pareto [-budgets 500,2000,8000] [-seeds 5]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"

	"github.com/zotune/zotune/examples/internal/spread"
	"github.com/zotune/zotune/multistart"
	"github.com/zotune/zotune/pareto"
	"github.com/zotune/zotune/study"
	"github.com/zotune/zotune/zo"
)

// problem is a bi-objective problem on a box with a known front.
type problem struct {
	name string
	d    int
	box  zo.Box
	f    func(x []float64) (float64, float64)
	// front samples the true Pareto front densely.
	front func() [][2]float64
	ref   [2]float64 // the hypervolume's reference point
}

// bowls is f₁ = ‖x − a‖², f₂ = ‖x − b‖² on [−2, 2]^d with a = (0.5, 0, …),
// b = (−0.5, 0.5, 0, …): the front is the segment's image,
// (s²L², (1 − s)²L²), L = ‖a − b‖.
func bowls(d int) problem {
	a, b := make([]float64, d), make([]float64, d)
	a[0], b[0], b[1] = 0.5, -0.5, 0.5
	l2 := 1.25
	return problem{
		name: fmt.Sprintf("two bowls, d = %d", d), d: d, box: zo.Cube(d, -2, 2),
		f: func(x []float64) (float64, float64) {
			f1, f2 := 0.0, 0.0
			for i := range x {
				f1 += (x[i] - a[i]) * (x[i] - a[i])
				f2 += (x[i] - b[i]) * (x[i] - b[i])
			}
			return f1, f2
		},
		front: func() [][2]float64 {
			var pts [][2]float64
			for k := 0; k <= 10000; k++ {
				s := float64(k) / 10000
				pts = append(pts, [2]float64{s * s * l2, (1 - s) * (1 - s) * l2})
			}
			return pts
		},
		ref: [2]float64{2 * l2, 2 * l2},
	}
}

// zdt1 is ZDT1 (Zitzler, Deb & Thiele 2000) on [0, 1]^d: f₁ = x₁,
// f₂ = g(1 − √(x₁/g)), g = 1 + 9 Σᵢ₌₂ xᵢ/(d − 1); the front is g = 1,
// f₂ = 1 − √f₁.
func zdt1(d int) problem {
	return problem{
		name: fmt.Sprintf("ZDT1, d = %d", d), d: d, box: zo.Cube(d, 0, 1),
		f: func(x []float64) (float64, float64) {
			g := 0.0
			for _, v := range x[1:] {
				g += v
			}
			g = 1 + 9*g/float64(len(x)-1)
			return x[0], g * (1 - math.Sqrt(x[0]/g))
		},
		front: func() [][2]float64 {
			var pts [][2]float64
			for k := 0; k <= 10000; k++ {
				f1 := float64(k) / 10000
				pts = append(pts, [2]float64{f1, 1 - math.Sqrt(f1)})
			}
			return pts
		},
		ref: [2]float64{1.1, 1.1},
	}
}

// oracle evaluates a problem, keeps every point's objectives and counts
// rounds, up to a budget.
type oracle struct {
	p      problem
	pts    [][2]float64
	rounds int
}

func (o *oracle) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	o.rounds++
	out := make([]zo.Result, len(batch))
	for i, q := range batch {
		f1, f2 := o.p.f(q.X)
		o.pts = append(o.pts, [2]float64{f1, f2})
		out[i] = zo.Result{Value: f1, Values: []float64{f2}}
	}
	return out, nil
}

// run is one multi-objective search as a study runs it: an MGDA run from
// the centre of the box and weighted runs (with -weighted) from the points
// of a Latin hypercube drawn from seed.
func run(p problem, budget int, seed uint64) (hv float64, evals, rounds int, converged string) {
	o := &oracle{p: p}
	n := *population
	x0 := make([]float64, p.d)
	for i := range x0 {
		x0[i] = (p.box.Lower[i] + p.box.Upper[i]) / 2
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	starts := multistart.LatinHypercube(n, p.box, rng)
	m := &pareto.Method{Objectives: 2, Epsilon: 1e-3, Starts: starts}
	if *weighted {
		m.Weights = append([][]float64{nil}, pareto.SpreadWeights(n, 2, rng)...)
	}
	out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: o, Max: budget}, zo.Problem{X0: x0, Box: p.box})
	if err != nil {
		log.Fatal(err)
	}
	c := 0
	for _, r := range out.Runs {
		if r.Status == zo.StatusConverged {
			c++
		}
	}
	return pareto.Hypervolume2(o.pts, p.ref), len(o.pts), o.rounds, fmt.Sprintf("%d/%d", c, len(out.Runs))
}

var (
	weighted   = flag.Bool("weighted", true, "spread weights over the walkers after the first (pareto.Method.Weights)")
	population = flag.Int("population", study.DefaultPopulation, "runs besides the start point's (a study's explore)")
)

func main() {
	budgetsFlag := flag.String("budgets", "500,2000,8000", "comma-separated evaluation budgets")
	seeds := flag.Int("seeds", 5, "seeds 1…N")
	flag.Parse()
	var budgets []int
	for _, s := range strings.Split(*budgetsFlag, ",") {
		b, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || b < 1 {
			log.Fatalf("bad budget %q", s)
		}
		budgets = append(budgets, b)
	}
	fmt.Println("| problem | budget | true front's HV | zotune HV (median [min–max]) | ÷ true | evaluations used | rounds | runs converged (median) |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, p := range []problem{bowls(5), bowls(20), zdt1(10), zdt1(30)} {
		truth := pareto.Hypervolume2(p.front(), p.ref)
		for _, b := range budgets {
			var hvs []float64
			var used, rounds []int
			var conv []string
			for s := 1; s <= *seeds; s++ {
				hv, e, r, c := run(p, b, uint64(s))
				hvs, used, rounds, conv = append(hvs, hv), append(used, e), append(rounds, r), append(conv, c)
			}
			lo, hi := slices.Min(hvs), slices.Max(hvs)
			med := spread.Median(hvs)
			fmt.Printf("| %s | %d | %.4f | %.4f [%.4f–%.4f] | %.3f | %s | %s | %s |\n", p.name, b, truth, med, lo, hi, med/truth, spread.Ints(used), spread.Ints(rounds), conv[len(conv)/2])
		}
	}
}
