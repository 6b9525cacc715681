package study

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// RunOptions are the daemon-side settings of one study run.
type RunOptions struct {
	// DataDir holds the study's output directory, DataDir/<study>; required.
	DataDir string
	// MaxInFlight bounds the evaluations outstanding at once; default 4.
	// The daemon sets it to the slots serving the objective.
	MaxInFlight int
	// Timeout is the dispatcher's per-attempt deadline; default 10m.
	Timeout time.Duration
	// WaitEvaluators is how long a task waits for an evaluator to appear;
	// default 2m.
	WaitEvaluators time.Duration
	// JS is the JetStream context for the journal and durable dispatch; nil
	// means no journal (direct dispatch only, no resume).
	JS jetstream.JetStream
	// Durable configures the JetStream streams.
	Durable transport.DurableOptions
	// Fresh discards the study's journal and outputs and starts it over.
	Fresh bool
	// NoSpace, if set, is called when writing the summary fails for lack
	// of disk space, before the write is tried once more: the daemon frees
	// the space it holds in reserve for this.
	NoSpace func()
	Logger  zerolog.Logger
}

// SimulatorSeed is the seed sent to the simulator for sample i of a study
// with seed s: s + i. A deterministic study (samples = 1) therefore runs its
// simulator with the study's own seed.
func SimulatorSeed(s uint64, i int) int64 { return int64(s) + int64(i) }

// NewFinder returns the negative-curvature finder called name (see
// Curvatures), nil for "none". report, if set, receives the constants the
// finder estimated (L, step, noise) after every call.
func NewFinder(name string, report func(negcurv.Estimates)) (zo.Finder, error) {
	switch name {
	case "lanczos":
		return negcurv.Lanczos{Report: report}, nil
	case "online":
		return negcurv.Online{Report: report}, nil
	case "deterministic":
		return negcurv.Deterministic{Report: report}, nil
	case "dimer":
		// The dimer keeps its direction warm across calls of one study.
		return &negcurv.Dimer{Report: report}, nil
	case "power":
		return negcurv.Power{Report: report}, nil
	case "none":
		return nil, nil
	}
	return nil, fmt.Errorf("unknown curvature %q", name)
}

// NewMethod builds the optimizer a study config asks for, with its random
// source seeded from the study seed.
func NewMethod(sc *StudyConfig, progress func(zo.Progress), report func(negcurv.Estimates)) (zo.Method, error) {
	rng := rand.New(rand.NewPCG(sc.Seed, 0x7a6f74756e65)) // "zotune"
	set := zo.Settings{
		Epsilon:   sc.Epsilon,
		Delta:     sc.Delta,
		Samples:   sc.Samples,
		Estimator: sc.Estimator,
		Progress:  progress,
	}
	finder, err := NewFinder(sc.Curvature, report)
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", sc.Name, err)
	}
	m, err := zo.NewMethod(sc.Algorithm, set, finder, rng)
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", sc.Name, err)
	}
	return m, nil
}

