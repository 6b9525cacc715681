package study

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"slices"
	"strconv"
	"time"

	"github.com/zotune/zotune/internal/tomlcheck"
	"github.com/zotune/zotune/multistart"
	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// Spec is a study's definition: what to tune (the objective and its
// parameters), how (the method and its tolerances, the failure policy)
// and for how long. A config file's [[study]] and a study submitted over
// the API both become a Spec; DefaultSpec holds the defaults they are
// decoded over, and Problems the rules they must meet.
type Spec struct {
	Name      string // unique; letters, digits, '_' and '-' (wire.CheckName)
	Objective string // which evaluators answer it; same rule
	Algorithm string // one of Algorithms
	Curvature string // one of Curvatures
	Estimator string // one of Estimators, or "" for the method's default
	Dispatch  string // "durable" or "direct"
	Seed      uint64 // fixes every random choice of the run
	Samples   int    // distinct simulator seeds; 1: a deterministic objective
	Epsilon   float64
	Delta     float64 // 0: derived from Epsilon
	// Mu is the finite-difference step in unit-box coordinates; 0: zo's
	// default, 1e-5.
	Mu float64
	// SAMRadius is the radius of sharpness-aware steps in unit-box
	// coordinates (zo.Settings.SAMRadius); 0: off.
	SAMRadius float64
	// Speculate sends the next gradient's stencil with each line search
	// (zo.Settings.Speculate; zo-gd only).
	Speculate bool
	// Explore is the number of points of the space-filling batch
	// evaluated with the start point before the first run (package
	// multistart); nil: multistart.DefaultExplore(d) when a parameter has
	// no init, none when every one has (see ExploreCount).
	Explore *int
	// Restarts starts another run from an explored point when a run
	// stalls while the budget lasts; default true.
	Restarts bool
	// Budgets: they stop the same run earlier or later, and are not in the
	// fingerprint.
	MaxEvaluations int
	MaxTime        time.Duration // 0: none
	Target         *float64      // nil: none; reached at or below it (at or above it with goal "max")
	// Goal is "min" (or "") or "max": whether the study minimises or
	// maximises the simulator's value (see sign).
	Goal string
	// Objectives, two or more, make the study multi-objective (see
	// objectives.go); nil: one objective, the simulator's value.
	Objectives []Objective
	// The failure policy (see FailurePolicy).
	OnFailure  string
	MaxRetries int
	Penalty    *float64
	Params     []Param
}

// Param is a named, bounded parameter of a study.
type Param struct {
	Name     string
	Min, Max float64
	Init     *float64 // nil: the centre (the geometric centre for log; rounded for an int)
	Scale    string   // "linear" or "log"
	Type     string   // "float" (or ""), "int" (integral Min, Max and Init) or "categorical"; see Space
	// Values are a categorical parameter's values, at least two, distinct;
	// the simulator gets the string, the optimizer its index (see Space).
	Values []string
}

// Values accepted by a Spec's enumerated fields.
var (
	// Algorithms are the methods zo.NewMethod can build.
	Algorithms = append(slices.Clone(zo.Methods), MethodMGDA)
	// Curvatures are the negative-curvature finders (see NewFinder).
	Curvatures = finderNames()
	// Estimators are the gradient estimators a study may name.
	Estimators = zo.Estimators
	// Dispatches are the ways tasks reach evaluators.
	Dispatches = []string{"direct", "durable"}
	// Scales are the ways a parameter maps to the optimizer's unit box.
	Scales = []string{"linear", "log"}
	// Goals are the directions a study optimises in.
	Goals = []string{"min", "max"}
	// Types are the kinds of values a parameter takes.
	Types = []string{TypeFloat, TypeInt, TypeCategorical}
)

// Parameter types.
const (
	TypeFloat = "float" // a real number in [Min, Max]
	TypeInt   = "int"   // an integer in [Min, Max]: see Space
	// TypeCategorical is one of Values: see Space.
	TypeCategorical = "categorical"
)

