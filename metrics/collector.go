package metrics

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/zo"
)

// statuses are the values of a study's status, each a series of
// zotune_study_status: the summary's (running and the terminal ones), and
// pending before the first summary. A status not listed here still gets
// its series while a study has it.
var statuses = []string{
	"pending", "running",
	string(zo.StatusConverged), string(zo.StatusTarget), string(zo.StatusBudget),
	string(zo.StatusStopped), string(zo.StatusFailed),
}

// states are the values of a study's state in the daemon.
var states = []string{api.StateActive, api.StateStopped}

// The gauges read from a Source.
var (
	descStudyInfo = studyDesc("study_info", "A study of the daemon, with its objective and origin (config or api); always 1.", "objective", "origin")
	descStatus    = studyDesc("study_status", "Whether the study's status is the one labelled (1) or not (0): pending, running, converged, target, budget, stopped or failed.", "status")
	descState     = studyDesc("study_state", "Whether the study's state in the daemon is the one labelled (1) or not (0): active, or stopped over the API.", "state")
	descRunning   = studyDesc("study_running", "Whether the daemon is running the study now (1) or not (0).")
	descSpent     = studyDesc("study_evaluations_spent", "Evaluations the study has spent of its budget, successful and failed, those of earlier runs included.")
	descBudget    = studyDesc("study_evaluations_budget", "The study's evaluation budget (max_evaluations).")
	descBest      = studyDesc("study_best_value", "The best (least) objective value the study has seen (with samples > 1, the least mean over a point's samples); absent before the first.")
	descGradNorm  = studyDesc("study_grad_norm", "The study's last estimate of the gradient norm ‖ĝ‖ in unit-box coordinates (certified at most epsilon when converged); absent before the first.")
	descLambdaMin = studyDesc("study_lambda_min", "The study's last estimate of the least Hessian eigenvalue λ̂_min (certified at least -delta when converged); absent before the first.")
	descEscapes   = studyDesc("study_escapes", "Negative-curvature steps the study has taken.")
	descETA       = studyDesc("study_eta_seconds", "Time the rest of the study's budget takes at its current rate; absent when unknown or ended.")

	descInFlight   = objectiveDesc("objective_tasks_in_flight", "Tasks of the objective's studies sent to evaluators and not yet answered.")
	descWaiting    = objectiveDesc("objective_tasks_waiting", "Tasks of the objective's studies waiting for a free evaluator slot (the queue depth).")
	descEvaluators = objectiveDesc("objective_evaluators", "Evaluator processes serving the objective.")
	descSlots      = objectiveDesc("objective_slots", "Simulations the objective's evaluators can run at once.")
	descBusy       = objectiveDesc("objective_slots_busy", "Simulations the objective's evaluators are running now.")

	sourceDescs = []*prometheus.Desc{
		descStudyInfo, descStatus, descState, descRunning, descSpent, descBudget, descBest,
		descGradNorm, descLambdaMin, descEscapes, descETA,
		descInFlight, descWaiting, descEvaluators, descSlots, descBusy,
	}
)

func studyDesc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, append([]string{"study"}, labels...), nil)
}

func objectiveDesc(name, help string) *prometheus.Desc {
	return prometheus.NewDesc(prometheus.BuildFQName(namespace, "", name), help, []string{"objective"}, nil)
}

// sourceCollector reads the gauges from a Source at each scrape, so they
// are consistent with one another and need no updating.
type sourceCollector struct{ src Source }

// Describe sends the descriptors of every gauge.
func (c sourceCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range sourceDescs {
		ch <- d
	}
}

// Collect reads the source once and sends its gauges.
func (c sourceCollector) Collect(ch chan<- prometheus.Metric) {
	studies := c.src.Studies()
	for i := range studies {
		collectStudy(ch, &studies[i])
	}
	for _, o := range c.src.Objectives() {
		gauge(ch, descInFlight, float64(o.InFlight), o.Name)
		gauge(ch, descWaiting, float64(o.Waiting), o.Name)
		gauge(ch, descEvaluators, float64(o.Evaluators), o.Name)
		gauge(ch, descSlots, float64(o.Slots), o.Name)
		gauge(ch, descBusy, float64(o.Busy), o.Name)
	}
}

// collectStudy sends the gauges of one study; an estimate it does not have
// yet (a nil pointer) sends no sample.
func collectStudy(ch chan<- prometheus.Metric, s *api.Study) {
	gauge(ch, descStudyInfo, 1, s.Name, s.Objective, s.Origin)
	oneOf(ch, descStatus, s.Name, s.Status, statuses)
	oneOf(ch, descState, s.Name, s.State, states)
	gauge(ch, descRunning, bool01(s.Running), s.Name)
	gauge(ch, descSpent, float64(s.Spent), s.Name)
	gauge(ch, descBudget, float64(s.MaxEvaluations), s.Name)
	gauge(ch, descEscapes, float64(s.Escapes), s.Name)
	for _, p := range []struct {
		d *prometheus.Desc
		v *float64
	}{{descBest, s.Best}, {descGradNorm, s.GradNorm}, {descLambdaMin, s.LambdaMin}, {descETA, s.ETASeconds}} {
		if p.v != nil {
			gauge(ch, p.d, *p.v, s.Name)
		}
	}
}

// oneOf sends a series per value of values, 1 for the one that is and 0
// for the others; a current value outside values gets a series too.
func oneOf(ch chan<- prometheus.Metric, d *prometheus.Desc, name, current string, values []string) {
	known := false
	for _, v := range values {
		known = known || v == current
		gauge(ch, d, bool01(v == current), name, v)
	}
	if !known {
		gauge(ch, d, 1, name, current)
	}
}

// gauge sends a sample of d; one it cannot make (a label value that is
// not UTF-8) goes as an invalid metric, which the handler leaves out and
// counts in promhttp_metric_handler_errors_total.
func gauge(ch chan<- prometheus.Metric, d *prometheus.Desc, v float64, labels ...string) {
	m, err := prometheus.NewConstMetric(d, prometheus.GaugeValue, v, labels...)
	if err != nil {
		m = prometheus.NewInvalidMetric(d, err)
	}
	ch <- m
}

func bool01(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
