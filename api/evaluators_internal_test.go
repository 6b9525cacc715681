package api

import (
	"encoding/json"
	"testing"
)

// Any status reply decodes without panic; one taken names an evaluator,
// and survives a round trip.
func FuzzDecodeEvaluator(f *testing.F) {
	f.Add([]byte(`{"id": "R0D7", "name": "quartic-0", "objective": "quartic", "mode": "exec", "slots": 4, "busy": 2, "evaluations": 12, "failures": 1, "draining": false, "started": "2026-11-27T21:00:00Z"}`))
	f.Add([]byte(`{"name": "anonymous"}`))
	f.Add([]byte(`not json`))
	f.Add([]byte(`{"id": "x", "name": "y", "objective": "z", "slots": "4"}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		e, ok := decodeEvaluator(data)
		if !ok {
			return
		}
		if e.ID == "" || e.Name == "" || e.Objective == "" {
			t.Fatalf("took %+v, which does not name itself", e)
		}
		again, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		e2, ok := decodeEvaluator(again)
		same := e2.Started.Equal(e.Started) // the same instant, its zone perhaps another value
		e2.Started = e.Started
		if !ok || !same || e2 != e {
			t.Fatalf("round trip: %+v became %+v (%v)", e, e2, ok)
		}
	})
}
