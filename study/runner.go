package study

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/multistart"
	"github.com/zotune/zotune/negcurv"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// RunOptions are the daemon-side settings of one study run.
type RunOptions struct {
	// DataDir holds the study's output directory, DataDir/<study>; required.
	DataDir string
	// Backend opens the study's journal and dispatch; required.
	Backend Backend
	// Fresh discards the study's journal and outputs and starts it over.
	Fresh bool
	// NoSpace, if set, is called when writing the summary fails for lack
	// of disk space, before the write is tried once more: the daemon frees
	// the space it holds in reserve for this.
	NoSpace func()
	Logger  zerolog.Logger
	// Observer, if set, is told of every evaluation recorded.
	Observer Observer
	// Live, if set, follows the run: its summary and its trace.
	Live *Live
}

// SimulatorSeed is the seed sent to the simulator for sample i of a study
// with seed s: s + i. A deterministic study (samples = 1) therefore runs its
// simulator with the study's own seed.
func SimulatorSeed(s uint64, i int) int64 { return int64(s) + int64(i) }

// NewMethod builds the optimizer a study asks for: its method, run from
// the best point of a space-filling first batch and again after a stall
// while the budget lasts (package multistart), every random choice drawn
// from the study seed.
func NewMethod(spec *Spec, progress func(zo.Progress), report func(negcurv.Estimates)) (zo.Method, error) {
	run := func(k int, noise *zo.NoiseEstimate, progress func(zo.Progress)) (zo.Method, error) {
		return runMethod(spec, k, noise, progress, report)
	}
	if spec.multi() {
		return newMGDA(spec, progress), nil
	}
	if _, err := run(0, nil, progress); err != nil {
		return nil, err
	}
	m := &multistart.Method{
		New: run, Explore: spec.ExploreCount(), Restart: spec.Restarts, Samples: spec.Samples,
		Rand: rand.New(rand.NewPCG(spec.Seed, seedStream+1<<32)), Progress: progress,
	}
	if space, err := NewSpace(spec.Params); err == nil && space.hasChoices() {
		m.Switches = space
	}
	return m, nil
}

// seedStream is the stream of the study seed that the first run's random
// choices come from; run k draws from seedStream + k.
const seedStream = 0x7a6f74756e65 // "zotune"

// runMethod builds the method of run k of the study, which starts with
// the noise estimate of the earlier runs, if any (zo.NoiseMethods with mu
// unset).
func runMethod(spec *Spec, k int, noise *zo.NoiseEstimate, progress func(zo.Progress), report func(negcurv.Estimates)) (zo.Method, error) {
	rng := rand.New(rand.NewPCG(spec.Seed, seedStream+uint64(k)))
	set := zo.Settings{
		Epsilon:       spec.Epsilon,
		Delta:         spec.Delta,
		Samples:       spec.Samples,
		Estimator:     spec.Estimator,
		Mu:            spec.Mu,
		EstimateNoise: spec.estimatesNoise(),
		SAMRadius:     spec.SAMRadius,
		Speculate:     spec.Speculate,
		Progress:      progress,
	}
	if set.EstimateNoise {
		set.Noise = noise
	}
	finder, err := NewFinder(spec.Curvature, spec.Samples, report)
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", spec.Name, err)
	}
	m, err := zo.NewMethod(spec.Algorithm, set, finder, rng)
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", spec.Name, err)
	}
	return m, nil
}

