// Command compare runs zotune's optimizers, two of gonum's derivative-free
// methods (optimize.NelderMead and optimize.CmaEsChol) and the CMA-ES of the
// Python cmaes library (needs python3-cmaes) on saddle problems with the
// same start and the same query budget, and prints Markdown tables of
// queries and rounds to reach f* + tol and the best value at the budget.
//
// Usage:
//
//	go run ./examples/compare [-dims 10,20,50,100] [-budget 20000] [-rosenbrock=true] [-phase=true] [-seed 1] [-seeds 1] [-gonum-runtime 0] [-cmaes=true] [-cmaes-script path] [-cmaes-python path]
//
// Counting. A query is one function evaluation. A round is one batch of
// queries that could be evaluated in parallel: for zotune's methods, one call
// of Oracle.Evaluate; for NelderMead, its initial simplex (d+1 points) is one
// round and every later evaluation is its own round (a shrink step, whose d
// evaluations could be parallel, is counted sequentially); for CmaEsChol, a
// generation (its population, 4 + ⌊3 ln d⌋ points by default) is one round,
// so the n-th evaluation belongs to round ⌈n/population⌉.
//
// gonum. The gonum baselines (NelderMead, CmaEsChol) live in gonum.go.
//
// CMA-ES. With -cmaes (on by default) a further row runs the CMA-ES of the
// Python cmaes library (Debian package python3-cmaes), a maintained CMA-ES
// with restarts, as a yardstick: cmaes.go starts cmaes_driver.py with the
// first python3 that imports cmaes (on PATH, else /usr/bin/python3, or
// -cmaes-python) and exchanges one generation per JSON line. It starts at
// the same x0 with σ₀ = 0.5, the problem's box as bounds and the run's seed,
// and restarts from the best point found when the library says stop; one
// generation (4 + ⌊3 ln d⌋ points) is one round, and the last generation is
// cut at the budget. Without python3 or the cmaes module the row is skipped
// with a one-line message. zotune itself does not depend on it.
//
// Boxes. zotune's methods work in a box and never query outside it; gonum's
// methods are unconstrained and get the same function without a box; the
// CMA-ES row gets the box as its bounds (it resamples, then clips).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/zotune/zotune/examples/internal/spread"
	"github.com/zotune/zotune/examples/internal/tracer"
	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

// problem is one benchmark objective.
type problem struct {
	name  string
	d     int
	f     func([]float64) float64
	fstar float64
	x0    []float64
	box   zo.Box
}

func cube(d int, r float64) zo.Box {
	lo, hi := make([]float64, d), make([]float64, d)
	for i := range lo {
		lo[i], hi[i] = -r, r
	}
	return zo.Box{Lower: lo, Upper: hi}
}

func problems(d int, withRosen, withPhase, withHeld bool) []problem {
	rq := functions.NewRotatedQuartic(d, 2, rand.New(rand.NewPCG(uint64(d), 0)))
	gs := functions.GrowingSaddle{D: d}
	lo, hi := gs.Bounds()
	gbox := cube(d, 0)
	for i := range gbox.Lower {
		gbox.Lower[i], gbox.Upper[i] = lo, hi
	}
	ps := []problem{
		{"rotated quartic (k=2)", d, rq.Func, rq.Min(), rq.Start(), cube(d, 3)},
		{"growing saddle", d, gs.Func, gs.Min(), gs.Start(), gbox},
	}
	if withPhase {
		pr := functions.NewPhaseRetrieval(d, 10*d, rand.New(rand.NewPCG(uint64(d), 1)))
		r := 3.0
		for _, v := range pr.XStar {
			r = math.Max(r, 2*math.Abs(v))
		}
		ps = append(ps, problem{"phase retrieval (m=10d)", d, pr.Func, pr.Min(), pr.Start(), cube(d, r)})
	}
	if withRosen {
		rb := functions.Rosenbrock{D: d}
		ps = append(ps, problem{"Rosenbrock", d, rb.Func, rb.Min(), rb.Start(), cube(d, 5)})
	}
	if withHeld {
		ps = append(ps, heldOut(d)...)
	}
	return ps
}

// heldOut returns the rest of the project's problem set at dimension d:
// the separable quartic saddle, the octopus (d ≤ 20: its value drops by
// about 140 per saddle, and a chain of 50 saddles is a different test) and
// symmetric matrix factorisation with rank 2 (d even), each from its saddle
// at 0.
func heldOut(d int) []problem {
	sq := functions.NewSeparableQuartic(d, 2)
	ps := []problem{{"separable quartic (k=2)", d, sq.Func, sq.Min(), sq.Start(), cube(d, 3)}}
	if d <= 20 {
		oc := functions.NewOctopus(d)
		ps = append(ps, problem{"octopus", d, oc.Func, oc.Min(), oc.Start(), cube(d, 6*oc.Tau)})
	}
	if d%2 == 0 {
		mf := functions.NewMatrixFactorization(d/2, 2, rand.New(rand.NewPCG(uint64(d), 2)))
		r, u := 3.0, mf.Minimizer()
		for a := 0; a < len(u); a += 2 { // every U*O lies in the box: |(U*O)_ap| ≤ ‖row a‖
			r = math.Max(r, 2*math.Hypot(u[a], u[a+1]))
		}
		ps = append(ps, problem{"matrix factorisation (r=2)", d, mf.Func, mf.Min(), mf.Start(), cube(d, r)})
	}
	return ps
}

