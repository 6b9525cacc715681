package study

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// Summary is summary.json: the state of a study, rewritten while it runs
// and final when it ends. Field names are part of the user contract.
type Summary struct {
	Study       string `json:"study"`
	Objective   string `json:"objective"`
	Algorithm   string `json:"algorithm"`
	Curvature   string `json:"curvature"`
	Dispatch    string `json:"dispatch"`
	OnFailure   string `json:"on_failure"`  // the failure policy: retry, penalize or abort
	Fingerprint string `json:"fingerprint"` // what determines the run; see Fingerprint
	// MaxEvaluations is the evaluation budget the run had: it bounds
	// Spent.
	MaxEvaluations int `json:"max_evaluations"`
	// Target is the target value the run had; nil: none.
	Target *float64 `json:"target,omitempty"`
	// Goal is "max" for a study that maximises; omitted for one that
	// minimises. Every value in the summary is the simulator's own.
	Goal   string `json:"goal,omitempty"`
	Status string `json:"status"` // running, converged, target, budget, stopped, failed
	Reason string `json:"reason,omitempty"`
	// Resumable marks a run that ended on an error outside the
	// optimization (its evaluators were gone, the journal could not be
	// read or did not match, an output could not be written): running the
	// study again tries to resume it rather than report it finished.
	Resumable   bool    `json:"resumable,omitempty"`
	Seed        uint64  `json:"seed"`
	Samples     int     `json:"samples"`
	Epsilon     float64 `json:"epsilon"`
	Delta       float64 `json:"delta"`
	Evaluations int     `json:"evaluations"` // successful evaluations
	Failures    int     `json:"failures"`    // failed evaluations
	// Spent is Evaluations + Failures: every evaluation the study sent,
	// retries and those answered from the journal included, the count
	// MaxEvaluations bounds (see zo.Budget).
	Spent int `json:"spent"`
	// FailuresByReason splits Failures: simulator failures (exit, parse,
	// nonfinite, timeout, ...) apart from dispatch ones (stale, delivery).
	FailuresByReason map[string]int `json:"failures_by_reason"`
	// Retries counts the evaluations sent again after a transient failure
	// (each also counted in Evaluations or Failures).
	Retries int `json:"retries"`
	// Penalized counts the failed evaluations that took the penalty value
	// (on_failure = "penalize").
	Penalized  int `json:"penalized,omitempty"`
	Replayed   int `json:"replayed"` // evaluations answered from the journal (resume)
	Rounds     int `json:"rounds"`   // batches sent (sequential waits on a fleet)
	Iterations int `json:"iterations"`
	// LastFailure is the last failed evaluation, nil if none failed.
	LastFailure *Failure `json:"last_failure,omitempty"`
	Best        *Point   `json:"best"`
	// Final is null when the run ended without a final iterate (stopped
	// or failed before it had one).
	Final *Final `json:"final"`
	// Noise is the estimate of the objective's noise and the difference
	// step chosen from it (zo.NoiseMethods with mu unset); nil otherwise.
	Noise   *Noise `json:"noise,omitempty"`
	Escapes int    `json:"escapes"` // negative-curvature steps taken
	// FinderEstimates are the constants the curvature finder estimated
	// (no L, ρ or noise level is asked of the user), from its last call.
	FinderEstimates *FinderEstimates `json:"finder_estimates,omitempty"`
	EscapeLog       []Escape         `json:"escape_log"`
	// Explored is the number of points of the space-filling first batch;
	// Runs, when a space-filling batch chose the start or the study
	// restarted after a stall, records each run: the value it started
	// from, the value and status it ended with, the evaluations it spent.
	// Certificate, for a converged study with integer parameters, says
	// which part of the certificate holds for which parameters.
	Certificate *Certificate `json:"certificate,omitempty"`
	// Objectives are a multi-objective study's, and Pareto the
	// non-dominated set of every point it evaluated, each with its
	// objectives in the simulator's sign.
	Objectives  []Objective    `json:"objectives,omitempty"`
	Pareto      []ParetoPoint  `json:"pareto,omitempty"`
	Explored    int            `json:"explored,omitempty"`
	Runs        []zo.RunRecord `json:"runs,omitempty"`
	Started     time.Time      `json:"started"`
	WallSeconds float64        `json:"wall_seconds"`
	// Timing is where the study's wall time went, round by round.
	Timing *Timing `json:"timing,omitempty"`

	// Earlier is set on the summary Run returns for a study that had
	// finished in an earlier run and was not run again.
	Earlier bool `json:"-"`
}

