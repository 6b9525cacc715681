// Command quartic is an example simulator for zotune: the rotated quartic
// saddle
//
//	f(x) = g(Qx),   g(z) = ½ Σᵢ aᵢzᵢ² + ¼ Σᵢ zᵢ⁴,
//
// with aᵢ = −1 on the first k coordinates (-neg) and +1 on the others, and
// Q a random orthogonal d×d matrix fixed by -rotseed. The origin is a strict
// saddle (f = 0, gradient exactly 0, smallest Hessian eigenvalue −1 with
// multiplicity k); the minima are the points Qᵀz with zᵢ = ±1 on the first
// k coordinates and 0 elsewhere, where f* = −k/4. Because Q mixes the
// coordinates, searches that move one parameter at a time stall at the
// saddle. The parameters are named x1 … xd.
//
// The objective is deterministic: the seed is read but ignored, unless
// -noise σ > 0 adds σ·n(x, seed), a smooth random field drawn from the
// seed (a sum of K random Fourier features √(2/K) Σ cos(wₖᵀx/ℓ + bₖ) with
// wₖ standard normal and bₖ uniform on [0, 2π)). The same seed gives the
// same field, so nearby points with the same seed give nearby values, as a
// real simulator does with common random numbers; over seeds the noise has
// mean 0 and standard deviation σ.
//
// Q is the Q factor of a d×d matrix of standard normals drawn row by row
// from a PCG generator seeded (rotseed, 0), orthonormalised by modified
// Gram–Schmidt. The objective therefore equals that of zotune's test
// function zo/functions.NewRotatedQuartic(d, k, rand.New(rand.NewPCG(rotseed, 0)))
// and, with noise, functions.Noisy{F: …, Sigma: σ}.Eval(x, seed). It is
// written with the standard library only so that it can be copied as a
// template.
//
// Usage:
//
//	quartic [-dim 4] [-neg 1] [-rotseed 1] [-noise 0] [-sleep 0s] [-stdio]
//
// -sleep makes each evaluation take that much longer, sleeping (an
// expensive simulation that costs no CPU: for measuring how busy a fleet
// is kept, docs/benchmarks.md).
//
// One evaluation: standard input holds one JSON request
//
//	{"id": "demo/7", "study": "demo", "trial": "7", "seed": 7, "params": {"x1": 0.25, "x2": -1.5, ...}}
//
// and the last line of standard output is the answer {"id": "demo/7",
// "value": f}, echoing the request's id (an answer to a request without an
// id has none). If standard input is empty, the parameters are read from
// ZOTUNE_PARAMS (a JSON object of parameter values, or a whole request) and
// the seed from ZOTUNE_SEED. With -stdio the process stays up, reading one
// request per line and writing one answer line per request, in order; the
// id tells the evaluator which request an answer belongs to.
//
// Exit status: 0 on success; 1 if the value is not finite; 2 on a bad
// flag or a bad request (malformed JSON, a missing or unknown parameter),
// after a message on standard error. In -stdio mode a bad request also ends
// the process with status 2; the evaluator starts a fresh one.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/zotune/zotune/examples/sims/simio"
)

// noiseStream is the PCG stream of the noise field; the seed is the other word.
const noiseStream = 0x6e6f697365

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// quartic is the objective.
type quartic struct {
	d, k     int
	q        [][]float64 // rows of Q: z = Qx
	sigma    float64     // noise standard deviation
	length   float64     // noise length scale ℓ
	features int         // noise features K
}

// newQuartic builds the objective in dimension d with k negative
// directions and the rotation drawn from rotseed.
func newQuartic(d, k int, rotseed int64) *quartic {
	rng := rand.New(rand.NewPCG(uint64(rotseed), 0))
	a := make([][]float64, d)
	for i := range a {
		a[i] = make([]float64, d)
		for j := range a[i] {
			a[i][j] = rng.NormFloat64()
		}
	}
	// Modified Gram–Schmidt on the columns of a.
	cols := make([][]float64, d)
	for j := range d {
		v := make([]float64, d)
		for i := range d {
			v[i] = a[i][j]
		}
		for _, c := range cols[:j] {
			var dot float64
			for i := range v {
				dot += c[i] * v[i]
			}
			for i := range v {
				v[i] -= dot * c[i]
			}
		}
		var norm float64
		for _, vi := range v {
			norm += vi * vi
		}
		norm = math.Sqrt(norm)
		for i := range v {
			v[i] /= norm
		}
		cols[j] = v
	}
	q := make([][]float64, d)
	for i := range q {
		q[i] = make([]float64, d)
		for j := range d {
			q[i][j] = cols[j][i]
		}
	}
	return &quartic{d: d, k: k, q: q, length: 1, features: 16}
}