// Run runs one study to a terminal state, sending its evaluations over nc,
// and returns its final summary (also written to DataDir/<study>/). The
// error is non-nil only when the study could not be run at all (bad
// setup, a journal that does not match, unwritable outputs); the summary
// written and returned then says "failed" with the error as its reason.
// How the optimization ended is the summary's Status.
//
// Cancelling ctx stops the study ("stopped"; running it again resumes
// it), unless ctx was cancelled with a cause (context.WithCancelCause):
// then the study failed for that cause, as when its evaluators are gone.
func Run(ctx context.Context, sc *StudyConfig, nc *nats.Conn, o RunOptions) (*Summary, error) {
	space, err := NewSpace(sc.Params)
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", sc.Name, err)
	}
	dir := filepath.Join(o.DataDir, sc.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("study %s: %w", sc.Name, err)
	}
	if o.MaxInFlight <= 0 {
		o.MaxInFlight = 4
	}
	log := o.Logger.With().Str("study", sc.Name).Logger()
	fp := Fingerprint(sc)
	summaryPath := filepath.Join(dir, "summary.json")
	prev := readSummary(summaryPath)
	if o.Fresh {
		// Nothing of the earlier run may outlive it: a stale plot or log
		// would describe a run that is gone.
		for _, name := range []string{"summary.json", "trials.jsonl", "trials.jsonl.tmp", "convergence.png", "convergence.png.tmp"} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("study %s: %w", sc.Name, err)
			}
		}
		prev = nil
	} else if finished(prev, fp, sc) {
		log.Info().Str("status", prev.Status).Msg("study already finished; not running it again (use --fresh to start it over)")
		prev.Earlier = true
		return prev, nil
	}

	dispatch := sc.Dispatch
	if dispatch == "" {
		dispatch = "direct"
	}
	r := &run{
		sc:    sc,
		space: space,
		log:   log,
		path:  summaryPath,
		full:  o.NoSpace,
		sum: Summary{
			Study: sc.Name, Objective: sc.Objective, Algorithm: sc.Algorithm, Curvature: sc.Curvature,
			Dispatch: dispatch, OnFailure: sc.FailurePolicy().name(), Fingerprint: fp, MaxEvaluations: sc.MaxEvaluations, Target: sc.Target,
			Status: "running", Seed: sc.Seed, Samples: sc.Samples, Epsilon: sc.Epsilon, Delta: sc.Delta,
			Started: time.Now().UTC(), EscapeLog: []Escape{}, FailuresByReason: map[string]int{},
		},
	}
	// abort ends a run that cannot go on. The summary says "failed", with
	// the reason; it is the earlier run's summary, marked so, until this
	// run has written its own. The trial log of the earlier run is kept.
	// A ctx cancelled with a cause fails the study for that cause; a plain
	// cancellation (an interrupt) stops it: the summary, if this run wrote
	// one, says "stopped", and the earlier run's outputs are left alone.
	started := false
	abort := func(err error) (*Summary, error) {
		if r.trials != nil {
			_ = r.trials.Close(false)
		}
		cause := context.Cause(ctx)
		if ctx.Err() != nil && errors.Is(cause, context.Canceled) {
			if !started {
				return nil, err
			}
			s := r.snapshot()
			s.Status, s.Reason = string(zo.StatusStopped), "interrupted; run again to resume"
			if werr := r.saveSummary(s); werr != nil {
				log.Error().Err(werr).Msg("writing summary")
			}
			return &s, err
		}
		if ctx.Err() != nil {
			err = cause
		}
		s := r.snapshot()
		if !started && prev != nil {
			s = *prev
		}
		s.Status, s.Reason, s.Resumable = string(zo.StatusFailed), err.Error(), true
		if werr := r.saveSummary(s); werr != nil {
			log.Error().Err(werr).Msg("writing summary")
		}
		if ctx.Err() != nil {
			// Failed for its cause (no evaluator left, say): a failed
			// study, not an error of the daemon.
			log.Error().Str("reason", s.Reason).Msg("study failed")
			return &s, nil
		}
		return &s, err
	}

	var jr *journal.Journal
	if o.JS != nil {
		jr, err = journal.Open(ctx, o.JS, sc.Name, fp, journal.Options{Replicas: o.Durable.Replicas, Fresh: o.Fresh, Objective: sc.Objective})
		if err != nil {
			if errors.Is(err, journal.ErrChanged) {
				hint := ""
				if prev != nil && !strings.HasPrefix(prev.Fingerprint, journal.FingerprintVersion+":") {
					hint = " (its journal was written by an earlier version of tunerd)"
				}
				return abort(fmt.Errorf("study %s: %w%s; run with --fresh to discard its earlier evaluations and start over, or give the study a new name", sc.Name, err, hint))
			}
			return abort(fmt.Errorf("study %s: %w", sc.Name, err))
		}
	} else if dispatch == "durable" {
		return abort(fmt.Errorf("study %s: durable dispatch needs JetStream, which the NATS server does not offer", sc.Name))
	} else {
		log.Warn().Msg("no JetStream: evaluations are not journaled and the study cannot resume after a crash")
	}

	method, err := NewMethod(sc, r.progress, r.estimates)
	if err != nil {
		return abort(err)
	}
	names := space.Names()
	ev := &evalOracle{
		run:     r,
		names:   names,
		seed:    func(i int) int64 { return SimulatorSeed(sc.Seed, i) },
		journal: jr,
	}
	if jr != nil {
		ev.frontier = jr.Frontier()
	}
	switch dispatch {
	case "durable":
		q, err := transport.OpenQueue(ctx, o.JS, jr, sc.Objective, sc.Name, o.Durable, o.Logger)
		if err != nil {
			return abort(fmt.Errorf("study %s: %w", sc.Name, err))
		}
		defer q.Close()
		ev.send = q
	default:
		dopts := transport.DispatchOptions{
			Study:          sc.Name,
			Objective:      sc.Objective,
			MaxInFlight:    o.MaxInFlight,
			Timeout:        o.Timeout,
			WaitEvaluators: o.WaitEvaluators,
			Logger:         o.Logger,
		}
		if jr != nil {
			// Journal each result as soon as it arrives, so a crash in the
			// middle of a batch loses none that finished.
			dopts.Record = func(t *wire.Task, rep *wire.Reply) {
				if err := jr.Append(context.WithoutCancel(ctx), t, rep); err != nil {
					r.fail(fmt.Errorf("study %s: journaling %s: %w", sc.Name, t.ID, err))
				}
			}
		}
		disp, err := transport.NewDispatcher(nc, dopts)
		if err != nil {
			return abort(err)
		}
		defer disp.Close()
		ev.send = disp
	}

	// The trial log is rewritten beside the old one (see trialLog).
	r.trials, err = openTrialLog(filepath.Join(dir, "trials.jsonl"))
	if err != nil {
		return abort(err)
	}
	defer r.trials.Close(false) // after an error; a normal end closes it below
	started = true
	if err := r.write(); err != nil {
		return abort(err)
	}

	rctx := ctx
	if sc.MaxTime.Duration > 0 {
		var cancel context.CancelFunc
		rctx, cancel = context.WithTimeout(ctx, sc.MaxTime.Duration)
		defer cancel()
	}
	// Oracle stack, outermost first: failure policy (retries, penalty,
	// abort) → budget (counts every query, retries included) → space (unit
	// box → user units) → counter (rounds) → tracker (target, output
	// errors) → evaluation (trial ids, journal replay, dispatch, records).
	counter := &zo.Counter{Oracle: &tracker{run: r, next: ev}}
	budget := &zo.Budget{Oracle: &spaceOracle{space: space, next: counter}, Max: sc.MaxEvaluations}
	oracle := newPolicyOracle(sc.FailurePolicy(), budget, ev.live, r.counted)
	log.Info().Str("algorithm", sc.Algorithm).Str("curvature", sc.Curvature).Str("dispatch", dispatch).
		Int("dim", space.Dim()).Int("max_evaluations", sc.MaxEvaluations).Msg("study started")

	out, err := method.Minimize(rctx, oracle, zo.Problem{X0: space.Init(), Box: zo.UnitBox(space.Dim())})
	if err != nil {
		return abort(fmt.Errorf("study %s: %w", sc.Name, err))
	}
	if werr := r.writeErr(); werr != nil {
		if errors.Is(werr, journal.ErrMismatch) {
			return abort(fmt.Errorf("study %s: %w; run with --fresh to start it over", sc.Name, werr))
		}
		return abort(werr)
	}
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
			return abort(cause)
		}
		// Interrupted: status "stopped", so that the next run resumes; the
		// journal has every finished evaluation.
		r.mu.Lock()
		r.sum.Status = "stopped"
		r.sum.Reason = "interrupted; run again to resume"
		r.mu.Unlock()
		_ = r.write()
		if err := r.trials.Close(false); err != nil {
			r.log.Error().Err(err).Msg("closing trials.jsonl")
		}
		r.plot(dir)
		s := r.snapshot()
		return &s, nil
	}

	r.mu.Lock()
	r.sum.Status = string(out.Status)
	r.sum.Reason = out.Reason
	if out.Status == zo.StatusFailed && r.sum.LastFailure != nil && Transient(wire.Reason(r.sum.LastFailure.Reason)) {
		// The failures that ended it may not happen again: running the
		// study again retries them rather than report it finished.
		r.sum.Resumable = true
		r.sum.Reason += "; the last failure (" + r.sum.LastFailure.Reason + ") may be transient: run the study again to retry"
	}
	r.sum.Epsilon, r.sum.Delta = out.Epsilon, out.Delta
	r.sum.Iterations = out.Iterations
	r.sum.Rounds = counter.Rounds
	r.sum.Escapes = len(out.Escapes)
	r.sum.EscapeLog = r.sum.EscapeLog[:0]
	for _, e := range out.Escapes {
		r.sum.EscapeLog = append(r.sum.EscapeLog, Escape(e))
	}
	r.sum.Final = &Final{
		Params:    space.Map(out.X),
		Value:     out.F,
		GradNorm:  finite(out.GradNorm),
		LambdaMin: finite(out.LambdaMin),
	}
	if math.IsNaN(out.F) {
		r.sum.Final = nil
	}
	r.mu.Unlock()
	// A run stopped short of its own end (no further progress possible)
	// may not have caught up with the old trial log: keep the longer one.
	if err := r.trials.Close(out.Status != zo.StatusStopped); err != nil {
		return abort(fmt.Errorf("study %s: writing trials.jsonl: %w", sc.Name, err))
	}
	if err := r.write(); err != nil {
		return abort(err)
	}
	r.plot(dir)
	done := log.Info()
	if out.Status == zo.StatusFailed {
		done = log.Error()
	}
	done.Str("status", string(out.Status)).Str("reason", out.Reason).Int("evaluations", r.sum.Evaluations).
		Int("failures", r.sum.Failures).Float64("value", out.F).Int("escapes", r.sum.Escapes).Msg("study finished")
	s := r.snapshot()
	return &s, nil
}

