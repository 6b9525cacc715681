package main

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/study"
)

// quarticStudy32 is a durable study of the 32-d rotated quartic from its
// saddle: a few thousand evaluations, served by BIN/quartic in stdio mode.
func quarticStudy32(dataDir string) string {
	var b strings.Builder
	fmt.Fprintf(&b, `
[daemon]
data_dir = %q
http = ""
heartbeat = "500ms"

[[evaluator]]
objective = "q32"
command = ["BIN/quartic", "-dim", "32", "-stdio"]
mode = "stdio"
slots = 4
timeout = "30s"

[[study]]
name = "q32"
objective = "q32"
seed = 2
epsilon = 1e-4
`, dataDir)
	b.WriteString(params(32, ""))
	return b.String()
}

// mountTmpfs mounts a tmpfs of the given size (e.g. "600k") on a new
// directory, unmounted when the test ends. It skips the test when the
// process may not mount file systems.
func mountTmpfs(t *testing.T, size string) string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size="+size, "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small file system to fill up (needs root): %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", "-l", dir).Run() })
	return dir
}

// A full disk under the data directory ends the study at once with
// "no space left on device", a summary that says failed and resumable,
// and no evaluation lost: once there is room again, the same command
// resumes the study to the same end as a run that never ran out of space.
func TestDiskFull(t *testing.T) {
	refDir := filepath.Join(t.TempDir(), "runs")
	if code, stdout, stderr := runTunerd(t, writeConfig(t, quarticStudy32(refDir))); code != 0 {
		t.Fatalf("reference run: exit %d\n%s\n%s", code, stdout, tail(stderr, 3000))
	}
	want := readSummary(t, filepath.Join(refDir, "q32", "summary.json"))
	t.Run("data_dir", func(t *testing.T) {
		full := mountTmpfs(t, "600k")
		diskFull(t, filepath.Join(full, "runs"), full, want)
	})
	t.Run("store", func(t *testing.T) {
		// Only the JetStream store fills up: the outputs have room, and
		// it is the server turning JetStream off that stops the study.
		full := mountTmpfs(t, "300k")
		runs := filepath.Join(t.TempDir(), "runs")
		if err := os.MkdirAll(runs, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(full, filepath.Join(runs, "jetstream")); err != nil {
			t.Fatal(err)
		}
		diskFull(t, runs, full, want)
	})
}

// diskFull runs the 32-d study into dataDir until the file system mounted
// on mnt is full, then grows it and resumes the study.
func diskFull(t *testing.T, dataDir, mnt string, want study.Summary) {
	cfg := writeConfig(t, quarticStudy32(dataDir))
	code, stdout, stderr := runTunerd(t, cfg)
	if code != 1 || !strings.Contains(stderr, "no space left on device") {
		t.Fatalf("run on a full disk: exit %d, want 1 with \"no space left on device\"\nstdout:\n%s\nstderr:\n%s", code, stdout, tail(stderr, 3000))
	}
	s := readSummary(t, filepath.Join(dataDir, "q32", "summary.json"))
	if s.Status != "failed" || !s.Resumable || !strings.Contains(s.Reason, "no space left on device") {
		t.Fatalf("summary on a full disk: status %s, resumable %v, reason %q", s.Status, s.Resumable, s.Reason)
	}
	stopped := s.Evaluations + s.Failures

	if out, err := exec.Command("mount", "-o", "remount,size=64m", mnt).CombinedOutput(); err != nil {
		t.Fatalf("growing the file system: %v: %s", err, out)
	}
	if code, stdout, stderr := runTunerd(t, cfg); code != 0 {
		t.Fatalf("resumed run: exit %d\n%s\n%s", code, stdout, tail(stderr, 3000))
	}
	got := readSummary(t, filepath.Join(dataDir, "q32", "summary.json"))
	if comparable(got) != comparable(want) {
		t.Errorf("resumed summary differs from the uninterrupted run's:\n%s\nwant\n%s", comparable(got), comparable(want))
	}
	if got.Replayed < stopped-8 {
		t.Errorf("the resumed run replayed %d evaluations; the first had finished %d, at most 8 of them unstored", got.Replayed, stopped)
	}
	t.Logf("stopped after %d evaluations on a full disk (%s); resumed run replayed %d", stopped, s.Reason, got.Replayed)
}

// tail returns the last n bytes of s.
func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}

// The fault-injection suite. Each test breaks something on purpose with
// real processes (tunerd, its evaluators, simulators, NATS servers on
// loopback) and asserts the promise written above it. docs/reliability.md
// tabulates them with the figures they log ("fault: ...").

