package zo

import (
	"math"
)

// Noise estimation: the level of the computational noise of f — the part
// of its value that is not smooth in x (adaptive time steps, iterative
// solvers, Monte Carlo keyed on the parameters) — and the difference step
// it calls for. A gradient estimated with a step μ carries an error of
// about σ/μ from noise of level σ and of about μ²|f‴|/6 from the
// truncation of central differences; the step that balances them is
// (3σ/|f‴|)^(1/3). With no estimate of f‴ the rule here takes |f‴| = 3 in
// the optimizer's coordinates: μ = σ^(1/3), never below Settings.Mu's
// default and never above MaxNoiseMu of the box scale.

// noisePoints is the number of values ECnoise differences.
const noisePoints = 9

// noiseSpacing is the spacing of the points, as a fraction of the box
// scale: small, so that the smooth part of f has faded from the
// differences of low order, even where f has features narrow for the box
// (a well a hundredth of its width), while noise keyed on the parameters
// shows at any spacing. Where f is flat at that spacing (piecewise
// constant: a simulator with a coarse mesh or a count, a cross-validation
// error), the spacing grows tenfold, in another batch, up to
// maxNoiseSpacing, until the values differ.
const noiseSpacing = 1e-3

// maxNoiseSpacing is the widest spacing tried.
const maxNoiseSpacing = 1e-1

// MaxNoiseMu bounds the difference step chosen from a noise estimate, as a
// fraction of the box scale.
const MaxNoiseMu = 0.05

// ecnoise estimates the standard deviation of the noise of f from values
// at equally spaced points on a line, by the method of Moré and Wild
// ("Estimating computational noise", SIAM J. Sci. Comput. 33(3), 2011):
// the k-th differences of noise of level σ have mean square σ²·(2k)!/(k!)²,
// while those of a smooth function fall fast with k. The estimate is the
// level of the first order k whose next two agree with it within a factor
// of 4, among orders whose differences change sign. ok is false when no
// order qualifies: no noise shows at this spacing (f is smooth there, to
// round-off), or the smooth part still dominates. flat reports half the
// first differences or more exactly zero: f is piecewise constant at
// this spacing, and says nothing of its noise.
func ecnoise(vals []float64) (sigma float64, ok, flat bool) {
	n := len(vals)
	diff := append([]float64(nil), vals...)
	level := make([]float64, n-1)
	signs := make([]bool, n-1)
	gamma := 1.0
	for k := 1; k < n; k++ {
		for i := 0; i+k < n; i++ {
			diff[i] = diff[i+1] - diff[i]
		}
		d := diff[:n-k]
		if k == 1 && zeros(d) >= n/2 {
			return 0, false, true
		}
		gamma *= 0.5 * float64(k) / float64(2*k-1)
		sq, lo, hi := 0.0, math.Inf(1), math.Inf(-1)
		for _, v := range d {
			sq += v * v
			lo, hi = math.Min(lo, v), math.Max(hi, v)
		}
		level[k-1] = math.Sqrt(gamma * sq / float64(len(d)))
		signs[k-1] = lo*hi < 0
	}
	for k := 0; k+2 < n-1; k++ {
		lo := math.Min(level[k], math.Min(level[k+1], level[k+2]))
		hi := math.Max(level[k], math.Max(level[k+1], level[k+2]))
		if hi <= 4*lo && signs[k] {
			return level[k], true, false
		}
	}
	return 0, false, false
}

func zeros(v []float64) int {
	n := 0
	for _, x := range v {
		if x == 0 {
			n++
		}
	}
	return n
}