// run is the state of one study run shared by its oracle layers.
type run struct {
	sc     *StudyConfig
	space  *Space
	log    zerolog.Logger
	path   string
	full   func() // RunOptions.NoSpace
	trials *trialLog

	lastInfo time.Time // last progress line logged at info
	trace    []tracePoint

	cappedWarned bool // the finder's capped-certificate warning was logged

	mu  sync.Mutex
	sum Summary
	err error // first error writing outputs
}

// record is the dispatcher's callback for every finished evaluation.
func (r *run) record(t *wire.Task, rep *wire.Reply) {
	if err := r.trials.record(t, rep); err != nil {
		r.fail(fmt.Errorf("study %s: writing trials.jsonl: %w", r.sc.Name, err))
	}
	r.mu.Lock()
	defer r.mu.Unlock()
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
		r.trace = append(r.trace, tracePoint{Evaluations: 1, Value: rep.Value, GradNorm: math.NaN(), Lambda: math.NaN()})
	}
	if r.sum.Best == nil || rep.Value < r.sum.Best.Value {
		r.sum.Best = &Point{Params: t.Params, Value: rep.Value, Trial: t.Trial}
	}
}

// plot writes convergence.png; a failure is logged, not fatal. A plot of
// an earlier run never stays behind: with nothing to draw, or when drawing
// fails, the file is removed.
func (r *run) plot(dir string) {
	r.mu.Lock()
	trace := append([]tracePoint(nil), r.trace...)
	eps, delta := r.sum.Epsilon, r.sum.Delta
	r.mu.Unlock()
	path := filepath.Join(dir, "convergence.png")
	title := fmt.Sprintf("%s: %s, curvature %s", r.sc.Name, r.sc.Algorithm, r.sc.Curvature)
	err := writePlot(path, title, trace, eps, delta)
	if err != nil {
		r.log.Warn().Err(err).Msg("writing the convergence plot")
	}
	if err != nil || len(trace) == 0 {
		if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
			r.log.Warn().Err(err).Msg("removing the old convergence plot")
		}
	}
}