// faultRNG is the source of the suite's random moments. FAULT_SEED
// replays a schedule; the seed in use is logged.
func faultRNG(t *testing.T) *rand.Rand {
	seed := uint64(1)
	if s, err := strconv.ParseUint(os.Getenv("FAULT_SEED"), 10, 64); err == nil {
		seed = s
	}
	t.Logf("fault schedule seed %d (set FAULT_SEED to change it)", seed)
	return rand.New(rand.NewPCG(seed, 0xfa17))
}

// procsWithEnv returns the processes whose environment holds kv: with a
// variable set only for one test, the processes that test started,
// however they were started and whoever their parent is now.
func procsWithEnv(kv string) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		pid, err := strconv.Atoi(d.Name())
		if err != nil || pid == os.Getpid() {
			continue
		}
		env, err := os.ReadFile(filepath.Join("/proc", d.Name(), "environ"))
		if err != nil || !bytes.Contains(append([]byte{0}, env...), []byte("\x00"+kv+"\x00")) {
			continue
		}
		if stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat")); err == nil && zombie(stat) {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

// zombie reports whether a /proc/<pid>/stat line is of a process that has
// exited and waits to be reaped.
func zombie(stat []byte) bool {
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

// evaluatorsOf returns the evaluator processes tunerd (pid) started.
func evaluatorsOf(pid int) []int {
	dirs, _ := os.ReadDir("/proc")
	var pids []int
	for _, d := range dirs {
		stat, err := os.ReadFile(filepath.Join("/proc", d.Name(), "stat"))
		if err != nil || zombie(stat) {
			continue
		}
		i := bytes.LastIndexByte(stat, ')')
		f := strings.Fields(string(stat[i+1:]))
		cmdline, _ := os.ReadFile(filepath.Join("/proc", d.Name(), "cmdline"))
		if len(f) > 1 && f[1] == strconv.Itoa(pid) && bytes.Contains(cmdline, []byte("\x00evaluator\x00")) {
			p, _ := strconv.Atoi(d.Name())
			pids = append(pids, p)
		}
	}
	return pids
}

// kill -9 at random moments, ten times in one study: of tunerd (run again
// at once), of one of its evaluators (the fleet starts it again), or of
// both. Promise: the study completes with the summary of an uninterrupted
// run (nothing lost, counts exact); no (point, seed) runs twice beyond the
// slots in flight at each kill; and after each kill of tunerd, its
// evaluators and simulators are gone within seconds.
func TestFaultKills(t *testing.T) {
	ref, refRuns := reference(t)
	rng := faultRNG(t)
	simlog := filepath.Join(t.TempDir(), "sim.log")
	marker := "FLAKY_LOG=" + simlog
	env := []string{marker, "FLAKY_SLEEP=0.02"}
	const evaluatorSlots, evaluators = 2, 2
	cfg := writeConfig(t, daemonCfg+flakyEvaluator(evaluatorSlots, evaluators)+flakyStudy)

	const kills = 10
	at := make([]int, kills)
	for i := range at {
		at[i] = refRuns/20 + rng.IntN(refRuns*17/20)
	}
	slices.Sort(at)
	cmd, errb := startTunerd(t, cfg, env...)
	bound, tunerdKills, evaluatorKills := 0, 0, 0
	var gone []time.Duration
	for _, n := range at {
		testutil.WaitFor(t, 2*time.Minute, fmt.Sprintf("%d simulator runs", n), func() bool { return len(simRuns(t, simlog)) >= n })
		kind := []string{"tunerd", "evaluator", "both"}[rng.IntN(3)]
		if kind != "tunerd" {
			var evs []int
			testutil.WaitFor(t, time.Minute, "an evaluator to kill", func() bool { evs = evaluatorsOf(cmd.Process.Pid); return len(evs) > 0 })
			if err := syscall.Kill(evs[rng.IntN(len(evs))], syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			evaluatorKills++
			bound += evaluatorSlots
		}
		if kind != "evaluator" {
			kill9(t, cmd)
			start := time.Now()
			testutil.WaitFor(t, 30*time.Second, "tunerd's evaluators and simulators to exit after it was killed", func() bool { return len(procsWithEnv(marker)) == 0 })
			gone = append(gone, time.Since(start))
			tunerdKills++
			bound += evaluatorSlots * evaluators
			cmd, errb = startTunerd(t, cfg, env...)
		}
	}
	if err := waitExit(cmd, 3*time.Minute); err != nil {
		t.Fatalf("tunerd after the last kill: %v\n%s", err, tail(errb.String(), 3000))
	}
	got := sameAsReference(t, cfg, ref, "after %d kills differs from the uninterrupted run", kills)
	runs := simRuns(t, simlog)
	if d := duplicates(runs); d > bound {
		t.Errorf("%d simulator runs repeated a finished (point, seed); at most %d were in flight at the kills", d, bound)
	}
	t.Logf("fault: kills | %d tunerd + %d evaluator kills | %d evaluations (%d failed) as uninterrupted, 0 lost | %d re-runs (bound %d), %d replayed | processes gone %v after each tunerd kill",
		tunerdKills, evaluatorKills, got.Evaluations, got.Failures, duplicates(runs), bound, got.Replayed, gone)
}

// waitExit waits for cmd to exit, killing it after d.
func waitExit(cmd *exec.Cmd, d time.Duration) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		_ = cmd.Process.Kill()
		<-done
		return fmt.Errorf("still running after %s; killed", d)
	}
}

