package config

import (
	"fmt"

	"github.com/BurntSushi/toml"

	"github.com/zotune/zotune/internal/tomlcheck"
	"github.com/zotune/zotune/study"
)

// StudyConfig is one [[study]]: an objective, a method and a budget.
type StudyConfig struct {
	Name           string   `toml:"name"`            // unique; letters, digits, '_' and '-'; required
	Objective      string   `toml:"objective"`       // objective to minimise; required
	Algorithm      string   `toml:"algorithm"`       // one of study.Algorithms; default "zo-gd"
	Curvature      string   `toml:"curvature"`       // one of study.Curvatures; default "lanczos"
	Seed           uint64   `toml:"seed"`            // fixes the whole run; default 1
	Samples        int      `toml:"samples"`         // distinct simulator seeds; default 1 (deterministic objective)
	Epsilon        float64  `toml:"epsilon"`         // target gradient norm, unit coordinates; default 1e-3
	Delta          float64  `toml:"delta"`           // accepted lambda_min >= -Delta; default 0: derived from Epsilon
	MaxEvaluations int      `toml:"max_evaluations"` // evaluation budget; default 20000
	MaxTime        Duration `toml:"max_time"`        // wall-clock budget; default 0: none
	Target         *float64 `toml:"target"`          // stop once the best value (samples > 1: mean) is <= Target (>= with goal "max"); default nil: none
	Goal           string   `toml:"goal"`            // "min" (default) or "max"
	// Objectives, two or more, make the study multi-objective: metrics of
	// the simulator's answer, each minimised or maximised.
	Objectives []ObjectiveConfig `toml:"objectives"`
	Estimator  string            `toml:"estimator"` // gradient estimator: coord (default), coord-forward, rand, gauss, randomk; where the algorithm allows
	Dispatch   string            `toml:"dispatch"`  // "durable" (default): JetStream work queue; "direct": request/reply
	// Mu is the finite-difference step of the gradient estimates, as a
	// fraction of each parameter's range; default 0: 1e-5.
	Mu float64 `toml:"mu"`
	// SAMRadius turns on sharpness-aware descent steps (zo-gd, zo-sgd),
	// as a fraction of each parameter's range; default 0: off.
	SAMRadius float64 `toml:"sam_radius"`
	// Speculate (zo-gd) sends the next gradient's stencil with each line
	// search's candidates: fewer rounds for more evaluations; default
	// false.
	Speculate bool `toml:"speculate"`
	// Explore is the number of points of a space-filling batch (a Latin
	// hypercube) evaluated with the start point, whose best starts the
	// first run; default nil: 2d (8 to 64) when some parameter has no
	// init, 0 when every one has.
	Explore *int `toml:"explore"`
	// Restarts starts another run from an explored point when one stalls
	// with budget left; default true.
	Restarts bool `toml:"restarts"`
	// OnFailure is what a failed evaluation means: "retry" (default),
	// "penalize" or "abort" (see study.FailurePolicies).
	OnFailure string `toml:"on_failure"`
	// MaxRetries is how often an evaluation that failed for a transient
	// reason (timeout, crash, start, delivery, stale) is sent again;
	// default 2; 0: never.
	MaxRetries int `toml:"max_retries"`
	// Penalty is the value of a failed evaluation under "penalize";
	// default nil: the worst value seen so far.
	Penalty *float64      `toml:"penalty"`
	Params  []ParamConfig `toml:"param"` // the parameters tuned; at least one
}

// ParamConfig is one [[study.param]]: a named, bounded parameter.
type ParamConfig struct {
	Name  string   `toml:"name"`  // identifier, unique in its study, not seed, trial, study or workdir; required
	Min   float64  `toml:"min"`   // lower bound, finite; required
	Max   float64  `toml:"max"`   // upper bound, finite, above Min; required
	Init  *float64 `toml:"init"`  // start value in [Min, Max]; default nil: the centre (geometric centre for log)
	Scale string   `toml:"scale"` // "linear" or "log" (needs Min > 0); default "linear"
	Type  string   `toml:"type"`  // "float", "int" (integral Min, Max, Init; zo-gd) or "categorical" (Values; zo-gd); default "" (float)
	// Values are a categorical parameter's values (strings), the first
	// the start.
	Values []string `toml:"values"`
}

