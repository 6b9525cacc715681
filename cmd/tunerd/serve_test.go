package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/internal/testutil"
)

// startServe starts tunerd serve on cfg and waits until it answers.
func startServe(t *testing.T, cfg string, env ...string) (*exec.Cmd, *testutil.SyncBuffer) {
	t.Helper()
	cmd, errb := startTunerdArgs(t, []string{"serve", cfg}, env...)
	testutil.WaitFor(t, time.Minute, "tunerd serve to answer", func() bool {
		code, _, _ := runTunerdArgs(t, []string{"status", "--config", cfg}, env...)
		return code == 0 || exited(cmd)
	})
	if exited(cmd) {
		_ = cmd.Wait()
		t.Fatalf("tunerd serve exited: %v\n%s", cmd.ProcessState, errb)
	}
	return cmd, errb
}

// exited reports whether cmd's process has ended (and waits to be
// reaped): cmd.ProcessState stays nil until Wait.
func exited(cmd *exec.Cmd) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", cmd.Process.Pid))
	if err != nil {
		return true
	}
	// pid (comm) state ...: the state follows the last ')'.
	rest := string(data[bytes.LastIndexByte(data, ')')+1:])
	return strings.HasPrefix(strings.TrimSpace(rest), "Z")
}

// studies returns the daemon's studies, by name, as tunerd status --json
// prints them.
func studies(t *testing.T, cfg string) map[string]api.Study {
	t.Helper()
	code, stdout, stderr := runTunerdArgs(t, []string{"status", "--json", "--config", cfg})
	if code != 0 {
		t.Fatalf("tunerd status: exit %d: %s", code, stderr)
	}
	var list api.List
	if err := json.Unmarshal([]byte(stdout), &list); err != nil {
		t.Fatalf("tunerd status --json: %v\n%s", err, stdout)
	}
	out := map[string]api.Study{}
	for _, s := range list.Studies {
		out[s.Name] = s
	}
	return out
}

// tunerdOK runs a tunerd command that must succeed, and returns its stdout.
func tunerdOK(t *testing.T, args ...string) string {
	t.Helper()
	code, stdout, stderr := runTunerdArgs(t, args)
	if code != 0 {
		t.Fatalf("tunerd %s: exit %d\n%s%s", strings.Join(args, " "), code, stdout, stderr)
	}
	return stdout
}

// The daemon as a service, end to end with real processes: tunerd serve
// with its embedded server and evaluator processes; two studies on one
// objective submitted; status shows both progressing; one is stopped;
// the daemon is killed (kill -9) in the middle of the other and started
// again: the other resumes and converges, with the summary of an
// undisturbed run, and the stopped one stays stopped. SIGTERM then ends
// the daemon with status 0.
func TestServeEndToEnd(t *testing.T) {
	ref, refRuns := reference(t)
	simlog := filepath.Join(t.TempDir(), "sim.log")
	env := []string{"FLAKY_LOG=" + simlog, "FLAKY_SLEEP=0.02"}
	cfg := writeConfig(t, daemonCfg+flakyEvaluator(4, 1))
	dir := filepath.Dir(cfg)
	long := filepath.Join(dir, "long.toml")
	longDoc := "name = \"long\"\nobjective = \"flaky\"\nepsilon = 1e-9\nmax_evaluations = 100000\n" + strings.ReplaceAll(quarticParams, "study.param", "param")
	if err := os.WriteFile(long, []byte(longDoc), 0o644); err != nil {
		t.Fatal(err)
	}
	crash := filepath.Join(dir, "crash.json")
	if err := os.WriteFile(crash, []byte(crashJSON), 0o644); err != nil {
		t.Fatal(err)
	}

	daemon, errb := startServe(t, cfg, env...)
	out := tunerdOK(t, "submit", "--config", cfg, long, crash)
	if !strings.Contains(out, "long: ") || !strings.Contains(out, "crash: ") {
		t.Fatalf("submit printed %q", out)
	}
	testutil.WaitFor(t, time.Minute, "both studies to progress", func() bool {
		all := studies(t, cfg)
		return all["long"].Running && all["long"].Spent > 20 && all["crash"].Running && all["crash"].Spent > 20
	})
	tunerdOK(t, "stop", "--config", cfg, "long")
	if s := studies(t, cfg)["long"]; s.Running || s.State != api.StateStopped || s.Status != "stopped" {
		t.Fatalf("stopped study: %+v\n%s", s, errb)
	}
	testutil.WaitFor(t, time.Minute, "the crash study to get half way", func() bool { return len(simRuns(t, simlog)) >= refRuns/2 })
	kill9(t, daemon)

	daemon, errb = startServe(t, cfg, env...)
	testutil.WaitFor(t, 2*time.Minute, "the crash study to finish", func() bool {
		s := studies(t, cfg)["crash"]
		return !s.Running && s.Status != "pending" && s.Status != "running" && s.Status != "stopped"
	})
	got := sameAsReference(t, cfg, ref, "after kill -9 of tunerd serve differs from the uninterrupted run")
	if got.Status != "converged" || got.Final == nil || got.Final.GradNorm == nil || got.Final.LambdaMin == nil {
		t.Errorf("the resumed study ended %q with final estimates %+v; want converged, with ‖ĝ‖ and λ̂_min", got.Status, got.Final)
	}
	if got.Replayed == 0 {
		t.Error("the resumed study replayed nothing from the journal")
	}
	if s := studies(t, cfg)["long"]; s.Running || s.State != api.StateStopped {
		t.Errorf("the stopped study after the restart: %+v", s)
	}
	if err := daemon.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := daemon.Wait(); err != nil {
		t.Errorf("tunerd serve after SIGTERM: %v\n%s", err, errb)
	}
}

// crashJSON is the crash study (flakyStudy) as a JSON submission.
const crashJSON = `{"name": "crash", "objective": "flaky", "seed": 5, "param": [
  {"name": "x1", "min": -2, "max": 2, "init": 0}, {"name": "x2", "min": -2, "max": 2, "init": 0},
  {"name": "x3", "min": -2, "max": 2, "init": 0}, {"name": "x4", "min": -2, "max": 2, "init": 0}]}`
