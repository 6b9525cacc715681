package metrics

import (
	"math"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/study"
)

// Source is what the gauges are read from, once per scrape: the daemon's
// studies and objectives as its control API reports them. Its methods are
// called from the scraping goroutine and must be safe for concurrent use.
type Source interface {
	Studies() []api.Study
	Objectives() []api.Objective
}

// Metrics is tunerd's Prometheus registry: the counters and histogram of
// the evaluations studies record (it is the study.Observer the daemon
// passes to every run) and the gauges of a Source. It is safe for
// concurrent use.
type Metrics struct {
	reg         *prometheus.Registry
	evaluations *prometheus.CounterVec
	failures    *prometheus.CounterVec
	replayed    *prometheus.CounterVec
	duration    *prometheus.HistogramVec
	handler     http.Handler
}

var _ study.Observer = (*Metrics)(nil)

// namespace prefixes every metric of tunerd's own.
const namespace = "zotune"

// durationBuckets are the upper bounds, in seconds, of the evaluation
// duration histogram: from a millisecond to four hours, about three to a
// decade, for simulators from a function call to an overnight job.
var durationBuckets = []float64{
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
	1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600, 7200, 14400,
}

// unknownReason labels a failure whose trial line names no reason.
const unknownReason = "unknown"

// New returns the metrics of a daemon whose studies and objectives src
// reports; a nil src gives no gauges. Its registry also holds the Go
// runtime and process collectors (go_*, process_*).
func New(src Source) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		evaluations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "evaluations_total",
			Help: "Successful evaluations recorded by a study in this process, those answered from the journal included.",
		}, []string{"study", "objective"}),
		failures: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "evaluation_failures_total",
			Help: "Failed evaluations recorded by a study in this process, those answered from the journal included, by failure reason.",
		}, []string{"study", "objective", "reason"}),
		replayed: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: namespace, Name: "evaluations_replayed_total",
			Help: "Evaluations, successful or failed, a resumed study took from the journal of an earlier run instead of running them (each also counted in zotune_evaluations_total or zotune_evaluation_failures_total).",
		}, []string{"study", "objective"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: namespace, Name: "evaluation_duration_seconds",
			Help:    "Time a successful evaluation run by this process took, as its evaluator measured it (those answered from the journal left out).",
			Buckets: durationBuckets,
		}, []string{"objective"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.evaluations, m.failures, m.replayed, m.duration,
	)
	if src != nil {
		m.reg.MustRegister(sourceCollector{src})
	}
	// ContinueOnError: a scrape that hits a bad series still gets all the
	// others; promhttp_metric_handler_errors_total counts what was left out.
	h := promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg, ErrorHandling: promhttp.ContinueOnError})
	m.handler = promhttp.InstrumentMetricHandler(m.reg, h)
	return m
}

// Handler serves the metrics in the Prometheus exposition formats, as
// /metrics does.
func (m *Metrics) Handler() http.Handler { return m.handler }

// Trial counts an evaluation a study recorded: every line of its
// trials.jsonl is one, successful (it has a value) or failed. A live
// successful evaluation also goes into the duration histogram.
func (m *Metrics) Trial(spec *study.Spec, t *study.Trial, replayed bool) {
	name, objective := spec.Name, spec.Objective
	if t.Value != nil {
		m.evaluations.WithLabelValues(name, objective).Inc()
		if !replayed && t.Seconds >= 0 && !math.IsInf(t.Seconds, 0) {
			m.duration.WithLabelValues(objective).Observe(t.Seconds)
		}
	} else {
		reason := t.Reason
		if reason == "" {
			reason = unknownReason
		}
		m.failures.WithLabelValues(name, objective, reason).Inc()
	}
	if replayed {
		m.replayed.WithLabelValues(name, objective).Inc()
	}
}

// Forget drops the counters of a study, for one deleted from the daemon:
// a study of the same name created later starts them from zero.
func (m *Metrics) Forget(name string) {
	l := prometheus.Labels{"study": name}
	m.evaluations.DeletePartialMatch(l)
	m.failures.DeletePartialMatch(l)
	m.replayed.DeletePartialMatch(l)
}