// Run runs one study to a terminal state and returns its final summary
// (also written to DataDir/<study>/). The error is non-nil only when the
// study could not be run at all (bad setup, a journal that does not match,
// unwritable outputs); the summary written and returned then says "failed"
// with the error as its reason. How the optimization ended is the
// summary's Status.
//
// Cancelling ctx stops the study ("stopped"; running it again resumes
// it), unless ctx was cancelled with a cause (context.WithCancelCause):
// then the study failed for that cause, as when its evaluators are gone.
func Run(ctx context.Context, spec *Spec, o RunOptions) (*Summary, error) {
	r, err := newRun(spec, o)
	if err != nil || r.prev != nil && r.prev.Earlier {
		return r.prevOrNil(), err
	}
	j, err := o.Backend.OpenJournal(ctx, spec, r.sum.Fingerprint, o.Fresh)
	if err != nil {
		return r.abort(ctx, r.journalError(err))
	}
	if j == nil {
		r.log.Warn().Msg("no JetStream: evaluations are not journaled and the study cannot resume after a crash")
	}
	method, err := NewMethod(spec, r.progress, r.estimates)
	if err != nil {
		return r.abort(ctx, err)
	}
	ev := &evalOracle{run: r, names: r.space.Names(), seed: func(i int) int64 { return SimulatorSeed(spec.Seed, i) }, journal: j}
	if j != nil {
		ev.frontier = j.Frontier()
	}
	if ev.send, err = o.Backend.OpenSender(ctx, spec, j, r.journaling(ctx, j)); err != nil {
		return r.abort(ctx, fmt.Errorf("study %s: %w", spec.Name, err))
	}
	defer ev.send.Close()
	if err := r.start(); err != nil {
		return r.abort(ctx, err)
	}
	defer r.trials.Close(false) // after an error; a normal end closes it below
	out, rounds, err := r.optimize(ctx, method, ev)
	if err != nil {
		return r.abort(ctx, fmt.Errorf("study %s: %w", spec.Name, err))
	}
	if werr := r.writeErr(); werr != nil {
		if errors.Is(werr, journal.ErrMismatch) {
			return r.abort(ctx, fmt.Errorf("study %s: %w; run with --fresh to start it over", spec.Name, werr))
		}
		return r.abort(ctx, werr)
	}
	if ctx.Err() != nil {
		if cause := context.Cause(ctx); !errors.Is(cause, context.Canceled) {
			return r.abort(ctx, cause)
		}
		return r.interrupted(), nil
	}
	return r.finish(out, rounds)
}

