// Command projectile is an example simulator for zotune: a ball is
// launched at a target on the ground through gusty wind, and the tuner
// chooses the launch so that it lands on the target with as little speed
// as it can.
//
// The model is a point mass with quadratic air drag, in 3-D (x downrange,
// y cross-range to the left, z up), launched from height -height above the
// origin:
//
//	dv/dt = −g ẑ − k ‖v − w(t)‖ (v − w(t)),
//
// g = 9.81 m/s², k = ρ C_d A / (2m) (-drag; the default 0.005 1/m is about a
// baseball: 145 g, 7.3 cm across, C_d ≈ 0.3, so a terminal speed of 44 m/s).
// The wind w(t) is horizontal, uniform in space: a mean wind (-wind-x,
// -wind-y) plus gusts, a sum of three sinusoids per component with
// frequencies in [0.05, 1] Hz and phases drawn from the seed, of total RMS
// -gust m/s per component. The equations are integrated with classical
// Runge–Kutta (RK4) at a fixed step -dt, and the landing point is found on
// the cubic Hermite interpolant of the last step, so the landing point is
// a smooth function of the launch parameters.
//
// Parameters (the names in the request's params):
//
//	angle    launch elevation above the horizon, degrees (sensible: 5 … 80)
//	speed    launch speed, m/s, ≥ 0 (sensible: 10 … 80)
//	azimuth  launch direction, degrees to the left of downrange (sensible: −30 … 30)
//
// The objective, to minimise, is
//
//	value = miss² + penalty · speed²,
//
// where miss is the horizontal distance in metres between the landing point
// and the target (-target-x, -target-y; default 120 m downrange, 15 m to the
// left). The small speed penalty (-penalty, default 1e-3) singles out one
// optimum from the family of launches that hit: close to the lowest-speed
// hit. The answer line is a JSON object with the value and, as metrics,
// miss (m), flight_time (s), impact_x and impact_y (m).
//
// The seed fixes the gusts: the same seed gives the same wind history, so
// two launches with the same seed are a common-random-numbers pair and the
// value is smooth in the parameters for a fixed seed, while different
// seeds are different weather.
//
// Usage:
//
//	projectile [-target-x 120] [-target-y 15] [-wind-x 2] [-wind-y -4] [-gust 2] [-stdio]
//
// One evaluation: standard input holds one JSON request
//
//	{"id": "demo/7", "study": "demo", "trial": "7", "seed": 7, "params": {"angle": 40, "speed": 50, "azimuth": 5}}
//
// and the last line of standard output is the answer, a JSON object that
// echoes the request's id (an answer to a request without an id has none).
// If standard input is empty, the parameters are read from ZOTUNE_PARAMS (a
// JSON object of parameter values, or a whole request) and the seed from
// ZOTUNE_SEED. With -stdio the process stays up, reading one request per
// line and writing one answer line per request, in order; the id tells the
// evaluator which request an answer belongs to.
//
// Exit status: 0 on success; 1 if the simulation fails (the ball never
// lands within 120 s, a non-finite value); 2 on a bad flag or a bad request
// (malformed JSON, a missing or unknown parameter, a negative speed), after
// a message on standard error. In -stdio mode a bad request also ends the
// process with status 2; the evaluator starts a fresh one.
//
// The program and the simio package it uses need only the standard library,
// so that both can be copied as a template for wrapping a real simulator.
package main

import (
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"

	"github.com/zotune/zotune/examples/sims/simio"
)

const (
	gravity    = 9.81  // m/s²
	maxFlight  = 120.0 // s; a ball still in the air after this is a failure
	gustModes  = 3     // sinusoids per wind component
	gustStream = 0x67757374
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr, os.Getenv))
}

// sim holds the fixed settings of the simulation.
type sim struct {
	targetX, targetY float64 // m
	windX, windY     float64 // mean wind, m/s
	gust             float64 // RMS gust per component, m/s
	drag             float64 // k, 1/m
	height           float64 // launch height, m
	penalty          float64 // weight of speed² in the value
	dt               float64 // integration step, s
}

// defaultSim returns the default settings.
func defaultSim() sim {
	return sim{
		targetX: 120, targetY: 15,
		windX: 2, windY: -4, gust: 2,
		drag: 0.005, height: 1, penalty: 1e-3, dt: 1e-3,
	}
}

// launch is one shot's parameters.
type launch struct {
	angle, speed, azimuth float64 // degrees, m/s, degrees
}

// outcome is what one shot produced.
type outcome struct {
	value, miss, flightTime, impactX, impactY float64
}

// wind is a seeded wind history.
type wind struct {
	meanX, meanY float64
	amp          float64
	freq, phase  [2][gustModes]float64 // per component: Hz, radians
}