// result is one row of a table.
type result struct {
	method     string
	hitQ, hitR int
	// hitSlots are the rounds to the target on slotWidths evaluators (nil:
	// not counted, as for gonum's methods).
	hitSlots []int
	best     float64
	queries  int
	rounds   int
	note     string
	elapsed  time.Duration
}

func runZO(name string, set zo.Settings, f zo.Finder, p problem, target float64, budget int, seed uint64) result {
	tr := tracer.New(func(x []float64, _ int) float64 { return p.f(x) }, nil, tracer.Below(target)).WithSlots(slotWidths...)
	start := time.Now()
	note := ""
	m, err := zo.NewMethod(name, set, f, rand.New(rand.NewPCG(seed, 1)))
	if err == nil {
		var out *zo.Outcome
		out, err = m.Minimize(context.Background(), &zo.Budget{Oracle: tr, Max: budget}, zo.Problem{X0: p.x0, Box: p.box})
		if out != nil {
			note = string(out.Status)
		}
	}
	if err != nil && !errors.Is(err, zo.ErrBudget) {
		note = "error: " + err.Error()
	}
	return result{hitQ: tr.HitQ, hitR: tr.HitR, hitSlots: tr.HitSlot, best: tr.Best, queries: tr.Queries, rounds: tr.Rounds, note: note, elapsed: time.Since(start)}
}

// slotWidths are the fleet widths at which rounds to the target are also
// counted: a batch of n queries takes ⌈n/w⌉ rounds on w evaluators.
var slotWidths = []int{16, 64}

// slotCell is the "rounds on 16 / 64 slots" cell of a row: the medians of
// slots[k] over the seeds that reached the target, "—" for a row that does
// not count them (hit nil).
func slotCell(hit []int, slots [][]int) string {
	if hit == nil {
		return "—"
	}
	cells := make([]string, len(slots))
	for k, s := range slots {
		cells[k] = "—"
		if len(s) > 0 {
			fs := make([]float64, len(s))
			for j, v := range s {
				fs[j] = float64(v)
			}
			cells[k] = fmt.Sprintf("%g", spread.Median(fs))
		}
	}
	return strings.Join(cells, " / ")
}

// gonumRunners runs gonum's NelderMead and CmaEsChol on p; it is set by
// gonum.go.
var gonumRunners func(p problem, target float64, budget int, seed uint64, limit time.Duration) []result

