package zo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
)

// This file holds the vocabulary every method shares: what a method is
// given (Problem, Settings), what it returns (Outcome, Status, Escape),
// what it reports as it goes (Progress), and the state of one run of a
// method (run), which the helpers in driver.go drive.

// Problem is a start point in a box.
type Problem struct {
	X0  []float64
	Box Box
}

// Method is an optimizer.
type Method interface {
	Minimize(ctx context.Context, o Oracle, p Problem) (*Outcome, error)
}

// Settings are the knobs shared by the optimizers. The zero value of every
// field means its default; defaults need no knowledge of L, ρ or the noise.
type Settings struct {
	// Epsilon is the target gradient norm ε; default 1e-3.
	Epsilon float64
	// Delta is the curvature tolerance δ: stop only where λ_min ≥ −δ.
	// Default √ε, the classical δ = √(ρε) with ρ = 1 in the optimizer's
	// coordinates (for a study, the unit box).
	Delta float64
	// Mu is the finite-difference step; default DefaultMu × Box.Scale(),
	// or with EstimateNoise what the noise calls for.
	Mu float64
	// EstimateNoise (NoiseMethods: zo-gd, zo-sgd, zo-scsg, zo-spider)
	// estimates the noise of f at the start point from a few more values
	// (zo-gd: in the start's batch; the others: in a batch of their own
	// first), and again where a line search along a gradient over every
	// sample finds no decrease, and grows
	// the difference step to what the noise calls for (see noise.go). It
	// needs Mu unset. Default false.
	EstimateNoise bool
	// Noise, with EstimateNoise, is what an earlier run on the same
	// objective found: the run starts with its step and flatness, and
	// skips the estimate at its start point (package multistart passes
	// it from run to run). Nil: estimate at the start.
	Noise *NoiseEstimate
	// Samples is the number of component functions (simulator seeds);
	// default 1. ZO-GD averages over all of them at every point.
	Samples int
	// Step is the first trial step length as a fraction of Box.Scale();
	// default 0.1. It adapts afterwards.
	Step float64
	// Candidates is the number of step lengths tried at once in one batch
	// by a line search (and per sign by an escape); default 4.
	Candidates int
	// Memory is the number of curvature pairs kept to precondition descent
	// steps (L-BFGS); default 10; negative: plain gradient steps.
	Memory int
	// MaxIterations caps the iterations; default 0 = no cap (the oracle's
	// budget stops the run).
	MaxIterations int

	// Estimator names the gradient estimator of the mini-batch steps (see
	// Estimators and NewEstimator): "coord" (central CoordGE, the
	// default), "coord-forward", "rand", "gauss" or "randomk". zo-sgd uses
	// it for its steps, zo-scsg, zo-spider and zo-ssrgd inside their
	// epochs, pagd ("coord" or "coord-forward" only) for its descent.
	// zo-gd, the big-batch gradients (snapshots, refreshes, checks) and
	// every certificate use central CoordGE.
	Estimator string
	// Directions is the number q of random directions of "rand" and
	// "gauss", the number k of coordinates of "randomk", and zpsgd's
	// number m of Gaussian directions; default ⌈d/4⌉.
	Directions int
	// BigBatch is the number B of samples averaged by a big-batch gradient
	// (SCSG snapshots, SPIDER and SSRGD refreshes, SGD checks, finder
	// calls, certificates); default min(Samples, 64), the whole sum when
	// it has at most 64 components. With B < Samples the certificate is
	// the big batch's, drawn afresh each time: an ε below its sampling
	// error cannot be certified, and the run ends on its budget.
	BigBatch int
	// MiniBatch is the number b of samples of a mini-batch step; default
	// max(1, B/8). (A b above the default B raises B to b.)
	MiniBatch int
	// InnerSteps is SCSG's mean epoch length and the refresh period q of
	// SPIDER and SSRGD; default ⌈B/b⌉. With one sample (a deterministic
	// objective) it is 1, and those methods take full-gradient steps.
	InnerSteps int
	// SAMRadius turns on sharpness-aware descent steps (zo-gd, zo-sgd):
	// the step direction is the gradient estimate at x + ρ·ĝ/‖ĝ‖, with ρ
	// = SAMRadius·Box.Scale(). Default 0: off.
	SAMRadius float64
	// Speculate (zo-gd) sends, with the candidates of each line search's
	// first batch, the gradient stencil at the candidate most likely to be
	// accepted (the quasi-Newton step; see ahead.go). When that
	// candidate wins, the next gradient estimate is already answered: one
	// round fewer per step, for 2d more queries per step when another
	// candidate wins. The path is the same as without it, only batched
	// differently (see ahead.go), as long as the oracle answers a query
	// the same whatever else the batch holds: a failure policy that
	// reacts to failed answers (a study's retries, the worst value as a
	// penalty, abort) also sees those of stencils that go unused.
	// Default false.
	Speculate bool
	// Perturb is the radius of the perturbation of the perturbation-based
	// baselines (pagd, zo-ssrgd: a uniform ball around the point; zpsgd:
	// the noise added to every gradient, in gradient units), in units of
	// the perturbed-gradient-descent radius r = ε/L̂ (pagd, zo-ssrgd) or
	// ε (zpsgd); default 1 and ½ respectively.
	Perturb float64
	// Progress, if set, is called after every iteration.
	Progress func(Progress)
}

