package multistart

import (
	"fmt"
	"slices"

	"github.com/zotune/zotune/zo"
)

// Switches are the categorical coordinates of a problem (a study's
// categorical parameters). A converged run certifies its point with the
// categorical values it ended with; another value may do better once the
// rest of the point is re-optimized for it (the best learning rate for
// "sgd" is not the best for "adam"). So after each converged run, the
// search runs again from every single change of one categorical
// coordinate of its point that no run has started from or ended at, and
// ends at the lowest converged run: no single categorical change, the
// rest re-optimized, improves it. With c categorical parameters of k
// values each, that is at most c(k−1) more runs per improvement.
type Switches interface {
	// Switches returns the points that change one categorical coordinate
	// of x to another of its values, every such change.
	Switches(x []float64) [][]float64
	// ChoiceKey names x's categorical values.
	ChoiceKey(x []float64) string
}

// switching reports whether the search is running the single categorical
// changes of a converged run: a run among them that ends otherwise (its
// value failed, it stalled) does not end the search; the next change
// runs.
func (s *search) switching() bool {
	return s.m.Switches != nil && !s.flat && slices.ContainsFunc(s.outs, func(o *zo.Outcome) bool { return o.Status == zo.StatusConverged })
}

// nextSwitch is the start of the next run after run out: a single
// categorical change of a converged run's point not yet tried (out's own,
// queued here, when it converged); ok is false when there is none, or no
// Switches, or out reached the target.
func (s *search) nextSwitch(out *zo.Outcome) (x []float64, ok bool) {
	sw := s.m.Switches
	if sw == nil || out.Status == zo.StatusTarget {
		return nil, false
	}
	if s.tried == nil {
		s.tried = map[string]bool{}
	}
	for _, e := range s.ends { // where every run started and ended
		s.tried[sw.ChoiceKey(e)] = true
	}
	for _, p := range sw.Switches(out.X) {
		if k := sw.ChoiceKey(p); out.Status == zo.StatusConverged && !s.tried[k] {
			s.tried[k] = true
			s.switches = append(s.switches, p)
		}
	}
	if len(s.switches) == 0 {
		return nil, false
	}
	x, s.switches = s.switches[0], s.switches[1:]
	return x, true
}

// decided is the outcome of a search whose run out decided it: out's own,
// or with Switches the lowest converged run's, saying so.
func (s *search) decided(out *zo.Outcome) *zo.Outcome {
	if !s.switching() || out.Status == zo.StatusTarget {
		return s.outcome(out, out.Status, "")
	}
	var best *zo.Outcome
	n := 0
	for _, o := range s.outs {
		if o.Status != zo.StatusConverged {
			continue
		}
		n++
		if best == nil || o.F < best.F {
			best = o
		}
	}
	res := s.outcome(best, zo.StatusConverged, "")
	if n > 1 {
		res.Reason = fmt.Sprintf("%s; the lowest of %d converged runs, one from each single categorical change of a converged point: none, the other parameters re-optimized, improves it", res.Reason, n)
	}
	return res
}
