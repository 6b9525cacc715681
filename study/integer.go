package study

import (
	"math"

	"github.com/zotune/zotune/internal/tomlcheck"
	"github.com/zotune/zotune/zo"
)

// Integer parameters (type = "int"). The optimizer works in the unit box
// on the continuous relaxation, but the space is a zo.Lattice on their
// coordinates: every point it asks for has them at the unit coordinate of
// an integer, the simulator gets that integer, and zo-gd differences them
// between neighbouring integers and stops only where no ±1 change of one
// improves the point (zo's lattice.go). A log-scale int's integers are
// unevenly spaced in the unit box: neighbours are the integers next to
// the point, not a fixed step.

// intProblems checks what an int parameter adds to the rules of a float
// one: integral bounds and start value, and min >= 1 on a log scale.
func (p Param) intProblems(key string) tomlcheck.Problems {
	var ps tomlcheck.Problems
	for _, b := range []struct {
		key string
		v   *float64
	}{{"min", &p.Min}, {"max", &p.Max}, {"init", p.Init}} {
		if b.v != nil && *b.v != math.Trunc(*b.v) {
			ps.Add(key+"."+b.key, "must be an integer for type = %q (got %s)", TypeInt, num(*b.v))
		}
	}
	if p.Scale == "log" && p.Min < 1 && p.Min > 0 {
		ps.Add(key+".min", "an int on a log scale needs min >= 1 (got %s)", num(p.Min))
	}
	return ps
}

// integerProblems refuses integer parameters with a method that does not
// handle them: only zo-gd steps on the lattice and checks its neighbours.
func (s *Spec) integerProblems(ps *tomlcheck.Problems) {
	for i, p := range s.Params {
		if (p.Type == TypeInt || p.Type == TypeCategorical) && s.Algorithm != zo.MethodGD && !(s.multi() && s.Algorithm == MethodMGDA) {
			ps.Add("algorithm", "%s parameters (param[%d] %s) need %s, which keeps every query on their values and checks the alternatives (algorithm is %q)", p.Type, i, p.Name, zo.MethodGD, s.Algorithm)
			return
		}
	}
}

// hasInts reports whether some parameter is an integer or categorical:
// the space is then a lattice.
func (s *Space) hasInts() bool {
	for i := range s.Params {
		if s.Discrete(i) {
			return true
		}
	}
	return false
}

// Box is the unit box the optimizer works in, with the space as its
// lattice when a parameter is an integer.
func (s *Space) Box() zo.Box {
	b := zo.UnitBox(s.Dim())
	if s.hasInts() {
		b.Lattice = s
	}
	return b
}

// Discrete implements zo.Lattice: the coordinates of int and categorical
// parameters.
func (s *Space) Discrete(i int) bool {
	return s.Params[i].Type == TypeInt || s.Params[i].Type == TypeCategorical
}

// Round implements zo.Lattice: the unit coordinate of the integer nearest
// to unit coordinate t's value.
func (s *Space) Round(i int, t float64) float64 {
	p := s.Params[i]
	return p.toUnit(p.toUser(t))
}

// Neighbours implements zo.Lattice: the unit coordinates of the integers
// one below and one above t's, within the bounds; t, t for a categorical
// parameter.
func (s *Space) Neighbours(i int, t float64) (lo, hi float64) {
	p := s.Params[i]
	if p.Type == TypeCategorical {
		return t, t // unordered: no neighbours (zo.Choices)
	}
	v := p.toUser(t)
	return p.toUnit(math.Max(v-1, p.Min)), p.toUnit(math.Min(v+1, p.Max))
}

var _ zo.Choices = (*Space)(nil)

// Certificate is what a converged study with integer parameters
// certifies, parameter by parameter.
type Certificate struct {
	// Continuous are the parameters over which ‖ĝ‖ ≤ ε and λ̂_min ≥ −δ
	// hold (the gradient only with curvature "none").
	Continuous []string `json:"continuous"`
	// Lattice are the integer parameters in which the point is
	// lattice-optimal: no change of one of them by ±1 improves it.
	Lattice []string `json:"lattice"`
	// Categorical are the categorical parameters no single change of
	// which improves the point, the others re-optimized (see
	// docs/algorithms.md).
	Categorical []string `json:"categorical,omitempty"`
}

// certificate is the certificate of a study that ended with status st:
// nil unless it converged with integer parameters.
func (s *Space) certificate(st zo.Status) *Certificate {
	if st != zo.StatusConverged || !s.hasInts() {
		return nil
	}
	c := &Certificate{Continuous: []string{}, Lattice: []string{}}
	for _, p := range s.Params {
		switch p.Type {
		case TypeInt:
			c.Lattice = append(c.Lattice, p.Name)
		case TypeCategorical:
			c.Categorical = append(c.Categorical, p.Name)
		default:
			c.Continuous = append(c.Continuous, p.Name)
		}
	}
	return c
}