// DefaultMu is the finite-difference step of Settings.Mu by default, as a
// fraction of the box scale.
const DefaultMu = 1e-5

// DefaultBigBatch is Settings.BigBatch by default for samples components:
// the whole sum when it has at most 64, else 64.
func DefaultBigBatch(samples int) int { return min(samples, 64) }

// DefaultDelta is the curvature tolerance δ of a run that sets none: √ε,
// the scaling of the second-order stationarity papers.
func DefaultDelta(epsilon float64) float64 { return math.Sqrt(epsilon) }

// withDefaults returns s with zero fields set to their defaults for box b.
func (s Settings) withDefaults(b Box) Settings {
	if s.Epsilon == 0 {
		s.Epsilon = 1e-3
	}
	if s.Delta == 0 {
		s.Delta = DefaultDelta(s.Epsilon)
	}
	if s.Mu == 0 {
		s.Mu = DefaultMu * b.Scale()
	}
	if s.Samples == 0 {
		s.Samples = 1
	}
	if s.Step == 0 {
		s.Step = 0.1
	}
	if s.Candidates == 0 {
		s.Candidates = 4
	}
	if s.Memory == 0 {
		s.Memory = 10
	}
	return s
}

// Validate reports settings that cannot work.
func (s Settings) Validate() error {
	switch {
	case s.Epsilon < 0 || math.IsNaN(s.Epsilon):
		return fmt.Errorf("zo: epsilon must be positive, got %g", s.Epsilon)
	case s.Delta < 0 || math.IsNaN(s.Delta):
		return fmt.Errorf("zo: delta must be positive, got %g", s.Delta)
	case s.Mu < 0 || math.IsNaN(s.Mu):
		return fmt.Errorf("zo: mu must be positive, got %g", s.Mu)
	case s.EstimateNoise && s.Mu > 0:
		return errors.New("zo: EstimateNoise chooses mu: leave Mu unset")
	case s.Noise != nil && (!s.EstimateNoise || !(s.Noise.Mu >= 0) || !(s.Noise.Level >= 0)):
		return fmt.Errorf("zo: a known noise estimate needs EstimateNoise and a level and step >= 0, got %+v", *s.Noise)
	case s.Samples < 0:
		return fmt.Errorf("zo: samples must be positive, got %d", s.Samples)
	case s.Step < 0 || s.Step > 1:
		return fmt.Errorf("zo: step must be in (0, 1], got %g", s.Step)
	case s.Candidates < 0:
		return fmt.Errorf("zo: candidates must be positive, got %d", s.Candidates)
	case s.Estimator != "" && !slices.Contains(Estimators, s.Estimator):
		return fmt.Errorf("zo: unknown estimator %q (want one of %v)", s.Estimator, Estimators)
	case s.Directions < 0:
		return fmt.Errorf("zo: directions must be positive, got %d", s.Directions)
	case s.BigBatch < 0 || s.BigBatch > max(s.Samples, 1):
		return fmt.Errorf("zo: big batch must be in [1, samples = %d], got %d", max(s.Samples, 1), s.BigBatch)
	case s.MiniBatch < 0 || (s.BigBatch > 0 && s.MiniBatch > s.BigBatch) || s.MiniBatch > max(s.Samples, 1):
		return fmt.Errorf("zo: mini-batch must be in [1, big batch], got %d", s.MiniBatch)
	case s.InnerSteps < 0:
		return fmt.Errorf("zo: inner steps must be positive, got %d", s.InnerSteps)
	case s.SAMRadius < 0 || s.SAMRadius >= 1 || math.IsNaN(s.SAMRadius):
		return fmt.Errorf("zo: SAM radius must be in [0, 1), got %g", s.SAMRadius)
	case s.Perturb < 0 || math.IsNaN(s.Perturb):
		return fmt.Errorf("zo: perturbation radius must be positive, got %g", s.Perturb)
	}
	return nil
}

// NoiseEstimate is a run's estimate of its objective's noise: the level
// (0: none found), the difference step it led to (0: the default) and
// whether f was found piecewise constant (Outcome.Flat).
type NoiseEstimate struct {
	Level, Mu float64
	Flat      bool
}

