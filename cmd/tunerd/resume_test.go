package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/study"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// The study used by the crash tests: the flaky quartic (failures included,
// so that replayed failures are covered too).
var flakyStudy = `
[[study]]
name = "crash"
objective = "flaky"
seed = 5
` + quarticParams

func flakyEvaluator(slots, count int) string {
	return fmt.Sprintf(`
[[evaluator]]
objective = "flaky"
command = ["BIN/flaky"]
slots = %d
count = %d
timeout = "60s"
`, slots, count)
}

// daemonCfg is the [daemon] table with a short heartbeat, so that lapsed
// tasks are redelivered within a second.
const daemonCfg = `
[daemon]
data_dir = "out"
http = ""
heartbeat = "200ms"
`

// calmDaemonCfg is the [daemon] table with a heartbeat long enough that a
// loaded machine never misses one, for tests that kill no evaluator and
// count every re-run as a fault.
const calmDaemonCfg = `
[daemon]
data_dir = "out"
http = ""
heartbeat = "2s"
`

var (
	refOnce    sync.Once
	refSummary study.Summary
	refRuns    int
)

// reference runs the crash study once, uninterrupted.
func reference(t *testing.T) (study.Summary, int) {
	refOnce.Do(func() {
		simlog := filepath.Join(t.TempDir(), "sim.log")
		cfg := writeConfig(t, daemonCfg+flakyEvaluator(4, 1)+flakyStudy)
		code, stdout, stderr := runTunerd(t, cfg, "FLAKY_LOG="+simlog)
		if code != 0 {
			t.Fatalf("reference run: exit %d\n%s\n%s", code, stdout, stderr)
		}
		refSummary = crashSummary(t, cfg)
		refRuns = len(simRuns(t, simlog))
	})
	if refRuns == 0 {
		t.Fatal("reference run unavailable")
	}
	return refSummary, refRuns
}

// comparable blanks the fields that legitimately differ between an
// interrupted and an uninterrupted run: timing and the replay count.
func comparable(s study.Summary) string {
	s.Started = time.Time{}
	s.WallSeconds, s.Timing = 0, nil
	s.Replayed = 0
	data, _ := json.MarshalIndent(s, "", " ")
	return string(data)
}

// crashSummary reads the summary of the crash study run with cfg.
func crashSummary(t *testing.T, cfg string) study.Summary {
	t.Helper()
	return readSummary(t, filepath.Join(filepath.Dir(cfg), "out", "crash", "summary.json"))
}

// sameAsReference reads the summary of the crash study run with cfg and
// checks it against ref, timing and the replay count aside; what (with
// args) says how it differs.
func sameAsReference(t *testing.T, cfg string, ref study.Summary, what string, args ...any) study.Summary {
	t.Helper()
	got := crashSummary(t, cfg)
	if comparable(got) != comparable(ref) {
		t.Errorf("summary "+what+":\n%s\nwant\n%s", append(args, comparable(got), comparable(ref))...)
	}
	return got
}

// simRun is one line of the flaky simulator's invocation log.
type simRun struct {
	trial, key string // key: seed and params
	ppid       int
	tag        string // the simulator's -tag
}

func simRuns(t *testing.T, path string) []simRun {
	t.Helper()
	data, err := os.ReadFile(path)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []simRun
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		f := strings.Fields(line)
		if len(f) != 5 {
			continue // a line being written
		}
		ppid, _ := strconv.Atoi(f[3])
		out = append(out, simRun{trial: f[0], key: f[1] + " " + f[2], ppid: ppid, tag: f[4]})
	}
	return out
}

// duplicates counts runs of a (seed, params) already run before.
func duplicates(runs []simRun) int {
	seen := map[string]bool{}
	n := 0
	for _, r := range runs {
		if seen[r.key] {
			n++
		}
		seen[r.key] = true
	}
	return n
}

