package study

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/chart"
	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// run is the state of one study run shared by its oracle layers.
type run struct {
	spec    *Spec
	space   *Space
	dir     string // the study's output folder
	log     zerolog.Logger
	path    string   // its summary.json
	full    func()   // RunOptions.NoSpace
	prev    *Summary // the earlier run's summary; nil if none
	started bool     // this run has written its own summary
	trials  *trialLog
	best    *best  // Summary.Best's bookkeeping
	front   *front // Summary.Pareto's, with several objectives

	lastInfo time.Time // last progress line logged at info
	trace    []chart.Point

	cappedWarned bool // the finder's capped-certificate warning was logged

	clock    clock    // the rounds in time (Summary.Timing)
	writer   *writer  // rewrites summary.json while the run goes on
	observer Observer // RunOptions.Observer; nil: none
	live     *Live    // RunOptions.Live; nil: none

	mu  sync.Mutex
	sum Summary
	err error // first error writing outputs
}

// record is the dispatcher's callback for every finished evaluation;
// replayed says the journal of an earlier run answered it.
func (r *run) record(t *wire.Task, rep *wire.Reply, replayed bool) {
	tr := trialOf(t, rep)
	if err := r.trials.record(&tr); err != nil {
		r.fail(fmt.Errorf("study %s: writing trials.jsonl: %w", r.spec.Name, err))
	}
	if r.observer != nil {
		r.observer.Trial(r.spec, &tr, replayed)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Spent++
	if rep.Error != "" {
		r.sum.Failures++
		r.sum.FailuresByReason[string(rep.Reason)]++
		r.sum.LastFailure = &Failure{Trial: t.Trial, Reason: string(rep.Reason), Error: rep.Error, Stderr: tail(rep.Stderr, maxStderrTail)}
		r.log.Warn().Str("trial", t.Trial).Str("reason", string(rep.Reason)).Str("error", rep.Error).
			Str("stderr", rep.Stderr).Msg("evaluation failed")
		return
	}
	r.sum.Evaluations++
	if t.Trial == wire.TrialID(0) {
		// The start point, before the first iteration reports.
		r.trace = append(r.trace, chart.Point{Evaluations: 1, Value: rep.Value, GradNorm: math.NaN(), Lambda: math.NaN()})
	}
	if r.spec.multi() {
		if r.front.add(t, rep) {
			r.sum.Pareto = r.front.points()
		}
		return
	}
	if r.best.add(t.Params, t.Seed, t.Trial, rep.Value) {
		r.sum.Best = r.best.point()
		r.sum.Best.Labels = r.space.Labels(r.sum.Best.Params)
	}
}

// plot writes convergence.png and its data, trace.json, from which the
// plot of a study no longer running is drawn again; a failure is logged,
// not fatal. Neither file of an earlier run stays behind: with nothing to
// draw, or when writing one fails, it is removed.
func (r *run) plot() {
	c := r.convergence()
	for _, out := range []struct {
		name, what string
		write      func(string) error
	}{
		{"convergence.png", "the convergence plot", c.WritePNG},
		{"trace.json", "the convergence plot's data", c.WriteJSON},
	} {
		path := filepath.Join(r.dir, out.name)
		err := out.write(path)
		if err != nil {
			r.log.Warn().Err(err).Msg("writing " + out.what)
		}
		if err != nil || len(c.Points) == 0 {
			if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
				r.log.Warn().Err(err).Msg("removing the old " + out.name)
			}
		}
	}
}

// estimates is the finder's report after each call: logged, and the last
// one kept in the summary.
func (r *run) estimates(e negcurv.Estimates) {
	defer r.clock.report(time.Now())
	r.log.Debug().Str("finder", e.Finder).Float64("L", e.L).Bool("L_estimated", e.LEstimated).
		Float64("step", e.Step).Float64("noise", e.Noise).Int("iterations", e.Iterations).
		Bool("capped", e.Capped).Float64("lambda", e.Lambda).Bool("found", e.Found).Int("queries", e.Queries).
		Msg("curvature finder")
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.FinderEstimates = &FinderEstimates{
		Finder: e.Finder, L: finite(e.L), LEstimated: e.LEstimated, Step: finite(e.Step), Noise: finite(e.Noise),
		Iterations: e.Iterations, MaxIterations: e.MaxIterations, Capped: e.Capped, Queries: e.Queries,
	}
	// Capped matters only to a none: a direction found is verified by its
	// own probe.
	if e.Capped && !e.Found && !r.cappedWarned {
		r.cappedWarned = true
		r.log.Warn().Str("finder", e.Finder).Msg("the curvature finder's iteration cap is below what its certificate needs: a 'none' is weaker than promised")
	}
}

// fail remembers the first error writing outputs or the journal; the
// tracker stops the study with it.
func (r *run) fail(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = err
	}
}

func (r *run) writeErr() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// counted is the failure policy's report of retries sent and failures
// penalized.
func (r *run) counted(retries, penalized int) {
	r.mu.Lock()
	r.sum.Retries += retries
	r.sum.Penalized += penalized
	r.mu.Unlock()
}

// replayed counts evaluations answered from the journal.
func (r *run) replayed(n int) {
	r.mu.Lock()
	r.sum.Replayed += n
	r.mu.Unlock()
}

