//go:build unix

package simexec_test

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/zotune/zotune/simexec"
	"github.com/zotune/zotune/wire"
)

// floodMiB is how much a flooding simulator writes; floodGrowth bounds how
// much the evaluator's heap may grow meanwhile: what it keeps of a
// simulator's output is capped in KiB.
const (
	floodMiB    = 256
	floodGrowth = 64 << 20
)

// heapAfter runs f and returns how much the heap's address space grew
// meanwhile. HeapSys never shrinks, so growth in f's peak use shows.
func heapAfter(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.HeapSys - min(after.HeapSys, before.HeapSys)
}

// flood runs one evaluation, bounded by a context of a few minutes
// (not a speed target: it tells a hang from a slow machine).
func flood(t *testing.T, o simexec.Options, task *wire.Task) wire.Reply {
	t.Helper()
	o.Timeout = 10 * time.Minute
	r := newRunner(t, o)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var rep wire.Reply
	if grew := heapAfter(func() { rep = r.Handle(ctx, task) }); grew > floodGrowth {
		t.Errorf("heap grew by %d MiB while the simulator wrote %d MiB", grew>>20, floodMiB)
	}
	return rep
}

// Hundreds of MiB on stdout or stderr cost the evaluator a bounded amount
// of memory, and the answer written after them is still found.
func TestExecFlood(t *testing.T) {
	for _, behave := range []string{"floodout", "flooderr"} {
		t.Run(behave, func(t *testing.T) {
			rep := flood(t, simexec.Options{Command: sim(behave, "-mib", "256")}, newTask(1, map[string]float64{"x": 0.5}))
			mustSucceed(t, rep)
			if rep.Value != 1.5 {
				t.Errorf("value %v, want 1.5", rep.Value)
			}
		})
	}
}

// A stdio simulator flooding stderr still has its answers taken; one
// flooding stdout fails at once, on its first line.
func TestStdioFlood(t *testing.T) {
	t.Run("stderr", func(t *testing.T) {
		rep := flood(t, simexec.Options{Command: sim("stdio", "-flooderr", "256"), Mode: simexec.ModeStdio}, newTask(1, map[string]float64{"x": 0.5}))
		mustSucceed(t, rep)
		if rep.Value != 1.5 || len(rep.Stderr) > 0 {
			t.Errorf("value %v, stderr %d bytes; want 1.5 and no stderr on success", rep.Value, len(rep.Stderr))
		}
	})
	t.Run("stdout", func(t *testing.T) {
		rep := flood(t, simexec.Options{Command: sim("stdio", "-floodout", "256"), Mode: simexec.ModeStdio}, newTask(1, map[string]float64{"x": 0.5}))
		if rep.Reason != wire.ReasonParse || !strings.Contains(rep.Error, `"xxxx`) {
			t.Errorf("reason %q, error %q; want parse quoting the first line", rep.Reason, rep.Error)
		}
	})
	t.Run("one long line", func(t *testing.T) {
		rep := flood(t, simexec.Options{Command: sim("stdio", "-floodout", "256", "-oneline"), Mode: simexec.ModeStdio}, newTask(1, map[string]float64{"x": 0.5}))
		if rep.Reason != wire.ReasonParse || !strings.Contains(rep.Error, "longer than 64 KiB") {
			t.Errorf("reason %q, error %q; want parse, a line too long", rep.Reason, rep.Error)
		}
	})
}