// defaultStudy and defaultParam are the defaults each [[study]] and
// [[study.param]] is decoded over: study.DefaultSpec's.
func defaultStudy() StudyConfig {
	d := study.DefaultSpec()
	return StudyConfig{
		Algorithm: d.Algorithm, Curvature: d.Curvature, Seed: d.Seed, Samples: d.Samples, Epsilon: d.Epsilon,
		MaxEvaluations: d.MaxEvaluations, Dispatch: d.Dispatch, OnFailure: d.OnFailure, MaxRetries: d.MaxRetries,
		Restarts: d.Restarts,
	}
}

func defaultParam() ParamConfig { return ParamConfig{Scale: study.DefaultParam().Scale} }

// Spec returns the study definition s holds.
func (s *StudyConfig) Spec() study.Spec {
	spec := study.Spec{
		Name: s.Name, Objective: s.Objective, Algorithm: s.Algorithm, Curvature: s.Curvature,
		Estimator: s.Estimator, Dispatch: s.Dispatch, Seed: s.Seed, Samples: s.Samples,
		Epsilon: s.Epsilon, Delta: s.Delta, MaxEvaluations: s.MaxEvaluations, MaxTime: s.MaxTime.Duration,
		Target: s.Target, Goal: s.Goal, Objectives: objectives(s.Objectives), OnFailure: s.OnFailure, MaxRetries: s.MaxRetries, Penalty: s.Penalty,
		Mu: s.Mu, SAMRadius: s.SAMRadius, Speculate: s.Speculate, Explore: s.Explore, Restarts: s.Restarts,
	}
	for _, p := range s.Params {
		spec.Params = append(spec.Params, study.Param(p))
	}
	return spec
}

// studyDocument is a [[study]] with its params left for later, and its seed
// read signed so that a negative seed is refused rather than wrapped around.
type studyDocument struct {
	StudyConfig
	Seed   *int64           `toml:"seed"`
	Params []toml.Primitive `toml:"param"`
}

// decodeStudy decodes the study table prim over its defaults: a
// [[study]] at path (study[1]), or with path "" the top level of a
// document that is one study.
func decodeStudy(doc *tomlcheck.Doc, prim toml.Primitive, path string) StudyConfig {
	var ctx []string // the table's key without indices
	if path != "" {
		ctx = []string{"study"}
	}
	sd := studyDocument{StudyConfig: defaultStudy()}
	doc.Decode(prim, &sd, path, ctx...)
	if sd.Seed != nil {
		if *sd.Seed < 0 {
			doc.Problem(tomlcheck.Join(path, "seed"), "must be >= 0 (got %d)", *sd.Seed)
		}
		sd.StudyConfig.Seed = uint64(*sd.Seed)
	}
	for j, pp := range sd.Params {
		p := defaultParam()
		pkey := tomlcheck.Join(path, fmt.Sprintf("param[%d]", j))
		doc.Decode(pp, &p, pkey, append(ctx, "param")...)
		// min and max have no default: 0 is a bound like any other, so an
		// absent one must be reported, not taken as 0. A categorical
		// parameter has values instead.
		if missing := doc.Missing(pp, "min", "max"); len(missing) > 0 && p.Type != study.TypeCategorical {
			for _, k := range missing {
				doc.Problem(pkey+"."+k, "required: the parameter's %s bound", map[string]string{"min": "lower", "max": "upper"}[k])
			}
			doc.Broken(pkey+".min", pkey+".max", pkey+".init")
		}
		sd.StudyConfig.Params = append(sd.StudyConfig.Params, p)
	}
	return sd.StudyConfig
}

// ObjectiveConfig is one entry of a study's objectives: {metric = "error",
// goal = "min"}.
type ObjectiveConfig struct {
	Metric string `toml:"metric"` // a metric of the simulator's answer, or "value"; required
	Goal   string `toml:"goal"`   // "min" (default) or "max"
}

// objectives converts a study's objectives, nil for none.
func objectives(cs []ObjectiveConfig) []study.Objective {
	var out []study.Objective
	for _, o := range cs {
		out = append(out, study.Objective(o))
	}
	return out
}
