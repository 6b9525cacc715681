//go:build linux

package simexec_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/simexec"
	"github.com/zotune/zotune/wire"
)

// containments are the two ways a Runner kills what a simulator leaves
// running, by the containment its log names.
var containments = []struct {
	name     string
	noCgroup bool
}{
	{"cgroup", false},
	{"subreaper", true},
}

// containedRunner returns a Runner for o with the named containment,
// skipping the test when cgroups cannot be used here; it also returns the
// Runner's cgroup ("" without).
func containedRunner(t *testing.T, containment string, noCgroup bool, o simexec.Options) (*simexec.Runner, string) {
	t.Helper()
	o.NoCgroup = noCgroup
	r := newRunner(t, o)
	got := r.Containment()
	if !strings.HasPrefix(got, containment+" ") {
		if containment == "cgroup" {
			t.Skipf("cgroup v2 cannot be used here; the subreaper containment is tested instead: %s", got)
		}
		t.Fatalf("containment %q, want %s", got, containment)
	}
	if containment != "cgroup" {
		return r, ""
	}
	dir, _, _ := strings.Cut(strings.TrimPrefix(got, "cgroup "), ": ")
	if _, err := os.Stat(dir); err != nil {
		t.Fatalf("the Runner's cgroup: %v", err)
	}
	return r, dir
}

// waitReaped waits until pid is gone and, if it became this process's
// child (as the orphan of a simulator, with the evaluator a subreaper),
// was reaped: no zombie is left behind.
func waitReaped(t *testing.T, pid int) {
	t.Helper()
	waitGone(t, pid)
	self := strconv.Itoa(os.Getpid())
	testutil.WaitFor(t, 30*time.Second, fmt.Sprintf("process %d to be reaped", pid), func() bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		// "pid (comm) state ppid ..."
		f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:]))
		return len(f) > 1 && f[1] != self
	})
}

// A grandchild that left the simulator's process group and session does
// not outlive an exec-mode evaluation.
func TestExecSetsidGrandchildKilled(t *testing.T) {
	for _, c := range containments {
		t.Run(c.name, func(t *testing.T) {
			pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
			r, _ := containedRunner(t, c.name, c.noCgroup, simexec.Options{Command: sim("setsid", "-pidfile", pidfile)})
			rep := r.Handle(context.Background(), newTask(2, map[string]float64{"x": 0.5}))
			mustSucceed(t, rep)
			if rep.Value != 2.5 {
				t.Errorf("value = %v, want 2.5", rep.Value)
			}
			waitReaped(t, readPid(t, pidfile))
		})
	}
}

// A grandchild a stdio simulator started in a session of its own does not
// outlive the simulator, whether it is replaced or the Runner closed.
func TestStdioSetsidGrandchildKilled(t *testing.T) {
	for _, c := range containments {
		t.Run(c.name, func(t *testing.T) {
			for _, end := range []string{"replaced", "closed"} {
				t.Run(end, func(t *testing.T) {
					pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
					r, cgroup := containedRunner(t, c.name, c.noCgroup, simexec.Options{Command: sim("stdio", "-setsid", "-pidfile", pidfile), Mode: simexec.ModeStdio})
					rep, pid := stdioValue(t, r, 1, map[string]float64{"x": 1})
					mustSucceed(t, rep)
					grandchild := readPid(t, pidfile)
					if !alive(grandchild) {
						t.Fatalf("grandchild %d is gone while its simulator %d runs", grandchild, pid)
					}
					switch end {
					case "replaced":
						rep, _ = stdioValue(t, r, 1, map[string]float64{"garbage": 1})
						if rep.Reason != wire.ReasonParse {
							t.Fatalf("reason %q, error %q; want parse", rep.Reason, rep.Error)
						}
					case "closed":
						if err := r.Close(); err != nil {
							t.Fatal(err)
						}
						if _, err := os.Stat(cgroup); cgroup != "" && !errors.Is(err, os.ErrNotExist) {
							t.Errorf("the Runner's cgroup %s after Close: %v; want it removed", cgroup, err)
						}
					}
					waitGone(t, pid)
					waitReaped(t, grandchild)
				})
			}
		})
	}
}

// A simulator killed for its timeout takes its setsid grandchild with it.
func TestExecTimeoutKillsSetsidGrandchild(t *testing.T) {
	for _, c := range containments {
		t.Run(c.name, func(t *testing.T) {
			pidfile := filepath.Join(t.TempDir(), "grandchild.pid")
			r, _ := containedRunner(t, c.name, c.noCgroup, simexec.Options{Command: sim("stdio", "-setsid", "-pidfile", pidfile), Timeout: 500 * time.Millisecond})
			// testsim's stdio loop, run once per evaluation, sleeps on
			// hang=1 until the timeout.
			rep := r.Handle(context.Background(), newTask(1, map[string]float64{"hang": 1}))
			if rep.Reason != wire.ReasonTimeout {
				t.Fatalf("reason %q, error %q; want timeout", rep.Reason, rep.Error)
			}
			waitReaped(t, readPid(t, pidfile))
		})
	}
}
