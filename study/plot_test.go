package study

import (
	"image/png"
	"math"
	"os"
	"path/filepath"
	"testing"
)

func TestWritePlot(t *testing.T) {
	nan := math.NaN()
	trace := []tracePoint{
		{Evaluations: 1, Value: 0, GradNorm: nan, Lambda: nan},
		{Evaluations: 40, Value: -0.2, GradNorm: 0, Lambda: -1, Escape: true},
		{Evaluations: 60, Value: -0.25, GradNorm: 1e-3, Lambda: nan},
		{Evaluations: 90, Value: -0.25, GradNorm: 1e-6, Lambda: 2},
	}
	path := filepath.Join(t.TempDir(), "convergence.png")
	if err := writePlot(path, "test", trace, 1e-4, 1e-2); err != nil {
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
	if err := writePlot(filepath.Join(t.TempDir(), "none.png"), "empty", nil, 1, 1); err != nil {
		t.Fatal(err)
	}
}
