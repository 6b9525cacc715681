package main

import (
	"bytes"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"testing"
)

// runSim runs the program with the given flags, stdin and environment.
func runSim(t *testing.T, args []string, stdin string, env map[string]string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(args, strings.NewReader(stdin), &out, &errOut, func(k string) string { return env[k] })
	return code, out.String(), errOut.String()
}

// lastValue parses the last non-empty stdout line as {"value": v}.
func lastValue(t *testing.T, stdout string) float64 {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stdout), "\n")
	var ans struct{ Value *float64 }
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &ans); err != nil || ans.Value == nil {
		t.Fatalf("last line of %q is not {\"value\": number}: %v", stdout, err)
	}
	return *ans.Value
}

func TestSaddleAndMinima(t *testing.T) {
	for _, c := range []struct{ d, k int }{{1, 1}, {2, 1}, {4, 2}, {6, 6}, {5, 0}, {30, 3}} {
		p := newQuartic(c.d, c.k, 3)
		// Q is orthogonal.
		for i := range c.d {
			for j := range c.d {
				var dot float64
				for l := range c.d {
					dot += p.q[i][l] * p.q[j][l]
				}
				want := 0.0
				if i == j {
					want = 1
				}
				if math.Abs(dot-want) > 1e-12 {
					t.Fatalf("d=%d: (QQᵀ)[%d][%d] = %v", c.d, i, j, dot)
				}
			}
		}
		if f := p.value(make([]float64, c.d), 1); f != 0 {
			t.Errorf("d=%d k=%d: f(0) = %v, want 0", c.d, c.k, f)
		}
		xmin := p.minimizer()
		fstar := -float64(c.k) / 4
		if f := p.value(xmin, 1); math.Abs(f-fstar) > 1e-12 {
			t.Errorf("d=%d k=%d: f at minimizer = %v, want %v", c.d, c.k, f, fstar)
		}
		neg := make([]float64, c.d)
		for i := range neg {
			neg[i] = -xmin[i]
		}
		if f := p.value(neg, 1); math.Abs(f-fstar) > 1e-12 {
			t.Errorf("d=%d k=%d: f at −minimizer = %v, want %v", c.d, c.k, f, fstar)
		}
		// Central differences: the gradient vanishes at the minimizer and
		// at the saddle.
		for _, x0 := range [][]float64{xmin, make([]float64, c.d)} {
			const h = 1e-5
			for i := range c.d {
				x := append([]float64(nil), x0...)
				x[i] += h
				fp := p.value(x, 1)
				x[i] -= 2 * h
				fm := p.value(x, 1)
				if g := (fp - fm) / (2 * h); math.Abs(g) > 1e-8 {
					t.Errorf("d=%d k=%d at %v: ∂f/∂x%d ≈ %v, want 0", c.d, c.k, x0, i+1, g)
				}
			}
		}
		// Curvature along the first row of Q (a negative direction when
		// k ≥ 1) is −1 at the saddle.
		if c.k > 0 {
			const r = 1e-3
			u := p.q[0]
			xp := make([]float64, c.d)
			xm := make([]float64, c.d)
			for i := range u {
				xp[i], xm[i] = r*u[i], -r*u[i]
			}
			curv := (p.value(xp, 1) + p.value(xm, 1)) / (r * r)
			if math.Abs(curv+1) > 1e-5 {
				t.Errorf("d=%d k=%d: curvature along q₁ at the saddle %v, want −1", c.d, c.k, curv)
			}
		}
	}
}

