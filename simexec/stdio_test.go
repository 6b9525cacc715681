//go:build unix

package simexec_test

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/zotune/zotune/simexec"
	"github.com/zotune/zotune/wire"
)

// stdioValue sends one request and returns the reply and the pid of the
// process that answered it.
func stdioValue(tb testing.TB, r *simexec.Runner, seed int64, params map[string]float64) (wire.Reply, int) {
	tb.Helper()
	rep := r.Handle(context.Background(), newTask(seed, params))
	return rep, int(rep.Metrics["pid"])
}

func TestStdioManyRequestsOneProcess(t *testing.T) {
	rf := filepath.Join(t.TempDir(), "report.json")
	r := newRunner(t, simexec.Options{Command: sim("stdio", "-report", rf, "{workdir}"), Mode: simexec.ModeStdio})
	var pid int
	for i := 1; i <= 5; i++ {
		rep, p := stdioValue(t, r, int64(i), map[string]float64{"x": 0.5})
		mustSucceed(t, rep)
		if want := float64(i) + 0.5; rep.Value != want {
			t.Errorf("request %d: value %v, want %v", i, rep.Value, want)
		}
		if rep.Metrics["n"] != float64(i) {
			t.Errorf("request %d answered as the process's request %v", i, rep.Metrics["n"])
		}
		if i == 1 {
			pid = p
		} else if p != pid {
			t.Errorf("request %d served by pid %d, want %d (one process)", i, p, pid)
		}
	}
	rp := readReport(t, rf)
	workdir := rp.Env["ZOTUNE_WORKDIR"]
	if workdir == "" || rp.Args[len(rp.Args)-1] != workdir {
		t.Errorf("{workdir} = %q, ZOTUNE_WORKDIR = %q", rp.Args[len(rp.Args)-1], workdir)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	waitGone(t, pid)
	if _, err := os.Stat(workdir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("workdir %s after Close: %v, want it removed", workdir, err)
	}
	if rep := r.Handle(context.Background(), newTask(1, nil)); rep.Reason != wire.ReasonStart {
		t.Errorf("Handle after Close: reason %q, error %q; want start", rep.Reason, rep.Error)
	}
}

func TestStdioCrash(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: sim("stdio"), Mode: simexec.ModeStdio})
	rep, pid1 := stdioValue(t, r, 1, map[string]float64{"x": 1})
	mustSucceed(t, rep)

	rep, _ = stdioValue(t, r, 1, map[string]float64{"crash": 1})
	if rep.Reason != wire.ReasonCrash || !strings.Contains(rep.Error, "status 3") || !strings.Contains(rep.Stderr, "crashing on purpose") {
		t.Fatalf("reason %q, error %q, stderr %q; want crash, status 3, the stderr tail", rep.Reason, rep.Error, rep.Stderr)
	}

	rep, pid2 := stdioValue(t, r, 2, map[string]float64{"x": 1})
	mustSucceed(t, rep)
	if rep.Value != 3 || pid2 == pid1 || pid2 == 0 {
		t.Errorf("after a crash: value %v from pid %d (crashed pid %d); want 3 from a fresh process", rep.Value, pid2, pid1)
	}
}

func TestStdioTimeout(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: sim("stdio"), Mode: simexec.ModeStdio, Timeout: 500 * time.Millisecond})
	rep, pid1 := stdioValue(t, r, 1, nil)
	mustSucceed(t, rep)

	start := time.Now()
	rep, _ = stdioValue(t, r, 1, map[string]float64{"hang": 1})
	if rep.Reason != wire.ReasonTimeout || !strings.Contains(rep.Error, "killed after 0.5s") {
		t.Fatalf("reason %q, error %q; want timeout", rep.Reason, rep.Error)
	}
	if elapsed := time.Since(start); elapsed > promptly {
		t.Errorf("Handle took %v with a 0.5s timeout: it waited for the hanging simulator", elapsed)
	}
	waitGone(t, pid1)

	rep, pid2 := stdioValue(t, r, 1, nil)
	mustSucceed(t, rep)
	if pid2 == pid1 {
		t.Errorf("timed-out process %d answered again", pid1)
	}
}

// A line that is not an answer may mean the process is out of step with
// its requests: it fails the evaluation, and a fresh process serves the next.
func TestStdioBadAnswerReplacesProcess(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: sim("stdio"), Mode: simexec.ModeStdio})
	rep, pid1 := stdioValue(t, r, 1, nil)
	mustSucceed(t, rep)
	rep, _ = stdioValue(t, r, 1, map[string]float64{"garbage": 1})
	if rep.Reason != wire.ReasonParse || !strings.Contains(rep.Error, `"oops"`) || !strings.Contains(rep.Error, "one line per request") {
		t.Fatalf("reason %q, error %q; want parse quoting the answer and naming the protocol", rep.Reason, rep.Error)
	}
	waitGone(t, pid1)
	rep, pid2 := stdioValue(t, r, 2, map[string]float64{"x": 0.5})
	mustSucceed(t, rep)
	if pid2 == pid1 || rep.Metrics["n"] != 1 || rep.Value != 2.5 {
		t.Errorf("after a bad answer: pid %d request %v value %v; want a fresh process (not %d), request 1, value 2.5", pid2, rep.Metrics["n"], rep.Value, pid1)
	}
}

