package study

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/wire"
)

// kind is a kind of study the optimizer handles in its own way, with an
// objective to test it on.
type kind struct {
	name string
	spec func(budget int) Spec
	h    handler
}

// kinds are the studies with integer, categorical, several-objective and
// maximised parameters and goals.
func kinds() []kind {
	quartic := func(p map[string]float64) float64 { return testutil.SeparableQuartic(p) }
	return []kind{
		{"int", func(budget int) Spec {
			sc := testStudy("durable", budget)
			sc.Params[1] = Param{Name: "x2", Min: -20, Max: 20, Type: TypeInt, Scale: "linear", Init: ptr(17)}
			return sc
		}, handler(func(_ context.Context, t *wire.Task) wire.Reply {
			p := t.Params
			return wire.Reply{Value: quartic(map[string]float64{"x1": p["x1"], "x3": p["x3"]}) + (p["x2"]-3.4)*(p["x2"]-3.4)/40}
		})},
		{"categorical", func(budget int) Spec {
			sc := testStudy("durable", budget)
			sc.Params = append(sc.Params, Param{Name: "kind", Type: TypeCategorical, Values: []string{"a", "b", "c"}})
			return sc
		}, handler(func(_ context.Context, t *wire.Task) wire.Reply {
			off := map[string]float64{"a": 0.2, "b": 0, "c": 0.1}[t.Labels["kind"]]
			return wire.Reply{Value: quartic(t.Params) + off*(1+t.Params["x2"]*t.Params["x2"])}
		})},
		{"several objectives", func(budget int) Spec {
			sc := testStudy("durable", budget)
			sc.Objectives = []Objective{{Metric: "value"}, {Metric: "other", Goal: "max"}}
			return sc
		}, handler(func(_ context.Context, t *wire.Task) wire.Reply {
			p := t.Params
			other := -((p["x1"]-1)*(p["x1"]-1) + p["x2"]*p["x2"] + p["x3"]*p["x3"])
			return wire.Reply{Value: quartic(p), Metrics: map[string]float64{"other": other}}
		})},
		{"goal max", func(budget int) Spec {
			sc := testStudy("durable", budget)
			sc.Goal = "max"
			return sc
		}, handler(func(_ context.Context, t *wire.Task) wire.Reply {
			return wire.Reply{Value: -quartic(t.Params)}
		})},
	}
}

// For each new kind of study: the same seed gives the same run, and a
// study stopped by half its budget and run again with the whole of it
// replays what it had and ends as the uninterrupted one.
func TestKindsReproducibleAndResumable(t *testing.T) {
	for _, k := range kinds() {
		t.Run(k.name, func(t *testing.T) {
			run := func(budget int, dir string, m *memStore) *Summary {
				t.Helper()
				sc := k.spec(budget)
				s, err := Run(context.Background(), &sc, RunOptions{DataDir: dir, Backend: m})
				if err != nil {
					t.Fatal(err)
				}
				return s
			}
			full := run(4000, t.TempDir(), mem(k.h))
			t.Logf("%s after %d evaluations, %d rounds: %s", full.Status, full.Spent, full.Rounds, full.Reason)
			if full.Status != "converged" || full.Spent < 40 {
				t.Fatalf("%s after %d evaluations; want converged, with something to interrupt", full.Status, full.Spent)
			}
			again := run(4000, t.TempDir(), mem(k.h))
			if a, f := comparableSummary(again), comparableSummary(full); a != f {
				t.Errorf("same seed, another run:\n%s\nfirst:\n%s", a, f)
			}
			m, dir := mem(k.h), t.TempDir()
			if half := run(full.Spent/2, dir, m); half.Status != "budget" {
				t.Fatalf("half the budget: %s", half.Status)
			}
			resumed := run(4000, dir, m)
			if r, f := comparableSummary(resumed), comparableSummary(full); resumed.Replayed == 0 || r != f {
				t.Errorf("resumed (replayed %d):\n%s\nuninterrupted:\n%s", resumed.Replayed, r, f)
			}
		})
	}
}

// comparableSummary is a summary as JSON without what legitimately
// differs between two runs of one study: timing and the replay count.
func comparableSummary(s *Summary) string {
	c := *s
	c.Started, c.WallSeconds, c.Replayed, c.Timing = time.Time{}, 0, 0, nil
	data, _ := json.Marshal(c)
	return string(data)
}