// newRun prepares the run of spec: its parameter space and output folder,
// the earlier run's summary (Earlier set when that run finished and this
// one would not take it further), or none when starting fresh.
func newRun(spec *Spec, o RunOptions) (*run, error) {
	space, err := NewSpace(spec.Params)
	if err != nil {
		return nil, fmt.Errorf("study %s: %w", spec.Name, err)
	}
	dir := filepath.Join(o.DataDir, spec.Name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("study %s: %w", spec.Name, err)
	}
	dispatch := spec.Dispatch
	if dispatch == "" {
		dispatch = DefaultDispatch
	}
	r := &run{
		spec: spec, space: space, dir: dir, full: o.NoSpace, observer: o.Observer, live: o.Live,
		log:  o.Logger.With().Str("study", spec.Name).Logger(),
		path: filepath.Join(dir, "summary.json"),
		best: newBest(spec.Samples, space.Names(), spec.better), front: &front{spec: spec},
		sum: Summary{
			Study: spec.Name, Objective: spec.Objective, Algorithm: spec.Algorithm, Curvature: spec.Curvature, Objectives: spec.Objectives,
			Dispatch: dispatch, OnFailure: spec.FailurePolicy().name(), Fingerprint: Fingerprint(spec),
			MaxEvaluations: spec.MaxEvaluations, Target: spec.Target, Goal: goalField(spec.Goal), Status: "running", Seed: spec.Seed,
			Samples: spec.Samples, Epsilon: spec.Epsilon, Delta: cmp.Or(spec.Delta, zo.DefaultDelta(spec.Epsilon)),
			Started: time.Now().UTC(), EscapeLog: []Escape{}, FailuresByReason: map[string]int{},
			Explored: spec.ExploreCount(),
		},
	}
	if spec.multi() {
		r.sum.Algorithm, r.sum.Curvature = MethodMGDA, "none"
		r.sum.Explored = spec.population()
	}
	o.Live.attach(r)
	r.prev = readSummary(r.path)
	if o.Fresh {
		// Nothing of the earlier run may outlive it: a stale plot or log
		// would describe a run that is gone.
		for _, name := range []string{"summary.json", "trials.jsonl", "trials.jsonl.tmp", "convergence.png", "convergence.png.tmp", "trace.json", "trace.json.tmp"} {
			if err := os.Remove(filepath.Join(dir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, fmt.Errorf("study %s: %w", spec.Name, err)
			}
		}
		r.prev = nil
	} else if finished(r.prev, r.sum.Fingerprint, spec) {
		r.log.Info().Str("status", r.prev.Status).Msg("study already finished; not running it again (use --fresh to start it over)")
		r.prev.Earlier = true
	}
	return r, nil
}

// prevOrNil returns the earlier run's summary of a run that does not go
// on, or nil for none.
func (r *run) prevOrNil() *Summary {
	if r == nil {
		return nil
	}
	return r.prev
}

// journalError says what to do about a journal that could not be opened.
func (r *run) journalError(err error) error {
	if !errors.Is(err, journal.ErrChanged) {
		return fmt.Errorf("study %s: %w", r.spec.Name, err)
	}
	hint := ""
	if r.prev != nil && !strings.HasPrefix(r.prev.Fingerprint, journal.FingerprintVersion+":") {
		hint = " (its journal was written by an earlier version of tunerd)"
	}
	return fmt.Errorf("study %s: %w%s; run with --fresh to discard its earlier evaluations and start over, or give the study a new name", r.spec.Name, err, hint)
}

// journaling returns the callback that stores each result as soon as it
// arrives, so a crash in the middle of a batch loses none that finished;
// nil without a journal.
func (r *run) journaling(ctx context.Context, j Journal) func(*wire.Task, *wire.Reply) {
	if j == nil {
		return nil
	}
	return func(t *wire.Task, rep *wire.Reply) {
		if err := j.Append(context.WithoutCancel(ctx), t, rep); err != nil {
			r.fail(fmt.Errorf("study %s: journaling %s: %w", r.spec.Name, t.ID, err))
		}
	}
}

// start opens the trial log (rewritten beside the old one, see trialLog)
// and writes the first summary of this run.
func (r *run) start() error {
	var err error
	if r.trials, err = openTrialLog(filepath.Join(r.dir, "trials.jsonl")); err != nil {
		return err
	}
	r.started = true
	if err := r.write(); err != nil {
		return err
	}
	r.startWriter()
	return nil
}

// optimize runs the method over the study's oracle stack, within the time
// budget, and returns its outcome and the rounds it took.
//
// The stack, outermost first: failure policy (retries, penalty, abort) →
// with integer parameters, once (a point and sample already answered is
// not sent again) → budget (counts every query sent, retries included) → space (unit box → user
// units) → counter (rounds) → tracker (target, output errors) →
// evaluation (trial ids, journal replay, dispatch, records).
func (r *run) optimize(ctx context.Context, method zo.Method, ev *evalOracle) (*zo.Outcome, int, error) {
	if r.spec.MaxTime > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, r.spec.MaxTime)
		defer cancel()
	}
	counter := &zo.Counter{Oracle: &tracker{run: r, next: ev}}
	var budget zo.Oracle = &zo.Budget{Oracle: &spaceOracle{space: r.space, next: counter}, Max: r.spec.MaxEvaluations}
	if r.space.hasInts() {
		budget = &onceOracle{space: r.space, next: budget, known: map[string]zo.Result{}}
	}
	oracle := newPolicyOracle(r.spec.FailurePolicy(), budget, ev.live, r.counted)
	r.log.Info().Str("algorithm", r.spec.Algorithm).Str("curvature", r.spec.Curvature).Str("dispatch", r.sum.Dispatch).
		Int("dim", r.space.Dim()).Int("max_evaluations", r.spec.MaxEvaluations).Msg("study started")
	if c := r.spec.Caution(); c != "" {
		r.log.Warn().Str("curvature", r.spec.Curvature).Int("samples", r.spec.Samples).Msg(c)
	}
	out, err := method.Minimize(ctx, oracle, zo.Problem{X0: r.space.Init(), Box: r.space.Box()})
	return out, counter.Rounds, err
}

// abort ends a run that cannot go on. The summary says "failed", with the
// reason; it is the earlier run's summary, marked so, until this run has
// written its own. The trial log of the earlier run is kept. A ctx
// cancelled with a cause fails the study for that cause; a plain
// cancellation (an interrupt) stops it: the summary, if this run wrote
// one, says "stopped", and the earlier run's outputs are left alone.
func (r *run) abort(ctx context.Context, err error) (*Summary, error) {
	r.stopWriter()
	if r.trials != nil {
		_ = r.trials.Close(false)
	}
	cause := context.Cause(ctx)
	if ctx.Err() != nil && errors.Is(cause, context.Canceled) {
		if !r.started {
			return nil, err
		}
		s := r.snapshot()
		s.Status, s.Reason = string(zo.StatusStopped), "interrupted; run again to resume"
		if werr := r.saveSummary(s); werr != nil {
			r.log.Error().Err(werr).Msg("writing summary")
		}
		return &s, err
	}
	if ctx.Err() != nil {
		err = cause
	}
	s := r.snapshot()
	if !r.started && r.prev != nil {
		s = *r.prev
	}
	s.Status, s.Reason, s.Resumable = string(zo.StatusFailed), err.Error(), true
	if werr := r.saveSummary(s); werr != nil {
		r.log.Error().Err(werr).Msg("writing summary")
	}
	if ctx.Err() != nil {
		// Failed for its cause (no evaluator left, say): a failed study,
		// not an error of the daemon.
		r.log.Error().Str("reason", s.Reason).Msg("study failed")
		return &s, nil
	}
	return &s, err
}

