package metrics

import (
	"bytes"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/study"
)

// fakeSource is a Source whose answers a test sets.
type fakeSource struct {
	mu         sync.Mutex
	studies    []api.Study
	objectives []api.Objective
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

func (f *fakeSource) set(studies []api.Study, objectives []api.Objective) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.studies, f.objectives = studies, objectives
}

// scrape gets the handler's text exposition and parses it.
func scrape(t *testing.T, m *Metrics) (map[string]*dto.MetricFamily, []byte) {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Accept", "text/plain")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		t.Fatalf("scrape: status %d: %s", rec.Code, rec.Body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
		t.Fatalf("scrape: content type %q", ct)
	}
	body := rec.Body.Bytes()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		t.Fatalf("scrape: %v\n%s", err, body)
	}
	return fams, body
}

// sample finds the sample of family name whose labels are exactly labels
// (name, value, name, value, ...).
func sample(fams map[string]*dto.MetricFamily, name string, labels ...string) (*dto.Metric, bool) {
	f, ok := fams[name]
	if !ok {
		return nil, false
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		want[labels[i]] = labels[i+1]
	}
	for _, m := range f.GetMetric() {
		got := map[string]string{}
		for _, l := range m.GetLabel() {
			got[l.GetName()] = l.GetValue()
		}
		if len(got) == len(want) && mapsEqual(got, want) {
			return m, true
		}
	}
	return nil, false
}

