// Command paper reruns the octopus experiment of Zhang, Xiong & Gu,
// "Zeroth-Order Negative Curvature Finding: Escaping Saddle Points without
// Gradients" (NeurIPS 2022): ZO-GD-NCF (zo-gd with the Lanczos finder)
// against the baselines ZPSGD, PAGD and RSPI on the octopus function of Du et
// al. (2017) for growing d, plotting the best value found against function
// queries. A second, smaller experiment compares the stochastic variants
// (zo-sgd, zo-scsg, zo-spider with Lanczos) with ZPSGD on a noisy rotated
// quartic.
//
// Usage:
//
//	go run ./examples/paper [-dims 2,4,6,8,10,15,20] [-budget 100000] [-seed 1] [-seeds 10] [-out docs]
//
// It prints Markdown tables to standard output and writes one PNG per
// dimension to OUT/img/paper-octopus-dD.png.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"image/color"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"

	"github.com/zotune/zotune/examples/internal/spread"
	"github.com/zotune/zotune/examples/internal/tracer"
	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/zo"
	"github.com/zotune/zotune/zo/functions"
)

// run is one optimizer run and what it cost.
type run struct {
	name    string
	tr      *tracer.Tracer
	out     *zo.Outcome
	err     error
	elapsed time.Duration
}

// minimize runs method name with finder f on problem p under a query budget.
func minimize(name string, s zo.Settings, f zo.Finder, seed uint64, p zo.Problem, tr *tracer.Tracer, budget int) run {
	start := time.Now()
	m, err := zo.NewMethod(name, s, f, rand.New(rand.NewPCG(seed, 1)))
	if err != nil {
		return run{name: name, tr: tr, err: err}
	}
	out, err := m.Minimize(context.Background(), &zo.Budget{Oracle: tr, Max: budget}, p)
	if errors.Is(err, zo.ErrBudget) {
		err = nil
	}
	return run{name: name, tr: tr, out: out, err: err, elapsed: time.Since(start)}
}

func parseDims(s string) ([]int, error) {
	var ds []int
	for _, f := range strings.Split(s, ",") {
		d, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || d < 1 {
			return nil, fmt.Errorf("bad dimension %q", f)
		}
		ds = append(ds, d)
	}
	return ds, nil
}

