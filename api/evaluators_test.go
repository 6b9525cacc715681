package api_test

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/evaluator"
	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/internal/testutil"
)

func startServer(t *testing.T) *natsserver.Server {
	t.Helper()
	s, err := natsserver.Start(natsserver.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

func connect(t *testing.T, url string) *nats.Conn {
	t.Helper()
	nc, err := nats.Connect(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc
}

// startEvaluator runs an evaluator in-process until the test ends. Its
// simulator ("true") never runs: no task is sent.
func startEvaluator(t *testing.T, url string, args ...string) {
	t.Helper()
	exe, err := exec.LookPath("true")
	if err != nil {
		t.Skip("no true command to stand for a simulator")
	}
	ctx, cancel := context.WithCancel(context.Background())
	var stderr testutil.SyncBuffer
	done := make(chan int, 1)
	args = append(append([]string{"--nats", url}, args...), "--", exe)
	go func() { done <- evaluator.Main(ctx, args, os.Stdout, &stderr) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	testutil.WaitFor(t, 20*time.Second, "the evaluator to be ready", func() bool {
		select {
		case code := <-done:
			done <- code
			t.Fatalf("evaluator exited with status %d; stderr:\n%s", code, stderr.String())
		default:
		}
		return strings.Contains(stderr.String(), `"message":"ready"`)
	})
}

// Three evaluators of two objectives each answer once, sorted by
// objective then name, each with its own id and what it was started
// with; replies that are not an evaluator's status are left out.
func TestEvaluators(t *testing.T) {
	s := startServer(t)
	startEvaluator(t, s.URL(), "--objective", "quartic", "--name", "q-b", "--slots", "3")
	startEvaluator(t, s.URL(), "--objective", "projectile", "--name", "p-a", "--mode", "stdio")
	startEvaluator(t, s.URL(), "--objective", "quartic", "--name", "q-a")

	// Two peers on the subject that answer with something else.
	peer := connect(t, s.URL())
	for _, body := range []string{"not json", `{"name": "anonymous"}`} {
		if _, err := peer.Subscribe(api.SubjectEvaluators, func(m *nats.Msg) { _ = m.Respond([]byte(body)) }); err != nil {
			t.Fatal(err)
		}
	}
	if err := peer.Flush(); err != nil {
		t.Fatal(err)
	}

	c := api.NewClient(connect(t, s.URL()))
	got, err := c.Evaluators(context.Background(), 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	want := []api.Evaluator{
		{Name: "p-a", Objective: "projectile", Mode: "stdio", Slots: 1},
		{Name: "q-a", Objective: "quartic", Mode: "exec", Slots: 1},
		{Name: "q-b", Objective: "quartic", Mode: "exec", Slots: 3},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d evaluators, want %d: %+v", len(got), len(want), got)
	}
	ids := map[string]bool{}
	for i, e := range got {
		w := want[i]
		if e.Name != w.Name || e.Objective != w.Objective || e.Mode != w.Mode || e.Slots != w.Slots ||
			e.Busy != 0 || e.Evaluations != 0 || e.Failures != 0 || e.Draining || e.Started.IsZero() {
			t.Errorf("evaluator %d = %+v; want %+v, idle, with its start time", i, e, w)
		}
		ids[e.ID] = true
	}
	if len(ids) != 3 || ids[""] {
		t.Errorf("ids %v; want 3 distinct ones", ids)
	}
}

// With no evaluator at all the server says nobody listens, and the list
// is empty at once: the context here ends well before the wait would.
func TestEvaluatorsNone(t *testing.T) {
	s := startServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	got, err := api.NewClient(connect(t, s.URL())).Evaluators(ctx, time.Hour)
	if err != nil || got == nil || len(got) != 0 {
		t.Fatalf("Evaluators = %#v, %v; want an empty list and no error", got, err)
	}
}

// A context that ends before the wait has passed ends the gathering with
// its error.
func TestEvaluatorsCancelled(t *testing.T) {
	s := startServer(t)
	peer := connect(t, s.URL())
	if _, err := peer.Subscribe(api.SubjectEvaluators, func(*nats.Msg) {}); err != nil { // listens, never answers
		t.Fatal(err)
	}
	if err := peer.Flush(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	got, err := api.NewClient(connect(t, s.URL())).Evaluators(ctx, time.Hour)
	if !errors.Is(err, context.DeadlineExceeded) || got != nil {
		t.Fatalf("Evaluators = %v, %v; want the context's deadline as the error", got, err)
	}
}