func mapsEqual(a, b map[string]string) bool {
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// value is the value of a counter or gauge sample; NaN when absent.
func value(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	m, ok := sample(fams, name, labels...)
	if !ok {
		return math.NaN()
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	}
	return math.NaN()
}

func expect(t *testing.T, fams map[string]*dto.MetricFamily, want float64, name string, labels ...string) {
	t.Helper()
	if got := value(fams, name, labels...); got != want {
		t.Errorf("%s%v = %v, want %v", name, labels, got, want)
	}
}

func absent(t *testing.T, fams map[string]*dto.MetricFamily, name string, labels ...string) {
	t.Helper()
	if m, ok := sample(fams, name, labels...); ok {
		t.Errorf("%s%v = %v, want no sample", name, labels, m)
	}
}

func ptr(v float64) *float64 { return &v }

// trial is a trials.jsonl line: a value, or a failure with reason.
func trial(value *float64, reason string, seconds float64) *study.Trial {
	t := &study.Trial{Trial: "s/000001", Value: value, Seconds: seconds, Evaluator: "host:1"}
	if value == nil {
		t.Error = "simulator failed"
		t.Reason = reason
	}
	return t
}

// Every Trial event is counted once, as an evaluation or a failure by
// reason, replayed ones also apart; only live successful evaluations go
// into the histogram, each in the right bucket.
func TestTrialCounters(t *testing.T) {
	m := New(nil)
	a := &study.Spec{Name: "alpha", Objective: "sim"}
	b := &study.Spec{Name: "beta", Objective: "sim"}
	c := &study.Spec{Name: "gamma", Objective: "other"}
	events := []struct {
		spec     *study.Spec
		t        *study.Trial
		replayed bool
	}{
		{a, trial(ptr(1), "", 99), true}, // from the journal: no duration
		{a, trial(nil, "timeout", 30), true},
		{a, trial(ptr(2), "", 0.002), false},
		{a, trial(ptr(3), "", 0.7), false},
		{a, trial(ptr(-4), "", 4000), false},
		{a, trial(nil, "timeout", 30), false},
		{a, trial(nil, "exit", 1), false},
		{a, trial(nil, "", 0), false},
		{b, trial(ptr(0), "", 0.7), false},
		{c, trial(ptr(0), "", 20000), false}, // beyond the last bucket
	}
	for _, e := range events {
		m.Trial(e.spec, e.t, e.replayed)
	}
	fams, body := scrape(t, m)

	expect(t, fams, 4, "zotune_evaluations_total", "study", "alpha", "objective", "sim")
	expect(t, fams, 1, "zotune_evaluations_total", "study", "beta", "objective", "sim")
	expect(t, fams, 2, "zotune_evaluation_failures_total", "study", "alpha", "objective", "sim", "reason", "timeout")
	expect(t, fams, 1, "zotune_evaluation_failures_total", "study", "alpha", "objective", "sim", "reason", "exit")
	expect(t, fams, 1, "zotune_evaluation_failures_total", "study", "alpha", "objective", "sim", "reason", "unknown")
	expect(t, fams, 2, "zotune_evaluations_replayed_total", "study", "alpha", "objective", "sim")
	absent(t, fams, "zotune_evaluations_replayed_total", "study", "beta", "objective", "sim")
	absent(t, fams, "zotune_evaluation_failures_total", "study", "beta", "objective", "sim", "reason", "timeout")

	// Evaluations and failures add up to the events (trials.jsonl lines).
	lines := value(fams, "zotune_evaluations_total", "study", "alpha", "objective", "sim")
	for _, r := range []string{"timeout", "exit", "unknown"} {
		lines += value(fams, "zotune_evaluation_failures_total", "study", "alpha", "objective", "sim", "reason", r)
	}
	if lines != 8 {
		t.Errorf("alpha: evaluations + failures = %v, want its 8 trial lines", lines)
	}

	h, ok := sample(fams, "zotune_evaluation_duration_seconds", "objective", "sim")
	if !ok || h.Histogram == nil {
		t.Fatalf("no duration histogram for sim:\n%s", body)
	}
	hs := h.Histogram
	if hs.GetSampleCount() != 4 || hs.GetSampleSum() != 0.002+0.7+4000+0.7 {
		t.Errorf("sim durations: count %d sum %v, want 4 and %v", hs.GetSampleCount(), hs.GetSampleSum(), 0.002+0.7+4000+0.7)
	}
	cumulative := map[float64]uint64{0.001: 0, 0.0025: 1, 0.5: 1, 1: 3, 3600: 3, 7200: 4, 14400: 4}
	for _, bk := range hs.GetBucket() {
		if want, ok := cumulative[bk.GetUpperBound()]; ok && bk.GetCumulativeCount() != want {
			t.Errorf("sim bucket le=%v: %d, want %d", bk.GetUpperBound(), bk.GetCumulativeCount(), want)
		}
	}
	if len(hs.GetBucket()) != len(durationBuckets)+1 { // and +Inf
		t.Errorf("%d buckets, want %d and +Inf", len(hs.GetBucket()), len(durationBuckets))
	}
	other, _ := sample(fams, "zotune_evaluation_duration_seconds", "objective", "other")
	if other == nil || other.Histogram.GetSampleCount() != 1 || other.Histogram.GetBucket()[len(durationBuckets)-1].GetCumulativeCount() != 0 {
		t.Errorf("other durations: %v, want one sample above every bucket", other)
	}

	// Forget drops a deleted study's counters and nothing else.
	m.Forget("alpha")
	fams, _ = scrape(t, m)
	absent(t, fams, "zotune_evaluations_total", "study", "alpha", "objective", "sim")
	absent(t, fams, "zotune_evaluation_failures_total", "study", "alpha", "objective", "sim", "reason", "timeout")
	absent(t, fams, "zotune_evaluations_replayed_total", "study", "alpha", "objective", "sim")
	expect(t, fams, 1, "zotune_evaluations_total", "study", "beta", "objective", "sim")
}

// The gauges are the source's values at the time of the scrape; an
// estimate the study does not have yet has no sample, not a zero.
func TestSourceGauges(t *testing.T) {
	src := &fakeSource{}
	running := api.Study{
		Name: "alpha", Objective: "sim", Origin: api.OriginAPI, State: api.StateActive, Status: "running", Running: true,
		Evaluations: 120, Failures: 3, Spent: 123, MaxEvaluations: 1000,
		Best: ptr(-1.5), GradNorm: ptr(0.02), LambdaMin: ptr(-0.25), Escapes: 2, Rate: 4, ETASeconds: ptr(219.25),
	}
	pending := api.Study{Name: "beta", Objective: "other", Origin: api.OriginConfig, State: api.StateStopped, Status: "pending", MaxEvaluations: 50}
	src.set([]api.Study{running, pending}, []api.Objective{
		{Name: "sim", Evaluators: 2, Slots: 8, Busy: 5, InFlight: 6, Waiting: 11},
		{Name: "other"},
	})
	m := New(src)
	fams, body := scrape(t, m)

	expect(t, fams, 1, "zotune_study_info", "study", "alpha", "objective", "sim", "origin", "api")
	expect(t, fams, 1, "zotune_study_info", "study", "beta", "objective", "other", "origin", "config")
	expect(t, fams, 1, "zotune_study_running", "study", "alpha")
	expect(t, fams, 0, "zotune_study_running", "study", "beta")
	expect(t, fams, 123, "zotune_study_evaluations_spent", "study", "alpha")
	expect(t, fams, 1000, "zotune_study_evaluations_budget", "study", "alpha")
	expect(t, fams, 0, "zotune_study_evaluations_spent", "study", "beta")
	expect(t, fams, 50, "zotune_study_evaluations_budget", "study", "beta")
	expect(t, fams, -1.5, "zotune_study_best_value", "study", "alpha")
	expect(t, fams, 0.02, "zotune_study_grad_norm", "study", "alpha")
	expect(t, fams, -0.25, "zotune_study_lambda_min", "study", "alpha")
	expect(t, fams, 219.25, "zotune_study_eta_seconds", "study", "alpha")
	expect(t, fams, 2, "zotune_study_escapes", "study", "alpha")
	expect(t, fams, 0, "zotune_study_escapes", "study", "beta")
	for _, name := range []string{"zotune_study_best_value", "zotune_study_grad_norm", "zotune_study_lambda_min", "zotune_study_eta_seconds"} {
		absent(t, fams, name, "study", "beta")
	}
	checkOneOf(t, fams, "zotune_study_status", "status", "alpha", "running", len(statuses))
	checkOneOf(t, fams, "zotune_study_status", "status", "beta", "pending", len(statuses))
	checkOneOf(t, fams, "zotune_study_state", "state", "alpha", "active", 2)
	checkOneOf(t, fams, "zotune_study_state", "state", "beta", "stopped", 2)

	expect(t, fams, 6, "zotune_objective_tasks_in_flight", "objective", "sim")
	expect(t, fams, 11, "zotune_objective_tasks_waiting", "objective", "sim")
	expect(t, fams, 2, "zotune_objective_evaluators", "objective", "sim")
	expect(t, fams, 8, "zotune_objective_slots", "objective", "sim")
	expect(t, fams, 5, "zotune_objective_slots_busy", "objective", "sim")
	expect(t, fams, 0, "zotune_objective_slots", "objective", "other")
	if _, ok := fams["go_goroutines"]; !ok {
		t.Errorf("no Go runtime metrics:\n%s", body)
	}
	if _, ok := fams["process_start_time_seconds"]; !ok {
		t.Errorf("no process metrics:\n%s", body)
	}

	// The next scrape reads the source again: the study converged, with a
	// status the list does not know for beta, and an objective went away.
	running.Status, running.Running, running.ETASeconds, running.Spent = "converged", false, nil, 400
	pending.Status = "paused"
	src.set([]api.Study{running, pending}, []api.Objective{{Name: "sim", Evaluators: 1, Slots: 4}})
	fams, _ = scrape(t, m)
	checkOneOf(t, fams, "zotune_study_status", "status", "alpha", "converged", len(statuses))
	checkOneOf(t, fams, "zotune_study_status", "status", "beta", "paused", len(statuses)+1)
	expect(t, fams, 0, "zotune_study_running", "study", "alpha")
	expect(t, fams, 400, "zotune_study_evaluations_spent", "study", "alpha")
	absent(t, fams, "zotune_study_eta_seconds", "study", "alpha")
	expect(t, fams, 4, "zotune_objective_slots", "objective", "sim")
	absent(t, fams, "zotune_objective_slots", "objective", "other")
}

// checkOneOf checks that family name has n series for study, the one
// whose label is current at 1 and the others at 0.
func checkOneOf(t *testing.T, fams map[string]*dto.MetricFamily, name, label, study, current string, n int) {
	t.Helper()
	var ones, zeros []string
	for _, m := range fams[name].GetMetric() {
		var s, v string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "study":
				s = l.GetValue()
			case label:
				v = l.GetValue()
			}
		}
		if s != study {
			continue
		}
		if m.GetGauge().GetValue() == 1 {
			ones = append(ones, v)
		} else {
			zeros = append(zeros, v)
		}
	}
	if len(ones) != 1 || ones[0] != current || len(ones)+len(zeros) != n {
		sort.Strings(zeros)
		t.Errorf("%s{study=%q}: 1 for %v, 0 for %v; want 1 for %q alone among %d", name, study, ones, zeros, current, n)
	}
}

