package study

import (
	"cmp"
	"encoding/binary"
	"hash/fnv"
	"math"
	"slices"

	"github.com/zotune/zotune/zo"
)

// best keeps a study's best point, Summary.Best.
//
// With one sample (a deterministic objective) it is the point of the
// lowest value seen. With samples > 1 a single value is one draw of a
// noisy objective, and the luckiest draw says little about the point. A
// point then has an estimate once it has been evaluated on k distinct
// seeds, k = zo.DefaultBigBatch(samples) (every sample up to 64): the mean
// of those k values, the estimate the optimizers' big batches work with.
// The best point is the one with the lowest estimate; points evaluated on
// fewer seeds (mini-batch steps) never are, and before the first estimate
// there is no best point. An estimate is final: later values at the point
// are not counted.
//
// Ties go to the earliest trial, and a point's values are summed in seed
// order, so the best point does not depend on the order in which results
// arrive. Memory: only the best point and the points still short of k
// seeds are kept (their values, not their parameters); a finished point
// leaves an 8-byte key.
type best struct {
	k       int
	names   []string            // the parameters' order, for the keys
	pending map[uint64]*partial // points short of k seeds; samples > 1 only
	done    map[uint64]bool     // points with an estimate; samples > 1 only
	top     *Point              // nil before the first estimate
	// better reports whether a value beats another: lower, or higher
	// for a study that maximises.
	better func(a, b float64) bool
}

// partial is a point evaluated on fewer than k seeds.
type partial struct {
	seeds  []int64
	values []float64
	trial  string // its earliest trial
}

func newBest(samples int, names []string, better func(a, b float64) bool) *best {
	b := &best{k: zo.DefaultBigBatch(max(samples, 1)), names: names, better: better}
	if b.k > 1 {
		b.pending, b.done = map[uint64]*partial{}, map[uint64]bool{}
	}
	return b
}

// add counts the successful evaluation of params with seed, and reports
// whether the best point changed.
func (b *best) add(params map[string]float64, seed int64, trial string, value float64) bool {
	if b.k == 1 {
		return b.offer(&Point{Params: params, Value: value, Trial: trial})
	}
	key := b.key(params)
	if b.done[key] {
		return false
	}
	p := b.pending[key]
	if p == nil {
		p = &partial{trial: trial}
		b.pending[key] = p
	}
	if earlier(trial, p.trial) {
		p.trial = trial
	}
	if slices.Contains(p.seeds, seed) {
		return false
	}
	p.seeds, p.values = append(p.seeds, seed), append(p.values, value)
	if len(p.seeds) < b.k {
		return false
	}
	delete(b.pending, key)
	b.done[key] = true
	return b.offer(&Point{Params: params, Value: p.mean(), Trial: p.trial, Samples: b.k})
}

// offer makes p the best point if it beats the one there: a better value
// (lower, or higher for a study that maximises), or the same from an
// earlier trial. A value that is not finite never
// does.
func (b *best) offer(p *Point) bool {
	if math.IsNaN(p.Value) || math.IsInf(p.Value, 0) {
		return false
	}
	if b.top != nil && (b.better(b.top.Value, p.Value) || p.Value == b.top.Value && !earlier(p.Trial, b.top.Trial)) {
		return false
	}
	b.top = p
	return true
}

// mean is the running mean of the values in seed order: the same bits
// whatever order they came in, and no overflow where the values are
// finite.
func (p *partial) mean() float64 {
	idx := make([]int, len(p.seeds))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(i, j int) int { return cmp.Compare(p.seeds[i], p.seeds[j]) })
	m := 0.0
	for n, i := range idx {
		m += (p.values[i] - m) / float64(n+1)
	}
	return m
}

// earlier orders trial ids as numbers: wire.TrialID pads them to six
// digits, and longer ones come later.
func earlier(a, b string) bool {
	if len(a) != len(b) {
		return len(a) < len(b)
	}
	return a < b
}

// point is the best point for the summary; nil before the first one.
func (b *best) point() *Point {
	if b.top == nil {
		return nil
	}
	p := *b.top
	return &p
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
