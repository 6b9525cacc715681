package study

import (
	"bytes"
	"context"
	"encoding/json"
	"path/filepath"
	"reflect"
	"strconv"
	"sync"
	"testing"

	"github.com/zotune/zotune/chart"
	"github.com/zotune/zotune/wire"
)

// trialCounter is an Observer that counts what it is told.
type trialCounter struct {
	mu                  sync.Mutex
	ok, failed, replays int
}

func (c *trialCounter) Trial(_ *Spec, t *Trial, replayed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if t.Value != nil {
		c.ok++
	} else {
		c.failed++
	}
	if replayed {
		c.replays++
	}
}

// The observer hears of every line of trials.jsonl, those of a resume
// answered from the journal marked replayed; Live holds the summary as
// written and the trace the plot draws.
func TestLiveAndObserver(t *testing.T) {
	m := mem(quartic3)
	dir := t.TempDir()
	sc := testStudy("durable", 48)
	obs := &trialCounter{}
	var live Live
	if _, ok := live.Summary(); ok || live.Convergence() != nil {
		t.Fatal("a Live that followed no run has a summary or a plot")
	}
	s, err := Run(context.Background(), &sc, RunOptions{DataDir: dir, Backend: m, Observer: obs, Live: &live})
	if err != nil || s.Status != "budget" {
		t.Fatalf("run: %v, %+v", err, s)
	}
	lines := bytes.Count(readFile(t, filepath.Join(dir, "s", "trials.jsonl")), []byte("\n"))
	if obs.ok+obs.failed != lines || obs.ok != s.Evaluations || obs.replays != 0 {
		t.Errorf("observer: %+v; trials.jsonl has %d lines, summary %d evaluations", obs, lines, s.Evaluations)
	}
	got, ok := live.Summary()
	var disk Summary
	if err := json.Unmarshal(readFile(t, filepath.Join(dir, "s", "summary.json")), &disk); err != nil {
		t.Fatal(err)
	}
	got.Started, disk.Started = got.Started.UTC(), disk.Started.UTC()
	if !ok || !reflect.DeepEqual(got, disk) {
		t.Errorf("Live.Summary = %+v, summary.json has %+v", got, disk)
	}
	c := live.Convergence()
	if c == nil || len(c.Points) < 2 || c.Points[0].Evaluations != 1 || c.Epsilon != s.Epsilon || c.Spent != s.Evaluations+s.Failures {
		t.Fatalf("Live.Convergence = %+v; the summary has %d evaluations and %d failures", c, s.Evaluations, s.Failures)
	}
	// trace.json holds what Live shows, for when the run is gone.
	disk2, err := chart.ReadConvergence(filepath.Join(dir, "s", "trace.json"))
	if err != nil {
		t.Fatal(err)
	}
	if a, b := mustJSON(t, c), mustJSON(t, disk2); a != b {
		t.Errorf("trace.json has\n%s\nLive.Convergence\n%s", b, a)
	}

	// Resumed with a larger budget: the first 40 come from the journal.
	sc.MaxEvaluations = 60
	obs2 := &trialCounter{}
	s2, err := Run(context.Background(), &sc, RunOptions{DataDir: dir, Backend: m, Observer: obs2})
	if err != nil {
		t.Fatal(err)
	}
	if obs2.replays != lines || obs2.ok+obs2.failed != s2.Evaluations+s2.Failures {
		t.Errorf("resume: observer %+v, first run %d lines, summary %d + %d", obs2, lines, s2.Evaluations, s2.Failures)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// What Live hands out can be read while the study runs: a summary whose
// failure counts and escape log keep changing is copied, not shared (the
// race detector checks).
func TestLiveSummaryWhileRunning(t *testing.T) {
	failing := handler(func(ctx context.Context, task *wire.Task) wire.Reply {
		if n, _ := strconv.Atoi(task.Trial); n%3 == 1 {
			return wire.Reply{Error: "exited with status 1", Reason: wire.ReasonExit}
		}
		return quartic3(ctx, task)
	})
	var live Live
	done := make(chan struct{})
	go func() {
		defer close(done)
		sc := testStudy("direct", 300)
		if _, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(failing), Live: &live}); err != nil {
			t.Error(err)
		}
	}()
	for reads := 0; ; reads++ {
		select {
		case <-done:
			if s, ok := live.Summary(); !ok || s.Failures == 0 || len(s.FailuresByReason) == 0 {
				t.Errorf("after %d reads: %+v", reads, s)
			}
			return
		default:
		}
		if s, ok := live.Summary(); ok {
			if _, err := json.Marshal(s); err != nil {
				t.Fatal(err)
			}
		}
	}
}
