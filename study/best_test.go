package study

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/wire"
)

// With samples > 1 the best point is the best estimate — the lowest mean
// over a point's samples among the points evaluated on all of them — and
// not the luckiest single sample. The objective is the quartic plus an
// offset of up to ±0.2 keyed on the seed, so the luckiest sample of every
// point lies below its mean.
func TestBestIsTheBestEstimate(t *testing.T) {
	noisy := handler(func(_ context.Context, task *wire.Task) wire.Reply {
		offset := 0.2 * math.Sin(float64(task.Seed)*12.9898)
		return wire.Reply{Value: testutil.SeparableQuartic(task.Params) + offset}
	})
	dir := t.TempDir()
	sc := testStudy("direct", 400)
	sc.Samples = 4
	s, err := Run(context.Background(), &sc, RunOptions{DataDir: dir, Backend: mem(noisy)})
	if err != nil || s.Best == nil {
		t.Fatalf("%v, %+v", err, s)
	}

	// The truth, from trials.jsonl.
	type point struct {
		sum   float64
		seeds map[int64]bool
	}
	points := map[string]*point{}
	lowest := math.Inf(1)
	for _, tr := range trialLines(t, filepath.Join(dir, "s", "trials.jsonl")) {
		if tr.Value == nil {
			continue
		}
		key := fmt.Sprint(tr.Params["x1"], tr.Params["x2"], tr.Params["x3"])
		p := points[key]
		if p == nil {
			p = &point{seeds: map[int64]bool{}}
			points[key] = p
		}
		if !p.seeds[tr.Seed] {
			p.seeds[tr.Seed] = true
			p.sum += *tr.Value
		}
		lowest = min(lowest, *tr.Value)
	}
	want := math.Inf(1)
	for _, p := range points {
		if len(p.seeds) == sc.Samples {
			want = min(want, p.sum/float64(sc.Samples))
		}
	}
	if math.Abs(s.Best.Value-want) > 1e-12 || s.Best.Samples != sc.Samples {
		t.Errorf("best %g over %d samples; want the lowest mean over %d samples, %g", s.Best.Value, s.Best.Samples, sc.Samples, want)
	}
	if !(s.Best.Value > lowest) {
		t.Errorf("best %g; the luckiest single sample is %g, and no mean can be that low", s.Best.Value, lowest)
	}
	key := fmt.Sprint(s.Best.Params["x1"], s.Best.Params["x2"], s.Best.Params["x3"])
	if p := points[key]; p == nil || math.Abs(p.sum/float64(sc.Samples)-s.Best.Value) > 1e-12 {
		t.Errorf("best %+v is not the mean of its own samples", s.Best)
	}
}

// trialLines reads a trials.jsonl.
func trialLines(t *testing.T, path string) []Trial {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []Trial
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var tr Trial
		if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, tr)
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}
