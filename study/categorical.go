package study

import (
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/zotune/zotune/internal/tomlcheck"
	"github.com/zotune/zotune/wire"
)

// Categorical parameters (type = "categorical", values = ["adam", "sgd"]).
// In user units a categorical parameter is the index of its value (0 for
// the first); the task carries the index in Params and the string in
// Labels, and the simulator gets the string. In the unit box the n values
// sit at k/(n−1), evenly, but the order means nothing: the space is a
// zo.Choices, whose categorical coordinates have no neighbours and whose
// Alternatives are every other value. zo-gd never moves them by descent;
// it tries every other value of each at once where the rest of the point
// is stationary, and package multistart re-optimizes the rest from each
// single categorical change of a converged point (see docs/algorithms.md).

// MaxValueBytes bounds one value of a categorical parameter.
const MaxValueBytes = wire.MaxLabelBytes

// choiceProblems checks a categorical parameter: at least two distinct,
// non-empty values, and none of the keys of a numeric parameter.
func (p Param) choiceProblems(key string) tomlcheck.Problems {
	var ps tomlcheck.Problems
	if len(p.Values) < 2 {
		ps.Add(key+".values", "a categorical parameter needs at least two values (got %d)", len(p.Values))
	}
	seen := map[string]bool{}
	for _, v := range p.Values {
		switch {
		case v == "" || strings.TrimSpace(v) != v:
			ps.Add(key+".values", "%q: a value must be non-empty, without leading or trailing space", v)
		case len(v) > MaxValueBytes:
			ps.Add(key+".values", "a value of %d bytes; at most %d", len(v), MaxValueBytes)
		case seen[v]:
			ps.Add(key+".values", "duplicate value %q", v)
		}
		seen[v] = true
	}
	for _, k := range []struct {
		key string
		set bool
	}{{"min", p.Min != 0}, {"max", p.Max != 0}, {"init", p.Init != nil}, {"scale", p.Scale == "log"}} {
		if k.set {
			ps.Add(key+"."+k.key, "a categorical parameter has values only, no %s (the study starts at the first value: list your default first)", k.key)
		}
	}
	return ps
}

// choiceToUser is the index of the value at unit coordinate t: the
// nearest of k/(n−1).
func (p Param) choiceToUser(t float64) float64 {
	n := float64(len(p.Values) - 1)
	return math.Round(min(max(t, 0), 1)*n) + 0 // + 0: never −0
}

// choiceToUnit is the unit coordinate of index k.
func (p Param) choiceToUnit(k float64) float64 {
	n := float64(len(p.Values) - 1)
	return min(max(math.Round(k), 0), n) / n
}

// Alternatives implements zo.Choices: for a categorical coordinate, the
// unit coordinates of every value but t's.
func (s *Space) Alternatives(i int, t float64) []float64 {
	p := s.Params[i]
	if p.Type != TypeCategorical {
		return nil
	}
	k := p.choiceToUser(t)
	var alts []float64
	for j := range p.Values {
		if float64(j) != k {
			alts = append(alts, p.choiceToUnit(float64(j)))
		}
	}
	return alts
}

// Labels returns the value of each categorical parameter of a point in
// user units (their indices), nil when there is none.
func (s *Space) Labels(params map[string]float64) map[string]string {
	var l map[string]string
	for _, p := range s.Params {
		if p.Type != TypeCategorical {
			continue
		}
		if l == nil {
			l = map[string]string{}
		}
		k := params[p.Name]
		if math.IsNaN(k) || math.IsInf(k, 0) {
			continue // refused as a failed evaluation before it is sent
		}
		l[p.Name] = p.Values[int(min(max(k, 0), float64(len(p.Values)-1)))]
	}
	return l
}

// hasChoices reports whether some parameter is categorical.
func (s *Space) hasChoices() bool {
	return slices.ContainsFunc(s.Params, func(p Param) bool { return p.Type == TypeCategorical })
}

// Switches implements multistart.Switches: the points that change one
// categorical coordinate of unit point x to another of its values.
func (s *Space) Switches(x []float64) [][]float64 {
	var pts [][]float64
	for i := range x {
		for _, a := range s.Alternatives(i, x[i]) {
			p := slices.Clone(x)
			p[i] = a
			pts = append(pts, p)
		}
	}
	return pts
}

// ChoiceKey implements multistart.Switches: the categorical values of unit
// point x.
func (s *Space) ChoiceKey(x []float64) string {
	var b strings.Builder
	for i, p := range s.Params {
		if p.Type == TypeCategorical {
			fmt.Fprintf(&b, "%d,", int(p.choiceToUser(x[i])))
		}
	}
	return b.String()
}