// noiseLine returns the points at which the noise is estimated from x:
// x itself and noisePoints−1 more, spacing (a fraction of the box scale)
// apart along a diagonal direction that points, on every continuous
// coordinate, to the side with more room (a discrete one, see
// Box.Lattice, stays put: its jumps are not noise). The spacing shrinks where the line would
// leave the box, so that the points stay equally spaced (a clamped point
// would put a kink in every difference); h is the spacing used, 0 when
// the box leaves no room or every coordinate is discrete.
func (r *run) noiseLine(x []float64, spacing float64) (pts [][]float64, h float64) {
	dir := make([]float64, r.d)
	h = spacing * r.scale
	cont := r.d - r.box.discreteCount(r.d) // a discrete coordinate stays put
	if cont == 0 {
		return nil, 0
	}
	for i := range dir {
		if r.box.discrete(i) {
			continue
		}
		dir[i] = 1 / math.Sqrt(float64(cont))
		room := r.box.hi(i) - x[i]
		if down := x[i] - r.box.lo(i); down > room {
			dir[i], room = -dir[i], down
		}
		h = math.Min(h, room/(float64(noisePoints-1)*math.Abs(dir[i])))
	}
	if !(h > 0) {
		return nil, 0
	}
	pts = make([][]float64, noisePoints)
	for k := range pts {
		pts[k] = step(r.box, x, dir, float64(k)*h)
	}
	return pts, h
}

// noiseMu is the difference step for noise of level sigma at a point
// where |f| is about fx: see above. The noise is taken relative to
// max(|f|, 1), so that scaling f does not change the step.
func (r *run) noiseMu(sigma, fx float64) float64 {
	mu := r.scale * math.Cbrt(sigma/math.Max(math.Abs(fx), 1))
	return math.Min(math.Max(mu, DefaultMu*r.scale), MaxNoiseMu*r.scale)
}

// roundOff reports whether sigma is at the level of the round-off of
// values as large as vals: no noise to step around.
func roundOff(sigma float64, vals []float64) bool {
	m := 0.0
	for _, v := range vals {
		m = math.Max(m, math.Abs(v))
	}
	return sigma <= 100*0x1p-52*m
}

// startNoisy is start (see run.start) with the noise estimate at the
// start point in the same batch: the values along the noise line, on
// sample 0, ride with those of the start point.
func (r *run) startNoisy() bool {
	if n := r.s.Noise; n != nil {
		return r.startKnown(*n)
	}
	line, h := r.noiseLine(r.x, noiseSpacing)
	if h == 0 {
		return r.start()
	}
	line = line[1:]
	batch := append(valueQueries([][]float64{r.x}, r.all), valueQueries(line, []int{0})...)
	res, err := r.o.Evaluate(r.ctx, batch)
	if err != nil {
		r.fail(err)
		return false
	}
	start, _ := meanValues(res[:len(r.all)], 1, len(r.all))
	if !r.started(start[0]) {
		return false
	}
	vals, failed := meanValues(res[len(r.all):], len(line), 1)
	if _, err := r.adoptNoise(r.x, append([]float64{res[0].Value}, vals...), failed, noiseSpacing); err != nil {
		r.fail(err)
		return false
	}
	return true
}

// startKnown is start with the noise estimate n of an earlier run.
func (r *run) startKnown(n NoiseEstimate) bool {
	if err := r.adoptKnown(n); err != nil {
		r.fail(err)
		return false
	}
	return r.start()
}

// adoptKnown takes the noise estimate n of an earlier run as the run's
// own, with its step if that is larger than the current one.
func (r *run) adoptKnown(n NoiseEstimate) error {
	r.out.Noise, r.flat, r.out.Flat = n.Level, n.Flat, n.Flat
	if n.Mu > r.s.Mu {
		return r.setMu(n.Mu)
	}
	return nil
}

// noiseAt is the noise estimate of a method that does not evaluate its
// start point over every sample first (zo-sgd): the estimate of an earlier
// run if given, else one batch along the noise line at x, on sample 0.
// It returns false, with the run ended, when the oracle fails.
func (r *run) noiseAt(x []float64) bool {
	var err error
	if n := r.s.Noise; n != nil {
		err = r.adoptKnown(*n)
	} else {
		_, err = r.recalibrate(x, noiseSpacing)
	}
	if err != nil {
		r.fail(err)
		return false
	}
	return true
}

