package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// failing is quartic3 failing every trial number ≡ 3 (mod 11).
var failing = transport.HandlerFunc(func(ctx context.Context, task *wire.Task) wire.Reply {
	if n, _ := strconv.Atoi(task.Trial); n%11 == 3 {
		return wire.Reply{Error: "exit status 1", Reason: wire.ReasonExit}
	}
	return quartic3(ctx, task)
})

// get fetches path from the daemon's HTTP server.
func get(t *testing.T, base, path string) (int, []byte) {
	t.Helper()
	resp, err := http.Get(base + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// The daemon's HTTP server on a free port (its URL in data_dir/http.url):
// /metrics parses as Prometheus text, and its evaluation and failure
// counters equal the lines of the study's trials.jsonl; /healthz, the
// studies as JSON, the page and the study's plot answer.
func TestServeHTTP(t *testing.T) {
	srv, nc, _ := testutil.JetStream(t)
	evaluate(t, nc, "q", 4, failing)
	dir := t.TempDir()
	serveConfig(t, &Config{DataDir: dir, NATS: NATS{URL: srv.URL()}, HTTP: "127.0.0.1:0"})
	c := client(t, nc)
	if _, err := c.Create(context.Background(), studyDoc("a", "max_evaluations = 300")); err != nil {
		t.Fatal(err)
	}
	a := waitStatus(t, c, "a", "to end", func(s *api.Study) bool { return !s.Running && s.Status != "pending" && s.Status != "running" })
	raw, err := os.ReadFile(filepath.Join(dir, "http.url"))
	if err != nil {
		t.Fatal(err)
	}
	base := strings.TrimSuffix(strings.TrimSpace(string(raw)), "/")

	code, body := get(t, base, "/metrics")
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if code != http.StatusOK || err != nil {
		t.Fatalf("/metrics: %d, %v\n%s", code, err, body)
	}
	sum := func(name string) (total float64) {
		for _, m := range families[name].GetMetric() {
			total += m.GetCounter().GetValue()
		}
		return total
	}
	trials, err := os.ReadFile(filepath.Join(dir, "a", "trials.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := float64(bytes.Count(trials, []byte("\n")))
	ok, failed := sum("zotune_evaluations_total"), sum("zotune_evaluation_failures_total")
	if ok+failed != lines || ok != float64(a.Evaluations) || failed != float64(a.Failures) || failed == 0 {
		t.Errorf("/metrics: %v evaluations + %v failures; trials.jsonl has %v lines, the summary %d + %d", ok, failed, lines, a.Evaluations, a.Failures)
	}
	if code, body := get(t, base, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz: %d %s", code, body)
	}
	var list api.List
	if code, body := get(t, base, "/api/studies"); code != http.StatusOK || json.Unmarshal(body, &list) != nil || len(list.Studies) != 1 || list.Studies[0].Spent != a.Spent {
		t.Errorf("/api/studies: %d %s", code, body)
	}
	if code, body := get(t, base, "/"); code != http.StatusOK || !bytes.Contains(body, []byte(`data-study="a"`)) {
		t.Errorf("the page: %d\n%s", code, body)
	}
	if code, body := get(t, base, "/studies/a/convergence.svg"); code != http.StatusOK || !bytes.Contains(body, []byte("<svg")) {
		t.Errorf("the plot: %d %.200s", code, body)
	}
}
