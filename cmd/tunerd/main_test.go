package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/study"
)

// bin holds the binaries built once for this package's tests.
var bin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "tunerd-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	bin = dir
	for name, pkg := range map[string]string{
		"tunerd":     ".",
		"quartic":    "../../examples/sims/quartic",
		"projectile": "../../examples/sims/projectile",
		"flaky":      "./testdata/flaky",
	} {
		cmd := exec.Command("go", "build", "-o", filepath.Join(dir, name), pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "building %s: %v\n%s", pkg, err, out)
			os.RemoveAll(dir)
			os.Exit(1)
		}
	}
	code := m.Run()
	os.RemoveAll(dir)
	testutil.RemoveNATSServerBinary()
	os.Exit(code)
}

// runTunerd runs the built tunerd on a config and returns its exit code,
// stdout and stderr.
func runTunerd(t *testing.T, config string, env ...string) (int, string, string) {
	t.Helper()
	return runTunerdArgs(t, []string{"run", config}, env...)
}

func runTunerdArgs(t testing.TB, args []string, env ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(bin, "tunerd"), args...)
	cmd.Env = append(os.Environ(), env...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return code, out.String(), errb.String()
}

func writeConfig(t testing.TB, body string) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "config.toml")
	body = strings.ReplaceAll(body, "BIN", bin)
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func readSummary(t testing.TB, path string) study.Summary {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var s study.Summary
	if err := json.Unmarshal(data, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func readTrials(t *testing.T, path string) []study.Trial {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []study.Trial
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var tr study.Trial
		if err := json.Unmarshal(sc.Bytes(), &tr); err != nil {
			t.Fatalf("bad trials line %q: %v", sc.Text(), err)
		}
		out = append(out, tr)
	}
	return out
}

// quarticParams are the [[study.param]] tables x1..x4 in [-2, 2].
var quarticParams = params(4, "")

// params returns the [[study.param]] tables x1..xn in [-2, 2], with the
// extra lines given for each.
func params(n int, extra string) string {
	var b strings.Builder
	for i := 1; i <= n; i++ {
		// init = 0.0: the exact saddle, with no space-filling batch.
		fmt.Fprintf(&b, "\n  [[study.param]]\n  name = \"x%d\"\n  min = -2.0\n  max = 2.0\n  init = 0.0\n%s", i, extra)
	}
	return b.String()
}

// End to end: an embedded server, evaluator processes started by tunerd
// (both modes), the rotated quartic started at its exact saddle. With a
// finder the study converges to the minimum −1/4; without one it stops at
// the saddle.
func TestRunEndToEnd(t *testing.T) {
	cfg := writeConfig(t, `
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "quartic"
command = ["BIN/quartic", "-dim", "4", "-stdio"]
mode = "stdio"
slots = 3
timeout = "30s"

[[evaluator]]
objective = "quartic-exec"
command = ["BIN/quartic", "-dim", "4"]
mode = "exec"
slots = 4
timeout = "30s"

[[study]]
name = "saddle"
objective = "quartic"
algorithm = "zo-gd"
curvature = "lanczos"
seed = 3
`+quarticParams+`
[[study]]
name = "first-order"
objective = "quartic-exec"
algorithm = "zo-gd"
curvature = "none"
seed = 3
`+quarticParams)
	code, stdout, stderr := runTunerd(t, cfg)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	out := filepath.Join(filepath.Dir(cfg), "out")

	s := readSummary(t, filepath.Join(out, "saddle", "summary.json"))
	if s.Status != "converged" || s.Final == nil {
		t.Fatalf("saddle study: %+v", s)
	}
	if math.Abs(s.Final.Value-(-0.25)) > 1e-3 {
		t.Errorf("final value %g, want −0.25 ± 1e-3", s.Final.Value)
	}
	if s.Escapes < 1 || s.Final.GradNorm == nil || s.Final.LambdaMin == nil || *s.Final.LambdaMin < -s.Delta {
		t.Errorf("no certificate: escapes %d, final %+v", s.Escapes, s.Final)
	}
	trials := readTrials(t, filepath.Join(out, "saddle", "trials.jsonl"))
	if len(trials) != s.Evaluations+s.Failures || s.Failures != 0 {
		t.Errorf("%d trial lines for %d evaluations + %d failures", len(trials), s.Evaluations, s.Failures)
	}
	seen := map[string]bool{}
	for _, tr := range trials {
		if seen[tr.Trial] || tr.Value == nil || tr.Evaluator == "" || len(tr.Params) != 4 || tr.Seed != 3 {
			t.Fatalf("bad trial line %+v", tr)
		}
		seen[tr.Trial] = true
	}

	fo := readSummary(t, filepath.Join(out, "first-order", "summary.json"))
	if fo.Status != "converged" || fo.Final == nil || fo.Final.Value != 0 || fo.Escapes != 0 {
		t.Errorf("first-order study should stop at the saddle with value 0: %+v", fo)
	}
	if !strings.Contains(stdout, "saddle: converged") {
		t.Errorf("stdout lacks the study line:\n%s", stdout)
	}
}

// A simulator that fails now and then (non-zero exit, garbage, NaN): the
// failures are recorded with their reasons, the study still converges, and
// the simulator ran exactly once per trial line.
func TestRunSurvivesFailures(t *testing.T) {
	simlog := filepath.Join(t.TempDir(), "runs.log")
	cfg := writeConfig(t, `
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "flaky"
command = ["BIN/flaky"]
slots = 4
timeout = "30s"

[[study]]
name = "flaky"
objective = "flaky"
seed = 1
`+quarticParams)
	code, stdout, stderr := runTunerd(t, cfg, "FLAKY_LOG="+simlog)
	if code != 0 {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}
	out := filepath.Join(filepath.Dir(cfg), "out", "flaky")
	s := readSummary(t, filepath.Join(out, "summary.json"))
	if s.Status != "converged" || math.Abs(s.Final.Value+0.25) > 1e-3 {
		t.Fatalf("flaky study: %s (%s), final %+v", s.Status, s.Reason, s.Final)
	}
	trials := readTrials(t, filepath.Join(out, "trials.jsonl"))
	reasons := map[string]int{}
	for _, tr := range trials {
		if tr.Error != "" {
			reasons[tr.Reason]++
		}
	}
	if s.Failures == 0 || reasons["exit"] == 0 || reasons["parse"] == 0 || reasons["nonfinite"] == 0 {
		t.Errorf("failures %d by reason %v; want some of each kind", s.Failures, reasons)
	}
	if len(trials) != s.Evaluations+s.Failures {
		t.Errorf("%d trial lines, %d evaluations + %d failures", len(trials), s.Evaluations, s.Failures)
	}
	data, err := os.ReadFile(simlog)
	if err != nil {
		t.Fatal(err)
	}
	if runs := strings.Count(string(data), "\n"); runs != len(trials) {
		t.Errorf("simulator ran %d times for %d trials", runs, len(trials))
	}
}

// Config errors are reported before anything runs, with the key and line.
func TestRunRejectsBadConfig(t *testing.T) {
	cfg := writeConfig(t, `
[daemon]
data_dir = "out"

[[evaluator]]
objective = "quartic"
command = ["BIN/quartic"]
slotz = 4
`)
	code, _, stderr := runTunerd(t, cfg)
	if code != 2 || !strings.Contains(stderr, "slotz") || !strings.Contains(stderr, ":8") {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "out")); !os.IsNotExist(err) {
		t.Errorf("data_dir created for a rejected config")
	}
}