// estimates is the finder's report after each call: logged, and the last
// one kept in the summary.
func (r *run) estimates(e negcurv.Estimates) {
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
	if e.Capped && !r.cappedWarned {
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
	return &s
}

// finished reports whether s, the summary of an earlier run, records a
// finished run of the study sc with this fingerprint, one that running sc
// would not take further. Budgets are not in the fingerprint: a run that
// ended on its evaluation budget is finished only if max_evaluations is
// still the same (raising it, or running again after max_time, resumes
// it), and one that reached its target only if the target is still
// reached (a lower target, or none, resumes it). A run that failed on an
// error outside the optimization (Resumable) is tried again.
func finished(s *Summary, fingerprint string, sc *StudyConfig) bool {
	if s == nil || s.Fingerprint != fingerprint || s.Resumable {
		return false
	}
	switch zo.Status(s.Status) {
	case zo.StatusConverged, zo.StatusFailed:
		return true
	case zo.StatusTarget:
		return sc.Target != nil && s.Best != nil && s.Best.Value <= *sc.Target
	case zo.StatusBudget:
		return s.MaxEvaluations == sc.MaxEvaluations && errors.Is(s.budgetCause(), zo.ErrBudget)
	}
	return false
}

// progress is the optimizer's per-iteration callback.
func (r *run) progress(p zo.Progress) {
	r.mu.Lock()
	r.sum.Iterations = p.Iteration
	if p.Event == "escape" {
		r.sum.Escapes++
	}
	r.trace = append(r.trace, tracePoint{
		Evaluations: r.sum.Evaluations + r.sum.Failures, Value: p.F, GradNorm: p.GradNorm,
		Lambda: p.Lambda, Escape: p.Event == "escape",
	})
	evals, fails := r.sum.Evaluations, r.sum.Failures
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
	ev.Int("iter", p.Iteration).Str("event", p.Event).Float64("value", p.F).Float64("grad_norm", p.GradNorm).
		Float64("lambda", p.Lambda).Float64("best", best).Int("evaluations", evals).Int("failures", fails).Msg("progress")
	if err := r.write(); err != nil {
		r.log.Error().Err(err).Msg("writing summary")
	}
}

func (r *run) snapshot() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.sum
	s.WallSeconds = time.Since(s.Started).Seconds()
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
	return err
}

