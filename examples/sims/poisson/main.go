// Command poisson is an example simulator for zotune with an integer, a
// categorical and a continuous parameter and two objectives: a small
// numerics code whose refinement and solver trade accuracy against cost.
//
// It solves the 1-D Poisson problem
//
//	−u″(x) = f(x) on (0, 1),  u(0) = u(1) = 0,
//
// with f chosen so that u(x) = sin(πx) + 0.3 sin(7πx), by second-order
// finite differences on n interior points, the linear system solved by an
// iterative smoother until the residual falls 1e6-fold or -max-sweeps
// sweeps are spent. Parameters (the names in the request's params):
//
//	n       interior grid points, an integer (sensible: 8 … 256, log scale)
//	solver  "jacobi" (damped, weight ω/2), "gauss-seidel" or "sor" (over-relaxation ω)
//	omega   the relaxation ω (sensible: 0.5 … 1.95); Gauss–Seidel ignores it
//
// Two objectives, both on log scales, are in the answer:
//
//	log10_error  log₁₀ of the largest error against u at the grid points
//	             (discretisation, about h², plus what the solver left)
//	log10_cost   log₁₀ of the work: sweeps × n point updates
//
// and "value" is log10_error. A finer grid lowers the discretisation error
// but needs more sweeps of more points; Jacobi and Gauss–Seidel need about
// n² sweeps and SOR with a good ω about n, so the best solver and ω change
// with n, and no one setting is best for both objectives: a Pareto front.
//
// Usage:
//
//	poisson [-max-sweeps 20000] [-stdio]
//
// The request and answer are those of the other examples (see
// examples/sims/README.md); the solver arrives as a string. The seed is
// not used: the simulation is deterministic.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"

	"github.com/zotune/zotune/examples/sims/simio"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// exact is the solution u and source is f = −u″.
func exact(x float64) float64 { return math.Sin(math.Pi*x) + 0.3*math.Sin(7*math.Pi*x) }

func source(x float64) float64 {
	return math.Pi*math.Pi*math.Sin(math.Pi*x) + 0.3*49*math.Pi*math.Pi*math.Sin(7*math.Pi*x)
}

// solution is what one solve gives.
type solution struct {
	err    float64 // largest error at the grid points
	sweeps int
	// work is the sweeps as a real number: the last sweep counted by the
	// fraction of its (geometric) residual drop needed to reach the
	// tolerance, so that the cost varies smoothly with ω rather than in
	// whole sweeps.
	work float64
}

// solve discretises on n interior points and sweeps with the solver until
// the residual's max norm falls 1e6-fold or maxSweeps are spent.
func solve(n int, solver string, omega float64, maxSweeps int) solution {
	h := 1 / float64(n+1)
	u, f := make([]float64, n+2), make([]float64, n+2) // with the boundary zeros
	for i := 1; i <= n; i++ {
		f[i] = h * h * source(float64(i)*h)
	}
	r0 := residual(u, f)
	tol := 1e-6 * r0
	next := make([]float64, n+2)
	sweeps, work := 0, 0.0
	for r := r0; sweeps < maxSweeps && r > tol; sweeps++ {
		switch solver {
		case "jacobi":
			w := omega / 2
			for i := 1; i <= n; i++ {
				next[i] = (1-w)*u[i] + w*(u[i-1]+u[i+1]+f[i])/2
			}
			u, next = next, u
		default: // Gauss–Seidel is SOR with ω = 1
			w := omega
			if solver == "gauss-seidel" {
				w = 1
			}
			for i := 1; i <= n; i++ {
				u[i] = (1-w)*u[i] + w*(u[i-1]+u[i+1]+f[i])/2
			}
		}
		prev := r
		r = residual(u, f)
		work++
		if r <= tol && prev > r {
			work -= 1 - math.Log(prev/tol)/math.Log(prev/r)
		}
	}
	e := 0.0
	for i := 1; i <= n; i++ {
		e = math.Max(e, math.Abs(u[i]-exact(float64(i)*h)))
	}
	return solution{err: e, sweeps: sweeps, work: work}
}

// residual is the max norm of f − A u (A the scaled second difference).
func residual(u, f []float64) float64 {
	r := 0.0
	for i := 1; i < len(u)-1; i++ {
		r = math.Max(r, math.Abs(f[i]-(2*u[i]-u[i-1]-u[i+1])))
	}
	return r
}

// answer evaluates one request.
func answer(maxSweeps int) simio.Answer {
	return func(req simio.Request) (string, error) {
		nf, ok1 := req.Params["n"]
		omega, ok2 := req.Params["omega"]
		solver, ok3 := req.Labels["solver"]
		switch {
		case !ok1 || !ok2 || !ok3:
			return "", fmt.Errorf("%w: want params n (integer), solver (string) and omega", simio.ErrInput)
		case nf != math.Trunc(nf) || nf < 1 || nf > 1<<16:
			return "", fmt.Errorf("%w: n = %v is not an integer in [1, 65536]", simio.ErrInput, nf)
		case solver != "jacobi" && solver != "gauss-seidel" && solver != "sor":
			return "", fmt.Errorf("%w: solver %q: want jacobi, gauss-seidel or sor", simio.ErrInput, solver)
		case !(omega > 0 && omega < 2):
			return "", fmt.Errorf("%w: omega = %v is not in (0, 2)", simio.ErrInput, omega)
		}
		n := int(nf)
		s := solve(n, solver, omega, maxSweeps)
		le := math.Log10(s.err)
		cost := math.Log10(math.Max(s.work, 1) * float64(n))
		f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
		return fmt.Sprintf(`{"value":%s,"log10_error":%s,"log10_cost":%s,"sweeps":%d}`, f(le), f(le), f(cost), s.sweeps), nil
	}
}

// run is main with its inputs and outputs as arguments; it returns the
// exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("poisson", flag.ContinueOnError)
	fs.SetOutput(stderr)
	maxSweeps := fs.Int("max-sweeps", 20000, "the most smoother sweeps of one solve")
	stdio := fs.Bool("stdio", false, "serve one request per line on stdin, one answer per line on stdout")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || *maxSweeps < 1 {
		fmt.Fprintln(stderr, "poisson: usage: poisson [-max-sweeps N] [-stdio]")
		return 2
	}
	return simio.Run("poisson", *stdio, stdin, stdout, stderr, getenv, answer(*maxSweeps))
}