// interrupted ends a run stopped by an interrupt: status "stopped", so
// that the next run resumes; the journal has every finished evaluation
// the server acknowledged (one it did not runs again on resume).
func (r *run) interrupted() *Summary {
	r.stopWriter()
	r.mu.Lock()
	r.sum.Status = "stopped"
	r.sum.Reason = "interrupted; run again to resume"
	r.mu.Unlock()
	_ = r.write()
	if err := r.trials.Close(false); err != nil {
		r.log.Error().Err(err).Msg("closing trials.jsonl")
	}
	r.plot()
	s := r.snapshot()
	return &s
}

// finish records how the optimization ended, writes the final outputs and
// returns the final summary.
func (r *run) finish(out *zo.Outcome, rounds int) (*Summary, error) {
	r.stopWriter()
	out = r.spec.userOutcome(out)
	r.settle(out, rounds)
	// A run stopped short of its own end (no further progress possible)
	// may not have caught up with the old trial log: keep the longer one.
	if err := r.trials.Close(out.Status != zo.StatusStopped); err != nil {
		return r.abort(context.Background(), fmt.Errorf("study %s: writing trials.jsonl: %w", r.spec.Name, err))
	}
	if err := r.write(); err != nil {
		return r.abort(context.Background(), err)
	}
	r.plot()
	done := r.log.Info()
	if out.Status == zo.StatusFailed {
		done = r.log.Error()
	}
	s := r.snapshot()
	done.Str("status", string(out.Status)).Str("reason", out.Reason).Func(r.counts(s.Spent, s.Failures)).
		Float64("value", out.F).Int("escapes", s.Escapes).Msg("study finished")
	return &s, nil
}

// settle puts the outcome, in the user's sign, in the summary.
func (r *run) settle(out *zo.Outcome, rounds int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.sum.Status = string(out.Status)
	r.sum.Reason = out.Reason
	if out.Status == zo.StatusFailed && r.sum.LastFailure != nil && Transient(wire.Reason(r.sum.LastFailure.Reason)) {
		// The failures that ended it may not happen again: running the
		// study again retries them rather than report it finished.
		r.sum.Resumable = true
		r.sum.Reason += "; the last failure (" + r.sum.LastFailure.Reason + ") may be transient: run the study again to retry"
	}
	r.sum.Epsilon, r.sum.Delta = out.Epsilon, out.Delta
	r.sum.Runs = out.Runs
	r.sum.Iterations = out.Iterations
	r.sum.Rounds = rounds
	r.sum.Escapes = len(out.Escapes)
	r.sum.EscapeLog = r.sum.EscapeLog[:0]
	for _, e := range out.Escapes {
		r.sum.EscapeLog = append(r.sum.EscapeLog, Escape(e))
	}
	if r.spec.estimatesNoise() {
		r.sum.Noise = &Noise{Level: out.Noise, Mu: cmp.Or(out.Mu, zo.DefaultMu)}
	}
	if !r.spec.multi() { // several objectives: each run's reason says what holds
		r.sum.Certificate = r.space.certificate(out.Status)
	}
	params := r.space.Map(out.X)
	r.sum.Final = &Final{
		Params:    params,
		Labels:    r.space.Labels(params),
		Value:     out.F,
		GradNorm:  finite(out.GradNorm),
		LambdaMin: finite(out.LambdaMin),
	}
	if math.IsNaN(out.F) || r.spec.multi() {
		r.sum.Final = nil // several objectives: see Pareto
	}
	if r.spec.multi() {
		r.sum.Runs = userRuns(out.Runs, r.spec.objectiveSigns()[0])
	}
}
