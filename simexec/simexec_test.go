//go:build unix

package simexec_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/simexec"
	"github.com/zotune/zotune/wire"
)

// testsim is the path of the test simulator, built once by TestMain from
// testdata/testsim.
var testsim string

func TestMain(m *testing.M) { os.Exit(runTests(m)) }

func runTests(m *testing.M) int {
	dir, err := os.MkdirTemp("", "simexec-test-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	// Simulators may run as another user (Options.RunAs), who must reach
	// the binary.
	if err := os.Chmod(dir, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	testsim = filepath.Join(dir, "testsim")
	out, err := exec.Command("go", "build", "-o", testsim, "./testdata/testsim").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "building testsim: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

// newRunner returns a Runner for o, with a per-test work directory unless o
// names one, closed at the end of the test.
func newRunner(tb testing.TB, o simexec.Options) *simexec.Runner {
	tb.Helper()
	if o.Dir == "" {
		o.Dir = tb.TempDir()
	}
	if o.Name == "" {
		o.Name = "test-evaluator"
	}
	r, err := simexec.New(o)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	tb.Cleanup(func() {
		if err := r.Close(); err != nil {
			tb.Errorf("Close: %v", err)
		}
	})
	return r
}

// sim returns a testsim command line.
func sim(behave string, args ...string) []string {
	return append([]string{testsim, "-behave", behave}, args...)
}

func newTask(seed int64, params map[string]float64) *wire.Task {
	return &wire.Task{V: wire.Version, ID: "demo/t1", Study: "demo", Trial: "t1", Objective: "obj", Seed: seed, Params: params}
}

// report mirrors testsim's -report output.
type report struct {
	Args        []string          `json:"args"`
	Env         map[string]string `json:"env"`
	Stdin       string            `json:"stdin"`
	Cwd         string            `json:"cwd"`
	Pid         int               `json:"pid"`
	Uid         int               `json:"uid"`
	Gid         int               `json:"gid"`
	CwdWritable bool              `json:"cwd_writable"`
}

func readReport(tb testing.TB, file string) report {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatalf("simulator report: %v", err)
	}
	var r report
	if err := json.Unmarshal(data, &r); err != nil {
		tb.Fatalf("simulator report: %v", err)
	}
	return r
}

func readPid(tb testing.TB, file string) int {
	tb.Helper()
	data, err := os.ReadFile(file)
	if err != nil {
		tb.Fatalf("pid file: %v", err)
	}
	pid, err := strconv.Atoi(string(data))
	if err != nil {
		tb.Fatalf("pid file: %v", err)
	}
	return pid
}

// alive reports whether pid is a running process. A zombie (killed but not
// yet reaped, e.g. when pid 1 does not reap orphans) counts as gone.
func alive(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	// The state follows the parenthesised command name: "pid (comm) S ...".
	if i := bytes.LastIndexByte(stat, ')'); i >= 0 && i+2 < len(stat) {
		return stat[i+2] != 'Z' && stat[i+2] != 'X'
	}
	return true
}

func waitGone(tb testing.TB, pid int) {
	tb.Helper()
	testutil.WaitFor(tb, 30*time.Second, fmt.Sprintf("process %d to be gone", pid), func() bool { return !alive(pid) })
}

func mustSucceed(tb testing.TB, rep wire.Reply) {
	tb.Helper()
	if rep.Error != "" || rep.Reason != "" {
		tb.Fatalf("evaluation failed: reason %q: %s; stderr: %s", rep.Reason, rep.Error, rep.Stderr)
	}
}

func TestExecNumber(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: sim("sum")})
	task := newTask(7, map[string]float64{"x1": 0.25, "x2": -1.5})
	rep := r.Handle(context.Background(), task)
	mustSucceed(t, rep)
	if rep.Value != 5.75 {
		t.Errorf("value = %v, want 5.75", rep.Value)
	}
	if rep.Metrics != nil {
		t.Errorf("metrics = %v, want none", rep.Metrics)
	}
	if rep.ID != task.ID || rep.Evaluator != "test-evaluator" {
		t.Errorf("id, evaluator = %q, %q", rep.ID, rep.Evaluator)
	}
	if rep.Started.IsZero() || rep.Seconds <= 0 {
		t.Errorf("started, seconds = %v, %v", rep.Started, rep.Seconds)
	}
	if rep.Stderr != "" {
		t.Errorf("stderr on success = %q", rep.Stderr)
	}
}