// Failure is a failed evaluation, as kept in the summary.
type Failure struct {
	Trial  string `json:"trial"`
	Reason string `json:"reason"`
	Error  string `json:"error"`
	Stderr string `json:"stderr,omitempty"` // its tail
}

// maxStderrTail bounds the stderr kept in Summary.LastFailure.
const maxStderrTail = 512

// tail returns the end of s, at most n bytes, cut at a line start where
// possible.
func tail(s string, n int) string {
	s = strings.TrimRight(s, "\n")
	if len(s) <= n {
		return s
	}
	s = s[len(s)-n:]
	if i := strings.IndexByte(s, '\n'); i >= 0 && i < len(s)-1 {
		s = s[i+1:]
	}
	return strings.ToValidUTF8(s, "")
}

// FailureLine describes the study's last failed evaluation on one line:
// its trial, reason, error and the last lines of its stderr; "" if none
// failed.
func (s *Summary) FailureLine() string {
	f := s.LastFailure
	if f == nil {
		return ""
	}
	line := fmt.Sprintf("last failed evaluation: trial %s (%s): %s", f.Trial, f.Reason, strings.Join(strings.Fields(f.Error), " "))
	if st := strings.TrimSpace(f.Stderr); st != "" {
		lines := strings.Split(st, "\n")
		st = strings.Join(lines[max(0, len(lines)-2):], "\n")
		if len(st) > 200 {
			st = "…" + tail(st, 200)
		}
		line += fmt.Sprintf("; stderr: %q", st)
	}
	return line
}

// Counts says how much of its budget the study spent, and how much of
// that succeeded: "57 evaluations spent of 60 (34 succeeded, 23 failed)".
func (s *Summary) Counts() string {
	return zo.SpentLine(s.Spent, s.MaxEvaluations, s.Failures)
}

// budgetCause tells, for a run that ended on its budget, which one:
// zo.ErrBudget for evaluations, context.DeadlineExceeded for time.
func (s *Summary) budgetCause() error {
	if strings.Contains(s.Reason, "time budget") {
		return context.DeadlineExceeded
	}
	return zo.ErrBudget
}

// Point is a parameter setting and its value.
type Point struct {
	Params map[string]float64 `json:"params"`
	// Labels are the values of the categorical parameters, whose entries
	// in Params are their indices.
	Labels map[string]string `json:"labels,omitempty"`
	// Value is the objective there; with samples > 1, the mean of
	// Samples of its samples (see best).
	Value float64 `json:"value"`
	// Trial is the (earliest) trial that evaluated the point.
	Trial   string `json:"trial,omitempty"`
	Samples int    `json:"samples,omitempty"` // samples > 1: how many the mean is over
}

// Noise is what a run estimated of its objective's computational noise.
type Noise struct {
	// Level is the largest standard deviation estimated (ECnoise, at the
	// start and where a line search found no decrease); 0: no noise
	// showed above round-off.
	Level float64 `json:"level"`
	// Mu is the difference step the run ended with, in unit coordinates:
	// the default 1e-5 unless the noise called for more.
	Mu float64 `json:"mu"`
}

// Final is the optimizer's last iterate with its stationarity certificate.
type Final struct {
	Params    map[string]float64 `json:"params"`
	Labels    map[string]string  `json:"labels,omitempty"` // as Point.Labels
	Value     float64            `json:"value"`
	GradNorm  *float64           `json:"grad_norm"`  // null when never estimated there
	LambdaMin *float64           `json:"lambda_min"` // null when no curvature estimate was made there
}