// A finished study is not run again; a study whose config changed is
// refused with a clear message; --fresh starts it over.
func TestRunFinishedChangedFresh(t *testing.T) {
	simlog := filepath.Join(t.TempDir(), "sim.log")
	body := `
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "flaky"
command = ["BIN/flaky"]
slots = 4

[[study]]
name = "s"
objective = "flaky"
seed = SEED
max_evaluations = 30
` + quarticParams
	cfg := writeConfig(t, strings.ReplaceAll(body, "SEED", "1"))
	env := "FLAKY_LOG=" + simlog
	if code, out, errs := runTunerd(t, cfg, env); code != 0 {
		t.Fatalf("first run: exit %d\n%s\n%s", code, out, errs)
	}
	first := readSummary(t, filepath.Join(filepath.Dir(cfg), "out", "s", "summary.json"))
	runs := len(simRuns(t, simlog))
	if first.Status != "budget" || runs == 0 || runs > 30 {
		t.Fatalf("first run: %s after %d simulator runs", first.Status, runs)
	}

	code, _, errs := runTunerd(t, cfg, env)
	if code != 0 || !strings.Contains(errs, "already finished") || len(simRuns(t, simlog)) != runs {
		t.Fatalf("second run: exit %d, %d runs (want %d)\n%s", code, len(simRuns(t, simlog)), runs, errs)
	}

	// A raised budget resumes the study: the journal answers what ran, only
	// new points are simulated.
	raised := strings.ReplaceAll(body, "max_evaluations = 30", "max_evaluations = 60")
	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(strings.ReplaceAll(raised, "SEED", "1"), "BIN", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	if code, out, errs := runTunerd(t, cfg, env); code != 0 {
		t.Fatalf("raised budget: exit %d\n%s\n%s", code, out, errs)
	}
	more := readSummary(t, filepath.Join(filepath.Dir(cfg), "out", "s", "summary.json"))
	all := simRuns(t, simlog)
	if more.Replayed != runs || more.Evaluations+more.Failures <= first.Evaluations+first.Failures || duplicates(all) != 0 {
		t.Fatalf("raised budget: replayed %d of %d, %d evaluations (was %d), %d repeated runs", more.Replayed, runs, more.Evaluations, first.Evaluations, duplicates(all))
	}

	if err := os.WriteFile(cfg, []byte(strings.ReplaceAll(strings.ReplaceAll(body, "SEED", "2"), "BIN", bin)), 0o644); err != nil {
		t.Fatal(err)
	}
	code, _, errs = runTunerd(t, cfg, env)
	if code == 0 || !strings.Contains(errs, "changed") || !strings.Contains(errs, "--fresh") {
		t.Fatalf("changed config: exit %d\n%s", code, errs)
	}
	// Flags may follow the config file.
	if code, out, errs := runTunerdArgs(t, []string{"run", cfg, "--fresh"}, env); code != 0 {
		t.Fatalf("--fresh: exit %d\n%s\n%s", code, out, errs)
	}
	if s := readSummary(t, filepath.Join(filepath.Dir(cfg), "out", "s", "summary.json")); s.Seed != 2 || s.Replayed != 0 {
		t.Fatalf("--fresh run: seed %d, replayed %d", s.Seed, s.Replayed)
	}
}

// Every curvature finder, over NATS, takes the 2-d rotated quartic from
// its exact saddle to the minimum −1/4 and certifies it.
func TestRunEveryFinder(t *testing.T) {
	body := `
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "q2"
command = ["BIN/quartic", "-dim", "2", "-stdio"]
mode = "stdio"
slots = 4
`
	finders := []string{"lanczos", "online", "deterministic", "dimer", "power"}
	for _, f := range finders {
		body += fmt.Sprintf(`
[[study]]
name = "%s"
objective = "q2"
curvature = "%s"
delta = 0.5
max_evaluations = 200000
`+params(2, ""), f, f)
	}
	cfg := writeConfig(t, body)
	code, stdout, stderr := runTunerd(t, cfg)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, f := range finders {
		s := readSummary(t, filepath.Join(filepath.Dir(cfg), "out", f, "summary.json"))
		if s.Status != "converged" || s.Final == nil || math.Abs(s.Final.Value+0.25) > 1e-3 || s.Escapes == 0 {
			t.Errorf("%s: %s (%s), final %+v, %d escapes", f, s.Status, s.Reason, s.Final, s.Escapes)
			continue
		}
		if s.Final.LambdaMin == nil || *s.Final.LambdaMin < -s.Delta || s.FinderEstimates == nil {
			t.Errorf("%s: no certificate: %+v, estimates %+v", f, s.Final, s.FinderEstimates)
		}
		t.Logf("%s: %d evaluations, %d rounds", f, s.Evaluations, s.Rounds)
	}
}