func TestExecJSONMetrics(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: sim("json")})
	rep := r.Handle(context.Background(), newTask(1, map[string]float64{"x": 2}))
	mustSucceed(t, rep)
	if rep.Value != 3 {
		t.Errorf("value = %v, want 3", rep.Value)
	}
	want := map[string]float64{"iters": 12, "loss": 0.5}
	if fmt.Sprint(rep.Metrics) != fmt.Sprint(want) {
		t.Errorf("metrics = %v, want %v (non-numeric fields dropped)", rep.Metrics, want)
	}
}

func TestExecTemplate(t *testing.T) {
	dir := t.TempDir()
	rf := filepath.Join(dir, "report.json")
	r := newRunner(t, simexec.Options{Command: sim("sum", "-report", rf, "--",
		"--x={x1}", "{x2}", "{x3}", "{seed}", "{trial}", "{study}", "{workdir}/out",
		`{"a":1}`, "{}", "{ x1 }", "a{3}", "{x1}{x2}")})
	// x3 is integral: written without exponent, as an integer parameter is.
	params := map[string]float64{"x1": 0.1, "x2": 1e-300, "x3": -1e6}
	rep := r.Handle(context.Background(), newTask(-3, params))
	mustSucceed(t, rep)

	rp := readReport(t, rf)
	got := rp.Args[len(rp.Args)-12:]
	want := []string{"--x=0.1", "1e-300", "-1000000", "-3", "t1", "demo", filepath.Join(rp.Env["ZOTUNE_WORKDIR"], "out"),
		`{"a":1}`, "{}", "{ x1 }", "a{3}", "0.11e-300"}
	if strings.Join(got, "\x00") != strings.Join(want, "\x00") {
		t.Errorf("argv = %q\nwant   %q", got, want)
	}
	for i, name := range []string{"x1", "x2", "x3"} {
		s := strings.TrimPrefix(got[i], "--x=")
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v != params[name] {
			t.Errorf("{%s} = %q does not round-trip to %v", name, s, params[name])
		}
	}
}

func TestExecEnvAndStdin(t *testing.T) {
	rf := filepath.Join(t.TempDir(), "report.json")
	r := newRunner(t, simexec.Options{Command: sim("sum", "-report", rf), Env: []string{"TESTSIM_FOO=bar"}})
	task := newTask(7, map[string]float64{"x1": 0.25, "x2": -1.5})
	task.Names = []string{"x2", "x1"}
	mustSucceed(t, r.Handle(context.Background(), task))

	rp := readReport(t, rf)
	wantStdin := `{"id":"demo/t1","study":"demo","trial":"t1","seed":7,"params":{"x2":-1.5,"x1":0.25}}` + "\n"
	if rp.Stdin != wantStdin {
		t.Errorf("stdin = %q\nwant    %q", rp.Stdin, wantStdin)
	}
	if rp.Cwd == "" || rp.Cwd != rp.Env["ZOTUNE_WORKDIR"] {
		t.Errorf("cwd %q, ZOTUNE_WORKDIR %q: want the same", rp.Cwd, rp.Env["ZOTUNE_WORKDIR"])
	}
	for k, want := range map[string]string{
		"ZOTUNE_SEED":   "7",
		"ZOTUNE_TRIAL":  "t1",
		"ZOTUNE_STUDY":  "demo",
		"ZOTUNE_PARAMS": `{"x2":-1.5,"x1":0.25}`,
		"TESTSIM_FOO":   "bar",
	} {
		if got := rp.Env[k]; got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

// A categorical parameter reaches the simulator as its value, a string,
// on argv, on stdin and in ZOTUNE_PARAMS; its index never does.
func TestExecLabels(t *testing.T) {
	rf := filepath.Join(t.TempDir(), "report.json")
	r := newRunner(t, simexec.Options{Command: sim("sum", "-report", rf, "--", "--opt={opt}", "{x}")})
	task := newTask(3, map[string]float64{"opt": 2, "x": 0.5})
	task.V, task.Labels, task.Names = wire.VersionLabels, map[string]string{"opt": "lamb"}, []string{"opt", "x"}
	mustSucceed(t, r.Handle(context.Background(), task))
	rp := readReport(t, rf)
	if got := rp.Args[len(rp.Args)-2:]; got[0] != "--opt=lamb" || got[1] != "0.5" {
		t.Errorf("argv ends %q, want [--opt=lamb 0.5]", got)
	}
	wantParams := `{"opt":"lamb","x":0.5}`
	if !strings.Contains(rp.Stdin, `"params":`+wantParams) || rp.Env["ZOTUNE_PARAMS"] != wantParams {
		t.Errorf("stdin %q, ZOTUNE_PARAMS %q: want params %s", rp.Stdin, rp.Env["ZOTUNE_PARAMS"], wantParams)
	}
}

func TestExecInputErrors(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: sim("sum", "{nope}", "{seed}")})
	rep := r.Handle(context.Background(), newTask(1, map[string]float64{"x1": 1}))
	if rep.Reason != wire.ReasonInput || !strings.Contains(rep.Error, "{nope}") || !strings.Contains(rep.Error, "x1") {
		t.Errorf("unknown placeholder: reason %q, error %q; want input naming {nope} and the params", rep.Reason, rep.Error)
	}

	r = newRunner(t, simexec.Options{Command: sim("sum", "{seed}")})
	rep = r.Handle(context.Background(), newTask(1, map[string]float64{"seed": 1}))
	if rep.Reason != wire.ReasonInput || !strings.Contains(rep.Error, "ambiguous") {
		t.Errorf("param named seed: reason %q, error %q; want input, ambiguous", rep.Reason, rep.Error)
	}
}

