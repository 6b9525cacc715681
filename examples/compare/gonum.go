package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/zotune/zotune/examples/internal/tracer"
	"gonum.org/v1/gonum/optimize"
)

func init() {
	gonumRunners = func(p problem, target float64, budget int, seed uint64, limit time.Duration) []result {
		d := p.d
		nm := runGonum(&optimize.NelderMead{}, func(n int) int {
			if n <= d+1 {
				return 1
			}
			return n - d
		}, p, target, budget, limit)
		nm.method = "gonum NelderMead"
		pop := 4 + int(math.Floor(3*math.Log(float64(d))))
		cma := runGonum(&optimize.CmaEsChol{Population: pop, Src: rand.NewPCG(seed, 2)}, func(n int) int {
			return (n + pop - 1) / pop
		}, p, target, budget, limit)
		cma.method = fmt.Sprintf("gonum CmaEsChol (pop %d)", pop)
		return []result{nm, cma}
	}
}

// runGonum runs a gonum method; roundOf maps the n-th evaluation (1-based)
// to its round. A positive limit caps the run's wall-clock time (gonum's
// Settings.Runtime; the run then ends with status RuntimeLimit).
func runGonum(m optimize.Method, roundOf func(n int) int, p problem, target float64, budget int, limit time.Duration) result {
	tr := tracer.New(func(x []float64, _ int) float64 { return p.f(x) }, nil, tracer.Below(target))
	start := time.Now()
	fn := func(x []float64) float64 {
		if tr.Queries >= budget {
			// gonum checks FuncEvaluations between iterations; values past
			// the budget are not counted.
			return math.Inf(1)
		}
		tr.Rounds = roundOf(tr.Queries + 1)
		v := p.f(x)
		tr.Record(x, v)
		return v
	}
	x0 := append([]float64(nil), p.x0...)
	res, err := optimize.Minimize(optimize.Problem{Func: fn}, x0, &optimize.Settings{
		FuncEvaluations: budget,
		Runtime:         limit,
		Converger:       &optimize.FunctionConverge{Absolute: 1e-12, Iterations: budget},
	}, m)
	note := ""
	if res != nil {
		note = res.Status.String()
	}
	if err != nil {
		note += " (" + err.Error() + ")"
	}
	return result{hitQ: tr.HitQ, hitR: tr.HitR, best: tr.Best, queries: tr.Queries, rounds: tr.Rounds, note: note, elapsed: time.Since(start)}
}