func (s *sim) newWind(seed int64) *wind {
	w := &wind{meanX: s.windX, meanY: s.windY, amp: s.gust * math.Sqrt(2.0/gustModes)}
	rng := rand.New(rand.NewPCG(uint64(seed), gustStream))
	for c := range 2 {
		for j := range gustModes {
			w.freq[c][j] = 0.05 + 0.95*rng.Float64()
			w.phase[c][j] = 2 * math.Pi * rng.Float64()
		}
	}
	return w
}

// at returns the wind velocity at time t.
func (w *wind) at(t float64) (wx, wy float64) {
	wx, wy = w.meanX, w.meanY
	for j := range gustModes {
		wx += w.amp * math.Sin(2*math.Pi*w.freq[0][j]*t+w.phase[0][j])
		wy += w.amp * math.Sin(2*math.Pi*w.freq[1][j]*t+w.phase[1][j])
	}
	return wx, wy
}

// state is position and velocity.
type state [6]float64

// deriv returns the time derivative of s at time t.
func (s *sim) deriv(w *wind, t float64, st state) state {
	wx, wy := w.at(t)
	rx, ry, rz := st[3]-wx, st[4]-wy, st[5]
	k := s.drag * math.Sqrt(rx*rx+ry*ry+rz*rz)
	return state{st[3], st[4], st[5], -k * rx, -k * ry, -k*rz - gravity}
}

// fly simulates one shot with the given seed.
func (s *sim) fly(l launch, seed int64) (outcome, error) {
	w := s.newWind(seed)
	el, az := l.angle*math.Pi/180, l.azimuth*math.Pi/180
	st := state{0, 0, s.height,
		l.speed * math.Cos(el) * math.Cos(az),
		l.speed * math.Cos(el) * math.Sin(az),
		l.speed * math.Sin(el)}
	h := s.dt
	steps := int(math.Ceil(maxFlight / h))
	for n := range steps {
		t := float64(n) * h
		k1 := s.deriv(w, t, st)
		k2 := s.deriv(w, t+h/2, axpy(st, h/2, k1))
		k3 := s.deriv(w, t+h/2, axpy(st, h/2, k2))
		k4 := s.deriv(w, t+h, axpy(st, h, k3))
		var next state
		for i := range st {
			next[i] = st[i] + h/6*(k1[i]+2*k2[i]+2*k3[i]+k4[i])
		}
		if next[2] < 0 && st[2] >= 0 {
			theta := groundCrossing(st[2], h*st[5], next[2], h*next[5])
			ix := hermite(theta, st[0], h*st[3], next[0], h*next[3])
			iy := hermite(theta, st[1], h*st[4], next[1], h*next[4])
			miss := math.Hypot(ix-s.targetX, iy-s.targetY)
			return outcome{
				value:      miss*miss + s.penalty*l.speed*l.speed,
				miss:       miss,
				flightTime: t + theta*h,
				impactX:    ix,
				impactY:    iy,
			}, nil
		}
		st = next
	}
	return outcome{}, fmt.Errorf("the ball did not land within %v s", maxFlight)
}

func axpy(st state, a float64, d state) state {
	for i := range st {
		st[i] += a * d[i]
	}
	return st
}

// hermite evaluates at θ ∈ [0, 1] the cubic with values p0, p1 and
// derivatives (with respect to θ) m0, m1 at the ends.
func hermite(theta, p0, m0, p1, m1 float64) float64 {
	t2 := theta * theta
	t3 := t2 * theta
	return (2*t3-3*t2+1)*p0 + (t3-2*t2+theta)*m0 + (-2*t3+3*t2)*p1 + (t3-t2)*m1
}

func hermiteSlope(theta, p0, m0, p1, m1 float64) float64 {
	t2 := theta * theta
	return (6*t2-6*theta)*p0 + (3*t2-4*theta+1)*m0 + (-6*t2+6*theta)*p1 + (3*t2-2*theta)*m1
}

// groundCrossing returns θ ∈ [0, 1] where the Hermite cubic of the height
// crosses zero, given z0 ≥ 0 > z1: Newton's method kept inside a
// shrinking bracket.
func groundCrossing(z0, m0, z1, m1 float64) float64 {
	lo, hi := 0.0, 1.0
	theta := z0 / (z0 - z1)
	for range 60 {
		p := hermite(theta, z0, m0, z1, m1)
		if p == 0 {
			return theta
		}
		if p > 0 {
			lo = theta
		} else {
			hi = theta
		}
		next := theta - p/hermiteSlope(theta, z0, m0, z1, m1)
		if !(next > lo && next < hi) {
			next = (lo + hi) / 2
		}
		if math.Abs(next-theta) < 1e-15 {
			return next
		}
		theta = next
	}
	return theta
}