func TestExecFailures(t *testing.T) {
	for _, tt := range []struct {
		name    string
		command []string
		reason  wire.Reason
		errHas  string
		stderr  string
	}{
		{"exit", sim("exit", "-exit", "3"), wire.ReasonExit, "status 3", "FATAL: boom"},
		{"signal", sim("signal"), wire.ReasonExit, "signal 9", ""},
		{"garbage", sim("garbage"), wire.ReasonParse, `"hello world"`, ""},
		{"empty", sim("empty"), wire.ReasonParse, "no output", ""},
		{"blank", sim("blank"), wire.ReasonParse, "blank", ""},
		{"nan", sim("nan"), wire.ReasonNonFinite, "NaN", ""},
		{"inf", sim("inf"), wire.ReasonNonFinite, "-Inf", ""},
		{"json-nan", sim("jsonnan"), wire.ReasonNonFinite, "NaN", ""},
		{"json-string", sim("jsonstring"), wire.ReasonParse, "not a number", ""},
		{"no-such-file", []string{filepath.Join(t.TempDir(), "no-such-sim")}, wire.ReasonStart, "no-such-sim", ""},
		{"unknown-behaviour", sim("unknown"), wire.ReasonExit, "status 64", "unknown -behave"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRunner(t, simexec.Options{Command: tt.command})
			rep := r.Handle(context.Background(), newTask(1, map[string]float64{"x": 1}))
			if rep.Reason != tt.reason || rep.Error == "" || rep.Value != 0 {
				t.Fatalf("reason %q, error %q, value %v; want reason %q", rep.Reason, rep.Error, rep.Value, tt.reason)
			}
			if !strings.Contains(rep.Error, tt.errHas) {
				t.Errorf("error %q does not mention %q", rep.Error, tt.errHas)
			}
			if !strings.Contains(rep.Stderr, tt.stderr) {
				t.Errorf("stderr %q does not contain %q", rep.Stderr, tt.stderr)
			}
			var ee *wire.EvalError
			if err := rep.Err(); !errors.As(err, &ee) || ee.Reason != tt.reason {
				t.Errorf("Err() = %v, want an EvalError with reason %q", err, tt.reason)
			}
		})
	}
}

// promptly bounds how long a Handle that must not wait for a hanging
// process may take. The test simulator's hangs last an hour, so the bound
// tells "waited for it" from "did not" with room for a loaded machine; it is
// not a speed target.
const promptly = time.Minute

func TestExecTimeoutKillsGroup(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
	r := newRunner(t, simexec.Options{Command: sim("hang", "-pidfile", pidfile), Timeout: 500 * time.Millisecond})
	start := time.Now()
	rep := r.Handle(context.Background(), newTask(1, nil))
	if elapsed := time.Since(start); elapsed > promptly {
		t.Errorf("Handle took %v with a 0.5s timeout: it waited for the hanging simulator", elapsed)
	}
	if rep.Reason != wire.ReasonTimeout || !strings.Contains(rep.Error, "killed after 0.5s") {
		t.Fatalf("reason %q, error %q; want timeout, killed after 0.5s", rep.Reason, rep.Error)
	}
	waitGone(t, readPid(t, pidfile))
}

