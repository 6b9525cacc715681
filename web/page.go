package web

import (
	"fmt"
	"html/template"
	"math"
	"net/url"
	"strconv"
	"time"

	"github.com/zotune/zotune/api"
)

// The status page shows the same text whether the server rendered it or
// its script refreshed it: the formatting below has a twin in
// assets/static/page.js, and the browser test holds them to each other.

// pollInterval is how often the page's script polls the JSON views.
const pollInterval = 2500 * time.Millisecond

// pageData is what the page's template renders.
type pageData struct {
	Studies    []studyView
	Objectives []api.Objective
	Unhealthy  string // what Healthy reported; "" when healthy
	Now        string
	PollMillis int64
	// Texts are the sentences the script shares with the template,
	// handed to it as JSON.
	Texts map[string]map[string]string
}

// studyView is a study as the page shows it.
type studyView struct {
	api.Study
	// Epsilon and Delta are the certificate's thresholds, from the plot;
	// nil until the study has one.
	Epsilon, Delta *float64
}

// pageData reads the source once for a page rendered at now.
func (s *Server) pageData(now time.Time) pageData {
	d := pageData{
		Objectives: s.src.Objectives(),
		Now:        now.UTC().Format("2006-01-02 15:04:05 UTC"),
		PollMillis: pollInterval.Milliseconds(),
		Texts:      map[string]map[string]string{"verdicts": verdicts},
	}
	if err := s.src.Healthy(); err != nil {
		d.Unhealthy = err.Error()
	}
	for _, st := range s.src.Studies() {
		v := studyView{Study: st}
		if c, ok := s.src.Convergence(st.Name); ok && c != nil {
			v.Epsilon, v.Delta = &c.Epsilon, &c.Delta
		}
		d.Studies = append(d.Studies, v)
	}
	return d
}

// verdicts say, by status, whether a study is certified converged.
var verdicts = map[string]string{
	"converged": "Certified converged: ‖ĝ‖ ≤ ε and λ̂_min ≥ −δ at the final point.",
	"running":   "Not certified yet: the study is running.",
	"pending":   "Not certified yet: the study has not started.",
	"target":    "Reached its target value: no stationarity certificate.",
	"budget":    "Not certified: the budget ran out first.",
	"stopped":   "Not certified: the study was stopped.",
	"failed":    "Not certified: the study failed.",
	"":          "Not certified.",
}

// verdict is the sentence for a study's status.
func verdict(status string) string {
	if v, ok := verdicts[status]; ok {
		return v
	}
	return verdicts[""]
}

// pageFuncs are the template's functions.
var pageFuncs = template.FuncMap{
	"num":      fmtNum,
	"count":    fmtCount,
	"front":    fmtFront,
	"progress": fmtProgress,
	"rate":     fmtRate,
	"dur":      fmtDuration,
	"grad":     fmtGrad,
	"lambda":   fmtLambda,
	"origin":   fmtOrigin,
	"verdict":  verdict,
	"bar":      func(s api.Study) int { return min(s.Spent, s.MaxEvaluations) },
	"plotURL":  plotURL,
	"exact":    func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) },
}

// dash stands for a number not known.
const dash = "—"

// g formats v with p significant digits, as %g does.
func g(v float64, p int) string { return strconv.FormatFloat(v, 'g', p, 64) }

// fmtNum is a value to 6 significant digits, or a dash for none.
func fmtNum(v *float64) string {
	if v == nil {
		return dash
	}
	return g(*v, 6)
}

// fmtCount is a count with thousands separated: 12,345.
func fmtCount(n int) string {
	s := strconv.Itoa(n)
	neg := n < 0
	if neg {
		s = s[1:]
	}
	for i := len(s) - 3; i > 0; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	if neg {
		s = "-" + s
	}
	return s
}

// fmtFront is the size of a multi-objective study's non-dominated set,
// "12 points", or a dash for a study with one objective.
func fmtFront(n int) string {
	if n == 0 {
		return dash
	}
	return fmtCount(n) + " points"
}

// fmtProgress is the budget spent: "1,234 of 5,000 (24%)".
func fmtProgress(s api.Study) string {
	if s.MaxEvaluations <= 0 {
		return fmtCount(s.Spent)
	}
	return fmt.Sprintf("%s of %s (%d%%)", fmtCount(s.Spent), fmtCount(s.MaxEvaluations), s.Spent*100/s.MaxEvaluations)
}

// fmtRate is evaluations per second, minute or hour, whichever reads best.
func fmtRate(r float64) string {
	switch {
	case !(r > 0) || math.IsInf(r, 0):
		return dash
	case r >= 1:
		return g(r, 3) + "/s"
	case r*60 >= 1:
		return g(r*60, 3) + "/min"
	}
	return g(r*3600, 3) + "/h"
}

// fmtDuration is a time in seconds to the two largest units: "2h 05m".
func fmtDuration(sec *float64) string {
	if sec == nil || !(*sec >= 0) || math.IsInf(*sec, 0) {
		return dash
	}
	s := int64(math.Round(*sec))
	switch {
	case s < 60:
		return fmt.Sprintf("%ds", s)
	case s < 3600:
		return fmt.Sprintf("%dm %02ds", s/60, s%60)
	case s < 86400:
		return fmt.Sprintf("%dh %02dm", s/3600, s%3600/60)
	}
	return fmt.Sprintf("%dd %02dh", s/86400, s%86400/3600)
}

// fmtGrad is the last ‖ĝ‖ against ε: "0.0213 > ε = 0.001".
func fmtGrad(v studyView) string {
	return compare(v.GradNorm, "≤", ">", "ε", v.Epsilon, false)
}

// fmtLambda is the last λ̂_min against −δ: "-0.5 < −δ = -0.0316".
func fmtLambda(v studyView) string {
	var bound *float64
	if v.Delta != nil {
		b := -*v.Delta
		bound = &b
	}
	return compare(v.LambdaMin, "≥", "<", "−δ", bound, true)
}

// compare writes an estimate against its threshold: the estimate, the
// sign (pass when it is at most, or with atLeast at least, the bound),
// and the bound; either may be unknown.
func compare(est *float64, pass, fail, name string, bound *float64, atLeast bool) string {
	switch {
	case bound == nil:
		return fmtEstimate(est)
	case est == nil:
		return fmt.Sprintf("%s (%s = %s)", dash, name, g(*bound, 3))
	}
	sign := fail
	if (!atLeast && *est <= *bound) || (atLeast && *est >= *bound) {
		sign = pass
	}
	return fmt.Sprintf("%s %s %s = %s", g(*est, 3), sign, name, g(*bound, 3))
}

func fmtEstimate(v *float64) string {
	if v == nil {
		return dash
	}
	return g(*v, 3)
}

// fmtOrigin says where a study came from and what the daemon does with it.
func fmtOrigin(s api.Study) string {
	t := "objective " + s.Objective + " · from " + s.Origin + " · " + s.State
	if s.Running {
		t += " · running now"
	}
	return t
}

// plotURL is the study's plot, with a query that changes when the plot
// may have: a browser fetches it again then, and only then.
func plotURL(s api.Study) string {
	return "/studies/" + url.PathEscape(s.Name) + "/convergence.svg?v=" + strconv.Itoa(s.Spent) + "-" + url.QueryEscape(s.Status)
}
