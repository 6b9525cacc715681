package study

import (
	"sync"

	"github.com/zotune/zotune/chart"
)

// Observer is told of every evaluation a study records, for metrics. Its
// methods are called from the study's goroutine and must not block.
type Observer interface {
	// Trial is an evaluation as trials.jsonl records it; replayed says it
	// was answered from the journal of an earlier run (a resume) rather
	// than run now. Every line of trials.jsonl is reported once per run.
	Trial(spec *Spec, t *Trial, replayed bool)
}

// Live is a study run as others watch it while it runs, and after: its
// summary as last written and its convergence trace. The zero value is
// ready to use; pass it in RunOptions.Live. It is safe for concurrent use.
type Live struct {
	mu  sync.Mutex
	sum *Summary
	run *run
}

// Summary returns the summary the run last wrote; ok is false until it
// wrote one.
func (l *Live) Summary() (s Summary, ok bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.sum == nil {
		return Summary{}, false
	}
	return *l.sum, true
}

// Convergence returns what the run's convergence plot shows so far; nil
// before the run started.
func (l *Live) Convergence() *chart.Convergence {
	l.mu.Lock()
	r := l.run
	l.mu.Unlock()
	if r == nil {
		return nil
	}
	return r.convergence()
}

// attach makes l watch r.
func (l *Live) attach(r *run) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.run = r
}

// wrote records the summary the run wrote.
func (l *Live) wrote(s Summary) {
	if l == nil {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.sum = &s
}
