//go:build unix

package evaluator

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/micro"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/wire"
)

// request sends a request on subject and decodes the first reply into a T.
func request[T any](tb testing.TB, nc *nats.Conn, subject string) T {
	tb.Helper()
	msg, err := nc.Request(subject, nil, 10*time.Second)
	if err != nil {
		tb.Fatalf("request on %s: %v", subject, err)
	}
	var v T
	if err := json.Unmarshal(msg.Data, &v); err != nil {
		tb.Fatalf("reply on %s: %v: %s", subject, err, msg.Data)
	}
	return v
}

// gatedTask is a task for objective "quad" of the gated simulator.
func gatedTask(i int, params map[string]float64) wire.Task {
	return wire.Task{ID: fmt.Sprintf("demo/%d", i), Study: "demo", Trial: fmt.Sprint(i), Seed: 1, Params: params}
}

// evaluateAsync sends task in the background; the reply, or the error of
// the request, comes on the returned channel.
func evaluateAsync(tb testing.TB, nc *nats.Conn, task wire.Task, timeout time.Duration) <-chan any {
	tb.Helper()
	task.V, task.Objective = wire.Version, "quad"
	data, err := json.Marshal(task)
	if err != nil {
		tb.Fatal(err)
	}
	out := make(chan any, 1)
	go func() {
		msg, err := nc.Request(wire.EvalSubject("quad"), data, timeout)
		if err != nil {
			out <- err
			return
		}
		rep, err := wire.DecodeReply(msg.Data)
		if err != nil {
			out <- err
			return
		}
		out <- rep
	}()
	return out
}

// value waits for the reply on ch and returns its value.
func value(tb testing.TB, ch <-chan any) float64 {
	tb.Helper()
	switch r := (<-ch).(type) {
	case *wire.Reply:
		if err := r.Err(); err != nil {
			tb.Errorf("reply %s: %v", r.ID, err)
		}
		return r.Value
	case error:
		tb.Errorf("no reply: %v", r)
	}
	return 0
}

// The evaluator's micro service: its info names it, its metadata and its
// status endpoint (no queue group); the status and the stats count the
// simulations running, finished and failed.
func TestService(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	startEvaluator(t, append([]string{"--nats", s.ClientURL(), "--objective", "quad", "--slots", "2", "--name", "ev-svc"},
		simCommand(t, "gated", dir)...)...)
	nc := connect(t, s)

	info := request[micro.Info](t, nc, "$SRV.INFO."+wire.EvaluatorService)
	want := map[string]string{"name": "ev-svc", "objective": "quad", "mode": "exec", "slots": "2"}
	if info.Name != wire.EvaluatorService || info.Version != wire.EvaluatorServiceVersion || !maps.Equal(info.Metadata, want) || info.ID == "" {
		t.Errorf("info %+v; want service %s %s with metadata %v", info, wire.EvaluatorService, wire.EvaluatorServiceVersion, want)
	}
	if len(info.Endpoints) != 1 || info.Endpoints[0].Name != "status" || info.Endpoints[0].Subject != wire.SubjectEvaluators ||
		info.Endpoints[0].QueueGroup != "" {
		t.Errorf("endpoints %+v; want one, status on %s without a queue group", info.Endpoints, wire.SubjectEvaluators)
	}

	// One failure, then two simulations held running.
	if rep := evaluate(t, nc, "quad", gatedTask(0, map[string]float64{"fail": 1})); rep.Reason != wire.ReasonExit {
		t.Fatalf("the failing simulation: %+v; want an exit failure", rep)
	}
	first := evaluateAsync(t, nc, gatedTask(1, map[string]float64{"x": 1}), 30*time.Second)
	second := evaluateAsync(t, nc, gatedTask(2, map[string]float64{"x": 2}), 30*time.Second)
	testutil.WaitFor(t, 20*time.Second, "two simulations running", func() bool { return len(testutil.GatedSimRuns(t, dir)) == 3 })

	check := func(when string, busy int, evaluations, failures int64) {
		t.Helper()
		st := request[wire.EvaluatorStatus](t, nc, wire.SubjectEvaluators)
		stats := request[micro.Stats](t, nc, "$SRV.STATS."+wire.EvaluatorService)
		var data wire.EvaluatorStatus
		if len(stats.Endpoints) != 1 || json.Unmarshal(stats.Endpoints[0].Data, &data) != nil || data != st {
			t.Errorf("%s: stats %+v; want the status %+v as the endpoint's data", when, stats, st)
		}
		if st.ID != info.ID || st.Name != "ev-svc" || st.Objective != "quad" || st.Mode != "exec" || st.Slots != 2 ||
			st.Busy != busy || st.Evaluations != evaluations || st.Failures != failures || st.Draining || st.Started.IsZero() {
			t.Errorf("%s: status %+v; want busy %d, evaluations %d, failures %d", when, st, busy, evaluations, failures)
		}
	}
	check("while two run", 2, 0, 1)
	testutil.ReleaseGatedSims(t, dir)
	if v1, v2 := value(t, first), value(t, second); v1 != 1 || v2 != 2 {
		t.Errorf("values %v and %v, want 1 and 2", v1, v2)
	}
	check("after", 0, 2, 1)
}

