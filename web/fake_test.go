package web

import (
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/chart"
	"github.com/zotune/zotune/metrics"
)

// fakeSource is a Source whose studies, plots and health a test sets.
type fakeSource struct {
	mu         sync.Mutex
	studies    []api.Study
	objectives []api.Objective
	plots      map[string]*chart.Convergence // a study's; nil: none yet
	unhealthy  error
}

func (f *fakeSource) Studies() []api.Study {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.studies)
}

func (f *fakeSource) Objectives() []api.Objective {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.objectives)
}

func (f *fakeSource) Convergence(name string) (*chart.Convergence, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, s := range f.studies {
		if s.Name == name {
			return f.plots[name], true
		}
	}
	return nil, false
}

func (f *fakeSource) Healthy() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.unhealthy
}

func (f *fakeSource) setStudies(studies []api.Study) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.studies = studies
}

func ptr(v float64) *float64 { return &v }

var created = time.Date(2026, 3, 14, 9, 26, 53, 0, time.UTC)

// runningStudy is a study halfway through its budget, with its plot.
func runningStudy() api.Study {
	return api.Study{
		Name: "airfoil-drag", Objective: "cfd", Origin: api.OriginAPI, State: api.StateActive,
		Status: "running", Running: true, Evaluations: 1822, Failures: 12, Spent: 1834, MaxEvaluations: 5000,
		Best: ptr(0.0123457), GradNorm: ptr(0.0213), LambdaMin: ptr(-0.00473), Escapes: 2,
		Rate: 3.9, ETASeconds: ptr(811.8), WallSeconds: 470.3, Created: created,
		Pareto: 87, // as if it had two objectives: its front's row shows
	}
}

// convergedStudy is a study that ended certified.
func convergedStudy() api.Study {
	return api.Study{
		Name: "quartic", Objective: "quartic", Origin: api.OriginConfig, State: api.StateActive,
		Status: "converged", Evaluations: 612, Spent: 612, MaxEvaluations: 2000,
		Best: ptr(-0.499993), GradNorm: ptr(0.00087), LambdaMin: ptr(0.0121), Escapes: 1,
		WallSeconds: 31.2, Created: created.Add(-time.Hour),
	}
}

// failedStudy ended on failures, with a reason that is markup.
func failedStudy() api.Study {
	return api.Study{
		Name: "heat-sink", Objective: "thermal", Origin: api.OriginAPI, State: api.StateActive,
		Status: "failed", Reason: `<script>alert("x")</script> simulator kept failing: exit status 2`,
		Evaluations: 3, Failures: 40, Spent: 43, MaxEvaluations: 400, Created: created,
	}
}

// pendingStudy has no summary and no plot yet.
func pendingStudy() api.Study {
	return api.Study{
		Name: "wing-flutter", Objective: "cfd", Origin: api.OriginAPI, State: api.StateStopped,
		Status: "pending", MaxEvaluations: 1000, Created: created,
	}
}

// shape is a plausible run of n iterations: values from v0 down to v1,
// gradient norms from g0 down to g1, curvature estimates (every fifth
// iteration) from well below −delta up to lam1, escapes at the given
// iterations.
type shape struct {
	n                         int
	v0, v1, g0, g1, lam1, dlt float64
	escapes                   []int
}

// trace draws the shape's points.
func (sh shape) trace() []chart.Point {
	var pts []chart.Point
	for i := range sh.n {
		t := float64(i) / float64(sh.n-1)
		wobble := math.Sin(1.7 * float64(i))
		p := chart.Point{
			Evaluations: 1 + i*23,
			Value:       sh.v1 + (sh.v0-sh.v1)*math.Exp(-5*t)*(1+0.08*math.Sin(float64(i))),
			GradNorm:    sh.g0 * math.Pow(sh.g1/sh.g0, t) * (1 + 0.3*math.Abs(wobble)),
			Lambda:      math.NaN(),
		}
		if i%5 == 4 || i == sh.n-1 {
			p.Lambda = -2*sh.dlt*(1-t) + sh.lam1*t + 0.1*sh.dlt*wobble*(1-t)
		}
		if slices.Contains(sh.escapes, i) {
			p.Escape, p.Lambda = true, -3*sh.dlt
		}
		pts = append(pts, p)
	}
	return pts
}

// newFake is a source with a running and a converged study, each with a
// plot, and their objectives.
func newFake() *fakeSource {
	return &fakeSource{
		studies: []api.Study{runningStudy(), convergedStudy()},
		objectives: []api.Objective{
			{Name: "cfd", Evaluators: 3, Slots: 12, Busy: 11, InFlight: 12, Waiting: 4},
			{Name: "quartic", Evaluators: 1, Slots: 4},
		},
		plots: map[string]*chart.Convergence{
			"airfoil-drag": {Title: "airfoil-drag (zo-spider + lanczos)", Epsilon: 1e-3, Delta: math.Sqrt(1e-3),
				Points: shape{60, 0.9, 0.0123457, 0.8, 0.0213, -0.00473, math.Sqrt(1e-3), []int{21, 38}}.trace()},
			"quartic": {Title: "quartic (zo-gd + lanczos)", Epsilon: 1e-3, Delta: math.Sqrt(1e-3),
				Points: shape{27, 0, -0.499993, 0.4, 0.00087, 0.0121, math.Sqrt(1e-3), []int{3}}.trace()},
		},
	}
}

// newServer is a server of src with its metrics, logging to the test.
func newServer(t *testing.T, src *fakeSource) *Server {
	t.Helper()
	return New(src, metrics.New(src), zerolog.New(zerolog.NewTestWriter(t)))
}

var errDisk = errors.New("data_dir: no space left on device")