func main() {
	dimsFlag := flag.String("dims", "10,20,50,100", "comma-separated dimensions")
	budget := flag.Int("budget", 20000, "query budget per run")
	seed := flag.Uint64("seed", 1, "random seed of the randomized methods")
	rosen := flag.Bool("rosenbrock", true, "include Rosenbrock")
	phase := flag.Bool("phase", true, "include phase retrieval")
	held := flag.Bool("held", false, "include the separable quartic, the octopus (d ≤ 20) and matrix factorisation (even d)")
	seeds := flag.Int("seeds", 1, "with N > 1, run every method with seeds seed…seed+N-1 and print medians and ranges instead of one seed's table")
	limit := flag.Duration("gonum-runtime", 0, "wall-clock cap per gonum run (0: none); CmaEsChol's O(d³) updates make d = 1000 slow")
	withCMAES := flag.Bool("cmaes", true, "include CMA-ES of the Python cmaes library (needs python3-cmaes)")
	flag.StringVar(&cmaesScript, "cmaes-script", "", "path of cmaes_driver.py (default: next to this command's source)")
	flag.StringVar(&cmaesWidth, "cmaes-pop", "default", "CMA-ES population: default (4 + ⌊3 ln d⌋), matched (as wide as "+matchedRow+"'s mean batch on the same problem and seed) or a number")
	pyFlag := flag.String("cmaes-python", "", "Python interpreter for the CMA-ES row (default: python3 on PATH, else /usr/bin/python3, whichever imports cmaes)")
	flag.Parse()
	if cmaesScript == "" {
		cmaesScript = defaultCMAESScript()
	}
	if *withCMAES {
		py, err := findCMAESPython(*pyFlag, cmaesScript)
		if err != nil {
			fmt.Printf("(CMA-ES row skipped: %v)\n\n", err)
			*withCMAES = false
		}
		cmaesPython = py
	}
	var dims []int
	for _, s := range strings.Split(*dimsFlag, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || d < 2 {
			log.Fatalf("bad dimension %q", s)
		}
		dims = append(dims, d)
	}
	type zoMethod struct {
		label, name string
		set         zo.Settings
		finder      zo.Finder
	}
	zms := []zoMethod{
		{"zo-gd+lanczos", zo.MethodGD, zo.Settings{}, negcurv.Lanczos{}},
		{"zo-gd+lanczos-adaptive", zo.MethodGD, zo.Settings{}, negcurv.Lanczos{Adaptive: true}},
		{"zo-gd+lanczos-adaptive+speculate", zo.MethodGD, zo.Settings{Speculate: true}, negcurv.Lanczos{Adaptive: true}},
		{"zo-spider+lanczos", zo.MethodSPIDER, zo.Settings{}, negcurv.Lanczos{}},
		{"pagd", zo.MethodPAGD, zo.Settings{}, nil},
		{"rspi", zo.MethodRSPI, zo.Settings{}, nil},
	}
	if gonumRunners == nil {
		fmt.Println("(gonum baselines not built in)")
		fmt.Println()
	}
	if *seeds < 1 {
		log.Fatal("-seeds must be at least 1")
	}
	if *seeds > 1 {
		fmt.Printf("Budget %d queries per run, seeds %d…%d, tol = 1e-3·max(1, |f*|).\n\n", *budget, *seed, *seed+uint64(*seeds)-1)
	} else {
		fmt.Printf("Budget %d queries per run, seed %d, tol = 1e-3·max(1, |f*|).\n\n", *budget, *seed)
	}
	for _, d := range dims {
		for _, p := range problems(d, *rosen, *phase, *held) {
			tol := 1e-3 * math.Max(1, math.Abs(p.fstar))
			target := p.fstar + tol
			if *seeds > 1 {
				fmt.Printf("### %s, d = %d (f* = %.4g, target f ≤ %.6g), %d seeds\n\n", p.name, d, p.fstar, target, *seeds)
				fmt.Println("| method | reached target | queries to target | rounds to target | rounds on 16 / 64 slots | best f at budget | stopped certified |")
				fmt.Println("|---|---|---|---|---|---|---|")
				var runs [][]result // runs[k][method]
				for k := range *seeds {
					sd := *seed + uint64(k)
					var rs []result
					for _, m := range zms {
						log.Printf("%s, d = %d, seed %d: %s", p.name, d, sd, m.label)
						r := runZO(m.name, m.set, m.finder, p, target, *budget, sd)
						r.method = m.label
						rs = append(rs, r)
					}
					if gonumRunners != nil {
						log.Printf("%s, d = %d, seed %d: gonum", p.name, d, sd)
						rs = append(rs, gonumRunners(p, target, *budget, sd, *limit)...)
					}
					if *withCMAES {
						log.Printf("%s, d = %d, seed %d: cmaes", p.name, d, sd)
						rs = append(rs, runCMAESAfter(rs, p, target, *budget, sd))
					}
					runs = append(runs, rs)
				}
				for i := range runs[0] {
					var qs, rs []int
					slots := make([][]int, len(slotWidths))
					var bests []float64
					certified := 0
					for _, row := range runs {
						r := row[i]
						if r.hitQ >= 0 {
							qs, rs = append(qs, r.hitQ), append(rs, r.hitR)
							for k := range r.hitSlots {
								slots[k] = append(slots[k], r.hitSlots[k])
							}
						}
						bests = append(bests, r.best)
						if r.note == string(zo.StatusConverged) {
							certified++
						}
					}
					fmt.Printf("| %s | %d/%d | %s | %s | %s | %s | %d/%d |\n", runs[0][i].method, len(qs), *seeds, spread.Ints(qs), spread.Ints(rs), slotCell(runs[0][i].hitSlots, slots), fmt.Sprintf("%.6g", spread.Median(bests)), certified, *seeds)
				}
				fmt.Println()
				continue
			}
			fmt.Printf("### %s, d = %d (f* = %.4g, target f ≤ %.6g)\n\n", p.name, d, p.fstar, target)
			fmt.Println("| method | queries to target | rounds to target | best f at budget | queries used | rounds used | end | time |")
			fmt.Println("|---|---|---|---|---|---|---|---|")
			var rs []result
			for _, m := range zms {
				log.Printf("%s, d = %d: %s", p.name, d, m.label)
				r := runZO(m.name, m.set, m.finder, p, target, *budget, *seed)
				r.method = m.label
				rs = append(rs, r)
			}
			if gonumRunners != nil {
				log.Printf("%s, d = %d: gonum", p.name, d)
				rs = append(rs, gonumRunners(p, target, *budget, *seed, *limit)...)
			}
			if *withCMAES {
				log.Printf("%s, d = %d: cmaes", p.name, d)
				rs = append(rs, runCMAESAfter(rs, p, target, *budget, *seed))
			}
			for _, r := range rs {
				fmt.Printf("| %s | %s | %s | %.6g | %d | %d | %s | %.1fs |\n",
					r.method, spread.Count(r.hitQ), spread.Count(r.hitR), r.best, r.queries, r.rounds, r.note, r.elapsed.Seconds())
			}
			fmt.Println()
		}
	}
}
