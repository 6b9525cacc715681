package spread

import "testing"

func TestInts(t *testing.T) {
	for _, tc := range []struct {
		xs   []int
		want string
	}{
		{nil, "—"},
		{[]int{7}, "7 [7–7]"},
		{[]int{9, 1, 4}, "4 [1–9]"},
		{[]int{10, 1, 4, 3}, "3.5 [1–10]"},
	} {
		if got := Ints(tc.xs); got != tc.want {
			t.Errorf("Ints(%v) = %q, want %q", tc.xs, got, tc.want)
		}
	}
	xs := []int{3, 1, 2}
	Ints(xs)
	if xs[0] != 3 || xs[1] != 1 {
		t.Errorf("Ints reordered its argument: %v", xs)
	}
}

func TestMedian(t *testing.T) {
	if got := Median([]float64{-0.5, 2, 1}); got != 1 {
		t.Errorf("odd count: %v, want 1", got)
	}
	if got := Median([]float64{4, -1, 3, 0}); got != 1.5 {
		t.Errorf("even count: %v, want 1.5", got)
	}
}

func TestCount(t *testing.T) {
	if got := Count(-1); got != "—" {
		t.Errorf("Count(-1) = %q, want —", got)
	}
	if got := Count(0); got != "0" {
		t.Errorf("Count(0) = %q, want 0", got)
	}
	if got := Count(1234); got != "1234" {
		t.Errorf("Count(1234) = %q, want 1234", got)
	}
}