// FinderEstimates is what a curvature finder estimated in its last call.
type FinderEstimates struct {
	Finder        string   `json:"finder"`
	L             *float64 `json:"L"`           // gradient Lipschitz constant used (unit-box coordinates)
	LEstimated    bool     `json:"L_estimated"` // estimated, not set
	Step          *float64 `json:"step,omitempty"`
	Noise         *float64 `json:"noise,omitempty"` // spread of a single-sample Hessian-vector product (online)
	Iterations    int      `json:"iterations"`
	MaxIterations int      `json:"max_iterations"`
	Capped        bool     `json:"capped"` // fewer iterations than the certificate needs
	Queries       int      `json:"queries"`
}

// Escape is one negative-curvature step, as reported in the summary.
type Escape struct {
	Iteration int     `json:"iteration"`
	Lambda    float64 `json:"lambda"`
	Step      float64 `json:"step"` // length in internal (unit box) coordinates
	From      float64 `json:"from"`
	To        float64 `json:"to"`
}

// finite returns a pointer to v, or nil when v is NaN or infinite (JSON
// has no representation for those).
func finite(v float64) *float64 {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return nil
	}
	return &v
}

// writeJSONAtomic writes v as indented JSON to path via a temporary file
// and a rename, so a reader (or a crash) never sees a half-written file.
func writeJSONAtomic(path string, v any) error {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), ".tmp-"+filepath.Base(path))
	if err != nil {
		return err
	}
	// CreateTemp makes the file private; the outputs are readable by all.
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if _, err := tmp.Write(append(data, '\n')); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return err
	}
	if err := tmp.Close(); err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return os.Rename(tmp.Name(), path)
}

