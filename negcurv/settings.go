package negcurv

import (
	"math"

	"github.com/zotune/zotune/zo"
)

// Settings are the settings every finder has, besides those of its own
// iteration; each finder embeds them. The zero value of every field means
// its default.
type Settings struct {
	// P is the probability that a none is wrong; default 0.01. It sets the
	// iteration count that certifies a none (see each finder).
	P float64
	// R is the probe length of the Hessian-vector products and of the
	// curvature probes, as a fraction of the box scale; default 1e-3
	// (zo.DefaultProbe). It is never below the gradient estimator's step
	// (see probeLength).
	R float64
	// Central selects central-difference products (4d queries per
	// sample, second order; see zo.HVP); default false: forward (2d).
	Central bool
	// Report, if set, receives the estimates of every call.
	Report func(Estimates)
}

// failureProb is P with its default.
func (s Settings) failureProb() float64 {
	if s.P <= 0 {
		return 0.01
	}
	return s.P
}

// probeLength is the probe length of products and probes with the
// gradient estimator e: R (by default zo.DefaultProbe) times the box
// scale, and never below the estimator's difference step. A step grown for
// a noisy objective (zo.Settings.EstimateNoise) thus carries the probe
// with it: a product differences two gradients, each off by about σ/μ,
// over the probe length r, so its noise error is about 2σ/(μr); with
// r = μ it stays that of a second difference at the step the noise called
// for. On a smooth objective μ (1e-5) is far below r (1e-3), which stays.
func (s Settings) probeLength(e zo.CoordGE) float64 {
	frac := s.R
	if frac <= 0 {
		frac = zo.DefaultProbe
	}
	return math.Max(frac*e.Box.Scale(), e.Mu)
}