func main() {
	dimsFlag := flag.String("dims", "2,4,6,8,10,15,20", "comma-separated dimensions of the octopus")
	budget := flag.Int("budget", 100000, "query budget per run (octopus)")
	noisyBudget := flag.Int("noisy-budget", 40000, "query budget per run (noisy quartic)")
	outDir := flag.String("out", "docs", "directory for img/paper-*.png")
	seed := flag.Uint64("seed", 1, "random seed of the methods")
	seeds := flag.Int("seeds", 10, "number of seeds (seed, seed+1, …) in the octopus statistics table")
	flag.Parse()
	if *seeds < 1 {
		log.Fatal("-seeds must be at least 1")
	}
	dims, err := parseDims(*dimsFlag)
	if err != nil {
		log.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(*outDir, "img"), 0o755); err != nil {
		log.Fatal(err)
	}

	// Octopus, ZO-NCF settings.
	const eps, delta = 1e-4, 1e-2
	type method struct {
		label, name string
		finder      zo.Finder
	}
	methods := []method{
		{"zo-gd+lanczos (ZO-GD-NCF)", zo.MethodGD, negcurv.Lanczos{}},
		{"zpsgd", zo.MethodZPSGD, nil},
		{"pagd", zo.MethodPAGD, nil},
		{"rspi", zo.MethodRSPI, nil},
	}
	fmt.Printf("## Octopus (τ = L = e, γ = 1, start 0, box [−6τ, 6τ]^d, ε = %g, δ = %g, budget %d queries, seed %d)\n\n", eps, delta, *budget, *seed)
	fmt.Println("| d | f* = −dν | method | queries to basin | rounds to basin | best f at budget | basin at end | failed queries | queries used | status | time |")
	fmt.Println("|---|---|---|---|---|---|---|---|---|---|---|")
	for _, d := range dims {
		oc := functions.NewOctopus(d)
		p, fstar := octopusProblem(oc)
		var runs []run
		for _, m := range methods {
			tr := tracer.New(func(x []float64, _ int) float64 { return oc.Func(x) }, nil,
				func(x []float64, v float64) bool { return oc.Basin(x) == d || v <= fstar+1 })
			r := minimize(m.name, zo.Settings{Epsilon: eps, Delta: delta}, m.finder, *seed, p, tr, *budget)
			r.name = m.label
			runs = append(runs, r)
			status, basin := "error: "+fmt.Sprint(r.err), "—"
			if r.out != nil {
				status = string(r.out.Status)
				if r.out.Status == zo.StatusFailed && r.out.Reason != "" {
					status += " (" + strings.ReplaceAll(r.out.Reason, "|", "/") + ")"
				}
				basin = strconv.Itoa(oc.Basin(r.out.X))
			}
			fmt.Printf("| %d | %.2f | %s | %s | %s | %.4f | %s/%d | %d | %d | %s | %.1fs |\n",
				d, fstar, m.label, spread.Count(tr.HitQ), spread.Count(tr.HitR), tr.Best, basin, d, tr.Failed, tr.Queries, status, r.elapsed.Seconds())
		}
		file := filepath.Join(*outDir, "img", fmt.Sprintf("paper-octopus-d%d.png", d))
		if err := plotRuns(file, fmt.Sprintf("Octopus, d = %d (f* = %.1f)", d, fstar), runs, fstar); err != nil {
			log.Fatal(err)
		}
	}
	fmt.Println()

	// The same runs over several seeds: medians and ranges.
	fmt.Printf("## Octopus over %d seeds (%d…%d): queries and rounds to the basin, median [min–max] over the runs that reached it\n\n", *seeds, *seed, *seed+uint64(*seeds)-1)
	fmt.Println("| d | method | reached basin | queries to basin | rounds to basin | certified (converged) |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, d := range dims {
		oc := functions.NewOctopus(d)
		p, fstar := octopusProblem(oc)
		for _, m := range methods {
			var qs, rs []int
			certified := 0
			for k := range *seeds {
				tr := tracer.New(func(x []float64, _ int) float64 { return oc.Func(x) }, nil,
					func(x []float64, v float64) bool { return oc.Basin(x) == d || v <= fstar+1 })
				r := minimize(m.name, zo.Settings{Epsilon: eps, Delta: delta}, m.finder, *seed+uint64(k), p, tr, *budget)
				if tr.HitQ >= 0 {
					qs = append(qs, tr.HitQ)
					rs = append(rs, tr.HitR)
				}
				if r.out != nil && r.out.Status == zo.StatusConverged {
					certified++
				}
			}
			fmt.Printf("| %d | %s | %d/%d | %s | %s | %d/%d |\n", d, m.label, len(qs), *seeds, spread.Ints(qs), spread.Ints(rs), certified, *seeds)
		}
	}
	fmt.Println()

	// Stochastic variants on a noisy rotated quartic.
	const nd, nk, sigma, samples = 10, 2, 0.01, 8
	rq := functions.NewRotatedQuartic(nd, nk, rand.New(rand.NewPCG(7, 0)))
	noisy := functions.Noisy{F: rq, Sigma: sigma}
	lo, hi := make([]float64, nd), make([]float64, nd)
	for i := range lo {
		lo[i], hi[i] = -3, 3
	}
	np := zo.Problem{X0: rq.Start(), Box: zo.Box{Lower: lo, Upper: hi}}
	nstar := rq.Min()
	tol := 1e-2
	fmt.Printf("## Noisy rotated quartic (d = %d, k = %d, σ = %g, %d samples, box [−3, 3]^d, start at the saddle, f* = %g, budget %d, seed %d)\n\n",
		nd, nk, sigma, samples, nstar, *noisyBudget, *seed)
	fmt.Println("| method | queries to f* + 0.01 (true f) | rounds to it | true f at final X | best true f seen | queries used | status | time |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	nmethods := []method{
		{"zo-sgd+lanczos", zo.MethodSGD, negcurv.Lanczos{}},
		{"zo-scsg+lanczos", zo.MethodSCSG, negcurv.Lanczos{}},
		{"zo-spider+lanczos", zo.MethodSPIDER, negcurv.Lanczos{}},
		{"zpsgd", zo.MethodZPSGD, nil},
	}
	for _, m := range nmethods {
		tr := tracer.New(noisy.Eval, rq.Func, func(_ []float64, v float64) bool { return v <= nstar+tol })
		r := minimize(m.name, zo.Settings{Samples: samples}, m.finder, *seed, np, tr, *noisyBudget)
		status, final := "error: "+fmt.Sprint(r.err), math.NaN()
		if r.out != nil {
			status = string(r.out.Status)
			final = rq.Func(r.out.X)
		}
		fmt.Printf("| %s | %s | %s | %.5f | %.5f | %d | %s | %.1fs |\n",
			m.label, spread.Count(tr.HitQ), spread.Count(tr.HitR), final, tr.Best, tr.Queries, status, r.elapsed.Seconds())
	}
	fmt.Println()

	fmt.Printf("## Noisy rotated quartic over %d seeds (%d…%d): median [min–max] over the runs that reached f* + 0.01\n\n", *seeds, *seed, *seed+uint64(*seeds)-1)
	fmt.Println("| method | reached f* + 0.01 | queries to it | rounds to it | true f at final X (median) | certified (converged) |")
	fmt.Println("|---|---|---|---|---|---|")
	for _, m := range nmethods {
		var qs, rs []int
		var finals []float64
		certified := 0
		for k := range *seeds {
			tr := tracer.New(noisy.Eval, rq.Func, func(_ []float64, v float64) bool { return v <= nstar+tol })
			r := minimize(m.name, zo.Settings{Samples: samples}, m.finder, *seed+uint64(k), np, tr, *noisyBudget)
			if tr.HitQ >= 0 {
				qs, rs = append(qs, tr.HitQ), append(rs, tr.HitR)
			}
			if r.out != nil {
				finals = append(finals, rq.Func(r.out.X))
				if r.out.Status == zo.StatusConverged {
					certified++
				}
			}
		}
		med := "—"
		if len(finals) > 0 {
			med = fmt.Sprintf("%.5f", spread.Median(finals))
		}
		fmt.Printf("| %s | %d/%d | %s | %s | %s | %d/%d |\n", m.label, len(qs), *seeds, spread.Ints(qs), spread.Ints(rs), med, certified, *seeds)
	}
}