// Outcome is the result of a minimization.
type Outcome struct {
	Status Status
	Reason string // human-readable detail on the status

	X         []float64 // final iterate
	F         float64   // f(X), averaged over the samples used
	GradNorm  float64   // norm of the last gradient estimate at X (free coordinates)
	LambdaMin float64   // finder's curvature estimate at X; NaN if none was made there
	Epsilon   float64   // ε used
	Delta     float64   // δ used
	// Noise is the largest noise level estimated (Settings.EstimateNoise),
	// 0 if none showed; Mu the difference step it led to, 0 if it left the
	// default.
	Noise, Mu float64
	// Flat is set when f was found flat along a noise line
	// (Settings.EstimateNoise): piecewise constant at the smallest
	// spacing, so that a certificate holds for f smoothed at the
	// difference step, not for f itself.
	Flat bool

	Iterations int
	Escapes    []Escape
	// Runs records each run when more than one ran, or a space-filling
	// batch chose the start (package multistart); nil for one run.
	Runs []RunRecord
	// Front holds the end points of every run of a multi-objective method
	// (package pareto); nil otherwise.
	Front [][]float64
}

// Status is how an optimization ended. The strings are part of the
// user-facing contract (summary.json).
type Status string

// Terminal statuses.
const (
	// Converged: an (ε, δ) second-order stationary point, certified by a
	// gradient estimate of norm ≤ ε and a finder's "none" with λ̂_min ≥ −δ
	// (a number: a NaN estimate never certifies).
	StatusConverged Status = "converged"
	StatusTarget    Status = "target"  // a value ≤ the study's target was seen
	StatusBudget    Status = "budget"  // the evaluation or time budget ran out
	StatusStopped   Status = "stopped" // cancelled, no further progress possible, or a small gradient the finder could not certify (see Outcome.Reason)
	StatusFailed    Status = "failed"  // the objective kept failing; see Outcome.Reason
)

// ErrTarget is returned by an Oracle (see study's tracker) once a value at
// or below the study's target has been seen.
var ErrTarget = errors.New("zo: target value reached")

// Escape records one negative-curvature step.
type Escape struct {
	Iteration int     `json:"iteration"`
	Lambda    float64 `json:"lambda"` // curvature estimate along the direction taken
	Step      float64 `json:"step"`   // length of the step taken
	From      float64 `json:"from"`   // value before
	To        float64 `json:"to"`     // value after
}

// Progress is reported after every iteration, for logs and traces.
type Progress struct {
	Iteration int
	Event     string // "step", "escape", "certify", "done"
	F         float64
	GradNorm  float64
	Lambda    float64 // NaN unless Event is "escape" or "certify"
}

// run is the state of one minimization, which every method works on:
// the problem and settings, the iterate, the outcome being built, and what
// the helpers of driver.go need to talk to the oracle. A method's
// Minimize builds it with newRun and stays sequential code over those
// helpers.
type run struct {
	ctx   context.Context
	o     Oracle
	box   Box
	s     Settings // with defaults
	d     int
	scale float64
	rng   *rand.Rand
	coord CoordGE   // central CoordGE: big batches, finders, certificates
	est   Estimator // Settings.Estimator, for mini-batch steps
	all   []int     // every sample, 0..Samples−1
	bigB  int       // B
	miniB int       // b
	inner int       // SCSG's mean epoch length, SPIDER's and SSRGD's q

	out *Outcome
	x   []float64 // the iterate; the same slice as out.X

	// stale is set while x has moved without a value; knownX and knownF
	// are then the last point with a known value, which an ending reports.
	stale  bool
	knownX []float64
	knownF float64

	fails  int     // consecutive void gradient estimates
	escLen float64 // trial length of the next escape

	// muCap, once a stall has shrunk the difference step (see
	// shrinkMu), bounds what a noise estimate may grow it to; muFloor is
	// the smallest step a shrink may reach. 0 before the first shrink.
	muCap, muFloor float64
	// flat is set once f was found flat along a noise line (piecewise
	// constant at that spacing): its step is not shrunk.
	flat bool
	// speculate is set by the methods that use Settings.Speculate (GD);
	// ahead is the speculative gradient stencil of the last line search,
	// if any.
	speculate bool
	ahead     *ahead
	// better is the best ±1 lattice neighbour of the iterate that improves
	// on it, from the last gradient's stencil (see lattice.go); nil: none.
	better *neighbour
	// swept is the last point whose categorical alternatives were tried.
	swept []float64
}

// RunRecord is one run of a method that starts more than once (package
// multistart): where it started, how it ended and what it spent.
type RunRecord struct {
	Start       *float64 `json:"start,omitempty"` // value at its start point, when known before it ran
	Value       *float64 `json:"value"`           // value at its final point; nil (null) if none
	Status      Status   `json:"status"`
	Reason      string   `json:"reason"`
	Evaluations int      `json:"evaluations"` // queries it sent
}