// TestMatchesFunctions pins the objective to zotune's test function: the
// values were computed with
// functions.NewRotatedQuartic(d, k, rand.New(rand.NewPCG(rotseed, 0))) and
// functions.Noisy{F: …, Sigma: 0.1}.Eval(x, seed).
func TestMatchesFunctions(t *testing.T) {
	x := []float64{0.25, -1.5, 0.5, 1}
	p := newQuartic(4, 1, 1)
	for _, c := range []struct {
		sigma float64
		seed  int64
		want  float64
	}{
		{0, 7, 3.5934406701299713},
		{0.1, 7, 3.5909489463715807},
		{0.1, -3, 3.6701577252438597},
	} {
		p.sigma = c.sigma
		if got := p.value(x, c.seed); math.Abs(got-c.want) > 1e-12*math.Abs(c.want) {
			t.Errorf("sigma=%v seed=%d: %v, want %v", c.sigma, c.seed, got, c.want)
		}
	}
	p3 := newQuartic(3, 2, 42)
	if got, want := p3.value([]float64{1, 2, 3}, 0), 24.561925965413792; math.Abs(got-want) > 1e-12*want {
		t.Errorf("d=3 k=2 rotseed=42: %v, want %v", got, want)
	}
}

func TestNoise(t *testing.T) {
	x := []float64{0.3, -0.1, 0.7, 0.2}
	q := newQuartic(4, 1, 1)
	if q.value(x, 1) != q.value(x, 2) {
		t.Error("without noise the seed changes the value")
	}
	q.sigma = 0.1
	a := q.value(x, 1)
	if a != q.value(x, 1) {
		t.Error("same seed, different values")
	}
	if a == q.value(x, 2) {
		t.Error("seeds 1 and 2 give the same noisy value")
	}
	// Smooth: a tiny move changes the value a tiny bit.
	y := append([]float64(nil), x...)
	y[2] += 1e-7
	if d := math.Abs(q.value(y, 1) - a); d > 1e-5 {
		t.Errorf("moving 1e-7 changed the value by %v", d)
	}
}

func TestRunExec(t *testing.T) {
	req := `{"study":"s","trial":"1","seed":7,"params":{"x1":0.25,"x2":-1.5}}`
	want := newQuartic(2, 1, 1).value([]float64{0.25, -1.5}, 7)

	code, out, errOut := runSim(t, []string{"-dim", "2"}, req, nil)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	if got := lastValue(t, out); got != want {
		t.Errorf("value %v, want %v", got, want)
	}
	if wantLine := `{"value":` + strconv.FormatFloat(want, 'g', -1, 64) + "}\n"; out != wantLine {
		t.Errorf("stdout %q, want %q", out, wantLine)
	}
	// A request's id is echoed.
	code, out, _ = runSim(t, []string{"-dim", "2"}, `{"id":"s/1",`+req[1:], nil)
	if wantLine := `{"id":"s/1","value":` + strconv.FormatFloat(want, 'g', -1, 64) + "}\n"; code != 0 || out != wantLine {
		t.Errorf("with an id: exit %d, stdout %q, want %q", code, out, wantLine)
	}

	// Empty stdin: parameters and seed from the environment, as a params
	// object or a whole request.
	for _, env := range []map[string]string{
		{"ZOTUNE_PARAMS": `{"x1":0.25,"x2":-1.5}`, "ZOTUNE_SEED": "7"},
		{"ZOTUNE_PARAMS": req},
	} {
		code, out, errOut = runSim(t, []string{"-dim", "2"}, " \n", env)
		if code != 0 {
			t.Fatalf("env %v: exit %d, stderr %q", env, code, errOut)
		}
		if got := lastValue(t, out); got != want {
			t.Errorf("env %v: value %v, want %v", env, got, want)
		}
	}

	// The seed matters with noise; -seed overrides the request's seed.
	noisy := func(args ...string) float64 {
		t.Helper()
		code, out, errOut := runSim(t, append([]string{"-dim", "2", "-noise", "0.5"}, args...), req, nil)
		if code != 0 {
			t.Fatalf("%v: exit %d, stderr %q", args, code, errOut)
		}
		return lastValue(t, out)
	}
	if noisy() == noisy("-seed", "8") {
		t.Error("-seed 8 gave the value of seed 7")
	}
	if noisy() != noisy("-seed", "7") {
		t.Error("-seed 7 differs from the request's seed 7")
	}

	for _, c := range []struct {
		name  string
		args  []string
		stdin string
		env   map[string]string
	}{
		{"bad json", []string{"-dim", "2"}, `{"params":`, nil},
		{"missing param", []string{"-dim", "3"}, req, nil},
		{"unknown param", []string{"-dim", "2"}, `{"params":{"x1":1,"x2":2,"y":3}}`, nil},
		{"odd name", []string{"-dim", "2"}, `{"params":{"x1":1,"x2":2,"x01":3}}`, nil},
		{"string param", []string{"-dim", "1"}, `{"params":{"x1":"a"}}`, nil},
		{"no input", []string{"-dim", "2"}, "", nil},
		{"bad seed env", []string{"-dim", "1"}, "", map[string]string{"ZOTUNE_PARAMS": `{"x1":1}`, "ZOTUNE_SEED": "x"}},
		{"bad flag", []string{"-nope"}, req, nil},
		{"bad neg", []string{"-dim", "2", "-neg", "3"}, req, nil},
		{"extra arg", []string{"-dim", "2", "extra"}, req, nil},
	} {
		code, out, errOut := runSim(t, c.args, c.stdin, c.env)
		if code != 2 || out != "" || errOut == "" {
			t.Errorf("%s: exit %d, stdout %q, stderr %q; want exit 2, a message, no output", c.name, code, out, errOut)
		}
	}

	// A value that overflows is a failure, not an answer.
	code, out, _ = runSim(t, []string{"-dim", "1"}, `{"params":{"x1":1e100}}`, nil)
	if code != 1 || out != "" {
		t.Errorf("overflow: exit %d, stdout %q; want exit 1 and no output", code, out)
	}
}

