package daemon

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/rs/zerolog"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/config"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/study"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// served is a daemon.Serve running in the test, on an external server.
type served struct {
	cancel context.CancelFunc
	done   chan error
	log    *testutil.SyncBuffer
}

// serve runs Serve on the server at url with its outputs in dataDir, and
// stops it at the end of the test.
func serve(t testing.TB, url, dataDir string, studies ...study.Spec) *served {
	t.Helper()
	return serveConfig(t, &Config{DataDir: dataDir, NATS: NATS{URL: url}, Studies: studies})
}

// serveConfig runs Serve with cfg, and stops it at the end of the test.
func serveConfig(t testing.TB, cfg *Config) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &served{cancel: cancel, done: make(chan error, 1), log: &testutil.SyncBuffer{}}
	parse := func(doc []byte) ([]study.Spec, error) { return config.ParseStudies(doc, "") }
	go func() { s.done <- Serve(ctx, cfg, Options{Logger: zerolog.New(s.log), ParseStudies: parse}) }()
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop ends Serve and waits for it; its error fails the test.
func (s *served) stop(t testing.TB) {
	t.Helper()
	s.cancel()
	if err, ok := <-s.done; ok {
		close(s.done)
		if err != nil {
			t.Errorf("Serve: %v\n%s", err, s.log)
		}
	}
}

// evaluate serves objective with h in the test, on slots slots.
func evaluate(t testing.TB, nc *nats.Conn, objective string, slots int, h transport.Handler) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = transport.Serve(ctx, nc, transport.ServeOptions{Objective: objective, Slots: slots}, h)
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// client returns an API client once the daemon answers.
func client(t testing.TB, nc *nats.Conn) *api.Client {
	t.Helper()
	c := api.NewClient(nc)
	testutil.WaitFor(t, 30*time.Second, "the daemon's API", func() bool {
		_, err := c.List(context.Background())
		return err == nil
	})
	return c
}

// slowValley is the 3-d Rosenbrock function, taking 5 ms an evaluation:
// gradient descent follows its curved valley for thousands of them.
var slowValley = transport.HandlerFunc(func(ctx context.Context, task *wire.Task) wire.Reply {
	select {
	case <-time.After(5 * time.Millisecond):
	case <-ctx.Done():
	}
	x := []float64{task.Params["x1"], task.Params["x2"], task.Params["x3"]}
	var f float64
	for i := range 2 {
		f += 100*(x[i+1]-x[i]*x[i])*(x[i+1]-x[i]*x[i]) + (1-x[i])*(1-x[i])
	}
	return wire.Reply{Value: f}
})

// studyDoc is a submission: the 3-d quartic of objective q (or another,
// set in extra).
func studyDoc(name string, extra string) []byte {
	return []byte(fmt.Sprintf(`name = %q
objective = "q"
seed = 7
delta = 0.05
%s
[[param]]
name = "x1"
min = -2
max = 2
[[param]]
name = "x2"
min = -2
max = 2
[[param]]
name = "x3"
min = -2
max = 2
`, name, extra))
}

// waitStatus polls the study until cond holds.
func waitStatus(t testing.TB, c *api.Client, name, what string, cond func(*api.Study) bool) *api.Study {
	t.Helper()
	var last *api.Study
	var lastErr error
	defer func() {
		if t.Failed() {
			t.Logf("%s, last seen: %+v, %v", name, last, lastErr)
		}
	}()
	testutil.WaitFor(t, time.Minute, name+" "+what, func() bool {
		last, lastErr = c.Get(context.Background(), name)
		return lastErr == nil && cond(last)
	})
	return last
}

// apiCode returns the code of an *api.Error, 0 for another error.
func apiCode(err error) int {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae.Code
	}
	return 0
}