// checkTrials checks every line of trials.jsonl against what the flaky
// simulator does: a failure exactly where it fails (its own failures on
// trials ≡ 3 mod 11, and those of FLAKY_FAULTS, faults), with the right
// reason, and everywhere else the true value of the objective at the
// trial's params. It returns the number of lines.
func checkTrials(t *testing.T, path string, faults map[int]string) int {
	t.Helper()
	trials := readTrials(t, path)
	for _, tr := range trials {
		n, _ := strconv.Atoi(tr.Trial)
		want := faults[n]
		if n%11 == 3 {
			want = []string{"exit", "parse", "nonfinite"}[(n/11)%3]
		}
		switch {
		case want == "" && (tr.Value == nil || *tr.Value != testutil.SeparableQuartic(tr.Params)):
			t.Errorf("trial %s: value %v (error %q), want %v", tr.Trial, tr.Value, tr.Error, testutil.SeparableQuartic(tr.Params))
		case want != "" && (tr.Value != nil || tr.Reason != want):
			t.Errorf("trial %s: value %v, reason %q (%s); want a %s failure", tr.Trial, tr.Value, tr.Reason, tr.Error, want)
		case len(tr.Stderr) > 4<<10:
			t.Errorf("trial %s: %d bytes of stderr kept", tr.Trial, len(tr.Stderr))
		}
	}
	return len(trials)
}

// Simulators that hang, crash, flood their output, print NaN, Inf,
// garbage or a number out of range, or leave a process behind that writes
// later. Promise: the study completes; each misbehaving run is a failure
// with its reason (never a value), the hang is killed at the timeout and
// retried, a flood or a late writer costs nothing but the time to read
// the flood (the value is right, the stderr kept is capped); and every
// value accepted is the true value of the objective at its point.
func TestFaultSimulatorMisbehaves(t *testing.T) {
	faults := map[int]string{5: "hang", 9: "crash", 12: "flood", 16: "nan", 18: "inf", 20: "garbage", 23: "huge", 27: "late"}
	reason := map[string]string{"hang": "timeout", "crash": "exit", "nan": "nonfinite", "inf": "nonfinite", "huge": "nonfinite", "garbage": "parse"}
	var spec []string
	want := map[int]string{}
	for n, kind := range faults {
		spec = append(spec, fmt.Sprintf("%d:%s", n, kind))
		want[n] = reason[kind]
	}
	for _, dispatch := range []string{"durable", "direct"} {
		t.Run(dispatch, func(t *testing.T) {
			env := []string{"FLAKY_LOG=" + filepath.Join(t.TempDir(), "sim.log"), "FLAKY_FAULTS=" + strings.Join(spec, ",")}
			cfg := writeConfig(t, daemonCfg+strings.Replace(flakyEvaluator(4, 1), `"60s"`, `"2s"`, 1)+
				strings.Replace(flakyStudy, "seed = 5", "seed = 5\ndispatch = \""+dispatch+"\"", 1))
			code, stdout, stderr := runTunerd(t, cfg, env...)
			if code != 0 {
				t.Fatalf("exit %d\n%s\n%s", code, stdout, tail(stderr, 3000))
			}
			out := filepath.Join(filepath.Dir(cfg), "out", "crash")
			s := readSummary(t, filepath.Join(out, "summary.json"))
			if s.Status != "converged" {
				t.Errorf("status %s (%s), want converged", s.Status, s.Reason)
			}
			lines := checkTrials(t, filepath.Join(out, "trials.jsonl"), want)
			if lines != s.Evaluations+s.Failures || s.Retries != 1 || s.FailuresByReason["timeout"] != 1 {
				t.Errorf("%d trial lines, %d evaluations + %d failures, %d retries, %v; want one retried timeout", lines, s.Evaluations, s.Failures, s.Retries, s.FailuresByReason)
			}
			t.Logf("fault: simulator misbehaves (%s) | %d evaluations, %d failures %v, %d retry | every accepted value exact", dispatch, s.Evaluations, s.Failures, s.FailuresByReason, s.Retries)
		})
	}
}