// Stopped (the first signal) while two simulations run and a third task
// waits: the evaluator says it is draining, takes no task from then on,
// lets the two finish and answers them, then exits 0.
func TestDrain(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	e := startEvaluator(t, append([]string{"--nats", s.ClientURL(), "--objective", "quad", "--slots", "2"},
		simCommand(t, "gated", dir)...)...)
	nc := connect(t, s)
	first := evaluateAsync(t, nc, gatedTask(1, map[string]float64{"x": 1}), 30*time.Second)
	second := evaluateAsync(t, nc, gatedTask(2, map[string]float64{"x": 2}), 30*time.Second)
	testutil.WaitFor(t, 20*time.Second, "two simulations running", func() bool { return len(testutil.GatedSimRuns(t, dir)) == 2 })
	third := evaluateAsync(t, nc, gatedTask(3, map[string]float64{"x": 3}), 3*time.Second)

	e.cancel()
	testutil.WaitFor(t, 20*time.Second, "the drain to be logged", func() bool {
		return strings.Contains(e.stderr.String(), "draining: 2 simulations in flight")
	})
	if st := request[wire.EvaluatorStatus](t, nc, wire.SubjectEvaluators); !st.Draining || st.Busy != 2 {
		t.Errorf("status while draining %+v; want draining, 2 busy", st)
	}
	testutil.WaitFor(t, 20*time.Second, "the evaluator to leave the queue group", func() bool {
		_, err := nc.Request(wire.EvalSubject("quad"), []byte("{}"), time.Second)
		return errors.Is(err, nats.ErrNoResponders)
	})
	testutil.ReleaseGatedSims(t, dir)
	if v1, v2 := value(t, first), value(t, second); v1 != 1 || v2 != 2 {
		t.Errorf("values %v and %v, want 1 and 2", v1, v2)
	}
	if code := e.waitExit(t, 20*time.Second); code != 0 {
		t.Errorf("exit status %d after a drain, want 0; stderr:\n%s", code, e.stderr.String())
	}
	if r, ok := (<-third).(*wire.Reply); ok {
		t.Errorf("the task sent after the two got a reply: %+v", r)
	}
	if runs := testutil.GatedSimRuns(t, dir); len(runs) != 2 {
		t.Errorf("%d simulations ran, want the 2 in flight at the signal: %v", len(runs), runs)
	}
	if !strings.Contains(e.stderr.String(), `"message":"stopped"`) {
		t.Errorf("no stopped event in the log:\n%s", e.stderr.String())
	}
}

