package negcurv

import "github.com/zotune/zotune/zo"

// Settings are the settings every finder has, besides those of its own
// iteration; each finder embeds them. The zero value of every field means
// its default.
type Settings struct {
	// P is the probability that a none is wrong; default 0.01. It sets the
	// iteration count that certifies a none (see each finder).
	P float64
	// R is the probe length of the Hessian-vector products and of the
	// curvature probes, as a fraction of the box scale; default 1e-3
	// (zo.DefaultProbe).
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

// probeLength is the probe length of products and probes on box b: R (by
// default zo.DefaultProbe) times the box scale.
func (s Settings) probeLength(b zo.Box) float64 {
	frac := s.R
	if frac <= 0 {
		frac = zo.DefaultProbe
	}
	return frac * b.Scale()
}
