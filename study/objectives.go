package study

import (
	"fmt"
	"math/rand/v2"

	"github.com/zotune/zotune/internal/tomlcheck"
	"github.com/zotune/zotune/multistart"
	"github.com/zotune/zotune/pareto"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// Several objectives (objectives = [{metric = "error", goal = "min"},
// {metric = "runtime", goal = "min"}]). Every evaluation already returns
// all metrics of the simulator's JSON answer, so the gradients of all
// objectives come from the same batch: the study runs package pareto's
// zeroth-order multiple-gradient descent (MGDA) from a population of
// spread start points, advanced together, and keeps the non-dominated set
// of every point evaluated (Summary.Pareto).

// Objective is one objective of a multi-objective study: a metric of the
// simulator's answer ("value" for the value itself) and whether to
// minimise or maximise it.
type Objective struct {
	Metric string `json:"metric"`
	Goal   string `json:"goal"` // "min" (or "") or "max"
}

// MethodMGDA is the algorithm of a study with several objectives.
const MethodMGDA = "zo-mgda"

// multi reports whether the study has several objectives.
func (s *Spec) multi() bool { return len(s.Objectives) > 1 }

// objectiveProblems checks the objectives and what a multi-objective
// study cannot combine them with.
func (s *Spec) objectiveProblems(ps *tomlcheck.Problems) {
	if len(s.Objectives) == 1 {
		ps.Add("objectives", "a single objective is the study's own: leave objectives out and use goal (got 1 entry; several objectives need at least two)")
	}
	if !s.multi() {
		if s.Algorithm == MethodMGDA {
			ps.Add("algorithm", "%s needs at least two objectives", MethodMGDA)
		}
		return
	}
	seen := map[string]bool{}
	for i, o := range s.Objectives {
		key := fmt.Sprintf("objectives[%d]", i)
		switch {
		case o.Metric == "":
			ps.Add(key+".metric", "required: a metric of the simulator's answer, or \"value\"")
		case seen[o.Metric]:
			ps.Add(key+".metric", "duplicate objective %q", o.Metric)
		}
		seen[o.Metric] = true
		if o.Goal != "" {
			ps.OneOf(key+".goal", "goal", o.Goal, Goals)
		}
	}
	for _, c := range []struct {
		bad       bool
		key, what string
	}{
		{s.Algorithm != zo.MethodGD && s.Algorithm != MethodMGDA, "algorithm", fmt.Sprintf("several objectives run %s (algorithm is %q)", MethodMGDA, s.Algorithm)},
		{s.Goal != "", "goal", "with several objectives each has its own goal"},
		{s.Target != nil, "target", "several objectives have no single target"},
		{s.Samples > 1, "samples", "several objectives need a deterministic simulator (samples = 1)"},
		{s.OnFailure == OnFailurePenalize, "on_failure", "several objectives have no single penalty value: use retry or abort"},
	} {
		if c.bad {
			ps.Add(c.key, "%s", c.what)
		}
	}
}

// objectiveSigns are the signs of the objectives in the optimizer's
// terms: +1 minimised, −1 maximised.
func (s *Spec) objectiveSigns() []float64 {
	signs := make([]float64, len(s.Objectives))
	for j, o := range s.Objectives {
		signs[j] = 1
		if o.Goal == "max" {
			signs[j] = -1
		}
	}
	return signs
}

// objectiveValues are the objectives of a successful reply, in the
// user's sign; ok is false when a metric is missing.
func (s *Spec) objectiveValues(rep *wire.Reply) (vals []float64, missing string) {
	vals = make([]float64, len(s.Objectives))
	for j, o := range s.Objectives {
		if o.Metric == "value" {
			vals[j] = rep.Value
			continue
		}
		v, ok := rep.Metrics[o.Metric]
		if !ok {
			return nil, o.Metric
		}
		vals[j] = v
	}
	return vals, ""
}

// checkObjectives turns a successful reply that lacks an objective's
// metric into a failed one, before it is recorded.
func (s *Spec) checkObjectives(rep *wire.Reply) *wire.Reply {
	if !s.multi() || rep.Error != "" {
		return rep
	}
	if _, missing := s.objectiveValues(rep); missing != "" {
		bad := *rep
		bad.Error = fmt.Sprintf("the answer has no metric %q, an objective of the study (answer {\"value\": …, %q: …})", missing, missing)
		bad.Reason = wire.ReasonParse
		return &bad
	}
	return rep
}

// result is the optimizer's view of a successful reply: the objectives in
// its sign, the first as Value, the others as Values.
func (s *Spec) result(rep *wire.Reply) zo.Result {
	if !s.multi() {
		return zo.Result{Value: s.sign() * rep.Value}
	}
	vals, _ := s.objectiveValues(rep)
	for j, sg := range s.objectiveSigns() {
		vals[j] *= sg
	}
	return zo.Result{Value: vals[0], Values: vals[1:]}
}

// DefaultPopulation is the number of runs a multi-objective study starts
// besides the one from its start point, when explore is not set: every
// iteration costs each run a gradient, so the population is kept small
// (on examples/pareto's problems, 8 covered the fronts better within
// 2,000–8,000 evaluations than 2d did, docs/benchmarks.md).
const DefaultPopulation = 8

// population is the number of runs a multi-objective study starts
// besides its start point's: explore, or DefaultPopulation.
func (s *Spec) population() int {
	if s.Explore != nil {
		return *s.Explore
	}
	return DefaultPopulation
}

// newMGDA is the method of a multi-objective study: an MGDA run from the
// start point and weighted runs from the points of a Latin hypercube
// (explore, DefaultPopulation by default), their weights spread over the
// simplex, all drawn from the study seed.
func newMGDA(spec *Spec, progress func(zo.Progress)) *pareto.Method {
	d, m, n := len(spec.Params), len(spec.Objectives), spec.population()
	rng := rand.New(rand.NewPCG(spec.Seed, seedStream+1<<32))
	starts := multistart.LatinHypercube(n, zo.UnitBox(d), rng)
	return &pareto.Method{
		Objectives: m, Epsilon: spec.Epsilon, Mu: spec.Mu, Starts: starts,
		Weights: append([][]float64{nil}, pareto.SpreadWeights(n, m, rng)...), Progress: progress,
	}
}

// ParetoPoint is a point of the non-dominated set of a multi-objective
// study: its parameters, each objective's value (user's sign), its trial.
type ParetoPoint struct {
	Params map[string]float64 `json:"params"`
	Values map[string]float64 `json:"values"`
	Trial  string             `json:"trial"`
}

// front is a multi-objective study's non-dominated set.
type front struct {
	spec *Spec
	set  pareto.Front[ParetoPoint]
}

// add offers a successful evaluation; it reports whether the set changed.
func (f *front) add(t *wire.Task, rep *wire.Reply) bool {
	vals, missing := f.spec.objectiveValues(rep)
	if missing != "" {
		return false
	}
	p := ParetoPoint{Params: t.Params, Values: map[string]float64{}, Trial: t.Trial}
	key := make([]float64, len(vals))
	for j, sg := range f.spec.objectiveSigns() {
		p.Values[f.spec.Objectives[j].Metric] = vals[j]
		key[j] = sg * vals[j]
	}
	return f.set.Add(key, p)
}

// points is the set, in the order the points joined it.
func (f *front) points() []ParetoPoint {
	var out []ParetoPoint
	for _, it := range f.set.Items() {
		out = append(out, it.Payload)
	}
	return out
}
