package study

import (
	"context"
	"math"
	"testing"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/wire"
)

// goal = "max" on the negated quartic (minimum −1/4 at x1 = ±1, so
// maximum 1/4) ends at the same point as the quartic minimised, with
// every value in the user's sign: best and final 1/4, the escape from the
// saddle's 0 up to higher values, a target of 0.2 reached at or above it.
func TestGoalMax(t *testing.T) {
	neg := handler(func(_ context.Context, task *wire.Task) wire.Reply {
		return wire.Reply{Value: -testutil.SeparableQuartic(task.Params)}
	})
	run := func(h handler, goal string, target *float64) *Summary {
		sc := testStudy("direct", 3000)
		sc.Goal, sc.Target = goal, target
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: mem(h)})
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	lo, hi := run(quartic3, "", nil), run(neg, "max", nil)
	if hi.Status != "converged" || hi.Goal != "max" || math.Abs(hi.Final.Value-0.25) > 1e-6 || math.Abs(hi.Best.Value-0.25) > 1e-6 {
		t.Fatalf("max: %s, goal %q, final %+v, best %+v; want converged at 0.25", hi.Status, hi.Goal, hi.Final, hi.Best)
	}
	if hi.Final.Params["x1"] != lo.Final.Params["x1"] || hi.Spent != lo.Spent || hi.Final.Value != -lo.Final.Value {
		t.Errorf("max ended at %v after %d evaluations, min at %v after %d", hi.Final.Params, hi.Spent, lo.Final.Params, lo.Spent)
	}
	if len(hi.EscapeLog) == 0 || hi.EscapeLog[0].To <= hi.EscapeLog[0].From {
		t.Errorf("escape log %+v: want the escape to go up", hi.EscapeLog)
	}
	target := 0.2
	if s := run(neg, "max", &target); s.Status != "target" || s.Best.Value < target {
		t.Errorf("target %g: %s with best %+v", target, s.Status, s.Best)
	}
}