// stall is what every method does where a line search along a gradient
// estimate of norm gn over every sample found no decrease. With
// Settings.EstimateNoise it estimates the noise at x again, and when that
// does not grow the difference step, it shrinks a step chosen from the
// noise (see shrinkMu); it returns true when the step changed: the caller
// drops what it measured with the old step and estimates the gradient
// again. Otherwise it returns false with the run ended (run.noDecrease,
// or the oracle's error). The step grows by half at least each time, up
// to MaxNoiseMu of the box scale, and never again after a shrink, which
// happens 3 times at most: a run makes at most about 25 such changes.
func (r *run) stall(gn float64) bool {
	if r.s.EstimateNoise {
		changed, err := r.recalibrate(r.x, noiseSpacing)
		if err == nil && !changed {
			changed, err = r.shrinkMu()
		}
		if err != nil {
			r.fail(err)
			return false
		}
		if changed {
			return true
		}
	}
	r.noDecrease(gn)
	return false
}

// recalibrate estimates the noise at x again, on sample 0 (one batch of
// noisePoints queries), and adopts the step it calls for if larger: see
// adoptNoise.
func (r *run) recalibrate(x []float64, spacing float64) (grew bool, err error) {
	line, h := r.noiseLine(x, spacing)
	if h == 0 {
		return false, nil
	}
	vals, failed, err := Values(r.ctx, r.o, line, []int{0})
	if err != nil {
		return false, err
	}
	return r.adoptNoise(x, vals, failed, spacing)
}

// adoptNoise estimates the noise from the values along the noise line of
// x at spacing (failed of them failed), and makes the difference step the
// one it calls for when that is over 1.5 times the current one. Where f is
// flat along the line, it tries a line ten times as wide (see
// noiseSpacing); values that first differ at a wider spacing make the
// step at least that spacing, so that differences reach past the flat
// stretches. It reports whether the step grew.
func (r *run) adoptNoise(x, vals []float64, failed int, spacing float64) (grew bool, err error) {
	if failed > 0 {
		return false, nil // a failed point says nothing of the noise
	}
	sigma, ok, flat := ecnoise(vals)
	if flat && spacing*10 <= maxNoiseSpacing*(1+1e-9) {
		r.flat, r.out.Flat = true, true
		return r.recalibrate(x, spacing*10)
	}
	if !ok || flat || roundOff(sigma, vals) {
		return false, nil
	}
	r.out.Noise = math.Max(r.out.Noise, sigma)
	mu := r.noiseMu(sigma, vals[0])
	if spacing > noiseSpacing {
		mu = math.Min(math.Max(mu, spacing*r.scale), MaxNoiseMu*r.scale)
	}
	if r.muCap > 0 {
		mu = math.Min(mu, r.muCap)
	}
	if mu <= 1.5*r.s.Mu {
		return false, nil
	}
	return true, r.setMu(mu)
}

// muShrinks is how far a stall may shrink a step chosen from the noise:
// by 4 at a time, to at least 1/64 of the step at the first shrink.
const muShrinks = 64

// shrinkMu is the other way out of a stall on a noisy objective. The
// step chosen from the noise takes |f‴| to be about max(|f|, 1) in box
// units; where f curves more (a narrow valley), the truncation error of
// wide differences dominates, and the line search finds no decrease along
// a gradient that is mostly bias. It quarters the step, down to a floor of
// 1/64 of the step it first shrank (where the noise error has grown 64
// times), and caps later estimates at the shrunk step so that the two
// never undo each other. It reports whether the step shrank. Without
// noise found, the default step stays, and so does the step of a
// piecewise-constant f, which a smaller step would see flat again.
func (r *run) shrinkMu() (bool, error) {
	if r.out.Noise == 0 || r.flat {
		return false, nil
	}
	if r.muFloor == 0 {
		r.muFloor = math.Max(r.s.Mu/muShrinks, DefaultMu*r.scale)
	}
	mu := r.s.Mu / 4
	if mu < r.muFloor*(1-1e-9) {
		return false, nil
	}
	r.muCap = mu
	return true, r.setMu(mu)
}

// setMu makes mu the difference step of every estimate from now on.
func (r *run) setMu(mu float64) error {
	est, err := NewEstimator(r.s.Estimator, mu, r.box, r.s.Directions)
	if err != nil {
		return err
	}
	r.s.Mu, r.out.Mu = mu, mu
	r.coord = CoordGE{Mu: mu, Box: r.box}
	r.est = est
	return nil
}