// write rewrites summary.json with the current state.
func (r *run) write() error {
	s := r.snapshot()
	if err := r.saveSummary(s); err != nil {
		return fmt.Errorf("study %s: writing summary: %w", r.sc.Name, err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// spaceOracle maps queries from the unit box to user units.
type spaceOracle struct {
	space *Space
	next  zo.Oracle
}

func (s *spaceOracle) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	mapped := make([]zo.Query, len(batch))
	for i, q := range batch {
		mapped[i] = zo.Query{X: s.space.ToUser(q.X), Sample: q.Sample}
	}
	return s.next.Evaluate(ctx, mapped)
}

// tracker stops the study with zo.ErrTarget once a value at or below the
// target has been seen, and surfaces output-writing errors.
type tracker struct {
	run  *run
	next zo.Oracle
}

func (t *tracker) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	res, err := t.next.Evaluate(ctx, batch)
	if err != nil {
		return nil, err
	}
	t.run.mu.Lock()
	werr := t.run.err
	hit := t.run.sc.Target != nil && t.run.sum.Best != nil && t.run.sum.Best.Value <= *t.run.sc.Target
	t.run.mu.Unlock()
	if werr != nil {
		return nil, werr
	}
	if hit {
		return nil, zo.ErrTarget
	}
	return res, nil
}

var (
	_ zo.Oracle = (*spaceOracle)(nil)
	_ zo.Oracle = (*tracker)(nil)
)