// Defaults of a Spec's fields whose zero value is not their default.
const (
	DefaultAlgorithm      = "zo-gd"
	DefaultCurvature      = "lanczos"
	DefaultDispatch       = "durable"
	DefaultSeed           = 1
	DefaultEpsilon        = 1e-3
	DefaultMaxEvaluations = 20000
	DefaultScale          = "linear"
)

// DefaultSpec returns the defaults a study definition is decoded over.
func DefaultSpec() Spec {
	return Spec{
		Algorithm:      DefaultAlgorithm,
		Curvature:      DefaultCurvature,
		Dispatch:       DefaultDispatch,
		Seed:           DefaultSeed,
		Samples:        1,
		Epsilon:        DefaultEpsilon,
		MaxEvaluations: DefaultMaxEvaluations,
		OnFailure:      OnFailureRetry,
		MaxRetries:     DefaultMaxRetries,
		Restarts:       true,
	}
}

// DefaultParam returns the defaults a parameter is decoded over.
func DefaultParam() Param { return Param{Scale: DefaultScale} }

// FailurePolicy returns the study's failure policy.
func (s *Spec) FailurePolicy() FailurePolicy {
	p := FailurePolicy{OnFailure: s.OnFailure, MaxRetries: s.MaxRetries, Penalty: s.Penalty}
	if s.Penalty != nil {
		v := s.sign() * *s.Penalty // the optimizer's sign
		p.Penalty = &v
	}
	return p
}

// Problems returns every value of s a study cannot run with, each with the
// key at fault as a config or a submission writes it (max_evaluations,
// param[1].min).
func (s *Spec) Problems() tomlcheck.Problems {
	var ps tomlcheck.Problems
	checkName(&ps, "name", s.Name)
	checkName(&ps, "objective", s.Objective)
	ps.OneOf("algorithm", "algorithm", s.Algorithm, Algorithms)
	ps.OneOf("curvature", "curvature", s.Curvature, Curvatures)
	ps.OneOf("dispatch", "dispatch", s.Dispatch, Dispatches)
	if s.Samples < 1 {
		ps.Add("samples", "must be >= 1 (got %d)", s.Samples)
	}
	if !(s.Epsilon > 0) || math.IsInf(s.Epsilon, 1) {
		ps.Add("epsilon", "must be finite and > 0 (got %s)", num(s.Epsilon))
	}
	if !(s.Delta >= 0) || math.IsInf(s.Delta, 1) {
		ps.Add("delta", "must be finite and >= 0, 0 deriving it from epsilon (got %s)", num(s.Delta))
	}
	if s.Goal != "" {
		ps.OneOf("goal", "goal", s.Goal, Goals)
	}
	s.objectiveProblems(&ps)
	s.budgetProblems(&ps)
	s.failureProblems(&ps)
	s.estimatorProblems(&ps)
	s.stepProblems(&ps)
	s.integerProblems(&ps)
	if len(s.Params) == 0 {
		ps.Add("param", "at least one parameter is required")
	}
	if len(s.Params) > wire.MaxParams {
		ps.Add("param", "%d parameters; at most %d", len(s.Params), wire.MaxParams)
	}
	return append(ps, ParamProblems(s.Params)...)
}

func (s *Spec) budgetProblems(ps *tomlcheck.Problems) {
	if s.MaxEvaluations < 1 {
		ps.Add("max_evaluations", "must be >= 1 (got %d)", s.MaxEvaluations)
	}
	if s.MaxTime < 0 {
		ps.Add("max_time", "must be >= 0, 0 meaning no limit (got %v)", s.MaxTime)
	}
	if s.Target != nil && math.IsNaN(*s.Target) {
		ps.Add("target", "must be a number (got nan)")
	}
}