// A non-finite answer is still one well-formed line per request: the
// evaluation fails and the process keeps serving.
func TestStdioNonFiniteKeepsProcess(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: sim("stdio"), Mode: simexec.ModeStdio})
	rep, pid1 := stdioValue(t, r, 1, nil)
	mustSucceed(t, rep)
	rep, _ = stdioValue(t, r, 0, map[string]float64{"x": math.MaxFloat64, "y": math.MaxFloat64}) // sum overflows to +Inf
	if rep.Reason != wire.ReasonNonFinite {
		t.Fatalf("reason %q, error %q; want nonfinite", rep.Reason, rep.Error)
	}
	rep, pid2 := stdioValue(t, r, 1, nil)
	mustSucceed(t, rep)
	if pid2 != pid1 || rep.Metrics["n"] != 3 {
		t.Errorf("after a non-finite answer: pid %d request %v; want pid %d request 3", pid2, rep.Metrics["n"], pid1)
	}
}

// checkStdioReplies runs n requests back to back, each with its own exact
// expected value, and fails on any value that is not that request's. It
// returns the replies.
func checkStdioReplies(t *testing.T, r *simexec.Runner, n int) []wire.Reply {
	t.Helper()
	reps := make([]wire.Reply, n)
	for i := range n {
		x := float64(i) + 0.25
		reps[i] = r.Handle(context.Background(), newTask(1000, map[string]float64{"x": x}))
		if reps[i].Error == "" && reps[i].Value != 1000+x {
			t.Errorf("request %d: value %v, want %v: another request's answer", i, reps[i].Value, 1000+x)
		}
	}
	return reps
}

// A simulator writing each answer twice never has a surplus line taken for
// the next request's answer: each process serves one request and is
// replaced.
func TestStdioAnswerTwice(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: sim("stdio", "-twice"), Mode: simexec.ModeStdio})
	pids := make(map[float64]bool)
	for i, rep := range checkStdioReplies(t, r, 30) {
		if rep.Error != "" {
			if rep.Reason != wire.ReasonParse || !strings.Contains(rep.Error, "one line per request") {
				t.Errorf("request %d: reason %q, error %q; want a protocol failure", i, rep.Reason, rep.Error)
			}
			continue
		}
		if rep.Metrics["n"] != 1 || pids[rep.Metrics["pid"]] {
			t.Errorf("request %d answered as request %v of pid %v; want each process to serve one", i, rep.Metrics["n"], rep.Metrics["pid"])
		}
		pids[rep.Metrics["pid"]] = true
	}
}

// A simulator that exits after answering, before its next request, costs
// no evaluation: the request goes to a fresh process.
func TestStdioExitAfterAnswer(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: sim("stdio", "-once"), Mode: simexec.ModeStdio})
	for i, rep := range checkStdioReplies(t, r, 20) {
		if rep.Error != "" || rep.Metrics["n"] != 1 {
			t.Errorf("request %d: reason %q, error %q, request %v; want success from a fresh process", i, rep.Reason, rep.Error, rep.Metrics["n"])
		}
	}
}

// A process that had answered before and ends without answering is most
// likely one that exits between requests: the request is retried on a
// fresh process rather than failed.
func TestStdioExitOnNextRequest(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: sim("stdio", "-exitat", "2"), Mode: simexec.ModeStdio})
	for i, rep := range checkStdioReplies(t, r, 10) {
		if rep.Error != "" || rep.Metrics["n"] != 1 {
			t.Errorf("request %d: reason %q, error %q, request %v; want success from a fresh process", i, rep.Reason, rep.Error, rep.Metrics["n"])
		}
	}
}

// A request that crashes a fresh process is not retried: one crash, one
// process started for it.
func TestStdioCrashOnFirstRequest(t *testing.T) {
	rf := filepath.Join(t.TempDir(), "report.json")
	r := newRunner(t, simexec.Options{Command: sim("stdio", "-report", rf), Mode: simexec.ModeStdio})
	rep, _ := stdioValue(t, r, 1, map[string]float64{"crash": 1})
	if rep.Reason != wire.ReasonCrash || !strings.Contains(rep.Error, "status 3") {
		t.Fatalf("reason %q, error %q; want crash, status 3", rep.Reason, rep.Error)
	}
	pid := readReport(t, rf).Pid
	if err := os.Remove(rf); err != nil {
		t.Fatal(err)
	}
	rep, pid2 := stdioValue(t, r, 1, nil)
	mustSucceed(t, rep)
	if pid2 == pid || readReport(t, rf).Pid != pid2 {
		t.Errorf("processes: crashed %d, next %d (report %d)", pid, pid2, readReport(t, rf).Pid)
	}
}

func TestStdioStartFailure(t *testing.T) {
	r := newRunner(t, simexec.Options{Command: []string{filepath.Join(t.TempDir(), "no-such-sim")}, Mode: simexec.ModeStdio})
	if rep := r.Handle(context.Background(), newTask(1, nil)); rep.Reason != wire.ReasonStart {
		t.Errorf("reason %q, error %q; want start", rep.Reason, rep.Error)
	}
}

func TestStdioConcurrent(t *testing.T) {
	const slots, perSlot = 4, 5
	r := newRunner(t, simexec.Options{Command: sim("stdio"), Mode: simexec.ModeStdio})
	var (
		mu   sync.Mutex
		pids = make(map[int]bool)
		wg   sync.WaitGroup
	)
	for s := range slots {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perSlot {
				x := float64(100*s + i)
				rep := r.Handle(context.Background(), newTask(0, map[string]float64{"x": x}))
				if rep.Error != "" || rep.Value != x {
					t.Errorf("slot %d request %d: value %v, error %q; want %v", s, i, rep.Value, rep.Error, x)
				}
				mu.Lock()
				pids[int(rep.Metrics["pid"])] = true
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(pids) == 0 || len(pids) > slots {
		t.Errorf("%d processes served %d concurrent callers", len(pids), slots)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	for pid := range pids {
		waitGone(t, pid)
	}
}
