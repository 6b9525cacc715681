package chart

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// The tickers below label at least two ticks inside any range [min, max]
// with min < max that the axis ranges of this package produce (see
// linearRange and logRange), so that every axis can be read whatever the
// data: gonum's own tickers may label one tick or none (LogTicks under a
// decade, DefaultTicks over a tiny range).

// linearTicks are ticks at round numbers (1, 2 or 5 times a power of ten).
type linearTicks struct{}

// Ticks implements plot.Ticker.
func (linearTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	step := niceStep(hi/3 - lo/3)
	major := multiples(lo, hi, step)
	sci := false
	for _, v := range major {
		sci = sci || math.Abs(v) >= 1e6
	}
	if maxAbs := max(math.Abs(lo), math.Abs(hi)); maxAbs < 1e-3 {
		sci = true
	}
	place := decade(step)
	ticks := make([]plot.Tick, 0, 5*len(major)+5)
	for _, v := range multiples(lo, hi, step/minorDivisions(step)) {
		ticks = append(ticks, plot.Tick{Value: v})
	}
	for _, v := range major {
		ticks = append(ticks, plot.Tick{Value: v, Label: label(v, place, sci)})
	}
	return ticks
}

// logTicks are ticks for a log scale: at powers of ten when the range
// holds at least two, else at 1, 2 and 5 times them, else at round
// numbers as on a linear scale (a range under a factor of 2.5 or so).
type logTicks struct{}

// Ticks implements plot.Ticker.
func (logTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(lo > 0) || !(hi > lo) || math.IsInf(hi, 0) {
		return linearTicks{}.Ticks(lo, hi)
	}
	e0, e1 := decade(lo), decade(hi)
	if !inside(math.Pow10(e0), lo, hi) {
		e0++
	}
	if n := e1 - e0 + 1; n >= 2 {
		return decadeTicks(lo, hi, e0, e1)
	}
	var major, minor []float64
	for e := e0 - 1; e <= e1; e++ {
		for m := 1; m <= 9; m++ {
			v := float64(m) * math.Pow10(e)
			if !inside(v, lo, hi) {
				continue
			}
			if m == 1 || m == 2 || m == 5 {
				major = append(major, v)
			} else {
				minor = append(minor, v)
			}
		}
	}
	if len(major) < 2 {
		return linearTicks{}.Ticks(lo, hi)
	}
	sci := major[0] < 1e-3 || major[len(major)-1] >= 1e5
	ticks := make([]plot.Tick, 0, len(major)+len(minor))
	for _, v := range minor {
		ticks = append(ticks, plot.Tick{Value: v})
	}
	for _, v := range major {
		ticks = append(ticks, plot.Tick{Value: v, Label: label(v, decade(v), sci)})
	}
	return ticks
}

// decadeTicks labels the powers of ten 10^e0 … 10^e1 inside [lo, hi],
// every one or every stride-th so that at most seven are labelled; the
// others, or 2…9 times each power when every power is labelled, are
// minor ticks.
func decadeTicks(lo, hi float64, e0, e1 int) []plot.Tick {
	n := e1 - e0 + 1
	stride := 1
	for _, s := range []int{1, 2, 3, 5, 10, 20, 50, 100} {
		stride = s
		if n <= 7*s {
			break
		}
	}
	sci := e0 < -3 || e1 > 4
	var ticks []plot.Tick
	for e := e0 - 1; e <= e1; e++ {
		p := math.Pow10(e)
		if e%stride == 0 && inside(p, lo, hi) {
			ticks = append(ticks, plot.Tick{Value: p, Label: label(p, e, sci)})
			continue
		}
		if stride > 1 {
			if inside(p, lo, hi) {
				ticks = append(ticks, plot.Tick{Value: p})
			}
			continue
		}
		for m := 2; m <= 9; m++ {
			if v := float64(m) * p; inside(v, lo, hi) {
				ticks = append(ticks, plot.Tick{Value: v})
			}
		}
	}
	return ticks
}

// countTicks are ticks for a count (of evaluations): whole numbers, round
// ones, written in thousands ("20k") when they are that large.
type countTicks struct{}

// Ticks implements plot.Ticker.
func (countTicks) Ticks(lo, hi float64) []plot.Tick {
	if !(hi > lo) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return nil
	}
	step := max(niceStep(hi/3-lo/3), 1)
	major := multiples(lo, hi, step)
	thousands := math.Mod(step, 1000) == 0 && max(math.Abs(lo), math.Abs(hi)) >= 1e4
	var ticks []plot.Tick
	if minor := step / minorDivisions(step); minor >= 1 {
		for _, v := range multiples(lo, hi, minor) {
			ticks = append(ticks, plot.Tick{Value: v})
		}
	}
	for _, v := range major {
		l := strconv.FormatFloat(v, 'f', 0, 64)
		if thousands && v != 0 {
			l = strconv.FormatFloat(v/1000, 'f', 0, 64) + "k"
		}
		ticks = append(ticks, plot.Tick{Value: v, Label: l})
	}
	return ticks
}