func TestRunStdio(t *testing.T) {
	p := newQuartic(2, 1, 1)
	p.sigma = 0.2
	points := [][2]float64{{0, 0}, {0.5, -0.5}, {1, 2}, {0.5, -0.5}}
	var in strings.Builder
	for i, x := range points {
		in.WriteString(`{"id":"demo/` + strconv.Itoa(i) + `","seed":` + strconv.Itoa(i) + `,"params":{"x1":` +
			strconv.FormatFloat(x[0], 'g', -1, 64) + `,"x2":` + strconv.FormatFloat(x[1], 'g', -1, 64) + "}}\n")
		if i == 1 {
			in.WriteString("\n") // blank lines are skipped
		}
	}
	code, out, errOut := runSim(t, []string{"-stdio", "-dim", "2", "-noise", "0.2"}, in.String(), nil)
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != len(points) {
		t.Fatalf("%d answers for %d requests: %q", len(lines), len(points), out)
	}
	for i, x := range points {
		want := p.value(x[:], int64(i))
		if got := lastValue(t, lines[i]); got != want {
			t.Errorf("request %d: %v, want %v", i, got, want)
		}
		if id := `{"id":"demo/` + strconv.Itoa(i) + `",`; !strings.HasPrefix(lines[i], id) {
			t.Errorf("answer %q does not begin with its request's id, %s", lines[i], id)
		}
	}
	if lines[1] == lines[3] {
		t.Error("same point, different seeds, same answer")
	}

	// A bad request ends the process after the answers before it.
	code, out, errOut = runSim(t, []string{"-stdio", "-dim", "1"},
		`{"seed":1,"params":{"x1":0}}`+"\n"+`{"seed":1,"params":{}}`+"\n"+`{"seed":1,"params":{"x1":0}}`+"\n", nil)
	if code != 2 || out != "{\"value\":0}\n" || !strings.Contains(errOut, "x1") {
		t.Errorf("bad request: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// The last request needs no trailing newline.
	code, out, _ = runSim(t, []string{"-stdio", "-dim", "1"}, `{"id":"s/1","params":{"x1":0}}`, nil)
	if code != 0 || out != "{\"id\":\"s/1\",\"value\":0}\n" {
		t.Errorf("no trailing newline: exit %d, stdout %q", code, out)
	}
}
