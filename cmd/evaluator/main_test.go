//go:build unix

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// The test binary is also the evaluator under test (this package's main,
// when roleEnv is set) and its simulator (testutil.GatedSim, when its
// first argument is "gated-sim").
const roleEnv = "ZOTUNE_EVALUATOR_TEST_MAIN"

func TestMain(m *testing.M) {
	if len(os.Args) == 3 && os.Args[1] == "gated-sim" {
		os.Exit(testutil.GatedSim(os.Args[2]))
	}
	if os.Getenv(roleEnv) == "1" {
		main()
		return
	}
	// Under -race a program sleeps a second on exit; not the evaluators.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	os.Exit(m.Run())
}

// process is an evaluator process serving objective "quad" with two
// slots, its simulations gated in dir.
type process struct {
	cmd    *exec.Cmd
	stderr testutil.SyncBuffer
	dir    string
	done   chan struct{} // closed when it has exited
}

func startEvaluator(t *testing.T, url, ready string) *process {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	p := &process{dir: t.TempDir(), done: make(chan struct{})}
	p.cmd = exec.Command(exe, "--nats", url, "--objective", "quad", "--slots", "2", "--", exe, "gated-sim", p.dir)
	p.cmd.Env = append(os.Environ(), roleEnv+"=1")
	p.cmd.Stderr = &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
		testutil.ReleaseGatedSims(t, p.dir) // ends any simulator left behind
	})
	testutil.WaitFor(t, 30*time.Second, ready, func() bool {
		select {
		case <-p.done:
			t.Fatalf("the evaluator exited (%v):\n%s", p.cmd.ProcessState, p.stderr.String())
		default:
		}
		return strings.Contains(p.stderr.String(), ready)
	})
	return p
}

func (p *process) signal(t *testing.T) {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
}

// exitCode waits for the process to exit.
func (p *process) exitCode(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
		return p.cmd.ProcessState.ExitCode()
	case <-time.After(30 * time.Second):
		t.Fatalf("the evaluator is still running; stderr:\n%s", p.stderr.String())
		return -1
	}
}

// A mode is how the tasks of a test reach the evaluator and how their
// results come back.
type mode struct {
	name  string
	ready string // the evaluator's log line that says it can take tasks
	// start starts a server and returns its URL, a func sending a task and
	// one returning the results delivered so far, by task id.
	start func(t *testing.T) (url string, send func(*wire.Task), results func() map[string]float64)
	// queued is the number of tasks still queued, for durable dispatch.
	queued func() int
}

func direct() *mode {
	m := &mode{name: "direct", ready: `"message":"ready"`}
	m.start = func(t *testing.T) (string, func(*wire.Task), func() map[string]float64) {
		srv, nc, _ := testutil.JetStream(t)
		var mu sync.Mutex
		got := map[string]float64{}
		send := func(task *wire.Task) {
			data, _ := json.Marshal(task)
			go func() {
				msg, err := nc.Request(wire.EvalSubject("quad"), data, 30*time.Second)
				if err != nil {
					return
				}
				if rep, err := wire.DecodeReply(msg.Data); err == nil && rep.Err() == nil {
					mu.Lock()
					got[rep.ID] = rep.Value
					mu.Unlock()
				}
			}()
		}
		results := func() map[string]float64 {
			// Replies sent before the evaluator exited reach us before
			// the answer to this round trip.
			if err := nc.Flush(); err != nil {
				t.Fatal(err)
			}
			mu.Lock()
			defer mu.Unlock()
			return maps.Clone(got)
		}
		return srv.URL(), send, results
	}
	m.queued = func() int { return 0 }
	return m
}

func durable() *mode {
	m := &mode{name: "durable", ready: `"message":"pulling durable tasks"`}
	m.start = func(t *testing.T) (string, func(*wire.Task), func() map[string]float64) {
		srv, _, js := testutil.JetStream(t)
		ctx := context.Background()
		j, err := journal.EnsureStream(ctx, js, 1)
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := transport.EnsureTasks(ctx, js, "quad", transport.DurableOptions{Heartbeat: 200 * time.Millisecond})
		if err != nil {
			t.Fatal(err)
		}
		var sent []*wire.Task
		send := func(task *wire.Task) {
			data, _ := json.Marshal(task)
			if _, err := js.Publish(ctx, wire.TaskSubject("quad", task.Study, task.Trial), data, jetstream.WithMsgID("task:"+task.ID)); err != nil {
				t.Fatal(err)
			}
			sent = append(sent, task)
		}
		results := func() map[string]float64 {
			got := map[string]float64{}
			for _, task := range sent {
				rec, err := journal.Find(ctx, j, task.Study, task.Trial, task.Epoch)
				if err != nil {
					t.Fatal(err)
				}
				if rec != nil && rec.Reply.Err() == nil {
					got[task.ID] = rec.Reply.Value
				}
			}
			return got
		}
		m.queued = func() int {
			info, err := tasks.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return int(info.State.Msgs)
		}
		return srv.URL(), send, results
	}
	return m
}

