package main

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/api"
)

// The live view redraws its lines in place, and a log line goes above
// them: the view is erased (cursor up its lines, clear), the line written,
// the view drawn again. Per-iteration progress lines are left out.
func TestLiveView(t *testing.T) {
	var term bytes.Buffer
	view, log, _ := liveView(&term, zerolog.New(nil))
	best, grad, left := -0.25, 1.5e-5, 42.0
	studies := []api.Study{
		{Name: "quartic", Status: "running", Running: true, Spent: 1234, MaxEvaluations: 5000, Best: &best, GradNorm: &grad, Rate: 98.7, ETASeconds: &left},
		{Name: "a-study-with-a-very-long-name-indeed", Status: "converged", Spent: 35, MaxEvaluations: 20000},
	}
	view.show(studies)
	first := term.String()
	if !strings.Contains(first, "quartic") || !strings.Contains(first, "1234/5000") || !strings.Contains(first, "98.7/s") ||
		!strings.Contains(first, " 42s") || strings.Contains(first, "\x1b[") {
		t.Errorf("first draw: %q", first)
	}
	for _, l := range strings.Split(strings.TrimSpace(first), "\n") {
		if n := utf8.RuneCountInString(l); n > 79 {
			t.Errorf("line of %d characters wraps on an 80-column terminal: %q", n, l)
		}
	}
	term.Reset()
	log.Info().Str("study", "quartic").Msg("progress")
	if term.Len() != 0 {
		t.Errorf("a progress line was written: %q", term.String())
	}
	log.Warn().Msg("evaluation failed")
	out := term.String()
	if !strings.HasPrefix(out, "\x1b[3F\x1b[J") || !strings.Contains(out, "evaluation failed") || !strings.HasSuffix(out, first) {
		t.Errorf("a log line under a view of 3 lines: %q", out)
	}
	term.Reset()
	view.show(studies[:1])
	if !strings.HasPrefix(term.String(), "\x1b[3F\x1b[J") || strings.Count(term.String(), "\n") != 2 {
		t.Errorf("redraw: %q", term.String())
	}
}