// A straggler: of the objective's two evaluators, one takes 100× longer
// per simulation. Promise: the study completes with the summary of a run
// on a uniform fleet, and the straggler's simulations are waited for, not
// run again elsewhere (a slow evaluator alive is not a dead one).
func TestFaultStraggler(t *testing.T) {
	ref, _ := reference(t)
	simlog := filepath.Join(t.TempDir(), "sim.log")
	cfg := writeConfig(t, calmDaemonCfg+`
[[evaluator]]
objective = "flaky"
command = ["BIN/flaky", "-sleep", "0.005", "-tag", "fast"]
slots = 2

[[evaluator]]
objective = "flaky"
command = ["BIN/flaky", "-sleep", "0.5", "-tag", "slow"]
slots = 2
`+flakyStudy)
	start := time.Now()
	code, stdout, stderr := runTunerd(t, cfg, "FLAKY_LOG="+simlog)
	if code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, tail(stderr, 3000))
	}
	wall := time.Since(start)
	got := sameAsReference(t, cfg, ref, "differs from the uniform fleet's")
	runs := simRuns(t, simlog)
	if d := duplicates(runs); d != 0 {
		t.Errorf("%d simulations ran twice", d)
	}
	slow := 0
	for _, r := range runs {
		if r.tag == "slow" {
			slow++
		}
	}
	t.Logf("fault: straggler | %d evaluations, %d on the 100× slower evaluator, 0 run twice | %.1fs wall, %d rounds", len(runs), slow, wall.Seconds(), got.Rounds)
}

// stdioEvaluator is an [[evaluator]] of objective flaky in stdio mode.
func stdioEvaluator(answers string, args ...string) string {
	argv := `"BIN/flaky", "-stdio"`
	for _, a := range args {
		argv += fmt.Sprintf(", %q", a)
	}
	return fmt.Sprintf("\n[[evaluator]]\nobjective = \"flaky\"\ncommand = [%s]\nmode = \"stdio\"\nanswers = %q\nslots = 2\ntimeout = \"30s\"\n", argv, answers)
}

// stdio simulators that answer out of turn: twice, with another request's
// id, a blank line, a bare number where an id is due, NaN; a banner before
// the first request; one that never reads its requests and prints a
// number every 50 ms. Promise: no line that does not provably answer its
// request is ever taken as a value: every value accepted is the true value
// at its point; a simulator whose every answer is suspect fails the study
// with the reason, having given it no value at all.
func TestFaultStdioOutOfTurn(t *testing.T) {
	for _, tc := range []struct {
		name, answers, faults string
		args                  []string
		fails                 bool // every evaluation fails
	}{
		{"answers out of turn", "id", "7:twice,12:wrongid,15:blank,19:plain,23:nan", nil, false},
		{"banner", "id", "banner", nil, true},
		{"never reads stdin", "id", "deaf", nil, true},
		{"plain answers", "plain", "", []string{"-plain"}, false},
		{"plain answers, banner", "plain", "banner", []string{"-plain"}, true},
		{"plain answers, never reads stdin", "plain", "deaf", []string{"-plain"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeConfig(t, daemonCfg+stdioEvaluator(tc.answers, tc.args...)+strings.Replace(flakyStudy, "seed = 5", "seed = 5\nmax_evaluations = 400", 1))
			code, stdout, stderr := runTunerd(t, cfg, "FLAKY_LOG="+filepath.Join(t.TempDir(), "sim.log"), "FLAKY_STDIO="+tc.faults)
			out := filepath.Join(filepath.Dir(cfg), "out", "crash")
			s := readSummary(t, filepath.Join(out, "summary.json"))
			trials := readTrials(t, filepath.Join(out, "trials.jsonl"))
			accepted := 0
			for _, tr := range trials {
				if tr.Value == nil {
					if tr.Reason != "parse" && tr.Reason != "nonfinite" {
						t.Errorf("trial %s failed with %q (%s)", tr.Trial, tr.Reason, tr.Error)
					}
					continue
				}
				accepted++
				if *tr.Value != testutil.SeparableQuartic(tr.Params) {
					t.Errorf("trial %s: value %v accepted, the answer to its request is %v", tr.Trial, *tr.Value, testutil.SeparableQuartic(tr.Params))
				}
			}
			switch {
			case tc.fails && (code != 1 || s.Status != "failed" || accepted != 0):
				t.Errorf("exit %d, %s (%s), %d values accepted; want the study failed with none\n%s", code, s.Status, s.Reason, accepted, tail(stderr, 2000))
			case !tc.fails && (code != 0 || s.Status != "converged"):
				t.Errorf("exit %d, %s (%s); want converged\n%s\n%s", code, s.Status, s.Reason, stdout, tail(stderr, 2000))
			}
			last := ""
			if s.LastFailure != nil {
				last = s.LastFailure.Error
			}
			t.Logf("fault: stdio %s (answers = %s) | %d values accepted, all exact; %d failures %v | %s | %.150s", tc.name, tc.answers, accepted, s.Failures, s.FailuresByReason, s.Status, last)
		})
	}
}