func (s *Spec) failureProblems(ps *tomlcheck.Problems) {
	ps.OneOf("on_failure", "failure policy", s.OnFailure, FailurePolicies)
	if s.MaxRetries < 0 || s.MaxRetries > MaxRetriesLimit {
		ps.Add("max_retries", "must be 0 to %d (got %d)", MaxRetriesLimit, s.MaxRetries)
	}
	if s.Penalty != nil {
		switch {
		case math.IsNaN(*s.Penalty) || math.IsInf(*s.Penalty, 0):
			ps.Add("penalty", "must be finite (got %s)", num(*s.Penalty))
		case s.OnFailure != OnFailurePenalize:
			ps.Add("penalty", "is used only with on_failure = %q (on_failure is %q)", OnFailurePenalize, s.OnFailure)
		}
	}
}

// estimatorProblems refuses an unknown estimator, and a combination the
// method cannot honour (an estimator it has no use for), before anything
// runs.
func (s *Spec) estimatorProblems(ps *tomlcheck.Problems) {
	if s.Estimator != "" {
		ps.OneOf("estimator", "estimator", s.Estimator, Estimators)
	}
	if slices.Contains(zo.Methods, s.Algorithm) && (s.Estimator == "" || slices.Contains(Estimators, s.Estimator)) {
		if _, err := zo.NewMethod(s.Algorithm, zo.Settings{Estimator: s.Estimator}, nil, rand.New(rand.NewPCG(1, 1))); err != nil {
			ps.Add("estimator", "%v", err)
		}
	}
}

// Caution returns a warning for a choice known to cost far more than
// another would, "" if none. On a stochastic objective (samples > 1) the
// finders other than online and lanczos certify with an iteration count
// that grows as L/δ (tens of thousands of evaluations at a 12-d minimum,
// docs/benchmarks.md) and have no model of the sampling noise; on a
// deterministic one an adaptive Lanczos certifies for them (NewFinder).
func (s *Spec) Caution() string {
	switch {
	case s.Samples > 1 && (s.Curvature == "deterministic" || s.Curvature == "dimer" || s.Curvature == "power"):
		return fmt.Sprintf("curvature %q on a stochastic objective (samples > 1): its certificate costs an iteration count that grows as L/δ, and it has no model of the sampling noise; \"online\" is made for stochastic objectives", s.Curvature)
	}
	return ""
}

// ExploreCount is the number of points of the study's space-filling
// first batch: Explore, or by default multistart.DefaultExplore(d) when
// some parameter has no init (the user did not say where to start) and 0
// when every one has — or when the default batch would take more than
// half of the budget. Only then does it depend on the budget: raising
// the budget of such a study changes its fingerprint, and resuming it
// asks for --fresh rather than replay a journal of other points.
func (s *Spec) ExploreCount() int {
	switch {
	case s.Explore != nil:
		return *s.Explore
	case slices.ContainsFunc(s.Params, func(p Param) bool { return p.Init == nil && p.Type != TypeCategorical }):
		if n := multistart.DefaultExplore(len(s.Params)); s.fits(n) {
			return n
		}
	}
	return 0
}

// fits reports whether a first batch of n explored points, with the start
// point, over every sample, takes at most half of the budget.
func (s *Spec) fits(n int) bool {
	return 2*(n+1)*max(s.Samples, 1) <= s.MaxEvaluations
}

// exploreProblems checks that the space-filling first batch is a valid
// size and fits in the budget with room to spare.
func (s *Spec) exploreProblems(ps *tomlcheck.Problems) {
	if s.Explore != nil && (*s.Explore < 0 || *s.Explore > MaxExplore) {
		ps.Add("explore", "must be >= 0 and <= %d points; 0: none (got %d)", MaxExplore, *s.Explore)
		return
	}
	if n := s.ExploreCount(); n > 0 && s.MaxEvaluations >= 1 && !s.fits(n) {
		ps.Add("explore", "the space-filling first batch (explore = %d, and the start point, × samples = %d evaluations) takes more than half of max_evaluations = %d: set explore lower (0: none) or raise max_evaluations",
			n, (n+1)*max(s.Samples, 1), s.MaxEvaluations)
	}
}

