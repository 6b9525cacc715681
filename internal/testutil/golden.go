package testutil

import (
	"bytes"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// Golden compares got with the recorded file at path, or, with update
// set, records got there. A file that is missing fails the test with the
// command that records it.
func Golden(tb testing.TB, path string, got []byte, update bool) {
	tb.Helper()
	if update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			tb.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		tb.Fatalf("%v (record it with go test -run %s -update)", err, tb.Name())
	}
	if !bytes.Equal(got, want) {
		tb.Errorf("%s differs from the recorded one:\n%s\nwant\n%s", path, got, want)
	}
}

// SeparableQuartic is the objective of the tests' simulators: the
// separable quartic ½Σaᵢxᵢ² + ¼Σxᵢ⁴ over the parameters in name order,
// with a₁ = −1 and the other aᵢ = +1. The origin is a saddle; the minima,
// −1/4, are at x1 = ±1, the other coordinates 0.
func SeparableQuartic(params map[string]float64) float64 {
	v := 0.0
	for i, k := range slices.Sorted(maps.Keys(params)) {
		x, a := params[k], 1.0
		if i == 0 {
			a = -1
		}
		v += 0.5*a*x*x + 0.25*x*x*x*x
	}
	return v
}