// value returns f(x) plus the seeded noise.
func (p *quartic) value(x []float64, seed int64) float64 {
	var f float64
	for i, row := range p.q {
		var z float64
		for j, qij := range row {
			z += qij * x[j]
		}
		a := 1.0
		if i < p.k {
			a = -1
		}
		z2 := z * z
		f += 0.5*a*z2 + 0.25*z2*z2
	}
	if p.sigma != 0 {
		f += p.sigma * p.noise(x, seed)
	}
	return f
}

// noise returns the unit-variance random Fourier feature field at x.
func (p *quartic) noise(x []float64, seed int64) float64 {
	rng := rand.New(rand.NewPCG(uint64(seed), noiseStream))
	var sum float64
	for range p.features {
		b := 2 * math.Pi * rng.Float64()
		var dot float64
		for _, xi := range x {
			dot += rng.NormFloat64() * xi
		}
		sum += math.Cos(dot/p.length + b)
	}
	return math.Sqrt(2/float64(p.features)) * sum
}

// minimizer returns the minimizer Qᵀz with zᵢ = +1 on the negative
// coordinates.
func (p *quartic) minimizer() []float64 {
	x := make([]float64, p.d)
	for i := range p.k {
		for j := range x {
			x[j] += p.q[i][j]
		}
	}
	return x
}

// evaluate checks the parameters and returns the answer line.
func (p *quartic) evaluate(params map[string]float64, seed int64) (string, error) {
	x := make([]float64, p.d)
	for i := range x {
		name := "x" + strconv.Itoa(i+1)
		v, ok := params[name]
		if !ok {
			return "", fmt.Errorf("%w: missing parameter %q", simio.ErrInput, name)
		}
		x[i] = v
	}
	if len(params) != p.d {
		for name := range params {
			if i, err := strconv.Atoi(strings.TrimPrefix(name, "x")); err != nil || name != "x"+strconv.Itoa(i) || i < 1 || i > p.d {
				return "", fmt.Errorf("%w: unknown parameter %q (this problem has x1..x%d)", simio.ErrInput, name, p.d)
			}
		}
	}
	f := p.value(x, seed)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "", fmt.Errorf("value is not finite (%v)", f)
	}
	return `{"value":` + strconv.FormatFloat(f, 'g', -1, 64) + `}`, nil
}

// run is the program; main only wires it to the process. It returns the
// exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	fs := flag.NewFlagSet("quartic", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dim := fs.Int("dim", 4, "dimension d: the parameters are x1..xd")
	neg := fs.Int("neg", 1, "number k of negative-curvature directions at the saddle (0..d)")
	rotseed := fs.Int64("rotseed", 1, "seed of the random rotation Q")
	noise := fs.Float64("noise", 0, "standard deviation of the seeded smooth noise (0: deterministic)")
	length := fs.Float64("noise-length", 1, "length scale of the noise field")
	features := fs.Int("noise-features", 16, "number of random Fourier features in the noise field")
	seedFlag := fs.Int64("seed", 0, "if given, overrides the request's seed (for argv like -seed {seed})")
	stdio := fs.Bool("stdio", false, "serve one request per line on stdin, one answer per line on stdout")
	sleep := fs.Duration("sleep", 0, "sleep this long in each evaluation (an expensive simulation that costs no CPU)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	switch {
	case fs.NArg() > 0:
		fmt.Fprintf(stderr, "quartic: unexpected argument %q\n", fs.Arg(0))
		return 2
	case *dim < 1:
		fmt.Fprintf(stderr, "quartic: -dim must be at least 1, got %d\n", *dim)
		return 2
	case *neg < 0 || *neg > *dim:
		fmt.Fprintf(stderr, "quartic: -neg must be in 0..%d, got %d\n", *dim, *neg)
		return 2
	case *noise < 0 || math.IsInf(*noise, 0) || math.IsNaN(*noise):
		fmt.Fprintf(stderr, "quartic: -noise must be a finite number ≥ 0, got %v\n", *noise)
		return 2
	case !(*length > 0) || math.IsInf(*length, 0):
		fmt.Fprintf(stderr, "quartic: -noise-length must be positive, got %v\n", *length)
		return 2
	case *features < 1:
		fmt.Fprintf(stderr, "quartic: -noise-features must be at least 1, got %d\n", *features)
		return 2
	case *sleep < 0:
		fmt.Fprintf(stderr, "quartic: -sleep must not be negative, got %v\n", *sleep)
		return 2
	}
	p := newQuartic(*dim, *neg, *rotseed)
	p.sigma, p.length, p.features = *noise, *length, *features

	var override *int64
	if seedSet {
		override = seedFlag
	}
	return simio.Run("quartic", *stdio, stdin, stdout, stderr, getenv, func(req simio.Request) (string, error) {
		time.Sleep(*sleep)
		return p.evaluate(req.Params, simio.Seed(req, override))
	})
}