// The control API end to end against Serve: create (TOML and JSON, an
// invalid document, the same study again, another with the same name),
// get, trials in pages, stop, resume, delete with and without the
// journal, and a restart that keeps what was recorded.
func TestServeAPI(t *testing.T) {
	srv, nc, _ := testutil.JetStream(t)
	evaluate(t, nc, "q", 4, quartic3)
	evaluate(t, nc, "slow", 4, slowValley)
	dir := t.TempDir()
	d := serve(t, srv.URL(), dir)
	c := client(t, nc)
	ctx := context.Background()

	created, err := c.Create(ctx, studyDoc("a", "max_evaluations = 400"))
	if err != nil || len(created) != 1 || created[0].Name != "a" || created[0].Origin != api.OriginAPI {
		t.Fatalf("create: %+v, %v\n%s", created, err, d.log)
	}
	a := waitStatus(t, c, "a", "to end", func(s *api.Study) bool { return !s.Running && s.Status != "pending" && s.Status != "running" })
	if a.Status != "converged" || a.Summary == nil || a.Summary.Final == nil || a.Spent != a.Evaluations+a.Failures {
		t.Fatalf("study a: %+v", a)
	}
	again, err := c.Create(ctx, studyDoc("a", "max_evaluations = 400"))
	if err != nil || again[0].Status != "converged" {
		t.Errorf("the same study again: %+v, %v", again, err)
	}
	if _, err := c.Create(ctx, studyDoc("a", "max_evaluations = 500")); apiCode(err) != api.CodeConflict {
		t.Errorf("another study named a: %v", err)
	}
	_, err = c.Create(ctx, []byte("{\"name\": \"bad\",\n\"objective\": \"q\",\n\"epsilon\": -1, \"param\": []}"))
	if apiCode(err) != api.CodeBadRequest || !strings.Contains(err.Error(), "line 3: epsilon: must be finite and > 0") {
		t.Errorf("an invalid document: %v", err)
	}
	checkTrialPages(t, c, "a", a.Spent)
	if _, err := c.Stop(ctx, "a"); apiCode(err) != api.CodeConflict {
		t.Errorf("stopping a finished study: %v", err)
	}
	if _, err := c.Get(ctx, "nosuch"); apiCode(err) != api.CodeNotFound {
		t.Errorf("an unknown study: %v", err)
	}

	// A long study: stopped, resumed, deleted keeping its journal,
	// submitted again (it resumes), deleted with its journal.
	long := bytes.Replace(studyDoc("b", "epsilon = 1e-6"), []byte(`"q"`), []byte(`"slow"`), 1)
	if _, err := c.Create(ctx, long); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "b", "to make progress", func(s *api.Study) bool { return s.Running && s.Spent > 50 })
	b, err := c.Stop(ctx, "b")
	if err != nil || b.Running || b.State != api.StateStopped || b.Status != "stopped" {
		t.Fatalf("stop: %+v, %v", b, err)
	}
	if b, err = c.Resume(ctx, "b"); err != nil || b.State != api.StateActive {
		t.Fatalf("resume: %+v, %v", b, err)
	}
	waitStatus(t, c, "b", "to run on", func(s *api.Study) bool { return s.Running && s.Summary.Replayed > 0 })
	if _, err := c.Delete(ctx, "b", false); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Get(ctx, "b"); apiCode(err) != api.CodeNotFound {
		t.Errorf("a deleted study: %v", err)
	}
	if _, err := c.Create(ctx, studyDoc("b", "max_evaluations = 10")); apiCode(err) != api.CodeConflict {
		t.Errorf("another study where a deleted one left its journal: %v", err)
	}
	if _, err := c.Create(ctx, long); err != nil {
		t.Fatal(err)
	}
	waitStatus(t, c, "b", "to resume from its journal", func(s *api.Study) bool { return s.Running && s.Summary.Replayed > 50 })
	if _, err := c.Delete(ctx, "b", true); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(dir, "b")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("outputs of a study deleted with its journal: %v", err)
	}
	if _, err := c.Create(ctx, studyDoc("b", "max_evaluations = 30")); err != nil {
		t.Fatalf("a new study b after the old one was deleted with its journal: %v", err)
	}
	waitStatus(t, c, "b", "to end", func(s *api.Study) bool { return !s.Running && s.Status == "budget" })
	if _, err := c.Create(ctx, long[:0]); apiCode(err) != api.CodeBadRequest {
		t.Errorf("an empty document: %v", err)
	}

	// A restart keeps both, and runs neither again.
	d.stop(t)
	serve(t, srv.URL(), dir)
	list, err := client(t, nc).List(ctx)
	if err != nil || len(list) != 2 || list[0].Name != "a" || list[1].Name != "b" || list[0].Status != "converged" || list[1].Status != "budget" {
		t.Fatalf("after a restart: %+v, %v", list, err)
	}
}

// checkTrialPages reads the trials of a study in pages of 7 and checks
// they are all there, in order.
func checkTrialPages(t *testing.T, c *api.Client, name string, total int) {
	t.Helper()
	var n int
	for off := 0; ; {
		p, err := c.Trials(context.Background(), api.TrialsRequest{Study: name, Offset: off, Limit: 7})
		if err != nil {
			t.Fatal(err)
		}
		if p.Total != total || len(p.Trials) > 7 {
			t.Fatalf("page at %d: total %d, %d trials; want total %d", off, p.Total, len(p.Trials), total)
		}
		for _, tr := range p.Trials {
			if want := fmt.Sprintf(`{"trial":%q`, wire.TrialID(n)); !strings.HasPrefix(string(tr), want) {
				t.Fatalf("trial %d: %s", n, tr)
			}
			n++
		}
		if p.Next == nil {
			break
		}
		off = *p.Next
	}
	if n != total {
		t.Errorf("%d trials in pages, want %d", n, total)
	}
}
