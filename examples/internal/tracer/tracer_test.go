package tracer

import (
	"context"
	"slices"
	"testing"

	"github.com/zotune/zotune/zo"
)

// A batch of n queries takes ⌈n/w⌉ rounds on w slots, and a hit counts the
// rounds its batch had filled up to it.
func TestSlots(t *testing.T) {
	tr := New(func(x []float64, _ int) float64 { return x[0] }, nil, Below(-17)).WithSlots(16, 64)
	batch := func(from, n int) []zo.Query {
		qs := make([]zo.Query, n)
		for i := range qs {
			qs[i].X = []float64{-float64(from + i)}
		}
		return qs
	}
	for _, b := range [][2]int{{0, 10}, {10, 20}, {30, 70}} {
		if _, err := tr.Evaluate(context.Background(), batch(b[0], b[1])); err != nil {
			t.Fatal(err)
		}
	}
	// Rounds: 1+2+5 on 16 slots, 1+1+2 on 64. The first value ≤ −17 is
	// the 8th query of the second batch: its first 16-slot round.
	if tr.Rounds != 3 || !slices.Equal(tr.SlotRounds, []int{8, 4}) {
		t.Errorf("rounds %d, on slots %v; want 3, [8 4]", tr.Rounds, tr.SlotRounds)
	}
	if tr.HitQ != 18 || tr.HitR != 2 || !slices.Equal(tr.HitSlot, []int{2, 2}) {
		t.Errorf("hit at query %d, round %d, slot rounds %v; want 18, 2, [2 2]", tr.HitQ, tr.HitR, tr.HitSlot)
	}
}