// startTunerd starts tunerd run in the background, its stderr in a buffer
// the test may read while it runs.
func startTunerd(t *testing.T, config string, env ...string) (*exec.Cmd, *testutil.SyncBuffer) {
	t.Helper()
	return startTunerdArgs(t, []string{"run", config}, env...)
}

// startTunerdArgs starts tunerd with args in the background, its stderr
// in a buffer the test may read while it runs; it is killed at the end
// of the test if it still runs.
func startTunerdArgs(t *testing.T, args []string, env ...string) (*exec.Cmd, *testutil.SyncBuffer) {
	t.Helper()
	cmd := exec.Command(filepath.Join(bin, "tunerd"), args...)
	cmd.Env = append(os.Environ(), env...)
	var errb testutil.SyncBuffer
	cmd.Stderr = &errb
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return cmd, &errb
}

// kill9 kills tunerd without warning and waits for it (and, through their
// parent-death signal, its evaluators) to go.
func kill9(t *testing.T, cmd *exec.Cmd) {
	t.Helper()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
}

// kill -9 of tunerd at several points of a study, then a restart each
// time: the final summary equals the uninterrupted run's, and the simulator
// ran no (point, seed) twice beyond those in flight at each kill.
func TestResumeAfterKill9(t *testing.T) {
	ref, refRuns := reference(t)
	simlog := filepath.Join(t.TempDir(), "sim.log")
	env := []string{"FLAKY_LOG=" + simlog, "FLAKY_SLEEP=0.02"}
	const slots = 4
	cfg := writeConfig(t, daemonCfg+flakyEvaluator(slots, 1)+flakyStudy)
	kills := 0
	for _, at := range []int{refRuns / 5, refRuns / 2, 4 * refRuns / 5} {
		cmd, _ := startTunerd(t, cfg, env...)
		testutil.WaitFor(t, time.Minute, fmt.Sprintf("%d simulator runs", at), func() bool { return len(simRuns(t, simlog)) >= at })
		kill9(t, cmd)
		kills++
	}
	code, stdout, stderr := runTunerd(t, cfg, env...)
	if code != 0 {
		t.Fatalf("final run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	got := sameAsReference(t, cfg, ref, "after %d kills differs from the uninterrupted run", kills)
	if got.Replayed == 0 {
		t.Error("the final run replayed nothing from the journal")
	}
	runs := simRuns(t, simlog)
	if d := duplicates(runs); d > kills*slots {
		t.Errorf("%d simulator runs repeated a finished (point, seed); at most %d were in flight at the kills", d, kills*slots)
	}
	t.Logf("%d runs (uninterrupted: %d), %d repeated after %d kills; %d replayed", len(runs), refRuns, duplicates(runs), kills, got.Replayed)
}

// kill -9 of an evaluator in the middle of a long simulation: the task is
// redelivered after its heartbeat lapses, the study completes, and the
// count of evaluations is exact. The long simulation itself (6× the
// heartbeat) would have been redelivered without heartbeats.
func TestEvaluatorKilledMidSimulation(t *testing.T) {
	ref, _ := reference(t)
	simlog := filepath.Join(t.TempDir(), "sim.log")
	// Trial 6 hangs for a minute the first time it runs; trials 20 and 21
	// take 1.2 s = 6 heartbeats and must not be redelivered while their
	// evaluators live.
	env := []string{"FLAKY_LOG=" + simlog, "FLAKY_SLOW=6:60,20:1.2,21:1.2"}
	cfg := writeConfig(t, daemonCfg+flakyEvaluator(2, 2)+flakyStudy)
	cmd, errb := startTunerd(t, cfg, env...)
	var victim int
	testutil.WaitFor(t, time.Minute, "trial 6 to start", func() bool {
		for _, r := range simRuns(t, simlog) {
			if r.trial == "000006" {
				victim = r.ppid
				return true
			}
		}
		return false
	})
	if err := syscall.Kill(victim, syscall.SIGKILL); err != nil {
		t.Fatalf("killing evaluator %d: %v", victim, err)
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("tunerd: %v\n%s", err, errb)
	}
	got := sameAsReference(t, cfg, ref, "differs from the uninterrupted run")
	count := map[string]int{}
	onVictim := map[string]bool{} // the killed evaluator's simulations die with it
	for _, r := range simRuns(t, simlog) {
		count[r.trial]++
		if r.ppid == victim {
			onVictim[r.trial] = true
		}
	}
	if count["000020"] != 1 || count["000021"] != 1 {
		t.Errorf("the long simulations ran %d and %d times, want once each", count["000020"], count["000021"])
	}
	if count["000006"] != 2 {
		t.Errorf("trial 6 ran %d times, want 2 (killed, then redelivered)", count["000006"])
	}
	for trial, n := range count {
		if n != 1 && !(n == 2 && onVictim[trial]) {
			t.Errorf("trial %s ran %d times (on the killed evaluator: %v)", trial, n, onVictim[trial])
		}
	}

	trials := readTrials(t, filepath.Join(filepath.Dir(cfg), "out", "crash", "trials.jsonl"))
	if len(trials) != got.Evaluations+got.Failures || len(trials) != len(count) {
		t.Errorf("%d trial lines, %d evaluations + %d failures, %d distinct trials run", len(trials), got.Evaluations, got.Failures, len(count))
	}
}

// With an external NATS server, evaluators keep working while tunerd is
// down; the results they publish meanwhile are used after the restart, and
// nothing runs twice.
func TestResultsWhileDaemonDown(t *testing.T) {
	ref, refRuns := reference(t)
	srv, err := natsserver.Start(natsserver.Options{StoreDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	simlog := filepath.Join(t.TempDir(), "sim.log")
	env := []string{"FLAKY_LOG=" + simlog, "FLAKY_SLEEP=0.05"}
	cfg := writeConfig(t, fmt.Sprintf("[nats]\nurl = %q\n", srv.URL())+calmDaemonCfg+flakyStudy)

	// An evaluator of its own, as on a cluster.
	ctx, cancel := context.WithCancel(context.Background())
	ev := exec.CommandContext(ctx, filepath.Join(bin, "tunerd"), "evaluator", "--nats", srv.URL(), "--objective", "flaky", "--slots", "4", "--", filepath.Join(bin, "flaky"))
	ev.Env = append(os.Environ(), env...)
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = ev.Wait() })

	cmd, _ := startTunerd(t, cfg, env...)
	// Kill tunerd right after a big batch (the 2d-query gradient) went out.
	testutil.WaitFor(t, time.Minute, "simulator runs", func() bool { return len(simRuns(t, simlog)) >= refRuns/3 })
	kill9(t, cmd)
	atKill := len(simRuns(t, simlog))

	// The evaluator drains the queue while tunerd is down.
	nc, err := transport.Connect(transport.ConnOptions{URL: srv.URL()})
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	js, _ := jetstream.New(nc)
	testutil.WaitFor(t, time.Minute, "the task queue to drain", func() bool {
		s, err := js.Stream(context.Background(), wire.TaskStream("flaky"))
		if err != nil {
			return false
		}
		info, err := s.Info(context.Background())
		return err == nil && info.State.Msgs == 0
	})
	whileDown := len(simRuns(t, simlog)) - atKill

	code, stdout, stderr := runTunerd(t, cfg, env...)
	if code != 0 {
		t.Fatalf("restart: exit %d\n%s\n%s", code, stdout, stderr)
	}
	got := sameAsReference(t, cfg, ref, "differs from the uninterrupted run")
	runs := simRuns(t, simlog)
	if d := duplicates(runs); d != 0 {
		t.Errorf("%d simulator runs repeated a finished (point, seed)", d)
	}
	if got.Replayed < atKill+whileDown {
		t.Errorf("replayed %d evaluations; %d ran before the kill and %d while tunerd was down", got.Replayed, atKill, whileDown)
	}
	t.Logf("%d runs before the kill, %d while down, %d in all; %d replayed", atKill, whileDown, len(runs), got.Replayed)
}

// The NATS server restarts in the middle of a study (same port, same
// store): tunerd and the evaluator reconnect, nothing is lost, and the
// summary equals the uninterrupted run's.
func TestNATSServerRestart(t *testing.T) {
	ref, refRuns := reference(t)
	store := t.TempDir()
	srv, err := natsserver.Start(natsserver.Options{StoreDir: store})
	if err != nil {
		t.Fatal(err)
	}
	url := srv.URL()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			srv.Close()
		}
	})
	simlog := filepath.Join(t.TempDir(), "sim.log")
	env := []string{"FLAKY_LOG=" + simlog, "FLAKY_SLEEP=0.05"}
	cfg := writeConfig(t, fmt.Sprintf("[nats]\nurl = %q\n", url)+daemonCfg+flakyStudy)
	ctx, cancel := context.WithCancel(context.Background())
	ev := exec.CommandContext(ctx, filepath.Join(bin, "tunerd"), "evaluator", "--nats", url, "--objective", "flaky", "--slots", "4", "--", filepath.Join(bin, "flaky"))
	ev.Env = append(os.Environ(), env...)
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); _ = ev.Wait() })
	cmd, errb := startTunerd(t, cfg, env...)

	testutil.WaitFor(t, time.Minute, "simulator runs", func() bool { return len(simRuns(t, simlog)) >= refRuns/3 })
	srv.Close()
	stopped = true
	listen := strings.TrimPrefix(url, "nats://")
	srv2, err := natsserver.Start(natsserver.Options{StoreDir: store, Listen: listen})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv2.Close)

	if err := cmd.Wait(); err != nil {
		t.Fatalf("tunerd: %v\n%s", err, errb)
	}
	sameAsReference(t, cfg, ref, "differs from the uninterrupted run")
	if d := duplicates(simRuns(t, simlog)); d > 4 {
		t.Errorf("%d simulator runs repeated; at most the 4 in flight at the restart may", d)
	}
}

