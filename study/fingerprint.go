package study

import (
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/zo"
)

// Fingerprint identifies what determines a study's run: everything that
// changes which points it asks for or what their values mean (objective,
// algorithm, curvature finder and its certifier, gradient estimator and
// its step, sharpness-aware radius, speculation, seed, samples, epsilon, delta, the
// failure policy and the parameter space). Budgets
// (max_evaluations, max_time, target) are left out: they only stop the
// same deterministic run earlier or later, so raising one and resuming
// carries the run further. Neither is dispatch in it: both modes ask the
// same questions and share the journal.
func Fingerprint(sc *Spec) string {
	type param struct {
		Name     string
		Min, Max float64
		Init     *float64
		Scale    string
		// Type is omitted for a float, so that the fingerprints of
		// studies without int parameters stay what they were.
		Type string `json:",omitempty"`
		// Values are a categorical parameter's.
		Values []string `json:",omitempty"`
	}
	est := sc.Estimator
	if est == "" {
		est = zo.EstCoord // the default, written or not
	}
	mu := sc.Mu
	if mu == zo.DefaultMu {
		mu = 0 // likewise
	}
	v := struct {
		Objective, Algorithm, Curvature, Estimator string
		Seed                                       uint64
		Samples                                    int
		Epsilon, Delta                             float64
		OnFailure                                  string
		MaxRetries                                 int
		Penalty                                    *float64
		Params                                     []param
		// Certifier is set where another finder certifies the chosen
		// one's nones; omitted otherwise, so that the fingerprints of
		// studies it does not concern stay what they were.
		Certifier string `json:",omitempty"`
		// Mu and SAMRadius are omitted at their defaults, likewise.
		Mu        float64 `json:",omitempty"`
		SAMRadius float64 `json:",omitempty"`
		// Noise marks a run that estimates its objective's noise.
		Noise bool `json:",omitempty"`
		// Adaptive marks the adaptive Lanczos, which curvature "lanczos"
		// has meant since it replaced 20 fixed steps.
		Adaptive bool `json:",omitempty"`
		// Explore is the size of the space-filling first batch; Restarts
		// marks a study that runs again after a stall.
		Explore  int  `json:",omitempty"`
		Restarts bool `json:",omitempty"`
		// Speculate adds stencils to the line searches' batches, which
		// moves every later trial number.
		Speculate bool `json:",omitempty"`
		// Goal is "max" for a study that maximises, omitted otherwise.
		Goal string `json:",omitempty"`
		// Objectives are a multi-objective study's.
		Objectives []Objective `json:",omitempty"`
	}{sc.Objective, sc.Algorithm, sc.Curvature, est, sc.Seed, sc.Samples, sc.Epsilon, sc.Delta,
		sc.FailurePolicy().name(), sc.MaxRetries, sc.Penalty, nil, certifier(sc.Curvature, sc.Samples),
		mu, sc.SAMRadius, sc.estimatesNoise(), sc.Curvature == "lanczos", sc.ExploreCount(), sc.Restarts, sc.Speculate, goalField(sc.Goal), sc.Objectives}
	for _, p := range sc.Params {
		if p.Type == TypeFloat {
			p.Type = ""
		}
		v.Params = append(v.Params, param(p))
	}
	return journal.Fingerprint(v)
}
