package study

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/zotune/zotune/chart"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// quartic3 answers with the 3-d separable quartic (x1, x2, x3; a₁ = −1): a
// saddle at the origin, the minimum −1/4 at x1 = ±1.
var quartic3 = handler(func(_ context.Context, task *wire.Task) wire.Reply {
	return wire.Reply{Value: testutil.SeparableQuartic(task.Params)}
})

// mem is an in-memory backend whose objective "q" is answered by h.
func mem(h handler) *memStore { return newMem(map[string]handler{"q": h}) }

// testStudy is a 3-d study of objective "q".
func testStudy(dispatch string, maxEvals int) Spec {
	sc := DefaultSpec()
	sc.Name, sc.Objective, sc.Dispatch = "s", "q", dispatch
	sc.Seed, sc.Delta, sc.MaxEvaluations = 7, 0.05, maxEvals
	for _, n := range []string{"x1", "x2", "x3"} {
		// Started at the saddle, as the README's quartic is: no
		// space-filling batch.
		sc.Params = append(sc.Params, Param{Name: n, Min: -2, Max: 2, Init: ptr(0), Scale: "linear"})
	}
	return sc
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// Every key that changes the queries a study asks changes its fingerprint;
// budgets and the dispatch mode do not.
func TestFingerprint(t *testing.T) {
	base := testStudy("durable", 100)
	fp := Fingerprint(&base)
	if !strings.HasPrefix(fp, journal.FingerprintVersion+":") || journal.FingerprintVersion != "v6" {
		t.Fatalf("fingerprint %q: want prefix v6:", fp)
	}
	changes := map[string]func(*Spec){
		"objective":   func(s *Spec) { s.Objective = "other" },
		"algorithm":   func(s *Spec) { s.Algorithm = "zo-sgd" },
		"curvature":   func(s *Spec) { s.Curvature = "dimer" },
		"estimator":   func(s *Spec) { s.Estimator = "coord-forward" },
		"seed":        func(s *Spec) { s.Seed++ },
		"samples":     func(s *Spec) { s.Samples = 2 },
		"epsilon":     func(s *Spec) { s.Epsilon *= 2 },
		"delta":       func(s *Spec) { s.Delta *= 2 },
		"param name":  func(s *Spec) { s.Params[2].Name = "x4" },
		"param min":   func(s *Spec) { s.Params[0].Min = -1 },
		"param max":   func(s *Spec) { s.Params[1].Max = 3 },
		"param init":  func(s *Spec) { s.Params[0].Init = ptr(0.5) },
		"param scale": func(s *Spec) { s.Params[0].Min, s.Params[0].Scale = 1, "log" },
		"param added": func(s *Spec) { s.Params = append(s.Params, Param{Name: "y", Min: 0, Max: 1}) },
		"param order": func(s *Spec) { s.Params[0], s.Params[1] = s.Params[1], s.Params[0] },
		"explore":     func(s *Spec) { s.Explore = ptrInt(4) },
		"restarts":    func(s *Spec) { s.Restarts = false },
		"speculate":   func(s *Spec) { s.Speculate = true },
		"goal":        func(s *Spec) { s.Goal = "max" },
	}
	for name, change := range changes {
		sc := testStudy("durable", 100)
		change(&sc)
		if Fingerprint(&sc) == fp {
			t.Errorf("changing %s leaves the fingerprint as it was", name)
		}
	}
	same := map[string]func(*Spec){
		"max_evaluations":    func(s *Spec) { s.MaxEvaluations = 5 },
		"max_time":           func(s *Spec) { s.MaxTime = 1e9 },
		"target":             func(s *Spec) { s.Target = ptr(-1.0) },
		"dispatch":           func(s *Spec) { s.Dispatch = "direct" },
		"estimator default":  func(s *Spec) { s.Estimator = "coord" },
		"name (own journal)": func(s *Spec) { s.Name = "t" },
	}
	for name, change := range same {
		sc := testStudy("durable", 100)
		change(&sc)
		if Fingerprint(&sc) != fp {
			t.Errorf("changing %s changes the fingerprint", name)
		}
	}
}

// A finished study whose estimator changed is refused as changed, not
// reported "already finished" with the old results; the refusal leaves
// the trial log alone and says "failed" in summary.json, and a journal
// written with a fingerprint of the old format gets the same message.
func TestEstimatorChangeRefused(t *testing.T) {
	m := mem(quartic3)
	dir := t.TempDir()
	o := RunOptions{DataDir: dir, Backend: m}
	sc := testStudy("durable", 40)
	sc.Algorithm, sc.Estimator = "zo-sgd", "rand"
	first, err := Run(context.Background(), &sc, o)
	if err != nil || first.Status != "budget" {
		t.Fatalf("first run: %v, %+v", err, first)
	}
	trialsPath := filepath.Join(dir, "s", "trials.jsonl")
	trials := readFile(t, trialsPath)

	sc.Estimator = "gauss"
	s, err := Run(context.Background(), &sc, o)
	if err == nil || !errors.Is(err, journal.ErrChanged) || !strings.Contains(err.Error(), "--fresh") {
		t.Fatalf("changed estimator: err %v, summary %+v", err, s)
	}
	if s == nil || s.Earlier || s.Status != "failed" || !strings.Contains(s.Reason, "changed") {
		t.Errorf("changed estimator: summary %+v", s)
	}
	if got := readFile(t, trialsPath); !bytes.Equal(got, trials) {
		t.Errorf("trials.jsonl changed by a refused run: %d bytes, was %d", len(got), len(trials))
	}
	if disk := readSummary(filepath.Join(dir, "s", "summary.json")); disk == nil || disk.Status != "failed" || !disk.Resumable {
		t.Errorf("summary.json after a refused run: %+v", disk)
	}

	// Back to the old estimator: resumed from the journal, not "finished"
	// nor failed: the refusal was not the study's end.
	sc.Estimator = "rand"
	again, err := Run(context.Background(), &sc, o)
	if err != nil || again.Earlier || again.Status != "budget" || again.Replayed != first.Evaluations+first.Failures {
		t.Fatalf("old estimator again: %v, %+v", err, again)
	}

	// A journal written by the version before (v3: a start point off the
	// config's init by a rounding).
	old := testStudy("durable", 60)
	old.Name = "old"
	m.studies[old.Name] = &memStudy{fingerprint: "v3:0123456789abcdef01234567", epoch: "v3", records: map[string][]*journal.Record{}}
	if err := os.MkdirAll(filepath.Join(dir, "old"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := writeJSONAtomic(filepath.Join(dir, "old", "summary.json"), Summary{Study: "old", Fingerprint: "v3:0123456789abcdef01234567", Status: "stopped"}); err != nil {
		t.Fatal(err)
	}
	_, err = Run(context.Background(), &old, o)
	if err == nil || !strings.Contains(err.Error(), "changed") || !strings.Contains(err.Error(), "--fresh") || !strings.Contains(err.Error(), "earlier version") {
		t.Fatalf("v3 journal: %v", err)
	}
	if _, err := Run(context.Background(), &old, RunOptions{DataDir: dir, Backend: m, Fresh: true}); err != nil {
		t.Fatalf("v3 journal, --fresh: %v", err)
	}
}

// A resume that fails in the middle of the replay (a journal record that
// does not match the query) keeps the trial log of the earlier run as it
// was, and leaves summary.json "failed" with the reason, not "running".
func TestFailedResumeKeepsTrialLog(t *testing.T) {
	for _, dispatch := range []string{"direct", "durable"} {
		t.Run(dispatch, func(t *testing.T) {
			m := mem(quartic3)
			dir := t.TempDir()
			o := RunOptions{DataDir: dir, Backend: m}
			sc := testStudy(dispatch, 30)
			if s, err := Run(context.Background(), &sc, o); err != nil || s.Status != "budget" {
				t.Fatalf("first run: %v, %+v", err, s)
			}
			trialsPath := filepath.Join(dir, "s", "trials.jsonl")
			trials := readFile(t, trialsPath)
			lines := bytes.Count(trials, []byte("\n"))
			if lines < 10 {
				t.Fatalf("first run: %d trial lines", lines)
			}

			// Replace the journal by one whose first record answers
			// another point.
			j, err := m.OpenJournal(context.Background(), &sc, Fingerprint(&sc), true)
			if err != nil {
				t.Fatal(err)
			}
			task := &wire.Task{
				V: wire.Version, ID: "s/" + wire.TrialID(0), Study: "s", Trial: wire.TrialID(0), Objective: "q",
				Seed: SimulatorSeed(sc.Seed, 0), Params: map[string]float64{"x1": 1.5, "x2": 1.5, "x3": 1.5}, Epoch: j.Epoch(),
			}
			if err := j.Append(context.Background(), task, &wire.Reply{V: wire.Version, ID: task.ID, Value: 1}); err != nil {
				t.Fatal(err)
			}

			sc.MaxEvaluations = 60
			s, err := Run(context.Background(), &sc, o)
			if err == nil || !errors.Is(err, journal.ErrMismatch) {
				t.Fatalf("resume against a mismatched journal: err %v, summary %+v", err, s)
			}
			if got := readFile(t, trialsPath); !bytes.Equal(got, trials) {
				t.Errorf("trials.jsonl: %d lines after the failed resume, was %d", bytes.Count(got, []byte("\n")), lines)
			}
			if _, err := os.Stat(trialsPath + ".tmp"); !os.IsNotExist(err) {
				t.Errorf("trials.jsonl.tmp left behind: %v", err)
			}
			raw := readFile(t, filepath.Join(dir, "s", "summary.json"))
			var disk map[string]any
			if err := json.Unmarshal(raw, &disk); err != nil {
				t.Fatal(err)
			}
			if disk["status"] != "failed" || !strings.Contains(disk["reason"].(string), "--fresh") || disk["resumable"] != true {
				t.Errorf("summary.json after the failed resume: %s", raw)
			}
			if v, ok := disk["final"]; !ok || v != nil {
				t.Errorf("summary.json: final = %v (present %v), want null", v, ok)
			}
		})
	}
}

// A target-finished study resumes when the target is lowered below the
// best value found, and stays finished when the new target is still met.
func TestTargetChange(t *testing.T) {
	m := mem(quartic3)
	dir := t.TempDir()
	o := RunOptions{DataDir: dir, Backend: m}
	sc := testStudy("durable", 2000)
	sc.Target = ptr(-0.05)
	first, err := Run(context.Background(), &sc, o)
	if err != nil || first.Status != "target" || first.Best == nil || first.Best.Value > -0.05 {
		t.Fatalf("first run: %v, %+v", err, first)
	}
	if first.Target == nil || *first.Target != -0.05 {
		t.Errorf("summary target %v, want -0.05", first.Target)
	}
	n := first.Evaluations + first.Failures

	// Still met: finished.
	sc.Target = ptr(first.Best.Value + 0.01)
	again, err := Run(context.Background(), &sc, o)
	if err != nil || !again.Earlier || again.Evaluations+again.Failures != n {
		t.Fatalf("met target: %v, earlier %v, %d evaluations (was %d)", err, again.Earlier, again.Evaluations+again.Failures, n)
	}

	// Not met any more: resumed from the journal and carried further.
	sc.Target = ptr(first.Best.Value - 0.01)
	more, err := Run(context.Background(), &sc, o)
	if err != nil || more.Earlier || more.Replayed != n || more.Evaluations+more.Failures <= n {
		t.Fatalf("lowered target: %v, earlier %v, replayed %d of %d, %d evaluations", err, more.Earlier, more.Replayed, n, more.Evaluations+more.Failures)
	}
	// The lowered target is below the minimum: the study runs on to
	// convergence.
	if more.Status != "converged" || *more.Target != *sc.Target {
		t.Errorf("lowered target: status %s (%s), target %v", more.Status, more.Reason, more.Target)
	}
}

// An objective that always returns the same value below 1 (the start
// point is already optimal): the study ends and its plot is drawn. A
// study started fresh leaves no plot of the earlier run behind, and the
// summary is readable by all.
func TestConstantObjective(t *testing.T) {
	constant := handler(func(context.Context, *wire.Task) wire.Reply {
		return wire.Reply{Value: 0.5}
	})
	m := mem(constant)
	dir := t.TempDir()
	sc := testStudy("durable", 200)
	s, err := Run(context.Background(), &sc, RunOptions{DataDir: dir, Backend: m})
	if err != nil || s.Status == "running" || s.Status == "failed" || s.Best == nil || s.Best.Value != 0.5 {
		t.Fatalf("constant objective: %v, %+v", err, s)
	}
	plotPath := filepath.Join(dir, "s", "convergence.png")
	f, err := os.Open(plotPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(f); err != nil {
		t.Errorf("convergence.png: %v", err)
	}
	f.Close()
	fi, err := os.Stat(filepath.Join(dir, "s", "summary.json"))
	if err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("summary.json: %v, mode %v; want 0644", err, fi.Mode().Perm())
	}
	// The plot's data are kept beside it, the x axis to the evaluations
	// spent.
	tracePath := filepath.Join(dir, "s", "trace.json")
	c, err := chart.ReadConvergence(tracePath)
	if err != nil || len(c.Points) == 0 || c.Points[0].Evaluations != 1 || c.Points[0].Value != 0.5 || c.Spent != s.Evaluations+s.Failures {
		t.Errorf("trace.json: %v, %+v; the summary has %d evaluations and %d failures", err, c, s.Evaluations, s.Failures)
	}
	// A file left half written by a run that was killed.
	if err := os.WriteFile(tracePath+".tmp", []byte(`{"poin`), 0o644); err != nil {
		t.Fatal(err)
	}

	// A fresh start whose objective fails everywhere has nothing to plot:
	// the old plot must not stay.
	m.handlers["broken"] = func(context.Context, *wire.Task) wire.Reply {
		return wire.Reply{Error: "exited with status 3", Reason: wire.ReasonExit, Stderr: "line 1\nboom\n"}
	}
	failing := testStudy("durable", 200)
	failing.Objective = "broken"
	failing.Mu = zo.DefaultMu // no noise estimate: the start batch is the start point alone
	s, err = Run(context.Background(), &failing, RunOptions{DataDir: dir, Backend: m, Fresh: true})
	if err != nil || s.Status != "failed" {
		t.Fatalf("failing objective: %v, %+v", err, s)
	}
	for _, path := range []string{plotPath, tracePath, tracePath + ".tmp"} {
		if _, err := os.Stat(path); !os.IsNotExist(err) {
			t.Errorf("the earlier run's %s is still there after a fresh start: %v", filepath.Base(path), err)
		}
	}
	if s.Final != nil || s.LastFailure == nil || s.LastFailure.Stderr != "line 1\nboom" || s.LastFailure.Reason != "exit" {
		t.Errorf("failed study: final %+v, last failure %+v", s.Final, s.LastFailure)
	}
	if line := s.FailureLine(); !strings.Contains(line, "trial 000000 (exit): exited with status 3") || !strings.Contains(line, `stderr: "line 1\nboom"`) {
		t.Errorf("failure line %q", line)
	}
}

func ptr(f float64) *float64 { return &f }

func ptrInt(n int) *int { return &n }