// estimatesNoise reports whether a run of s estimates the noise of its
// objective to choose its difference step (zo.Settings.EstimateNoise):
// the methods with negative-curvature finding (zo.NoiseMethods) with mu
// unset.
func (s *Spec) estimatesNoise() bool {
	return slices.Contains(zo.NoiseMethods, s.Algorithm) && s.Mu == 0
}

// MaxExplore bounds Spec.Explore.
const MaxExplore = 10000

// MaxMu bounds Spec.Mu: a difference step of a tenth of the box or more
// measures no gradient.
const MaxMu = 0.1

// stepProblems checks the difference step, the sharpness-aware radius and
// speculation.
func (s *Spec) stepProblems(ps *tomlcheck.Problems) {
	if !(s.Mu >= 0 && s.Mu < MaxMu) {
		ps.Add("mu", "must be >= 0 and < %g, a fraction of each parameter's range; 0 for the default %g (got %s)", MaxMu, zo.DefaultMu, num(s.Mu))
	}
	s.exploreProblems(ps)
	switch {
	case !(s.SAMRadius >= 0 && s.SAMRadius < 1):
		ps.Add("sam_radius", "must be >= 0 and < 1, a fraction of each parameter's range; 0: off (got %s)", num(s.SAMRadius))
	case s.SAMRadius > 0 && s.Algorithm != zo.MethodGD && s.Algorithm != zo.MethodSGD:
		ps.Add("sam_radius", "only %s and %s take sharpness-aware steps (algorithm is %q)", zo.MethodGD, zo.MethodSGD, s.Algorithm)
	}
	if s.Speculate && s.Algorithm != zo.MethodGD {
		ps.Add("speculate", "only %s sends speculative gradient stencils (algorithm is %q)", zo.MethodGD, s.Algorithm)
	}
}

// checkName checks a required study or objective name (wire.CheckName).
func checkName(ps *tomlcheck.Problems, key, v string) {
	switch {
	case v == "":
		ps.Add(key, "required")
	case wire.CheckName(v) != nil:
		ps.Add(key, "%q: use only letters, digits, '_' and '-'", v)
	}
}

// identifierRE is the rule for parameter names.
var identifierRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)

// ParamProblems returns every problem of a parameter list, with keys
// param[i].field.
func ParamProblems(params []Param) tomlcheck.Problems {
	var ps tomlcheck.Problems
	seen := map[string]int{}
	for i, p := range params {
		key := fmt.Sprintf("param[%d]", i)
		switch {
		case p.Name == "":
			ps.Add(key+".name", "required")
		case len(p.Name) > wire.MaxNameBytes:
			ps.Add(key+".name", "is %d bytes long; at most %d", len(p.Name), wire.MaxNameBytes)
		case !identifierRE.MatchString(p.Name):
			ps.Add(key+".name", "%q is not an identifier (letters, digits and '_', not starting with a digit)", p.Name)
		case slices.Contains(wire.Reserved, p.Name):
			ps.Add(key+".name", "%q is reserved for the argv placeholder {%s}", p.Name, p.Name)
		default:
			if first, dup := seen[p.Name]; dup {
				ps.Add(key+".name", "duplicate parameter name %q (also param[%d])", p.Name, first)
			} else {
				seen[p.Name] = i
			}
		}
		ps = append(ps, p.rangeProblems(key)...)
	}
	return ps
}