// Trial is one line of trials.jsonl.
type Trial struct {
	Trial     string             `json:"trial"`
	Params    wire.Params        `json:"params"`
	Labels    map[string]string  `json:"labels,omitempty"` // categorical parameters' values
	Seed      int64              `json:"seed"`
	Value     *float64           `json:"value,omitempty"`
	Error     string             `json:"error,omitempty"`
	Reason    string             `json:"reason,omitempty"`
	Stderr    string             `json:"stderr,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Evaluator string             `json:"evaluator"`
	Started   time.Time          `json:"started"`
	Seconds   float64            `json:"seconds"`
}

// trialLog appends one JSON line per finished evaluation to trials.jsonl.
// record may be called from one goroutine at a time, and not once Close is.
//
// A resumed study rewrites the log from its start as the journal answers
// its queries again, so the lines are written to trials.jsonl.tmp first.
// That file replaces trials.jsonl only once it holds at least as many
// lines as the old log (the replay caught up with it), or when the run
// ends in a terminal state; a run that fails or is interrupted before then
// leaves the old log as it was.
//
// Lines are written by a goroutine of the log's own, in the order record
// is called, and flushed to the file whenever it has written all it was
// given: the caller (the optimizer's path) never waits for the disk.
type trialLog struct {
	in   chan *Trial   // lines to write; closed by Close
	done chan struct{} // closed when the writer has written them all

	mu     sync.Mutex
	closed bool  // Close was called
	err    error // the first write error

	// Owned by the writer goroutine until done is closed.
	f         *os.File
	w         *bufio.Writer
	path, tmp string
	old       int      // lines of the log this one replaces
	lines     int      // lines written
	published bool     // tmp was renamed to path
	buf       []byte   // the line being written
	keys      []string // the last line's parameter names, sorted
}

// trialQueue is the number of lines the log takes before record waits.
const trialQueue = 4096

func openTrialLog(path string) (*trialLog, error) {
	old, err := countLines(path)
	if err != nil {
		return nil, fmt.Errorf("study: read trial log: %w", err)
	}
	tmp := path + ".tmp"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("study: open trial log: %w", err)
	}
	l := &trialLog{f: f, w: bufio.NewWriterSize(f, 64<<10), path: path, tmp: tmp, old: old,
		in: make(chan *Trial, trialQueue), done: make(chan struct{})}
	if err := l.publishIfCaughtUp(); err != nil {
		f.Close()
		os.Remove(tmp)
		return nil, err
	}
	go l.write()
	return l, nil
}

// write writes the lines record queues until Close, flushing the buffer
// each time the queue is empty. After an error it writes no more.
func (l *trialLog) write() {
	defer close(l.done)
	var err error
	for tr := range l.in {
		if err == nil {
			err = l.line(tr)
		}
		if err == nil && len(l.in) == 0 {
			err = l.w.Flush()
		}
		if err != nil {
			l.mu.Lock()
			if l.err == nil {
				l.err = err
			}
			l.mu.Unlock()
		}
	}
}

// line writes one trial line to the buffer.
func (l *trialLog) line(tr *Trial) error {
	data, keys, err := appendTrial(l.buf[:0], tr, l.keys)
	if err != nil {
		return err
	}
	l.keys = keys
	data = append(data, '\n')
	l.buf = data
	// A line goes to the file in one write, never torn across two: a line
	// that does not fit in the buffer's room is preceded by a flush, and
	// one larger than the buffer is written whole, directly.
	if len(data) > l.w.Available() {
		if err := l.w.Flush(); err != nil {
			return err
		}
	}
	if _, err := l.w.Write(data); err != nil {
		return err
	}
	l.lines++
	return l.publishIfCaughtUp()
}

// countLines counts the lines of the file at path; 0 if there is none.
func countLines(path string) (int, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	buf := make([]byte, 64<<10)
	for {
		k, err := f.Read(buf)
		n += bytes.Count(buf[:k], []byte{'\n'})
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// publishIfCaughtUp renames the new log over the old one once it has as
// many lines. The caller is the writer goroutine, or owns l alone.
func (l *trialLog) publishIfCaughtUp() error {
	if l.published || l.lines < l.old {
		return nil
	}
	if err := l.w.Flush(); err != nil { // the new log has every line it replaces
		return err
	}
	if err := os.Rename(l.tmp, l.path); err != nil {
		return fmt.Errorf("study: trial log: %w", err)
	}
	l.published = true
	return nil
}

// trialOf is the trial log's line for task t answered by r.
func trialOf(t *wire.Task, r *wire.Reply) Trial {
	tr := Trial{
		Trial:     t.Trial,
		Params:    t.Params,
		Labels:    t.Labels,
		Seed:      t.Seed,
		Error:     r.Error,
		Reason:    string(r.Reason),
		Stderr:    r.Stderr,
		Metrics:   r.Metrics,
		Evaluator: r.Evaluator,
		Started:   r.Started,
		Seconds:   r.Seconds,
	}
	if r.Error == "" {
		v := r.Value
		tr.Value = &v
	}
	return tr
}

// record queues the trial line for the log's writer, which writes it and
// flushes it to the file soon after, so an interrupted run keeps every
// line written so far (and a crash those of the evaluations before the
// last moments, which the journal has anyway). It returns the first error
// the writer met.
func (l *trialLog) record(tr *Trial) error {
	l.mu.Lock()
	closed, err := l.closed, l.err
	l.mu.Unlock()
	if closed {
		return errors.New("study: trial log written after it was closed")
	}
	if err != nil {
		return err
	}
	l.in <- tr
	return nil
}

// Close closes the log. With keep, the new log replaces the old one even
// if it is shorter (the run ended in a terminal state and the new log is
// its complete record); without, a new log that has not caught up with
// the old one is discarded. Closing twice is a no-op.
func (l *trialLog) Close(keep bool) error {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil
	}
	l.closed = true
	l.mu.Unlock()
	close(l.in)
	<-l.done
	if l.err != nil {
		l.f.Close()
		if !l.published {
			os.Remove(l.tmp)
		}
		return l.err
	}
	ferr := l.w.Flush()
	serr := l.f.Sync()
	cerr := l.f.Close()
	l.f = nil
	for _, err := range []error{ferr, serr, cerr} {
		if err != nil {
			if !l.published {
				os.Remove(l.tmp)
			}
			return err
		}
	}
	if l.published {
		return nil
	}
	if keep {
		l.old = 0
		return l.publishIfCaughtUp()
	}
	return os.Remove(l.tmp)
}
