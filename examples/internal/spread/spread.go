// Package spread formats the example programs' table cells: counts that
// may be missing, and the median and range of repeated runs.
package spread

import (
	"fmt"
	"slices"
	"strconv"
)

// Count formats a query or round count, or "—" for a negative one (the
// event never happened).
func Count(q int) string {
	if q < 0 {
		return "—"
	}
	return strconv.Itoa(q)
}

// Ints formats the median and range of xs as "median [min–max]", or "—" if
// xs is empty. The median of an even count is the mean of the middle two.
func Ints(xs []int) string {
	if len(xs) == 0 {
		return "—"
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	med := float64(s[n/2])
	if n%2 == 0 {
		med = float64(s[n/2-1]+s[n/2]) / 2
	}
	return fmt.Sprintf("%g [%d–%d]", med, s[0], s[n-1])
}

// Median returns the median of xs (the mean of the middle two for an even
// count); xs must not be empty. xs is not modified.
func Median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 0 {
		return (s[n/2-1] + s[n/2]) / 2
	}
	return s[n/2]
}
