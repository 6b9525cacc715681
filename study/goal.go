package study

import "github.com/zotune/zotune/zo"

// The goal of a study (goal = "max"). The optimizers minimise; a study
// that maximises hands them −f. Everything the user sees is in the user's
// sign: trials.jsonl, best, final, the runs and escapes, the convergence
// plot, the target (reached at or above it) and the penalty (the value a
// failed evaluation takes, as the simulator would have answered it).

// sign is +1 for a study that minimises and −1 for one that maximises: the
// optimizer's value is sign·f.
func (s *Spec) sign() float64 {
	if s.Goal == "max" {
		return -1
	}
	return 1
}

// better reports whether value a is better than b for the study's goal.
func (s *Spec) better(a, b float64) bool { return s.sign()*a < s.sign()*b }

// reached reports whether value v reaches the study's target.
func (s *Spec) reached(v float64) bool {
	return s.Target != nil && s.sign()*v <= s.sign()**s.Target
}

// userOutcome returns out with its values in the user's sign.
func (s *Spec) userOutcome(out *zo.Outcome) *zo.Outcome {
	if s.sign() == 1 {
		return out
	}
	u := *out
	u.F = -out.F
	u.Escapes = make([]zo.Escape, len(out.Escapes))
	for i, e := range out.Escapes {
		e.From, e.To = -e.From, -e.To
		u.Escapes[i] = e
	}
	u.Runs = userRuns(out.Runs, -1)
	return &u
}

// userRuns returns runs with their values multiplied by sign (the first
// objective's of a multi-objective study).
func userRuns(runs []zo.RunRecord, sign float64) []zo.RunRecord {
	if sign == 1 {
		return runs
	}
	out := make([]zo.RunRecord, len(runs))
	for i, r := range runs {
		r.Start, r.Value = negated(r.Start), negated(r.Value)
		out[i] = r
	}
	return out
}

// negated returns &−*v, or nil for nil.
func negated(v *float64) *float64 {
	if v == nil {
		return nil
	}
	n := -*v
	return &n
}

// goalField is Summary.Goal for goal g: "max", or "" for a study that
// minimises.
func goalField(g string) string {
	if g == "max" {
		return g
	}
	return ""
}