// evaluate checks the parameters and returns the answer line.
func (s *sim) evaluate(params map[string]float64, seed int64) (string, error) {
	names := []string{"angle", "speed", "azimuth"}
	var v [3]float64
	for i, name := range names {
		x, ok := params[name]
		if !ok {
			return "", fmt.Errorf("%w: missing parameter %q", simio.ErrInput, name)
		}
		v[i] = x
	}
	if len(params) != len(names) {
		for name := range params {
			if name != "angle" && name != "speed" && name != "azimuth" {
				return "", fmt.Errorf("%w: unknown parameter %q (this problem has angle, speed, azimuth)", simio.ErrInput, name)
			}
		}
	}
	l := launch{angle: v[0], speed: v[1], azimuth: v[2]}
	if l.speed < 0 {
		return "", fmt.Errorf("%w: speed must be ≥ 0, got %v", simio.ErrInput, l.speed)
	}
	o, err := s.fly(l, seed)
	if err != nil {
		return "", err
	}
	if math.IsNaN(o.value) || math.IsInf(o.value, 0) {
		return "", fmt.Errorf("value is not finite (%v)", o.value)
	}
	g := func(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }
	return `{"value":` + g(o.value) + `,"miss":` + g(o.miss) + `,"flight_time":` + g(o.flightTime) +
		`,"impact_x":` + g(o.impactX) + `,"impact_y":` + g(o.impactY) + `}`, nil
}

// run is the program; main only wires it to the process. It returns the
// exit status.
func run(args []string, stdin io.Reader, stdout, stderr io.Writer, getenv func(string) string) int {
	s := defaultSim()
	fs := flag.NewFlagSet("projectile", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Float64Var(&s.targetX, "target-x", s.targetX, "target distance downrange, m")
	fs.Float64Var(&s.targetY, "target-y", s.targetY, "target distance to the left, m")
	fs.Float64Var(&s.windX, "wind-x", s.windX, "mean wind downrange, m/s")
	fs.Float64Var(&s.windY, "wind-y", s.windY, "mean wind to the left, m/s")
	fs.Float64Var(&s.gust, "gust", s.gust, "RMS gust speed per horizontal component, m/s (0: steady wind)")
	fs.Float64Var(&s.drag, "drag", s.drag, "drag constant k = ρ·C_d·A/(2m), 1/m (0: vacuum)")
	fs.Float64Var(&s.height, "height", s.height, "launch height above the ground, m")
	fs.Float64Var(&s.penalty, "penalty", s.penalty, "weight of speed² in the value")
	fs.Float64Var(&s.dt, "dt", s.dt, "integration time step, s")
	seedFlag := fs.Int64("seed", 0, "if given, overrides the request's seed (for argv like -seed {seed})")
	stdio := fs.Bool("stdio", false, "serve one request per line on stdin, one answer per line on stdout")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	seedSet := false
	fs.Visit(func(f *flag.Flag) { seedSet = seedSet || f.Name == "seed" })
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "projectile: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if err := s.validate(); err != nil {
		fmt.Fprintf(stderr, "projectile: %v\n", err)
		return 2
	}

	var override *int64
	if seedSet {
		override = seedFlag
	}
	return simio.Run("projectile", *stdio, stdin, stdout, stderr, getenv, func(req simio.Request) (string, error) {
		return s.evaluate(req.Params, simio.Seed(req, override))
	})
}

// validate rejects impossible settings.
func (s *sim) validate() error {
	for _, f := range []struct {
		name string
		v    float64
	}{{"target-x", s.targetX}, {"target-y", s.targetY}, {"wind-x", s.windX}, {"wind-y", s.windY},
		{"gust", s.gust}, {"drag", s.drag}, {"height", s.height}, {"penalty", s.penalty}, {"dt", s.dt}} {
		if math.IsNaN(f.v) || math.IsInf(f.v, 0) {
			return fmt.Errorf("-%s must be finite, got %v", f.name, f.v)
		}
	}
	switch {
	case s.gust < 0:
		return fmt.Errorf("-gust must be ≥ 0, got %v", s.gust)
	case s.drag < 0:
		return fmt.Errorf("-drag must be ≥ 0, got %v", s.drag)
	case s.height < 0:
		return fmt.Errorf("-height must be ≥ 0, got %v", s.height)
	case s.penalty < 0:
		return fmt.Errorf("-penalty must be ≥ 0, got %v", s.penalty)
	case !(s.dt > 0 && s.dt <= 0.1):
		return fmt.Errorf("-dt must be in (0, 0.1] s, got %v", s.dt)
	}
	return nil
}
