package study

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/zotune/zotune/transport"
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
	Fingerprint string `json:"fingerprint"` // what determines the run; see Fingerprint
	// MaxEvaluations is the evaluation budget the run had.
	MaxEvaluations int     `json:"max_evaluations"`
	Status         string  `json:"status"` // running, converged, target, budget, stopped, failed
	Reason         string  `json:"reason,omitempty"`
	Seed           uint64  `json:"seed"`
	Samples        int     `json:"samples"`
	Epsilon        float64 `json:"epsilon"`
	Delta          float64 `json:"delta"`
	Evaluations    int     `json:"evaluations"` // successful evaluations
	Failures       int     `json:"failures"`    // failed evaluations
	// FailuresByReason splits Failures: simulator failures (exit, parse,
	// nonfinite, timeout, ...) apart from dispatch ones (stale, delivery).
	FailuresByReason map[string]int `json:"failures_by_reason"`
	Replayed         int            `json:"replayed"` // evaluations answered from the journal (resume)
	Rounds           int            `json:"rounds"`   // batches sent (sequential waits on a fleet)
	Iterations       int            `json:"iterations"`
	Best             *Point         `json:"best"`
	Final            *Final         `json:"final,omitempty"`
	Escapes          int            `json:"escapes"` // negative-curvature steps taken
	// FinderEstimates are the constants the curvature finder estimated
	// (no L, ρ or noise level is asked of the user), from its last call.
	FinderEstimates *FinderEstimates `json:"finder_estimates,omitempty"`
	EscapeLog       []Escape         `json:"escape_log"`
	Started         time.Time        `json:"started"`
	WallSeconds     float64          `json:"wall_seconds"`
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
	Value  float64            `json:"value"`
	Trial  string             `json:"trial,omitempty"`
}

// Final is the optimizer's last iterate with its stationarity certificate.
type Final struct {
	Params    map[string]float64 `json:"params"`
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
	Params    map[string]float64 `json:"params"`
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
// It is safe for concurrent use.
type trialLog struct {
	mu sync.Mutex
	f  *os.File
	w  *bufio.Writer
}

func openTrialLog(path string) (*trialLog, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return nil, fmt.Errorf("study: open trial log: %w", err)
	}
	return &trialLog{f: f, w: bufio.NewWriter(f)}, nil
}

// record writes the trial line and flushes it to the file, so an
// interrupted run keeps every line written so far.
func (l *trialLog) record(t *transport.Task, r *transport.Reply) error {
	tr := Trial{
		Trial:     t.Trial,
		Params:    t.Params,
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
	data, err := json.Marshal(tr)
	if err != nil {
		return err
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, err := l.w.Write(append(data, '\n')); err != nil {
		return err
	}
	return l.w.Flush()
}

func (l *trialLog) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	ferr := l.w.Flush()
	serr := l.f.Sync()
	cerr := l.f.Close()
	for _, err := range []error{ferr, serr, cerr} {
		if err != nil {
			return err
		}
	}
	return nil
}