func TestExecCancel(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
	r := newRunner(t, simexec.Options{Command: sim("hang", "-pidfile", pidfile)})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	reps := make(chan wire.Reply, 1)
	go func() { reps <- r.Handle(ctx, newTask(1, nil)) }()
	testutil.WaitFor(t, 30*time.Second, "the simulator to start its grandchild", func() bool {
		_, err := os.Stat(pidfile)
		return err == nil
	})
	cancel()
	rep := <-reps
	if rep.Error == "" || !strings.Contains(rep.Error, "abandoned") {
		t.Fatalf("reason %q, error %q; want an abandoned evaluation", rep.Reason, rep.Error)
	}
	waitGone(t, readPid(t, pidfile))
}

// A simulator that answers and exits but leaves a process holding its
// stdout still returns promptly, and the leftover is killed.
func TestExecBackgroundChild(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
	r := newRunner(t, simexec.Options{Command: sim("bg", "-pidfile", pidfile)})
	start := time.Now()
	rep := r.Handle(context.Background(), newTask(2, map[string]float64{"x": 0.5}))
	mustSucceed(t, rep)
	if rep.Value != 2.5 {
		t.Errorf("value = %v, want 2.5", rep.Value)
	}
	if elapsed := time.Since(start); elapsed > promptly {
		t.Errorf("Handle took %v: it waited for the grandchild holding stdout", elapsed)
	}
	waitGone(t, readPid(t, pidfile))
}

// Output written by a leftover child after the simulator exited never
// becomes the value, and the leftover is killed.
func TestExecLateWriteIgnored(t *testing.T) {
	pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
	r := newRunner(t, simexec.Options{Command: sim("late", "-pidfile", pidfile)})
	rep := r.Handle(context.Background(), newTask(2, map[string]float64{"x": 0.5}))
	mustSucceed(t, rep)
	if rep.Value != 2.5 {
		t.Errorf("value = %v, want 2.5 (the simulator's own answer, not its leftover child's 99)", rep.Value)
	}
	waitGone(t, readPid(t, pidfile))
}

// Parameters too large for one environment string still reach the
// simulator, on stdin; ZOTUNE_PARAMS is left out, with one warning.
func TestExecLargeParams(t *testing.T) {
	rf := filepath.Join(t.TempDir(), "report.json")
	var logs testutil.SyncBuffer
	r := newRunner(t, simexec.Options{Command: sim("sum", "-report", rf), Logger: zerolog.New(&logs)})
	params := make(map[string]float64)
	want := 3.0
	for i := range 4000 {
		v := float64(i) + 1.0/1024 // exact in binary: the sum does not depend on the order
		params[fmt.Sprintf("parameter_with_a_long_name_%04d", i)] = v
		want += v
	}
	for range 2 {
		rep := r.Handle(context.Background(), newTask(3, params))
		mustSucceed(t, rep)
		if rep.Value != want {
			t.Errorf("value = %v, want %v", rep.Value, want)
		}
	}
	rp := readReport(t, rf)
	if v, ok := rp.Env["ZOTUNE_PARAMS"]; ok {
		t.Errorf("ZOTUNE_PARAMS set, %d bytes", len(v))
	}
	if len(rp.Stdin) < 128<<10 || rp.Env["ZOTUNE_SEED"] != "3" {
		t.Errorf("stdin %d bytes, ZOTUNE_SEED %q", len(rp.Stdin), rp.Env["ZOTUNE_SEED"])
	}
	if n := strings.Count(logs.String(), "ZOTUNE_PARAMS is left out"); n != 1 {
		t.Errorf("%d warnings about ZOTUNE_PARAMS, want 1; log:\n%s", n, logs.String())
	}
}

// The evaluator's NATS credentials are not passed on to simulators.
func TestNoCredentialsInEnv(t *testing.T) {
	t.Setenv("NATS_TOKEN", "s3cret")
	t.Setenv("NATS_USER", "alice")
	t.Setenv("NATS_PASSWORD", "pw")
	t.Setenv("NATS_CREDS", "/secret.creds")
	t.Setenv("NATS_URL", "nats://alice:pw@127.0.0.1:4222")
	for _, mode := range []simexec.Mode{simexec.ModeExec, simexec.ModeStdio} {
		t.Run(string(mode), func(t *testing.T) {
			rf := filepath.Join(t.TempDir(), "report.json")
			behave := "sum"
			if mode == simexec.ModeStdio {
				behave = "stdio"
			}
			r := newRunner(t, simexec.Options{Command: sim(behave, "-report", rf), Mode: mode, Env: []string{"TESTSIM_FOO=bar"}})
			mustSucceed(t, r.Handle(context.Background(), newTask(1, nil)))
			rp := readReport(t, rf)
			for k, v := range rp.Env {
				if strings.HasPrefix(k, "NATS_") {
					t.Errorf("simulator sees %s=%s", k, v)
				}
			}
			if rp.Env["TESTSIM_FOO"] != "bar" {
				t.Errorf("TESTSIM_FOO = %q, want bar", rp.Env["TESTSIM_FOO"])
			}
		})
	}
}

