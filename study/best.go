package study

import (
	"encoding/binary"
	"hash/fnv"
	"math"
)

// best keeps a study's best point, Summary.Best.
//
// With one sample (a deterministic objective) it is the point of the
// lowest value seen. With samples > 1 a single value is one draw of a
// noisy objective, and the luckiest draw says little about the point: a
// point's value is then the mean of its samples — the estimate the
// optimizer works with — and the best point is the one of the lowest mean
// among the points with the most samples (all of them when the method
// evaluates every sample at its points, as zo-gd does). A sample counts
// once per point, however often it was evaluated there.
type best struct {
	samples int
	names   []string             // the parameters' order, for the keys
	points  map[uint64]*estimate // by point; samples > 1 only
	seen    map[uint64]bool      // the (point, seed) pairs counted
	top     *estimate            // the best, nil before the first success
}

// estimate is what is known of one point.
type estimate struct {
	params map[string]float64
	trial  string // its earliest trial
	sum    float64
	n      int
}

func (e *estimate) mean() float64 { return e.sum / float64(e.n) }

// better reports whether x beats y: more samples (up to all of them),
// then a lower mean, then an earlier trial. The order is total, so the
// best point does not depend on the order in which results arrive.
func (b *best) better(x, y *estimate) bool {
	nx, ny := min(x.n, b.samples), min(y.n, b.samples)
	if nx != ny {
		return nx > ny
	}
	if mx, my := x.mean(), y.mean(); mx != my {
		return mx < my
	}
	return earlier(x.trial, y.trial)
}

// earlier orders trial ids as numbers: wire.TrialID pads them to six
// digits, and longer ones come later.
func earlier(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

func newBest(samples int, names []string) *best {
	b := &best{samples: max(samples, 1), names: names}
	if b.samples > 1 {
		b.points, b.seen = map[uint64]*estimate{}, map[uint64]bool{}
	}
	return b
}

// add counts the successful evaluation of params with seed, and reports
// whether the best point changed.
func (b *best) add(params map[string]float64, seed int64, trial string, value float64) bool {
	if b.samples == 1 {
		e := &estimate{params: params, trial: trial, sum: value, n: 1}
		if b.top != nil && !b.better(e, b.top) {
			return false
		}
		b.top = e
		return true
	}
	key := b.key(params)
	pair := key ^ uint64(seed)*0x9e3779b97f4a7c15
	if b.seen[pair] {
		return false
	}
	b.seen[pair] = true
	e := b.points[key]
	if e == nil {
		e = &estimate{params: params, trial: trial}
		b.points[key] = e
	}
	e.sum += value
	e.n++
	if earlier(trial, e.trial) {
		e.trial = trial
	}
	switch {
	case b.top == nil || (e != b.top && b.better(e, b.top)):
		b.top = e
		return true
	case e == b.top:
		b.rescan() // the best's estimate changed: another may beat it now
		return true
	}
	return false
}

// rescan finds the best point again among all.
func (b *best) rescan() {
	for _, e := range b.points {
		if b.better(e, b.top) {
			b.top = e
		}
	}
}

// point is the best point for the summary; nil before the first success.
func (b *best) point() *Point {
	if b.top == nil {
		return nil
	}
	p := &Point{Params: b.top.params, Value: b.top.mean(), Trial: b.top.trial}
	if b.samples > 1 {
		p.Samples = b.top.n
	}
	return p
}

// key identifies a point by its parameters' bits, in the study's order.
func (b *best) key(params map[string]float64) uint64 {
	h := fnv.New64a()
	var buf [8]byte
	for _, name := range b.names {
		binary.LittleEndian.PutUint64(buf[:], math.Float64bits(params[name]))
		_, _ = h.Write(buf[:])
	}
	return h.Sum64()
}
