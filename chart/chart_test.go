package chart

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestWritePlot(t *testing.T) {
	nan := math.NaN()
	trace := []Point{
		{Evaluations: 1, Value: 0, GradNorm: nan, Lambda: nan},
		{Evaluations: 40, Value: -0.2, GradNorm: 0, Lambda: -1, Escape: true},
		{Evaluations: 60, Value: -0.25, GradNorm: 1e-3, Lambda: nan},
		{Evaluations: 90, Value: -0.25, GradNorm: 1e-6, Lambda: 2},
	}
	path := filepath.Join(t.TempDir(), "convergence.png")
	if err := (&Convergence{Title: "test", Points: trace, Epsilon: 1e-4, Delta: 1e-2}).WritePNG(path); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 500 {
		t.Fatalf("image is %v", b)
	}
	// An empty trace writes nothing and is no error.
	if err := (&Convergence{Title: "empty", Epsilon: 1, Delta: 1}).WritePNG(filepath.Join(t.TempDir(), "none.png")); err != nil {
		t.Fatal(err)
	}
}

// Constant values below 1 (a simulator that always prints 0.5, a target
// reached at the start point) and a gradient norm equal to ε: no range
// for a log scale may dip below zero.
func TestWritePlotConstant(t *testing.T) {
	nan := math.NaN()
	for name, trace := range map[string][]Point{
		"one point": {{Evaluations: 1, Value: 0.5, GradNorm: nan, Lambda: nan}},
		"constant": {
			{Evaluations: 1, Value: 0.5, GradNorm: nan, Lambda: nan},
			{Evaluations: 7, Value: 0.5, GradNorm: 0.5, Lambda: 0.5},
			{Evaluations: 13, Value: 0.5, GradNorm: 0.5, Lambda: 0.5},
		},
		"gradient at ε": {
			{Evaluations: 1, Value: 3, GradNorm: 1e-3, Lambda: nan},
			{Evaluations: 9, Value: 3, GradNorm: 1e-3, Lambda: nan},
		},
		"tiny": {
			{Evaluations: 1, Value: 5e-324, GradNorm: 5e-324, Lambda: nan},
			{Evaluations: 2, Value: 5e-324, GradNorm: 5e-324, Lambda: nan},
		},
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "convergence.png")
			if err := (&Convergence{Title: name, Points: trace, Epsilon: 1e-3, Delta: 1e-2}).WritePNG(path); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if _, err := png.Decode(f); err != nil {
				t.Fatalf("not a PNG: %v", err)
			}
		})
	}
}