// niceStep is the greatest of 1, 2 and 5 times a power of ten not above
// x > 0: a range of width w holds at least ⌊w/niceStep(w/k)⌋ ≥ k of its
// multiples, and fewer than 2.5·k + 1.
func niceStep(x float64) float64 {
	p := math.Pow10(decade(x))
	for _, m := range []float64{5, 2} {
		if m*p <= x {
			return m * p
		}
	}
	return p
}

// minorDivisions is how many minor intervals a major step of a nice
// number is divided into: 5 for 1 and 5 times a power of ten, 4 for 2.
func minorDivisions(step float64) float64 {
	if m := step / math.Pow10(decade(step)); math.Abs(m-2) < 0.5 {
		return 4
	}
	return 5
}

// multiples are the multiples of step in [lo, hi], computed as k·step
// from whole k so that 0 is exactly 0; at most maxTicks of them.
func multiples(lo, hi, step float64) []float64 {
	var vs []float64
	for i, k := 0, math.Ceil(lo/step); i < maxTicks && k*step <= hi; i, k = i+1, k+1 {
		if v := k * step; v >= lo {
			vs = append(vs, v)
		}
	}
	return vs
}

// decade is ⌊log10 |x|⌋ for x ≠ 0, corrected for the rounding of Log10.
func decade(x float64) int {
	x = math.Abs(x)
	e := int(math.Floor(math.Log10(x)))
	if math.Pow10(e) > x {
		e--
	} else if math.Pow10(e+1) <= x {
		e++
	}
	return e
}

// inside reports whether v is in [lo, hi].
func inside(v, lo, hi float64) bool { return v >= lo && v <= hi }

// label writes v, a round number whose last significant digit is in the
// place of 10^place: in fixed notation, or with an exponent ("2.5e-7")
// when sci.
func label(v float64, place int, sci bool) string {
	if v == 0 {
		return "0"
	}
	if !sci {
		return strconv.FormatFloat(v, 'f', max(0, -place), 64)
	}
	s := strconv.FormatFloat(v, 'e', max(0, decade(v)-place), 64)
	mant, exp, _ := strings.Cut(s, "e")
	sign := ""
	if exp[0] == '-' {
		sign = "-"
	}
	digits := strings.TrimLeft(exp[1:], "0")
	if digits == "" {
		digits = "0"
	}
	return mant + "e" + sign + digits
}

// maxTicks bounds the ticks of an axis, against a range too narrow for
// its step to count up in floating point.
const maxTicks = 1000

// linearRange is the range of a linear axis showing data in [lo, hi]:
// padded by 5 % on each side. A single value v gets ±20 % of it (±1 for
// 0); a range narrower than 1e-9 of its values is widened to that, below
// which a plot shows nothing anyway; and no data (lo > hi) gets [0, 1].
// Every range it returns is finite with lo < hi, one the tickers label.
func linearRange(lo, hi float64) (float64, float64) {
	if !(lo <= hi) || math.IsInf(lo, 0) || math.IsInf(hi, 0) {
		return 0, 1
	}
	mid, hw := lo/2+hi/2, hi/2-lo/2
	if hw == 0 {
		hw = math.Abs(mid) / 5
	}
	hw = max(hw, math.Abs(mid)*5e-10)
	if hw < 1e-290 {
		// Values so close to 0 that no scale around them counts up.
		hw = 1
	}
	hw *= 1.05
	lo, hi = mid-hw, mid+hw
	return max(lo, -math.MaxFloat64), min(hi, math.MaxFloat64)
}

// logRange is the range of a log axis showing positive data in [lo, hi]:
// padded by 5 % of its decades on each side (at least 5 % of the values);
// a single value gets a decade around it. ok is false when a log scale
// cannot show the data (values not positive and finite, or so small or
// large that the padded range leaves floating point).
func logRange(lo, hi float64) (alo, ahi float64, ok bool) {
	if !(lo > 0) || !(hi >= lo) || math.IsInf(hi, 0) {
		return 0, 0, false
	}
	span := math.Log10(hi) - math.Log10(lo)
	pad := math.Pow(10, max(span/20, 0.02))
	if span < 1e-9 {
		pad = math.Sqrt(10)
	}
	alo, ahi = lo/pad, hi*pad
	if !(alo >= 1e-300) || math.IsInf(ahi, 0) {
		return 0, 0, false
	}
	return alo, ahi, true
}
