package chart

import (
	"math"
	"math/rand/v2"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"gonum.org/v1/plot"
)

// labelled are the labels of the ticks t marks inside [lo, hi], checked
// to be distinct and in increasing order of value.
func labelled(t *testing.T, what string, tk plot.Ticker, lo, hi float64) []string {
	t.Helper()
	var labels []string
	last := math.Inf(-1)
	seen := map[string]bool{}
	for _, tick := range tk.Ticks(lo, hi) {
		if tick.Label == "" || tick.Value < lo || tick.Value > hi {
			continue
		}
		if seen[tick.Label] || tick.Value <= last {
			t.Errorf("%s [%g, %g]: label %q at %g repeats or is out of order: %v", what, lo, hi, tick.Label, tick.Value, tk.Ticks(lo, hi))
		}
		seen[tick.Label] = true
		last = tick.Value
		labels = append(labels, tick.Label)
	}
	return labels
}

// Every axis range the package makes, linear or log, whatever the data,
// gets at least two labelled ticks inside it, each label the number it
// stands at to within the precision of the step between labels.
func TestTicksLabelAtLeastTwo(t *testing.T) {
	cases := [][2]float64{
		{0, 0}, {0.5, 0.5}, {-3, -3}, {5e-324, 5e-324}, {1e300, 1e300}, {-1e300, 1e300},
		{1, 1 + 1e-15}, {-0.25, -0.2499999999}, {1.9471357184, 1.9471357186}, {-1e-9, 1e-9},
		{-0.2, 0.1}, {2, 9}, {3, 5}, {0.9, 1.1}, {1e-12, 1e4}, {1e-300, 1e300}, {123456.1, 123456.2},
		{-5000, -1}, {0.001, 0.0011}, {7, 7.0001}, {math.Inf(1), math.Inf(-1)},
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		a := math.Pow(10, r.Float64()*40-20) * (r.Float64()*2 - 0.5)
		b := a + math.Abs(a)*math.Pow(10, r.Float64()*24-12)
		cases = append(cases, [2]float64{a, b})
	}
	for _, c := range cases {
		lo, hi := linearRange(c[0], c[1])
		if !(lo < hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) || (c[0] <= c[1] && (lo > c[0] || hi < c[1])) {
			t.Fatalf("linearRange(%g, %g) = [%g, %g]", c[0], c[1], lo, hi)
		}
		checkLabels(t, "linear", linearTicks{}, lo, hi)
		if lo, hi, ok := logRange(c[0], c[1]); ok {
			if !(lo > 0 && lo < hi) || lo > c[0] || hi < c[1] {
				t.Fatalf("logRange(%g, %g) = [%g, %g]", c[0], c[1], lo, hi)
			}
			checkLabels(t, "log", logTicks{}, lo, hi)
		} else if c[0] > 1e-290 && c[1] < 1e290 && c[0] <= c[1] {
			t.Errorf("logRange(%g, %g) refused", c[0], c[1])
		}
	}
}

// checkLabels checks that tk labels at least two ticks in [lo, hi] and
// that each label reads as its tick's value, to the step between labels.
func checkLabels(t *testing.T, what string, tk plot.Ticker, lo, hi float64) {
	t.Helper()
	labels := labelled(t, what, tk, lo, hi)
	if len(labels) < 2 {
		t.Errorf("%s [%g, %g]: labels %q", what, lo, hi, labels)
		return
	}
	var vals []float64
	for _, tick := range tk.Ticks(lo, hi) {
		if tick.Label != "" && tick.Value >= lo && tick.Value <= hi {
			vals = append(vals, tick.Value)
		}
	}
	gap := math.Inf(1)
	for i := 1; i < len(vals); i++ {
		gap = min(gap, vals[i]-vals[i-1])
	}
	for i, l := range labels {
		v, err := strconv.ParseFloat(l, 64)
		if err != nil || math.Abs(v-vals[i]) > gap/100 {
			t.Errorf("%s [%g, %g]: label %q at %g", what, lo, hi, l, vals[i])
		}
	}
}

// Tick labels as a reader wants them: round numbers, no trailing noise
// of floating point, exponents without padding.
func TestTickLabels(t *testing.T) {
	for _, c := range []struct {
		tk     plot.Ticker
		lo, hi float64
		want   string
	}{
		{linearTicks{}, -0.2625, 0.0125, "-0.25 -0.20 -0.15 -0.10 -0.05 0"},
		{linearTicks{}, 0.1, 0.7, "0.1 0.2 0.3 0.4 0.5 0.6"},
		{linearTicks{}, 1, 1.000000001, "1.0000000000 1.0000000002 1.0000000004 1.0000000006 1.0000000008 1.0000000010"},
		{linearTicks{}, 2e-7, 9e-7, "2e-7 4e-7 6e-7 8e-7"},
		{linearTicks{}, 1e6, 4e6, "1e6 2e6 3e6 4e6"},
		{logTicks{}, 1e-13, 1e-3, "1e-12 1e-10 1e-8 1e-6 1e-4"},
		{logTicks{}, 5e-4, 2e4, "0.01 1 100 10000"},
		{logTicks{}, 5e-4, 2e3, "0.001 0.01 0.1 1 10 100 1000"},
		{logTicks{}, 0.9, 1e4, "1 10 100 1000 10000"},
		{logTicks{}, 1.5, 60, "2 5 10 20 50"},
		{logTicks{}, 3e-4, 3e-3, "5e-4 1e-3 2e-3"},
		{logTicks{}, 1.5e-3, 3e-2, "0.002 0.005 0.01 0.02"},
		{logTicks{}, 2.1, 2.9, "2.2 2.4 2.6 2.8"},
	} {
		got := strings.Join(labelled(t, "", c.tk, c.lo, c.hi), " ")
		if got != c.want {
			t.Errorf("%T [%g, %g]: labels %q, want %q", c.tk, c.lo, c.hi, got, c.want)
		}
	}
}

// Evaluations are counted: whole, round numbers, thousands written "k"
// once they reach ten thousand, at least two whatever the count.
func TestCountTicks(t *testing.T) {
	for _, c := range []struct {
		hi   float64
		want []string
	}{
		{1, []string{"0", "1"}},
		{2, []string{"0", "1", "2"}},
		{7, []string{"0", "2", "4", "6"}},
		{91, []string{"0", "20", "40", "60", "80"}},
		{756, []string{"0", "200", "400", "600"}},
		{5000, []string{"0", "1000", "2000", "3000", "4000", "5000"}},
		{12345, []string{"0", "2k", "4k", "6k", "8k", "10k", "12k"}},
		{250000, []string{"0", "50k", "100k", "150k", "200k", "250k"}},
	} {
		if got := labelled(t, "count", countTicks{}, 0, c.hi); !reflect.DeepEqual(got, c.want) {
			t.Errorf("[0, %g]: labels %q, want %q", c.hi, got, c.want)
		}
	}
	for hi := 1.0; hi < 1e7; hi = math.Ceil(hi * 1.37) {
		for _, tick := range (countTicks{}).Ticks(0, hi) {
			if tick.Value != math.Trunc(tick.Value) {
				t.Errorf("[0, %g]: a tick at %g", hi, tick.Value)
			}
		}
		if labels := labelled(t, "count", countTicks{}, 0, hi); len(labels) < 2 {
			t.Errorf("[0, %g]: labels %q", hi, labels)
		}
	}
}
