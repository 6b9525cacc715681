package daemon

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/chart"
)

// view is the API's picture of s; with full, its summary too.
func (m *manager) view(s *managed, full bool) api.Study {
	m.mu.Lock()
	e, live, running := s.entry, s.live, s.cancel != nil
	m.mu.Unlock()
	v := api.Study{
		Name: e.Name, Objective: e.Spec.Objective, Origin: e.Origin, State: e.State, Created: e.Created,
		Running: running, MaxEvaluations: e.Spec.MaxEvaluations, Status: "pending", Daemon: m.driver(s),
	}
	sum := m.summary(s)
	if sum == nil {
		if e.Ended != "" {
			v.Status = e.Ended // finished by another daemon, which has its summary
		}
		return v
	}
	v.Status, v.Reason = sum.Status, sum.Reason
	v.Evaluations, v.Failures = sum.Evaluations, sum.Failures
	v.Spent = sum.Spent
	v.Escapes, v.WallSeconds = sum.Escapes, sum.WallSeconds
	v.Pareto = len(sum.Pareto)
	if sum.Best != nil {
		v.Best = finite(sum.Best.Value)
	}
	if sum.Final != nil {
		v.GradNorm, v.LambdaMin = sum.Final.GradNorm, sum.Final.LambdaMin
	} else if live != nil {
		v.GradNorm, v.LambdaMin = lastEstimates(live.Convergence())
	}
	if running && sum.WallSeconds > 0 {
		v.Rate = float64(v.Spent-sum.Replayed) / sum.WallSeconds
		if left := v.MaxEvaluations - v.Spent; v.Rate > 0 && left > 0 {
			v.ETASeconds = finite(float64(left) / v.Rate)
		}
	}
	if full {
		v.Summary = sum
	}
	return v
}

// driver is the daemon that drives s, or drove it last: the holder of
// its lease, else the one the registry names; this daemon under tunerd
// run ("").
func (m *manager) driver(s *managed) string {
	if m.leases == nil {
		return m.id
	}
	if h := m.leases.holder(s.Name); h != "" {
		return h
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	return s.Driver
}

// lastEstimates are the last finite gradient norm and curvature estimate
// of a plot's trace.
func lastEstimates(c *chart.Convergence) (grad, lambda *float64) {
	if c == nil {
		return nil, nil
	}
	for i := len(c.Points) - 1; i >= 0 && (grad == nil || lambda == nil); i-- {
		p := c.Points[i]
		if grad == nil {
			grad = finite(p.GradNorm)
		}
		if lambda == nil {
			lambda = finite(p.Lambda)
		}
	}
	return grad, lambda
}

// finite returns &v, or nil when v is NaN or infinite.
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// convergence returns the plot of the study called name: live while it
// runs, or ran, in this process; else from its trace.json, if it has one.
func (m *manager) convergence(name string) (*chart.Convergence, bool) {
	s, err := m.find(name)
	if err != nil {
		return nil, false
	}
	m.mu.Lock()
	live := s.live
	m.mu.Unlock()
	if live != nil {
		if c := live.Convergence(); c != nil && len(c.Points) > 0 {
			return c, true
		}
	}
	c, err := chart.ReadConvergence(filepath.Join(m.run.DataDir, name, "trace.json"))
	if err != nil {
		return nil, true
	}
	return c, true
}

// trials returns a page of the study's trial log, trials.jsonl.
func (m *manager) trials(req api.TrialsRequest) (*api.Trials, error) {
	if _, err := m.find(req.Study); err != nil {
		return nil, err
	}
	if req.Offset < 0 || req.Limit < 0 {
		return nil, &api.Error{Code: api.CodeBadRequest, Message: "offset and limit must be >= 0"}
	}
	limit := req.Limit
	if limit == 0 {
		limit = api.DefaultTrialsLimit
	}
	limit = min(limit, api.MaxTrialsLimit)
	out := &api.Trials{Study: req.Study, Offset: req.Offset, Trials: []json.RawMessage{}}
	f, err := os.Open(filepath.Join(m.run.DataDir, req.Study, "trials.jsonl"))
	if errors.Is(err, os.ErrNotExist) {
		return out, nil
	}
	if err != nil {
		return nil, fmt.Errorf("daemon: trials of %s: %w", req.Study, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		if n := out.Total; n >= req.Offset && n < req.Offset+limit {
			out.Trials = append(out.Trials, json.RawMessage(bytes.Clone(sc.Bytes())))
		}
		out.Total++
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("daemon: trials of %s: %w", req.Study, err)
	}
	if next := req.Offset + len(out.Trials); next < out.Total {
		out.Next = &next
	}
	return out, nil
}
