// Package tracer is the in-memory oracle of the example experiments
// (examples/compare, examples/paper): it evaluates a Go function, turns
// non-finite values into failed results, counts queries and rounds
// (batches), and keeps the best true value found, its trace against
// queries, and the queries and rounds at which a point first counted as
// solved.
package tracer

import (
	"context"
	"errors"
	"math"

	"github.com/zotune/zotune/zo"
)

// ErrNonFinite marks a query whose value was not finite (the octopus is
// +Inf outside its domain).
var ErrNonFinite = errors.New("non-finite value")

// Point is one step of a trace: the best true value after that many
// queries.
type Point struct {
	Queries int
	Best    float64
}

// Tracer is a zo.Oracle over F that records what an experiment reports.
type Tracer struct {
	F func(x []float64, sample int) float64
	// Truth is the value the trace records (the noise-free objective of a
	// noisy one); nil: F's own.
	Truth func(x []float64) float64
	// Hit says when a point counts as solved; nil: never.
	Hit func(x []float64, truth float64) bool

	Queries, Rounds, Failed int
	Best                    float64
	Trace                   []Point
	HitQ, HitR              int // queries and rounds when Hit first held; -1 if never

	// Slots are fleet widths w at which rounds are also counted, for
	// methods whose batches open with Round: a batch of n queries takes
	// ⌈n/w⌉ rounds on w slots. SlotRounds[k] and HitSlot[k] are the
	// rounds so far and at the first hit (-1 if never) at width Slots[k].
	Slots, SlotRounds, HitSlot []int
	// inRound is the number of queries recorded since Round opened the
	// current batch, and opened[k] the rounds at width Slots[k] before it.
	inRound int
	opened  []int
}

// WithSlots makes t count rounds at the given fleet widths too (see
// Slots) and returns t.
func (t *Tracer) WithSlots(widths ...int) *Tracer {
	t.Slots = widths
	t.SlotRounds = make([]int, len(widths))
	t.HitSlot = make([]int, len(widths))
	t.opened = make([]int, len(widths))
	for k := range t.HitSlot {
		t.HitSlot[k] = -1
	}
	return t
}

// Round opens a batch of n queries: one round, and ⌈n/w⌉ at each of the
// Slots widths w. The queries then go to Record.
func (t *Tracer) Round(n int) {
	t.Rounds++
	for k, w := range t.Slots {
		t.opened[k] = t.SlotRounds[k]
		t.SlotRounds[k] += (n + w - 1) / w
	}
	t.inRound = 0
}

// New returns a tracer of f.
func New(f func([]float64, int) float64, truth func([]float64) float64, hit func([]float64, float64) bool) *Tracer {
	return &Tracer{F: f, Truth: truth, Hit: hit, Best: math.Inf(1), HitQ: -1, HitR: -1}
}

// Below is a Hit that holds once a value is at or below target.
func Below(target float64) func([]float64, float64) bool {
	return func(_ []float64, v float64) bool { return v <= target }
}

// Evaluate implements zo.Oracle: one round.
func (t *Tracer) Evaluate(ctx context.Context, batch []zo.Query) ([]zo.Result, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	t.Round(len(batch))
	res := make([]zo.Result, len(batch))
	for i, q := range batch {
		v := t.F(q.X, q.Sample)
		if !t.Record(q.X, v) {
			res[i].Err = ErrNonFinite
			continue
		}
		res[i].Value = v
	}
	if !math.IsInf(t.Best, 1) {
		t.Trace = append(t.Trace, Point{t.Queries, t.Best})
	}
	return res, nil
}

// Record accounts for one value v of F at x, in round Rounds, for methods
// that evaluate F themselves; it reports whether v is finite.
func (t *Tracer) Record(x []float64, v float64) bool {
	t.Queries++
	t.inRound++
	if math.IsNaN(v) || math.IsInf(v, 0) {
		t.Failed++
		return false
	}
	tv := v
	if t.Truth != nil {
		tv = t.Truth(x)
	}
	t.Best = min(t.Best, tv)
	if t.HitQ < 0 && t.Hit != nil && t.Hit(x, tv) {
		t.HitQ, t.HitR = t.Queries, t.Rounds
		for k, w := range t.Slots {
			// The batch's queries so far fill ⌈inRound/w⌉ of its rounds.
			t.HitSlot[k] = t.opened[k] + (t.inRound+w-1)/w
		}
	}
	return true
}
