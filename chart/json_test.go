package chart

import (
	"bytes"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A plot's data go to a file and come back as they were, NaN as null.
func TestJSONRoundTrip(t *testing.T) {
	nan := math.NaN()
	c := &Convergence{
		Title: "quartic: zo-gd, curvature lanczos", Epsilon: 1e-4, Delta: 0.01, Spent: 756,
		Points: []Point{
			{Evaluations: 1, Value: 0, GradNorm: nan, Lambda: nan},
			{Evaluations: 52, Value: -0.2, GradNorm: 0, Lambda: -16, Escape: true},
			{Evaluations: 516, Value: -0.25, GradNorm: 3.5e-7, Lambda: 15.9},
		},
	}
	path := filepath.Join(t.TempDir(), "trace.json")
	if err := c.WriteJSON(path); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"title":"quartic: zo-gd, curvature lanczos","epsilon":0.0001,"delta":0.01,"spent":756,"points":[` +
		`{"evaluations":1,"value":0,"grad_norm":null,"lambda":null},` +
		`{"evaluations":52,"value":-0.2,"grad_norm":0,"lambda":-16,"escape":true},` +
		`{"evaluations":516,"value":-0.25,"grad_norm":3.5e-7,"lambda":15.9}]}` + "\n"
	if string(data) != want {
		t.Errorf("trace.json is\n%s\nwant\n%s", data, want)
	}
	got, err := ReadConvergence(path)
	if err != nil {
		t.Fatal(err)
	}
	if !same(got, c) {
		t.Errorf("read back %+v, wrote %+v", got, c)
	}
	if _, err := os.Stat(path + ".tmp"); !os.IsNotExist(err) {
		t.Errorf("the file written aside is still there: %v", err)
	}

	// Nothing to plot: nothing written.
	none := filepath.Join(t.TempDir(), "trace.json")
	if err := (&Convergence{Title: "empty"}).WriteJSON(none); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(none); !os.IsNotExist(err) {
		t.Errorf("an empty trace was written: %v", err)
	}
	// An infinite number, which JSON cannot hold, is written as null.
	b, err := json.Marshal(&Convergence{Epsilon: math.Inf(1), Points: []Point{{Evaluations: 1, Value: math.Inf(-1), GradNorm: 1, Lambda: nan}}})
	if err != nil || !bytes.Contains(b, []byte(`"epsilon":null`)) || !bytes.Contains(b, []byte(`"value":null`)) {
		t.Errorf("infinities: %s, %v", b, err)
	}
}

// same compares convergences, NaN equal to NaN.
func same(a, b *Convergence) bool {
	eq := func(x, y float64) bool { return x == y || math.IsNaN(x) && math.IsNaN(y) }
	if a.Title != b.Title || a.Spent != b.Spent || !eq(a.Epsilon, b.Epsilon) || !eq(a.Delta, b.Delta) || len(a.Points) != len(b.Points) {
		return false
	}
	for i, p := range a.Points {
		q := b.Points[i]
		if p.Evaluations != q.Evaluations || p.Escape != q.Escape || !eq(p.Value, q.Value) || !eq(p.GradNorm, q.GradNorm) || !eq(p.Lambda, q.Lambda) {
			return false
		}
	}
	return true
}

// A file that is not a plot's data is refused, saying why.
func TestReadConvergenceRefuses(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ data, want string }{
		{"", "no data"},
		{"{", "unexpected EOF"},
		{"[1, 2]", "cannot unmarshal array"},
		{`{"title": "t", "points": [], "colour": "red"}`, `unknown field "colour"`},
		{`{"points": [{"evaluations": "7"}]}`, "cannot unmarshal string"},
		{`{"spent": -1}`, "spent is -1, negative"},
		{`{"points": [{"evaluations": -1}]}`, "point 0 has -1 evaluations"},
		{`{"points": [{"evaluations": 9}, {"evaluations": 8}]}`, "point 1 has 8 evaluations, fewer than the point before it (9)"},
		{`{"points": []} {}`, "data after the trace"},
		{`{"points": [{"evaluations": 1, "value": NaN}]}`, "invalid character"},
	} {
		path := filepath.Join(dir, "trace.json")
		if err := os.WriteFile(path, []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadConvergence(path)
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.HasPrefix(err.Error(), "chart: reading "+path+": ") {
			t.Errorf("%s: error %v, want one naming the file and saying %q", c.data, err, c.want)
		}
	}
	if _, err := ReadConvergence(filepath.Join(dir, "none.json")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("a missing file: %v", err)
	}
	var c Convergence
	if err := json.Unmarshal([]byte(`{"spent": -3}`), &c); err == nil || err.Error() != "chart: spent is -3, negative" {
		t.Errorf("json.Unmarshal: %v", err)
	}
}