// rangeProblems checks a parameter's bounds, scale and start value, or
// a categorical one's values.
func (p Param) rangeProblems(key string) tomlcheck.Problems {
	if p.Type == TypeCategorical {
		return p.choiceProblems(key)
	}
	var ps tomlcheck.Problems
	if len(p.Values) > 0 {
		ps.Add(key+".values", "only a categorical parameter has values (type is %q)", cmp.Or(p.Type, TypeFloat))
	}
	finite := true
	for _, b := range []struct {
		key string
		v   float64
	}{{"min", p.Min}, {"max", p.Max}} {
		if math.IsNaN(b.v) || math.IsInf(b.v, 0) {
			ps.Add(key+"."+b.key, "must be finite (got %s)", num(b.v))
			finite = false
		}
	}
	ps.OneOf(key+".scale", "scale", p.Scale, Scales)
	if p.Type != "" {
		ps.OneOf(key+".type", "type", p.Type, Types)
	}
	if !finite {
		return ps
	}
	if p.Type == TypeInt {
		ps = append(ps, p.intProblems(key)...)
	}
	switch {
	case p.Max <= p.Min:
		ps.Add(key+".max", "must be greater than min (%s <= %s)", num(p.Max), num(p.Min))
	case math.IsInf(p.Max-p.Min, 0):
		ps.Add(key+".max", "range [%s, %s] is too wide to represent", num(p.Min), num(p.Max))
	case p.Scale == "log" && p.Min <= 0:
		ps.Add(key+".min", "log scale needs min > 0 (got %s)", num(p.Min))
	case p.Init != nil && !(*p.Init >= p.Min && *p.Init <= p.Max):
		ps.Add(key+".init", "must be within [min, max] = [%s, %s] (got %s)", num(p.Min), num(p.Max), num(*p.Init))
	}
	return ps
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// finders are the negative-curvature finders a study may name, in the
// order messages list them; "none" builds none.
var finders = []struct {
	name string
	make func(negcurv.Settings) zo.Finder
}{
	// Lanczos runs as long as its certificate needs (Adaptive): over five
	// seeds of the problem set at d = 10–50 it reaches the targets in
	// 1.6–4.4× fewer evaluations than 20 fixed steps (docs/benchmarks.md).
	{"lanczos", adaptiveLanczos},
	{"online", func(s negcurv.Settings) zo.Finder { return negcurv.Online{Settings: s} }},
	{"deterministic", func(s negcurv.Settings) zo.Finder { return negcurv.Deterministic{Settings: s} }},
	// The dimer keeps its direction warm across calls of one study.
	{"dimer", func(s negcurv.Settings) zo.Finder { return &negcurv.Dimer{Settings: s} }},
	{"power", func(s negcurv.Settings) zo.Finder { return negcurv.Power{Settings: s} }},
	{"none", func(negcurv.Settings) zo.Finder { return nil }},
}

func finderNames() []string {
	names := make([]string, len(finders))
	for i, f := range finders {
		names[i] = f.name
	}
	return names
}

// NewFinder returns the negative-curvature finder called name (one of
// Curvatures), nil for "none", for an objective of samples samples.
// report, if set, receives the constants the finder estimated (L, step,
// noise) after every call.
//
// On a deterministic objective (samples = 1) an adaptive Lanczos certifies
// for every finder but lanczos, whose own certificates cost up to 40 times
// more at a minimum (docs/benchmarks.md); where it finds negative
// curvature, the chosen finder looks for the escape direction within a
// bounded number of queries (negcurv.Certified).
func NewFinder(name string, samples int, report func(negcurv.Estimates)) (zo.Finder, error) {
	for _, f := range finders {
		if f.name != name {
			continue
		}
		s := negcurv.Settings{Report: report}
		if certifier(name, samples) == "" {
			return f.make(s), nil
		}
		// The escape finder's nones are never used: only its directions
		// are reported, with the certifier's calls.
		escape := s
		if report != nil {
			escape.Report = func(e negcurv.Estimates) {
				if e.Found {
					report(e)
				}
			}
		}
		return negcurv.Certified{Escape: f.make(escape), Certifier: adaptiveLanczos(s)}, nil
	}
	return nil, fmt.Errorf("unknown curvature %q", name)
}

// adaptiveLanczos is the finder of curvature "lanczos", and the certifier
// of the others on deterministic objectives.
func adaptiveLanczos(s negcurv.Settings) zo.Finder {
	return negcurv.Lanczos{Settings: s, Adaptive: true}
}

// certifier names the finder that certifies the nones of the finder
// called name on an objective of samples samples when it is not that
// finder itself (see NewFinder), else "".
func certifier(name string, samples int) string {
	if samples != 1 || name == "lanczos" || name == "none" {
		return ""
	}
	return "lanczos-adaptive"
}