// A second signal while draining abandons the simulations at once: they
// are killed, answer nothing, and the evaluator exits 0.
func TestSecondSignalAbandons(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	e := startEvaluator(t, append([]string{"--nats", s.ClientURL(), "--objective", "quad", "--slots", "2"},
		simCommand(t, "gated", dir)...)...)
	nc := connect(t, s)
	var replies []<-chan any
	for i := range 2 {
		replies = append(replies, evaluateAsync(t, nc, gatedTask(i, map[string]float64{"x": 1}), 3*time.Second))
	}
	testutil.WaitFor(t, 20*time.Second, "two simulations running", func() bool { return len(testutil.GatedSimRuns(t, dir)) == 2 })
	e.cancel()
	testutil.WaitFor(t, 20*time.Second, "the drain to begin", func() bool {
		return strings.Contains(e.stderr.String(), "draining: 2 simulations in flight")
	})
	e.signal()
	if code := e.waitExit(t, 20*time.Second); code != 0 {
		t.Errorf("exit status %d after a second signal, want 0; stderr:\n%s", code, e.stderr.String())
	}
	for pid := range testutil.GatedSimRuns(t, dir) {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("simulator %d still exists after the evaluator abandoned it (kill: %v)", pid, err)
		}
	}
	for _, ch := range replies {
		if r, ok := (<-ch).(*wire.Reply); ok {
			t.Errorf("an abandoned task got a reply: %+v", r)
		}
	}
	if !strings.Contains(e.stderr.String(), "abandoning the simulations in flight") {
		t.Errorf("the log does not say the simulations were abandoned:\n%s", e.stderr.String())
	}
}

// A drain whose server is gone (a tunerd that died with its embedded
// server) does not wait for its simulations, whose results could not be
// delivered: it abandons them once the connection has been lost for
// lostConnWait, and the evaluator exits 0.
func TestDrainWithoutServer(t *testing.T) {
	s := startServer(t, nil)
	dir := t.TempDir()
	e := startEvaluator(t, append([]string{"--nats", s.ClientURL(), "--objective", "quad"}, simCommand(t, "gated", dir)...)...)
	evaluateAsync(t, connect(t, s), gatedTask(1, map[string]float64{"x": 1}), time.Second)
	testutil.WaitFor(t, 20*time.Second, "the simulation to run", func() bool { return len(testutil.GatedSimRuns(t, dir)) == 1 })
	e.cancel()
	testutil.WaitFor(t, 20*time.Second, "the drain to begin", func() bool {
		return strings.Contains(e.stderr.String(), "draining: 1 simulation in flight")
	})
	s.Shutdown()
	s.WaitForShutdown()
	if code := e.waitExit(t, 30*time.Second); code != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", code, e.stderr.String())
	}
	if !strings.Contains(e.stderr.String(), "the connection to NATS is lost: abandoning") {
		t.Errorf("the log does not say why the simulation was abandoned:\n%s", e.stderr.String())
	}
	for pid := range testutil.GatedSimRuns(t, dir) {
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("simulator %d still exists (kill: %v)", pid, err)
		}
	}
}

// A user denied the service's subjects still serves its tasks; the
// evaluator warns, once, that nats micro cannot see it.
func TestServiceDenied(t *testing.T) {
	t.Setenv("NATS_TOKEN", "")
	s := startServer(t, func(o *server.Options) {
		o.Users = []*server.User{
			{Username: "ev", Password: "pw", Permissions: &server.Permissions{
				Subscribe: &server.SubjectPermission{Deny: []string{"$SRV.>", wire.SubjectEvaluators}},
			}},
			{Username: "client", Password: "pw"},
		}
	})
	dir := t.TempDir()
	e := startEvaluator(t, append([]string{"--nats", s.ClientURL(), "--user", "ev", "--password", "pw", "--objective", "quad"},
		simCommand(t, "gated", dir)...)...)
	testutil.ReleaseGatedSims(t, dir)
	nc := connect(t, s, nats.UserInfo("client", "pw"))
	if rep := evaluate(t, nc, "quad", gatedTask(1, map[string]float64{"x": 1})); rep.Err() != nil || rep.Value != 1 {
		t.Errorf("reply %+v; want the value 1", rep)
	}
	testutil.WaitFor(t, 20*time.Second, "the warning", func() bool {
		return strings.Contains(e.stderr.String(), "do not see this evaluator")
	})
	if n := strings.Count(e.stderr.String(), "do not see this evaluator"); n != 1 {
		t.Errorf("warned %d times, want once:\n%s", n, e.stderr.String())
	}
	if _, err := nc.Request(wire.SubjectEvaluators, nil, 5*time.Second); !errors.Is(err, nats.ErrNoResponders) {
		t.Errorf("status request: %v; want no responders", err)
	}
	if code := e.stop(t); code != 0 {
		t.Errorf("exit status %d, want 0; stderr:\n%s", code, e.stderr.String())
	}
}