// ReadSummary returns the summary of the study called name whose outputs
// are under dataDir, nil if there is none or it cannot be read.
func ReadSummary(dataDir, name string) *Summary {
	return readSummary(filepath.Join(dataDir, name, "summary.json"))
}

// Finished reports whether s, a summary of spec's study, records a run
// that running spec again would not take further: see Run.
func Finished(s *Summary, spec *Spec) bool { return finished(s, Fingerprint(spec), spec) }

// readSummary returns the summary at path, nil if there is none or it
// cannot be read.
func readSummary(path string) *Summary {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	var s Summary
	if json.Unmarshal(data, &s) != nil {
		return nil
	}
	s.Spent = s.Evaluations + s.Failures // a summary from before "spent"
	return &s
}

// finished reports whether s, the summary of an earlier run, records a
// finished run of spec with this fingerprint, one that running spec would
// not take further. Budgets are not in the fingerprint: a run that
// ended on its evaluation budget is finished only if max_evaluations is
// still the same (raising it, or running again after max_time, resumes
// it), and one that reached its target only if the target is still
// reached (a lower target, or none, resumes it). A run that failed on an
// error outside the optimization (Resumable) is tried again.
func finished(s *Summary, fingerprint string, spec *Spec) bool {
	if s == nil || s.Fingerprint != fingerprint || s.Resumable {
		return false
	}
	switch zo.Status(s.Status) {
	case zo.StatusConverged, zo.StatusFailed:
		return true
	case zo.StatusTarget:
		return s.Best != nil && spec.reached(s.Best.Value)
	case zo.StatusBudget:
		return s.MaxEvaluations == spec.MaxEvaluations && errors.Is(s.budgetCause(), zo.ErrBudget)
	}
	return false
}

// progress is the optimizer's per-iteration callback.
func (r *run) progress(p zo.Progress) {
	defer r.clock.report(time.Now())
	r.mu.Lock()
	r.sum.Iterations = p.Iteration
	if p.Event == "escape" {
		r.sum.Escapes++
	}
	if r.spec.multi() {
		// No one value to trace: the walkers move together.
		r.mu.Unlock()
		return
	}
	r.trace = append(r.trace, chart.Point{
		Evaluations: r.sum.Evaluations + r.sum.Failures, Value: r.spec.sign() * p.F, GradNorm: p.GradNorm,
		Lambda: p.Lambda, Escape: p.Event == "escape",
	})
	spent, fails := r.sum.Spent, r.sum.Failures
	best := math.NaN()
	if r.sum.Best != nil {
		best = r.sum.Best.Value
	}
	r.mu.Unlock()
	// Steps are logged at info at most once a second; escapes and the
	// final certificate always.
	ev := r.log.Info()
	if p.Event == "step" && time.Since(r.lastInfo) < time.Second {
		ev = r.log.Debug()
	} else {
		r.lastInfo = time.Now()
	}
	ev.Int("iter", p.Iteration).Str("event", p.Event).Float64("value", r.spec.sign()*p.F).Float64("grad_norm", p.GradNorm).
		Float64("lambda", p.Lambda).Float64("best", best).Func(r.counts(spent, fails)).Msg("progress")
	r.writeSoon()
}

// counts adds to a log line the evaluations spent of the budget and how
// many of them succeeded and failed, the counts of Summary.Counts.
func (r *run) counts(spent, failed int) func(*zerolog.Event) {
	return func(e *zerolog.Event) {
		e.Int("spent", spent).Int("max_evaluations", r.spec.MaxEvaluations).Int("succeeded", spent-failed).Int("failed", failed)
	}
}

// convergence is what the study's plot shows so far.
func (r *run) convergence() *chart.Convergence {
	r.mu.Lock()
	defer r.mu.Unlock()
	return &chart.Convergence{
		Title:   fmt.Sprintf("%s: %s, curvature %s", r.spec.Name, r.spec.Algorithm, r.spec.Curvature),
		Points:  append([]chart.Point(nil), r.trace...),
		Epsilon: r.sum.Epsilon, Delta: r.sum.Delta,
		Spent: r.sum.Evaluations + r.sum.Failures,
	}
}

func (r *run) snapshot() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sum
	s.WallSeconds = time.Since(s.Started).Seconds()
	// The map and the slice are written under r.mu as results arrive; the
	// copy is read without it (summary.json, Live, the API).
	s.FailuresByReason = maps.Clone(r.sum.FailuresByReason)
	s.EscapeLog = slices.Clone(r.sum.EscapeLog)
	s.Timing = r.clock.snapshot()
	return s
}

// saveSummary writes s to summary.json. A write that fails for lack of
// space is tried once more after the daemon frees its reserve, so that a
// full disk still gets the summary that says so.
func (r *run) saveSummary(s Summary) error {
	err := writeJSONAtomic(r.path, s)
	if errors.Is(err, syscall.ENOSPC) && r.full != nil {
		r.full()
		err = writeJSONAtomic(r.path, s)
	}
	r.live.wrote(s)
	return err
}

// write rewrites summary.json with the current state.
func (r *run) write() error {
	s := r.snapshot()
	if err := r.saveSummary(s); err != nil {
		return fmt.Errorf("study %s: writing summary: %w", r.spec.Name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