// running starts an evaluator of m and three tasks, and waits until the
// first two run in its two slots; the third waits.
func running(t *testing.T, m *mode) (p *process, results func() map[string]float64) {
	t.Helper()
	url, send, results := m.start(t)
	p = startEvaluator(t, url, m.ready)
	for i := range 3 {
		send(&wire.Task{V: wire.Version, ID: fmt.Sprintf("demo/%d", i), Study: "demo", Trial: fmt.Sprint(i), Objective: "quad",
			Seed: 1, Params: map[string]float64{"x": float64(i + 1)}})
		if i == 0 {
			testutil.WaitFor(t, 30*time.Second, "the first simulation", func() bool { return len(testutil.GatedSimRuns(t, p.dir)) == 1 })
		}
	}
	testutil.WaitFor(t, 30*time.Second, "two simulations", func() bool { return len(testutil.GatedSimRuns(t, p.dir)) == 2 })
	return p, results
}

// SIGTERM while two simulations run and a third task waits: the two
// finish and their results are delivered (a reply; a record in the
// journal, the task acked), the third is never run, and the evaluator
// exits 0.
func TestSIGTERMDrains(t *testing.T) {
	for _, m := range []*mode{direct(), durable()} {
		t.Run(m.name, func(t *testing.T) {
			p, results := running(t, m)
			p.signal(t)
			testutil.WaitFor(t, 30*time.Second, "the drain to begin", func() bool {
				return strings.Contains(p.stderr.String(), "draining: 2 simulations in flight")
			})
			testutil.ReleaseGatedSims(t, p.dir)
			if code := p.exitCode(t); code != 0 {
				t.Errorf("exit status %d after SIGTERM, want 0; stderr:\n%s", code, p.stderr.String())
			}
			runs := testutil.GatedSimRuns(t, p.dir)
			got := results()
			if len(runs) != 2 || len(got) != 2 {
				t.Fatalf("%d simulations ran and %d results were delivered, want the 2 in flight at the signal; runs %v, results %v",
					len(runs), len(got), runs, got)
			}
			for _, id := range runs {
				var i int
				fmt.Sscanf(id, "demo/%d", &i)
				if v, ok := got[id]; !ok || v != float64(i+1) {
					t.Errorf("result of %s: %v (delivered: %v), want %d", id, v, ok, i+1)
				}
			}
			if n := m.queued(); m.name == "durable" && n != 1 {
				t.Errorf("%d tasks queued, want the one never taken (the two that ran acked)", n)
			}
		})
	}
}

// A second SIGTERM while draining abandons the simulations at once: they
// are killed, no result is delivered, the durable tasks go back to the
// queue, and the evaluator exits 0.
func TestSecondSIGTERMAbandons(t *testing.T) {
	for _, m := range []*mode{direct(), durable()} {
		t.Run(m.name, func(t *testing.T) {
			p, results := running(t, m)
			p.signal(t)
			testutil.WaitFor(t, 30*time.Second, "the drain to begin", func() bool {
				return strings.Contains(p.stderr.String(), "draining: 2 simulations in flight")
			})
			p.signal(t)
			if code := p.exitCode(t); code != 0 {
				t.Errorf("exit status %d after a second SIGTERM, want 0; stderr:\n%s", code, p.stderr.String())
			}
			runs := testutil.GatedSimRuns(t, p.dir)
			for pid := range runs {
				if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
					t.Errorf("simulator %d still exists after the evaluator abandoned it (kill: %v)", pid, err)
				}
			}
			if got := results(); len(runs) != 2 || len(got) != 0 {
				t.Errorf("%d simulations ran, results delivered %v; want 2 abandoned, nothing delivered", len(runs), got)
			}
			if n := m.queued(); m.name == "durable" && n != 3 {
				t.Errorf("%d tasks queued, want all 3: the abandoned ones handed back", n)
			}
		})
	}
}
