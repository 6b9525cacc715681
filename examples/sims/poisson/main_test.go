package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strings"
	"testing"
)

// answerOf runs one request and returns its answer's fields.
func answerOf(t *testing.T, params string) (map[string]float64, int) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(nil, strings.NewReader(`{"id":"p/1","params":`+params+`}`), &out, &errOut, func(string) string { return "" })
	if code != 0 {
		return nil, code
	}
	var ans map[string]any
	if err := json.Unmarshal(bytes.TrimSpace(out.Bytes()), &ans); err != nil || ans["id"] != "p/1" {
		t.Fatalf("answer %q: %v", out.String(), err)
	}
	m := map[string]float64{}
	for k, v := range ans {
		if f, ok := v.(float64); ok {
			m[k] = f
		}
	}
	return m, 0
}

// The discretisation error falls as h² once the solver has converged;
// SOR with a good ω needs far less work than Gauss–Seidel on a fine grid;
// the work is smooth in ω; bad requests are status 2.
func TestPoisson(t *testing.T) {
	coarse, _ := answerOf(t, `{"n":32,"solver":"sor","omega":1.8}`)
	fine, _ := answerOf(t, `{"n":128,"solver":"sor","omega":1.9}`)
	// h shrinks by 129/33 ≈ 3.9: the error by about 15 (log₁₀ ≈ 1.18).
	if drop := coarse["log10_error"] - fine["log10_error"]; math.Abs(drop-2*math.Log10(129.0/33)) > 0.15 {
		t.Errorf("error fell by 10^%.3g from n = 32 to 128; want about 10^%.3g (second order)", drop, 2*math.Log10(129.0/33))
	}
	gs, _ := answerOf(t, `{"n":128,"solver":"gauss-seidel","omega":1.9}`)
	if gs["log10_cost"] < fine["log10_cost"]+0.5 {
		t.Errorf("work: Gauss–Seidel 10^%.3g, SOR 10^%.3g; want SOR far cheaper", gs["log10_cost"], fine["log10_cost"])
	}
	a, _ := answerOf(t, `{"n":64,"solver":"sor","omega":1.7}`)
	b, _ := answerOf(t, `{"n":64,"solver":"sor","omega":1.70001}`)
	if a["log10_cost"] == b["log10_cost"] || math.Abs(a["log10_cost"]-b["log10_cost"]) > 1e-3 {
		t.Errorf("work at ω = 1.7 and 1.70001: %v and %v; want a small, non-zero change", a["log10_cost"], b["log10_cost"])
	}
	for _, bad := range []string{`{"n":3.5,"solver":"sor","omega":1}`, `{"n":8,"solver":"cg","omega":1}`, `{"n":8,"solver":1,"omega":1}`, `{"n":8,"omega":1}`} {
		if _, code := answerOf(t, bad); code != 2 {
			t.Errorf("params %s: exit %d, want 2", bad, code)
		}
	}
}