// Every zotune_ metric follows Prometheus's naming and documentation rules
// (promlint: base units, _total on counters, HELP text).
func TestMetricsLint(t *testing.T) {
	src := &fakeSource{}
	src.set([]api.Study{{Name: "a", Objective: "sim", Status: "running", Best: ptr(1), GradNorm: ptr(1), LambdaMin: ptr(1), ETASeconds: ptr(1)}},
		[]api.Objective{{Name: "sim"}})
	m := New(src)
	m.Trial(&study.Spec{Name: "a", Objective: "sim"}, trial(ptr(1), "", 1), false)
	m.Trial(&study.Spec{Name: "a", Objective: "sim"}, trial(nil, "exit", 1), true)
	fams, body := scrape(t, m)
	problems, err := promlint.New(bytes.NewReader(body)).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "zotune_") {
			t.Errorf("%s: %s", p.Metric, p.Text)
		}
	}
	var ours []string
	for name, f := range fams {
		if strings.HasPrefix(name, "zotune_") {
			ours = append(ours, name)
			if len(f.GetHelp()) < 20 {
				t.Errorf("%s: help %q", name, f.GetHelp())
			}
		}
	}
	if len(ours) != 4+len(sourceDescs) {
		sort.Strings(ours)
		t.Errorf("scraped %d zotune_ families %v, want %d", len(ours), ours, 4+len(sourceDescs))
	}
}

// A scrape with a sample that cannot be made (a label value that is not
// UTF-8) still serves every other one.
func TestBadLabelValue(t *testing.T) {
	src := &fakeSource{}
	src.set([]api.Study{{Name: "ok", Status: "running"}, {Name: "bad\xff", Status: "running"}}, nil)
	m := New(src)
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, req)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != http.StatusOK || !strings.Contains(string(body), `zotune_study_running{study="ok"} 0`) {
		t.Fatalf("status %d:\n%s", rec.Code, body)
	}
	if strings.Contains(string(body), "bad") {
		t.Errorf("a series with a bad label value was served:\n%s", body)
	}
	// The handler counts the error after it served the scrape: the next
	// one shows it.
	rec = httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, req)
	if !strings.Contains(rec.Body.String(), `promhttp_metric_handler_errors_total{cause="gathering"} 1`) {
		t.Errorf("the error was not counted:\n%s", rec.Body)
	}
}
