package study

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// Failure policies: what a failed evaluation means to a study (its
// on_failure key).
const (
	// OnFailureRetry, the default: a failure that may be transient is
	// retried; one that persists is left out, and the optimizer works
	// around it (a failed line-search candidate is not taken, a failed
	// difference leaves its coordinate unknown).
	OnFailureRetry = "retry"
	// OnFailurePenalize: after the same retries, a failed evaluation
	// counts as a bad value (the study's penalty, by default the worst
	// value seen so far), which steers the optimizer away from the region
	// where the simulator fails.
	OnFailurePenalize = "penalize"
	// OnFailureAbort: after the same retries, the first failed evaluation
	// ends the study failed.
	OnFailureAbort = "abort"
)

// FailurePolicies lists the values of a study's on_failure key.
var FailurePolicies = []string{OnFailureRetry, OnFailurePenalize, OnFailureAbort}

// DefaultMaxRetries is how often a failed evaluation whose cause may be
// transient is sent again, unless the study says otherwise.
const DefaultMaxRetries = 2

// MaxRetriesLimit bounds a study's max_retries.
const MaxRetriesLimit = 10

// transientReasons are the failures that may not happen again for the
// same point and seed: the simulator ran out of time or crashed (a loaded
// machine), could not be started (a fork that failed), or the task never
// reached an evaluator that finished it. A simulator that exits non-zero,
// prints no value or a non-finite one, or a task that cannot be run, will
// most likely do the same again: those are not retried.
var transientReasons = []wire.Reason{
	wire.ReasonTimeout, wire.ReasonCrash, wire.ReasonStart,
	wire.ReasonDelivery, wire.ReasonStale,
}

// Transient reports whether a failure of reason r may be transient, and is
// therefore retried.
func Transient(r wire.Reason) bool { return slices.Contains(transientReasons, r) }

// FailurePolicy is what a study does with failed evaluations.
type FailurePolicy struct {
	// OnFailure is one of FailurePolicies; "" means OnFailureRetry.
	OnFailure string
	// MaxRetries is how often an evaluation that failed for a transient
	// reason is sent again before its failure stands; 0: never.
	MaxRetries int
	// Penalty is the value a failed evaluation takes under
	// OnFailurePenalize; nil: the worst value the study has seen so far.
	Penalty *float64
}

// name is the policy's OnFailure, its default filled in.
func (p FailurePolicy) name() string {
	if p.OnFailure == "" {
		return OnFailureRetry
	}
	return p.OnFailure
}

// ErrAborted is wrapped by the error that ends a study whose policy is
// OnFailureAbort.
var ErrAborted = errors.New("study: aborted on a failed evaluation (on_failure = \"abort\")")

// policyOracle is the outermost layer of a study's oracle stack. It sends
// again, as one batch, the queries whose evaluation failed for a transient
// reason (each as a new trial, with the same point and seed), up to
// MaxRetries times, and then applies the policy to the failures that
// remain.
//
// Resume replays a study through this layer, so its decisions depend only
// on what the evaluations answered. One exception keeps a transient
// failure from ending a study for good: a query whose retries all failed
// in an earlier run, and after which the journal holds nothing (the run
// ended there), gets a fresh set of retries, run live.
type policyOracle struct {
	policy FailurePolicy
	next   zo.Oracle
	// live reports whether the evaluations sent from now on run live: the
	// journal holds no record of them.
	live func() bool
	// count, if set, is told of every retry sent and every failure
	// penalized, for the summary.
	count func(retries, penalized int)

	worst float64 // worst value seen so far; NaN before the first
}

func newPolicyOracle(p FailurePolicy, next zo.Oracle, live func() bool, count func(retries, penalized int)) *policyOracle {
	p.OnFailure = p.name()
	return &policyOracle{policy: p, next: next, live: live, count: count, worst: math.NaN()}
}

var _ zo.Oracle = (*policyOracle)(nil)

// attempts counts one query's failed evaluations: all of them, and those
// run live in this run (not answered from the journal).
type attempts struct{ failed, live int }

// Evaluate implements zo.Oracle.
func (p *policyOracle) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	res, err := p.next.Evaluate(ctx, batch)
	if err != nil {
		return nil, err
	}
	tries := make([]attempts, len(batch))
	for {
		again := p.retries(res, tries)
		if len(again) == 0 {
			break
		}
		sub := make([]zo.Query, len(again))
		for k, i := range again {
			sub[k] = batch[i]
		}
		if p.count != nil {
			p.count(len(sub), 0)
		}
		got, err := p.next.Evaluate(ctx, sub)
		if err != nil {
			return nil, err
		}
		for k, i := range again {
			res[i] = got[k]
		}
	}
	return p.apply(res)
}

// retries counts the failures in res and returns the indices of those to
// send again.
func (p *policyOracle) retries(res []zo.Result, tries []attempts) []int {
	var again []int
	for i, r := range res {
		var ee *wire.EvalError
		if r.Err == nil || !errors.As(r.Err, &ee) || !Transient(ee.Reason) {
			continue
		}
		tries[i].failed++
		if !isReplayed(r.Err) {
			tries[i].live++
		}
		switch {
		case tries[i].failed <= p.policy.MaxRetries:
			again = append(again, i)
		case tries[i].live <= p.policy.MaxRetries && p.live():
			// The retries of an earlier run failed and nothing followed
			// them: this run gets its own.
			again = append(again, i)
		}
	}
	return again
}

// apply applies the policy to the failures left in res.
func (p *policyOracle) apply(res []zo.Result) ([]zo.Result, error) {
	penalized := 0
	for i, r := range res {
		if r.Err == nil {
			if math.IsNaN(p.worst) || r.Value > p.worst {
				p.worst = r.Value
			}
			continue
		}
		switch p.policy.OnFailure {
		case OnFailureAbort:
			return nil, fmt.Errorf("%w: %w", ErrAborted, r.Err)
		case OnFailurePenalize:
			v := p.worst
			if p.policy.Penalty != nil {
				v = *p.policy.Penalty
			}
			if !math.IsNaN(v) {
				res[i] = zo.Result{Value: v}
				penalized++
			}
		}
	}
	if penalized > 0 && p.count != nil {
		p.count(0, penalized)
	}
	return res, nil
}

// replayedError marks a failure answered from the journal rather than run
// in this run.
type replayedError struct{ error }

func (e replayedError) Unwrap() error { return e.error }

func isReplayed(err error) bool {
	var r replayedError
	return errors.As(err, &r)
}