// Ctrl-C (SIGINT) stops tunerd cleanly: exit status 130, the summary says
// "stopped", the evaluator processes are gone, and running the same config
// again finishes the study like an uninterrupted run.
func TestInterruptAndResume(t *testing.T) {
	ref, refRuns := reference(t)
	simlog := filepath.Join(t.TempDir(), "sim.log")
	env := []string{"FLAKY_LOG=" + simlog, "FLAKY_SLEEP=0.02"}
	cfg := writeConfig(t, daemonCfg+flakyEvaluator(4, 1)+flakyStudy)
	cmd, errb := startTunerd(t, cfg, env...)
	testutil.WaitFor(t, time.Minute, "simulator runs", func() bool { return len(simRuns(t, simlog)) >= refRuns/2 })
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 130 {
		t.Fatalf("after SIGINT: %v\n%s", err, errb)
	}
	if !strings.Contains(errb.String(), "interrupted") {
		t.Errorf("stderr does not say it was interrupted:\n%s", errb)
	}
	s := crashSummary(t, cfg)
	if s.Status != "stopped" {
		t.Errorf("status %q after SIGINT, want stopped", s.Status)
	}
	// Every evaluator that ran a simulation has exited.
	for _, r := range simRuns(t, simlog) {
		if err := syscall.Kill(r.ppid, 0); err == nil {
			t.Errorf("evaluator %d still running after tunerd exited", r.ppid)
			break
		}
	}
	code, stdout, stderr := runTunerd(t, cfg, env...)
	if code != 0 {
		t.Fatalf("resume: exit %d\n%s\n%s", code, stdout, stderr)
	}
	sameAsReference(t, cfg, ref, "after interrupt and resume differs from the uninterrupted run")
}
