package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
)

// kindsCfg runs, side by side on the flaky simulator (failures included),
// a study with an integer and a categorical parameter and one with two
// objectives.
var kindsCfg = daemonCfg + `
[[evaluator]]
objective = "flaky"
command = ["BIN/flaky"]
slots = 4
timeout = "60s"

[[evaluator]]
objective = "flaky2"
command = ["BIN/flaky", "-metrics"]
slots = 4
timeout = "60s"

[[study]]
name = "mixed"
objective = "flaky"
seed = 3

  [[study.param]]
  name = "x"
  min = -2.0
  max = 2.0
  init = 0.0
  [[study.param]]
  name = "n"
  type = "int"
  min = -3
  max = 3
  init = 2
  [[study.param]]
  name = "kind"
  type = "categorical"
  values = ["abc", "ab", "a"]

[[study]]
name = "front"
objective = "flaky2"
seed = 3
explore = 4
objectives = [{metric = "value"}, {metric = "other"}]
` + quarticParams

// kill -9 of tunerd in the middle of an integer-and-categorical study and
// a multi-objective one, then a restart each time: both summaries equal
// the uninterrupted run's, and no (point, seed) ran twice beyond those in
// flight at each kill.
func TestResumeNewKindsAfterKill9(t *testing.T) {
	refLog := filepath.Join(t.TempDir(), "sim.log")
	refCfg := writeConfig(t, kindsCfg)
	if code, stdout, stderr := runTunerd(t, refCfg, "FLAKY_LOG="+refLog); code != 0 {
		t.Fatalf("reference run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	refRuns := len(simRuns(t, refLog))
	// Points asked again after a failure (flaky fails by trial number) run
	// again in the uninterrupted run too.
	refDups := duplicates(simRuns(t, refLog))
	summary := func(cfg, name string) string {
		return comparable(readSummary(t, filepath.Join(filepath.Dir(cfg), "out", name, "summary.json")))
	}

	simlog := filepath.Join(t.TempDir(), "sim.log")
	env := []string{"FLAKY_LOG=" + simlog, "FLAKY_SLEEP=0.02"}
	cfg := writeConfig(t, kindsCfg)
	kills := 0
	for _, at := range []int{refRuns / 4, 2 * refRuns / 3} {
		cmd, _ := startTunerd(t, cfg, env...)
		testutil.WaitFor(t, time.Minute, fmt.Sprintf("%d simulator runs", at), func() bool { return len(simRuns(t, simlog)) >= at })
		kill9(t, cmd)
		kills++
	}
	if code, stdout, stderr := runTunerd(t, cfg, env...); code != 0 {
		t.Fatalf("final run: exit %d\n%s\n%s", code, stdout, stderr)
	}
	for _, name := range []string{"mixed", "front"} {
		if got, want := summary(cfg, name), summary(refCfg, name); got != want {
			t.Errorf("study %s after %d kills:\n%s\nwant\n%s", name, kills, got, want)
		}
	}
	runs := simRuns(t, simlog)
	if d := duplicates(runs) - refDups; d > kills*8 {
		t.Errorf("%d more simulator runs repeated a (point, seed) than in the uninterrupted run; at most %d were in flight at the kills", d, kills*8)
	}
	t.Logf("%d runs (uninterrupted: %d), %d repeated (uninterrupted: %d) after %d kills", len(runs), refRuns, duplicates(runs), refDups, kills)
}