// octopusProblem is the experiment's problem on oc: start at the first
// saddle, box [−6τ, 6τ]^d; it also returns f*.
func octopusProblem(oc functions.Octopus) (zo.Problem, float64) {
	d := len(oc.Start())
	lo, hi := make([]float64, d), make([]float64, d)
	for i := range lo {
		lo[i], hi[i] = -6*oc.Tau, 6*oc.Tau
	}
	return zo.Problem{X0: oc.Start(), Box: zo.Box{Lower: lo, Upper: hi}}, oc.Min()
}

// plotRuns draws best f against queries for each run.
func plotRuns(file, title string, runs []run, fstar float64) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "function queries"
	p.Y.Label.Text = "best f found"
	p.Legend.Top = true
	p.X.Label.Text = "function queries (log scale)"
	p.X.Scale = plot.LogScale{}
	p.X.Tick.Marker = plot.LogTicks{Prec: -1}
	colors := []color.Color{
		color.RGBA{R: 0xd6, G: 0x27, B: 0x28, A: 0xff},
		color.RGBA{R: 0x1f, G: 0x77, B: 0xb4, A: 0xff},
		color.RGBA{R: 0x2c, G: 0xa0, B: 0x2c, A: 0xff},
		color.RGBA{R: 0x94, G: 0x67, B: 0xbd, A: 0xff},
	}
	for i, r := range runs {
		if len(r.tr.Trace) == 0 {
			continue
		}
		xy := make(plotter.XYs, len(r.tr.Trace))
		for j, pt := range r.tr.Trace {
			xy[j].X, xy[j].Y = float64(pt.Queries), pt.Best
		}
		l, err := plotter.NewLine(xy)
		if err != nil {
			return err
		}
		l.Color = colors[i%len(colors)]
		l.Width = vg.Points(1.5)
		if i > 0 {
			l.Dashes = []vg.Length{vg.Points(2 + 2*float64(i)), vg.Points(2)}
		}
		p.Add(l)
		p.Legend.Add(r.name, l)
	}
	ref := plotter.NewFunction(func(float64) float64 { return fstar })
	ref.Color = color.Gray{Y: 0x80}
	ref.Dashes = []vg.Length{vg.Points(1), vg.Points(3)}
	p.Add(ref)
	p.Legend.Add("f*", ref)
	c := vgimg.New(7*vg.Inch, 4.5*vg.Inch)
	p.Draw(draw.New(c))
	f, err := os.Create(file)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: c}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