func TestExecChattyOutput(t *testing.T) {
	t.Run("success", func(t *testing.T) {
		r := newRunner(t, simexec.Options{Command: sim("chatty")})
		rep := r.Handle(context.Background(), newTask(1, map[string]float64{"x": 0.5}))
		mustSucceed(t, rep)
		if rep.Value != 1.5 {
			t.Errorf("value = %v, want 1.5", rep.Value)
		}
	})
	t.Run("failure", func(t *testing.T) {
		r := newRunner(t, simexec.Options{Command: sim("chatty", "-exit", "1")})
		rep := r.Handle(context.Background(), newTask(1, nil))
		if rep.Reason != wire.ReasonExit {
			t.Fatalf("reason %q, error %q; want exit", rep.Reason, rep.Error)
		}
		if len(rep.Stderr) > 2100 || !strings.HasSuffix(rep.Stderr, "stderr-end") || !strings.HasPrefix(rep.Stderr, "...") {
			t.Errorf("stderr tail has %d bytes, starts %q, ends %q; want at most ~2 KiB, marked truncated, ending in stderr-end",
				len(rep.Stderr), rep.Stderr[:min(10, len(rep.Stderr))], rep.Stderr[max(0, len(rep.Stderr)-20):])
		}
	})
}

func TestExecWorkdir(t *testing.T) {
	for _, keep := range []bool{false, true} {
		t.Run(fmt.Sprintf("keep=%v", keep), func(t *testing.T) {
			base, out := t.TempDir(), t.TempDir()
			r := newRunner(t, simexec.Options{Command: sim("sum", "-report", filepath.Join(out, "{trial}.json")), Dir: base, KeepWorkdirs: keep})
			var dirs []string
			for _, trial := range []string{"a", "b"} {
				task := newTask(1, nil)
				task.Trial = trial
				mustSucceed(t, r.Handle(context.Background(), task))
				dirs = append(dirs, readReport(t, filepath.Join(out, trial+".json")).Cwd)
			}
			if dirs[0] == dirs[1] {
				t.Errorf("both evaluations ran in %s", dirs[0])
			}
			realBase, _ := filepath.EvalSymlinks(base)
			for _, d := range dirs {
				if filepath.Dir(d) != base && filepath.Dir(d) != realBase {
					t.Errorf("workdir %s is not under %s", d, base)
				}
				if _, err := os.Stat(d); keep != (err == nil) {
					t.Errorf("workdir %s: stat error %v with KeepWorkdirs=%v", d, err, keep)
				}
			}
		})
	}
}

func TestNewValidates(t *testing.T) {
	for _, tt := range []struct {
		name   string
		o      simexec.Options
		errHas string
	}{
		{"no command", simexec.Options{}, "no simulator command"},
		{"bad mode", simexec.Options{Command: sim("sum"), Mode: "batch"}, "unknown mode"},
		{"negative timeout", simexec.Options{Command: sim("sum"), Timeout: -time.Second}, "negative timeout"},
		{"bad env", simexec.Options{Command: sim("sum"), Env: []string{"FOO"}}, "KEY=value"},
		{"not in PATH", simexec.Options{Command: []string{"zotune-no-such-simulator"}}, "zotune-no-such-simulator"},
		{"stdio param", simexec.Options{Command: sim("stdio", "--x={x1}"), Mode: simexec.ModeStdio}, "{x1}"},
		{"stdio seed", simexec.Options{Command: sim("stdio", "{seed}"), Mode: simexec.ModeStdio}, "{seed}"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			tt.o.Dir = t.TempDir()
			_, err := simexec.New(tt.o)
			if err == nil || !strings.Contains(err.Error(), tt.errHas) {
				t.Errorf("New: %v; want an error mentioning %q", err, tt.errHas)
			}
		})
	}
	// JSON braces and {workdir} are fine in stdio mode.
	newRunner(t, simexec.Options{Command: sim("stdio", `{"a":1}`, "{workdir}"), Mode: simexec.ModeStdio})
}
