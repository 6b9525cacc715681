package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/api"
)

// progress is tunerd run's live view on a terminal: a line per study
// (status, evaluations spent of the budget, best value, last ‖ĝ‖, rate and
// ETA), redrawn in place at the bottom of the screen, with the log lines
// written above it.
type progress struct {
	mu    sync.Mutex
	out   io.Writer
	block []string // the lines shown
}

// terminal returns w as a terminal, or nil when it is not one.
func terminal(w io.Writer) *os.File {
	f, ok := w.(*os.File)
	if !ok {
		return nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	return f
}

// liveView makes log write human-readable lines above a progress view on
// term, leaving out the per-iteration "progress" lines the view replaces,
// and returns the view and the writer of those lines, which takes a JSON
// log event per Write (the evaluators' too).
func liveView(term io.Writer, log zerolog.Logger) (*progress, zerolog.Logger, io.Writer) {
	p := &progress{out: term}
	w := dropProgress{zerolog.ConsoleWriter{Out: p, TimeFormat: time.TimeOnly}}
	return p, log.Output(w), w
}

// dropProgress passes log events on, but for the studies' "progress"
// lines.
type dropProgress struct{ next io.Writer }

func (d dropProgress) Write(b []byte) (int, error) {
	if bytes.Contains(b, []byte(`"message":"progress"`)) {
		return len(b), nil
	}
	return d.next.Write(b)
}

// Write writes a log line above the view.
func (p *progress) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	n, err := p.out.Write(b)
	p.draw()
	return n, err
}

// show redraws the view with the studies' states.
func (p *progress) show(studies []api.Study) {
	lines := []string{fmt.Sprintf(progressFormat, "STUDY", "STATUS", "EVALS", "BEST", "‖ĝ‖", "RATE", "ETA")}
	for _, s := range studies {
		lines = append(lines, progressLine(s))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.clear()
	p.block = lines
	p.draw()
}

// clear erases the view: up to its first line, then to the end of the
// screen. p.mu is held.
func (p *progress) clear() {
	if n := len(p.block); n > 0 {
		fmt.Fprintf(p.out, "\x1b[%dF\x1b[J", n)
	}
}

// draw writes the view. p.mu is held.
func (p *progress) draw() {
	for _, l := range p.block {
		fmt.Fprintln(p.out, l)
	}
}

// progressFormat lays out a line of the view, short enough for an
// 80-column terminal (a longer one would wrap and spoil the redraw).
const progressFormat = "%-14s %-9s %-11s %-10s %-9s %-8s %s"

// progressLine is a study's line of the view.
func progressLine(s api.Study) string {
	line := fmt.Sprintf(progressFormat, clip(s.Name, 14), statusWord(s), fmt.Sprintf("%d/%d", s.Spent, s.MaxEvaluations),
		short(s.Best), short(s.GradNorm), rate(s), eta(s.ETASeconds))
	return clip(line, 79)
}

// short formats an optional value in few characters.
func short(v *float64) string {
	if v == nil {
		return "-"
	}
	return fmt.Sprintf("%.4g", *v)
}

// clip cuts s to n characters.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}
