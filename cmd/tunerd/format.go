package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/zotune/zotune/api"
)

// studyTable prints studies as a table, a line each.
func studyTable(w io.Writer, studies []api.Study) {
	if len(studies) == 0 {
		fmt.Fprintln(w, "no studies; submit one with tunerd submit STUDY.toml")
		return
	}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STUDY\tSTATUS\tEVALUATIONS\tBEST\t‖ĝ‖\tλ̂_min\tESCAPES\tRATE\tETA")
	for _, s := range studies {
		fmt.Fprintf(tw, "%s\t%s\t%d/%d\t%s\t%s\t%s\t%d\t%s\t%s\n", s.Name, statusWord(s), s.Spent, s.MaxEvaluations,
			num(s.Best), num(s.GradNorm), num(s.LambdaMin), s.Escapes, rate(s), eta(s.ETASeconds))
	}
	tw.Flush()
}

// statusWord is a study's status as the table shows it: a stopped
// study's status says why it does not run.
func statusWord(s api.Study) string {
	if s.State == api.StateStopped && !s.Running {
		return "stopped"
	}
	return s.Status
}

// studyDetail prints one study, a field a line.
func studyDetail(w io.Writer, s *api.Study) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, format string, a ...any) { fmt.Fprintf(tw, "%s:\t"+format+"\n", append([]any{k}, a...)...) }
	row("study", "%s (objective %s, from the %s)", s.Name, s.Objective, map[string]string{api.OriginAPI: "API", api.OriginConfig: "config file"}[s.Origin])
	row("status", "%s%s", statusWord(*s), map[bool]string{true: ", running", false: ""}[s.Running])
	if s.Reason != "" {
		row("reason", "%s", s.Reason)
	}
	row("evaluations", "%d spent of %d (%d succeeded, %d failed)", s.Spent, s.MaxEvaluations, s.Evaluations, s.Failures)
	row("best", "%s", num(s.Best))
	if sum := s.Summary; sum != nil {
		if sum.Best != nil {
			row("best params", "%s", paramList(sum.Best.Params))
		}
		row("certificate", "‖ĝ‖ %s (ε %g), λ̂_min %s (−δ %g)", num(s.GradNorm), sum.Epsilon, num(s.LambdaMin), -sum.Delta)
		if sum.Final != nil {
			row("final", "%s at %s", num(&sum.Final.Value), paramList(sum.Final.Params))
		}
	}
	row("escapes", "%d", s.Escapes)
	if s.Running {
		row("rate", "%s, ETA %s (if the budget runs out)", rate(*s), eta(s.ETASeconds))
	}
	row("wall time", "%s", (time.Duration(s.WallSeconds * float64(time.Second))).Round(time.Second))
	row("created", "%s", s.Created.Local().Format(time.DateTime))
	tw.Flush()
}

// showEvaluators prints the evaluators on the server.
func showEvaluators(ctx context.Context, c *api.Client, w io.Writer, asJSON bool) error {
	es, err := c.Evaluators(ctx, time.Second)
	if err != nil {
		return err
	}
	return show(w, asJSON, es, func() {
		if len(es) == 0 {
			fmt.Fprintln(w, "no evaluator answered")
			return
		}
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "EVALUATOR\tOBJECTIVE\tMODE\tBUSY/SLOTS\tEVALUATIONS\tFAILURES\tUP")
		for _, e := range es {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d/%d\t%d\t%d\t%s\n", e.Name, e.Objective, e.Mode, e.Busy, e.Slots,
				e.Evaluations, e.Failures, time.Since(e.Started).Round(time.Second))
		}
		tw.Flush()
	})
}

// num formats an optional value, "-" for none.
func num(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.6g", *v)
}

// rate formats a study's evaluations per second.
func rate(s api.Study) string {
	if !s.Running || s.Rate == 0 {
		return "-"
	}
	return fmt.Sprintf("%.3g/s", s.Rate)
}

// eta formats a time left, "-" for none.
func eta(seconds *float64) string {
	if seconds == nil {
		return "-"
	}
	return (time.Duration(*seconds * float64(time.Second))).Round(time.Second).String()
}

// paramList formats parameters as name=value, sorted by name.
func paramList(p map[string]float64) string {
	var parts []string
	for _, k := range sortedKeys(p) {
		parts = append(parts, fmt.Sprintf("%s=%.6g", k, p[k]))
	}
	return strings.Join(parts, " ")
}
