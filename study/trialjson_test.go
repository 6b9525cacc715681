package study

import (
	"encoding/json"
	"math"
	"testing"
	"time"

	"github.com/zotune/zotune/wire"
)

// A trial line is byte for byte what encoding/json writes of the Trial,
// successes and failures, with and without labels, metrics and escapes;
// what encoding/json refuses (a non-finite metric) is refused.
func TestTrialJSON(t *testing.T) {
	v, big := -0.25, 1e21
	at := time.Date(2026, 12, 2, 18, 0, 0, 123456789, time.UTC)
	var keys []string // the sorted names carried from line to line, as the trial log does
	for _, tr := range []Trial{
		{Trial: "000001", Params: wire.Params{"x2": 1e-7, "x1": 0.5}, Seed: 3, Value: &v, Evaluator: "ev-1", Started: at, Seconds: 0.001},
		{Trial: "000002", Params: wire.Params{"opt": 1, "lr": 0.01}, Labels: map[string]string{"opt": "adam<&>"}, Seed: -1, Value: &big,
			Metrics: map[string]float64{"b": 2, "a": 1e-9}, Evaluator: "e\"v", Started: at.In(time.FixedZone("x", 3600)), Seconds: 12.5},
		{Trial: "000003", Params: wire.Params{"x1": 2, "x2": 3}, Seed: 1, Evaluator: "e", Seconds: 1},
		{Trial: "000004", Params: wire.Params{}, Error: "exit status 1", Reason: "exit", Stderr: "line\n\ttab \x01", Evaluator: "", Seconds: 0},
	} {
		want, err := json.Marshal(&tr)
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		got, keys, err = appendTrial(nil, &tr, keys)
		if err != nil || string(got) != string(want) {
			t.Errorf("trial %s:\n got %s (%v)\nwant %s", tr.Trial, got, err, want)
		}
	}
	bad := Trial{Trial: "4", Params: wire.Params{}, Metrics: map[string]float64{"m": math.Inf(1)}}
	if _, _, err := appendTrial(nil, &bad, nil); err == nil {
		t.Error("a non-finite metric was written")
	}
}
