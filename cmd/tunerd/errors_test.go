package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
)

// Problems only a config check can catch in time: a parameter placeholder
// in a stdio command (the evaluator would refuse to start) and a config
// with nothing to run.
func TestRunRejectsUnrunnableConfig(t *testing.T) {
	for name, tc := range map[string]struct{ body, want string }{
		"stdio placeholder": {`
[daemon]
data_dir = "out"

[[evaluator]]
objective = "quartic"
mode = "stdio"
command = ["BIN/quartic", "-stdio", "{x1}"]

[[study]]
name = "s"
objective = "quartic"
` + quarticParams, "config.toml:8: evaluator[0].command: placeholder {x1}"},
		"no study": {`
[daemon]
data_dir = "out"

[[evaluator]]
objective = "quartic"
command = ["BIN/quartic"]
`, "config.toml: study: no [[study]] to run"},
	} {
		t.Run(name, func(t *testing.T) {
			cfg := writeConfig(t, tc.body)
			code, _, stderr := runTunerd(t, cfg)
			if code != 2 || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want 2 and %q", code, stderr, tc.want)
			}
			if _, err := os.Stat(filepath.Join(filepath.Dir(cfg), "out")); !os.IsNotExist(err) {
				t.Errorf("data_dir created for a rejected config")
			}
		})
	}
}

// An evaluator that cannot start (its simulator does not exist) is given
// up on after its restarts; the study of its objective then fails with the
// evaluator's own words, and tunerd exits non-zero instead of waiting for
// ever (or, with max_time, ending "budget" with exit 0).
func TestRunFailsWhenNoEvaluatorCanStart(t *testing.T) {
	cfg := writeConfig(t, `
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "gone"
command = ["zotune-no-such-simulator"]

[[study]]
name = "s"
objective = "gone"
max_time = "10m"
`+quarticParams)
	code, stdout, stderr := runTunerd(t, cfg)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	if code != 1 || !strings.Contains(last, `no evaluator of objective "gone" is left`) || !strings.Contains(last, "zotune-no-such-simulator") {
		t.Fatalf("exit %d, last stderr line %q\nstdout:\n%s", code, last, stdout)
	}
	s := readSummary(t, filepath.Join(filepath.Dir(cfg), "out", "s", "summary.json"))
	if s.Status != "failed" || !strings.Contains(s.Reason, "exited 6 times") || s.Final != nil {
		t.Errorf("summary: status %q, reason %q, final %+v", s.Status, s.Reason, s.Final)
	}
	if !strings.Contains(stdout, "s: failed") {
		t.Errorf("stdout lacks the study line:\n%s", stdout)
	}
}

// A failed study's line on stderr says why: the reason, the last failed
// evaluation and the end of its stderr. Run again, it is not rerun, and
// the line says so and how to start it over.
func TestFailedStudyMessage(t *testing.T) {
	simlog := filepath.Join(t.TempDir(), "sim.log")
	cfg := writeConfig(t, `
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "fx"
command = ["sh", "-c", "echo run >> \"$SIMLOG\"; echo warming up >&2; echo out of licences >&2; exit 3"]

[[study]]
name = "fx"
objective = "fx"
`+quarticParams)
	env := "SIMLOG=" + simlog
	code, _, stderr := runTunerd(t, cfg, env)
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	last := lines[len(lines)-1]
	for _, want := range []string{"fx (the objective failed at the start point", "last failed evaluation: trial ", "(exit): ", "exited with status 3", `stderr: "warming up\nout of licences"`} {
		if code != 1 || !strings.Contains(last, want) {
			t.Errorf("exit %d, last stderr line %q; want %q in it", code, last, want)
		}
	}
	if strings.Contains(last, "finished earlier") {
		t.Errorf("first run says it finished earlier: %q", last)
	}
	runs := lineCount(t, simlog)
	if runs == 0 {
		t.Fatal("the simulator never ran")
	}

	code, _, stderr = runTunerd(t, cfg, env)
	lines = strings.Split(strings.TrimSpace(stderr), "\n")
	last = lines[len(lines)-1]
	if code != 1 || !strings.Contains(last, "out of licences") || !strings.Contains(last, "(finished earlier; run with --fresh to start again)") {
		t.Errorf("second run: exit %d, last stderr line %q", code, last)
	}
	if n := lineCount(t, simlog); n != runs {
		t.Errorf("second run ran the simulator %d more times", n-runs)
	}
}

// A second tunerd on the same data_dir is refused at once with one line
// naming the first one's pid, and leaves the first one's study alone.
func TestDataDirLock(t *testing.T) {
	simlog := filepath.Join(t.TempDir(), "sim.log")
	env := []string{"FLAKY_LOG=" + simlog, "FLAKY_SLEEP=0.05"}
	cfg := writeConfig(t, daemonCfg+flakyEvaluator(2, 1)+flakyStudy)
	first, errb := startTunerd(t, cfg, env...)
	testutil.WaitFor(t, time.Minute, "the first tunerd's simulator runs", func() bool { return len(simRuns(t, simlog)) >= 2 })

	code, stdout, stderr := runTunerd(t, cfg, env...)
	out := filepath.Join(filepath.Dir(cfg), "out")
	want := "tunerd: data_dir " + out + " is in use by another tunerd (pid " + strconv.Itoa(first.Process.Pid) + ")\n"
	if code != 1 || stderr != want || stdout != "" {
		t.Errorf("second tunerd: exit %d, stdout %q, stderr %q; want exit 1 and %q", code, stdout, stderr, want)
	}

	if err := first.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := first.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("first tunerd after SIGINT: %v\n%s", err, errb)
	}
	if s := readSummary(t, filepath.Join(out, "crash", "summary.json")); s.Status != "stopped" {
		t.Errorf("summary after the first tunerd stopped: %q, want stopped", s.Status)
	}
}

func lineCount(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return 0
	}
	if err != nil {
		t.Fatal(err)
	}
	return strings.Count(string(data), "\n")
}
