package zo

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
)

// Method names accepted by NewMethod.
const (
	MethodGD     = "zo-gd"     // GD: ZO-GD-NCF
	MethodSGD    = "zo-sgd"    // SGD: ZO-SGD-NCF
	MethodSCSG   = "zo-scsg"   // SCSG: ZO-SCSG-NCF
	MethodSPIDER = "zo-spider" // SPIDER: ZO-SPIDER-NCF
	MethodPAGD   = "pagd"      // PAGD baseline
	MethodZPSGD  = "zpsgd"     // ZPSGD baseline
	MethodRSPI   = "rspi"      // RSPI baseline
	MethodSSRGD  = "zo-ssrgd"  // SSRGD baseline
)

// Methods lists the names NewMethod accepts: first the methods that find
// negative curvature, then the baselines.
var Methods = []string{MethodGD, MethodSGD, MethodSCSG, MethodSPIDER, MethodPAGD, MethodZPSGD, MethodRSPI, MethodSSRGD}

// NoiseMethods are the methods that can estimate their objective's noise
// (Settings.EstimateNoise): those with negative-curvature finding.
var NoiseMethods = []string{MethodGD, MethodSGD, MethodSCSG, MethodSPIDER}

// NewMethod returns the optimizer called name (see Methods) with settings
// s, curvature finder f (nil: none) and random source rng, which every
// method requires.
//
// How a method uses the finder: zo-gd, zo-sgd, zo-scsg and zo-spider
// call it where their big-batch gradient is at most ε and escape along
// its direction; rspi uses it instead of its own power iteration; pagd,
// zpsgd and zo-ssrgd escape by perturbation and only ask the finder to
// confirm the point their test calls second-order stationary.
//
// Settings a method cannot honour are refused: Estimator other than
// "coord" for zo-gd, other than a coordinate estimator for pagd, any but
// "gauss" for zpsgd (its Gaussian estimator is built in) and any for
// rspi; EstimateNoise except for NoiseMethods; SAMRadius except for
// zo-gd and zo-sgd; Perturb except for pagd, zpsgd and zo-ssrgd; Speculate
// except for zo-gd. BigBatch, MiniBatch and InnerSteps only concern
// zo-sgd, zo-scsg, zo-spider and zo-ssrgd: the other methods average every
// value over all Samples, as ZO-GD does.
func NewMethod(name string, s Settings, f Finder, rng *rand.Rand) (Method, error) {
	if !slices.Contains(Methods, name) {
		return nil, fmt.Errorf("zo: unknown method %q (want one of %v)", name, Methods)
	}
	if rng == nil {
		return nil, errors.New("zo: NewMethod needs a Rand")
	}
	if err := s.Validate(); err != nil {
		return nil, err
	}
	est := s.Estimator
	switch {
	case name == MethodGD && est != "" && est != EstCoord,
		name == MethodPAGD && est != "" && est != EstCoord && est != EstCoordForward,
		name == MethodZPSGD && est != "" && est != EstGauss,
		name == MethodRSPI && est != "":
		return nil, fmt.Errorf("zo: method %s cannot use estimator %q", name, est)
	case s.EstimateNoise && !slices.Contains(NoiseMethods, name):
		return nil, fmt.Errorf("zo: method %s does not estimate the noise (only %v do)", name, NoiseMethods)
	case s.SAMRadius > 0 && name != MethodGD && name != MethodSGD:
		return nil, fmt.Errorf("zo: method %s has no sharpness-aware (SAM) step", name)
	case s.Perturb > 0 && name != MethodPAGD && name != MethodZPSGD && name != MethodSSRGD:
		return nil, fmt.Errorf("zo: method %s does not perturb", name)
	case s.Speculate && name != MethodGD:
		return nil, fmt.Errorf("zo: method %s does not speculate (only %s does)", name, MethodGD)
	}
	if name == MethodZPSGD {
		s.Estimator = "" // its Gaussian estimator is built in
	}
	switch name {
	case MethodGD:
		return &GD{Settings: s, Finder: f, Rand: rng}, nil
	case MethodSGD:
		return &SGD{Settings: s, Finder: f, Rand: rng}, nil
	case MethodSCSG:
		return &SCSG{Settings: s, Finder: f, Rand: rng}, nil
	case MethodSPIDER:
		return &SPIDER{Settings: s, Finder: f, Rand: rng}, nil
	case MethodPAGD:
		return &PAGD{Settings: s, Finder: f, Rand: rng}, nil
	case MethodZPSGD:
		return &ZPSGD{Settings: s, Finder: f, Rand: rng}, nil
	case MethodRSPI:
		return &RSPI{Settings: s, Finder: f, Rand: rng}, nil
	default:
		return &SSRGD{Settings: s, Finder: f, Rand: rng}, nil
	}
}
