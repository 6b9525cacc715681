package study

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
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

// The best point does not depend on the order the results of a round
// arrive in; a seed counts once per point; a point short of its seeds is never best; huge
// values do not overflow the mean; and a finished point leaves no values
// behind.
func TestBestBookkeeping(t *testing.T) {
	type result struct {
		x     float64
		seed  int64
		trial string
		value float64
	}
	var results []result
	trial := 0
	add := func(x float64, seed int64, value float64) {
		results = append(results, result{x, seed, fmt.Sprintf("%06d", trial), value})
		trial++
	}
	for seed := int64(10); seed < 13; seed++ {
		add(1, seed, 1.5e308)       // a finite mean of huge values
		add(2, seed, float64(seed)) // mean 11
		add(3, seed, 11)            // the same mean, a later trial
	}
	add(4, 10, -5) // one seed of three: no estimate
	add(4, 11, -5)
	// A later round evaluates points and seeds again (the same values).
	again := []result{{2, 10, fmt.Sprintf("%06d", trial), 10}, {4, 10, fmt.Sprintf("%06d", trial+1), -5}}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		b := newBest(3, []string{"x"}, (&Spec{}).better)
		for _, r := range append(results, again...) {
			b.add(map[string]float64{"x": r.x}, r.seed, r.trial, r.value)
		}
		p := b.point()
		if p == nil || p.Params["x"] != 2 || p.Value != 11 || p.Samples != 3 || p.Trial != "000001" {
			t.Fatalf("best %+v; want x = 2, the mean 11 over 3 seeds, from trial 000001", p)
		}
		if len(b.pending) != 1 || len(b.done) != 3 {
			t.Fatalf("%d points pending, %d done; want the one short of seeds, and 3", len(b.pending), len(b.done))
		}
		rng.Shuffle(len(results), func(i, j int) { results[i], results[j] = results[j], results[i] })
	}
}
