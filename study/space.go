package study

import (
	"fmt"
	"math"
)

// Space maps a study's parameters, in user units, to the unit box [0,1]^d
// the optimizer works in, and back. Coordinate i is parameter i: linear
// parameters map affinely, log-scaled ones affinely in log(x), so a step in
// the unit box is a relative change of a log-scaled parameter.
//
// Unit coordinate 0 is Min and 1 is Max, exactly, and the unit coordinate
// of Init (see Init) is Init, exactly: values the user wrote reach the
// simulator as written (0.9, not 0.8999999999999999 after a round trip).
type Space struct {
	Params []Param
	// initUnit[i] is the unit coordinate of Params[i].Init; NaN without one.
	initUnit []float64
}

// NewSpace returns the space of params, which must be valid: named, finite,
// Min < Max, Min > 0 for log scale, Init within bounds.
func NewSpace(params []Param) (*Space, error) {
	if len(params) == 0 {
		return nil, fmt.Errorf("study: space: no parameters")
	}
	if probs := ParamProblems(params); len(probs) > 0 {
		return nil, fmt.Errorf("study: space: %w", probs.Err())
	}
	s := &Space{Params: append([]Param(nil), params...), initUnit: make([]float64, len(params))}
	for i, p := range s.Params {
		s.initUnit[i] = math.NaN()
		if p.Init != nil {
			s.initUnit[i] = p.toUnit(*p.Init)
		}
	}
	return s, nil
}

// Dim returns the number of parameters.
func (s *Space) Dim() int { return len(s.Params) }

// Names returns the parameter names in coordinate order.
func (s *Space) Names() []string {
	names := make([]string, len(s.Params))
	for i, p := range s.Params {
		names[i] = p.Name
	}
	return names
}

// ToUser maps a point of the unit box to user units. Coordinates outside
// [0,1] are clamped first, so the result is always within [Min, Max]; an
// int parameter's value is rounded to the nearest integer. A NaN
// coordinate gives NaN. ToUser panics if len(u) != s.Dim().
func (s *Space) ToUser(u []float64) []float64 {
	s.checkLen(len(u))
	x := make([]float64, len(u))
	for i, p := range s.Params {
		if p.Init != nil && i < len(s.initUnit) && u[i] == s.initUnit[i] {
			x[i] = *p.Init
		} else {
			x[i] = p.toUser(u[i])
		}
	}
	return x
}

// ToUnit maps a point in user units to the unit box: the inverse of ToUser.
// Values outside [Min, Max] are clamped first. A NaN value gives NaN.
// ToUnit panics if len(x) != s.Dim().
func (s *Space) ToUnit(x []float64) []float64 {
	s.checkLen(len(x))
	u := make([]float64, len(x))
	for i, p := range s.Params {
		u[i] = p.toUnit(x[i])
	}
	return u
}

// Init returns the starting point in unit coordinates: each parameter's
// Init, or the centre of its range (0.5, the geometric centre for log
// scale), or a categorical parameter's first value.
func (s *Space) Init() []float64 {
	u := make([]float64, len(s.Params))
	for i, p := range s.Params {
		switch {
		case p.Init != nil:
			u[i] = p.toUnit(*p.Init)
		case p.Type == TypeCategorical:
			u[i] = 0
		default:
			u[i] = 0.5
		}
	}
	return u
}

// Map returns the parameter values at unit point u by name, in user units.
func (s *Space) Map(u []float64) map[string]float64 {
	x := s.ToUser(u)
	m := make(map[string]float64, len(x))
	for i, p := range s.Params {
		m[p.Name] = x[i]
	}
	return m
}

func (s *Space) checkLen(n int) {
	if n != len(s.Params) {
		panic(fmt.Sprintf("study: point has %d coordinates, space has %d", n, len(s.Params)))
	}
}

func (p Param) toUser(t float64) float64 {
	switch {
	case math.IsNaN(t):
		return t
	case p.Type == TypeCategorical:
		return p.choiceToUser(t)
	case t <= 0:
		return p.Min
	case t >= 1:
		return p.Max
	}
	var x float64
	if p.Scale == "log" {
		lo, hi := math.Log(p.Min), math.Log(p.Max)
		x = math.Exp(lo + t*(hi-lo))
	} else {
		x = p.Min + t*(p.Max-p.Min)
	}
	if p.Type == TypeInt {
		x = math.Round(x) + 0 // + 0: never −0
	}
	// Round-off must not carry a point out of bounds.
	return min(max(x, p.Min), p.Max)
}

func (p Param) toUnit(x float64) float64 {
	switch {
	case math.IsNaN(x):
		return x
	case p.Type == TypeCategorical:
		return p.choiceToUnit(x)
	case x <= p.Min:
		return 0
	case x >= p.Max:
		return 1
	}
	var t float64
	if p.Scale == "log" {
		lo, hi := math.Log(p.Min), math.Log(p.Max)
		t = (math.Log(x) - lo) / (hi - lo)
	} else {
		t = (x - p.Min) / (p.Max - p.Min)
	}
	return min(max(t, 0), 1)
}
