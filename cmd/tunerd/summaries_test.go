package main

import (
	"bytes"
	"path/filepath"
	"testing"

	"github.com/zotune/zotune/study"
)

// The end-of-run line says what each count counts: the evaluations spent
// of the budget, and how many of them succeeded and failed.
func TestPrintSummaries(t *testing.T) {
	var out bytes.Buffer
	sums := []*study.Summary{
		{Study: "q", Status: "budget", MaxEvaluations: 60, Evaluations: 34, Failures: 23, Spent: 57,
			Best: &study.Point{Value: -0.25}, Final: &study.Final{Value: -0.125}},
		nil, // a study that did not run
		{Study: "r", Status: "failed", MaxEvaluations: 10, Evaluations: 0, Failures: 1, Spent: 1},
	}
	printSummaries(&out, sums, "runs")
	want := "q: budget, 57 evaluations spent of 60 (34 succeeded, 23 failed), final value -0.125, best -0.25 → " + filepath.Join("runs", "q") + "\n" +
		"r: failed, 1 evaluation spent of 10 (0 succeeded, 1 failed) → " + filepath.Join("runs", "r") + "\n"
	if out.String() != want {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
}
