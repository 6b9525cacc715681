package daemon

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/study"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// quartic3 answers with the 3-d separable quartic of the study package's
// golden runs.
var quartic3 = transport.HandlerFunc(func(_ context.Context, task *wire.Task) wire.Reply {
	return wire.Reply{Value: testutil.SeparableQuartic(task.Params)}
})

// Studies run over NATS and JetStream, through the daemon's backend and an
// in-process evaluator, give the summaries the study package records for
// them (study/testdata/golden, TestGoldenSummaries, run in memory): the
// journal, both dispatch modes and the replies change nothing.
func TestBackendGolden(t *testing.T) {
	_, nc, js := testutil.JetStream(t)
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = transport.Serve(ctx, nc, transport.ServeOptions{Objective: "q", Slots: 8}, quartic3)
	}()
	t.Cleanup(func() { cancel(); <-served })
	b := &natsBackend{nc: nc, js: js, pools: newPools(&Config{Evaluators: []Evaluator{{Objective: "q", Slots: 8, Count: 1}}}), timeout: map[string]time.Duration{}}
	for _, name := range []string{"zo-gd-lanczos-durable", "zo-gd-lanczos-direct", "zo-sgd-lanczos-direct", "zo-gd-dimer-direct"} {
		var spec study.Spec
		want := readGolden(t, name, &spec)
		s, err := study.Run(context.Background(), &spec, study.RunOptions{DataDir: t.TempDir(), Backend: b})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		s.Started, s.WallSeconds, s.Timing = time.Time{}, 0, nil
		got, _ := json.MarshalIndent(s, "", "  ")
		if !bytes.Equal(append(got, '\n'), want) {
			t.Errorf("%s over NATS differs from the recorded summary:\n%s\nwant\n%s", name, got, want)
		}
	}
}

// readGolden reads the recorded summary called name, and the study it is
// of: the 3-d quartic of objective "q" from its saddle, as the study
// package's golden test defines it.
func readGolden(t *testing.T, name string, spec *study.Spec) []byte {
	t.Helper()
	want, err := os.ReadFile(filepath.Join("..", "study", "testdata", "golden", name+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var s study.Summary
	if err := json.Unmarshal(want, &s); err != nil {
		t.Fatal(err)
	}
	*spec = study.DefaultSpec()
	spec.Name, spec.Objective, spec.Algorithm, spec.Curvature, spec.Dispatch = s.Study, s.Objective, s.Algorithm, s.Curvature, s.Dispatch
	spec.Seed, spec.Delta, spec.MaxEvaluations = 7, 0.05, s.MaxEvaluations
	for _, n := range []string{"x1", "x2", "x3"} {
		zero := 0.0 // the saddle, as the study package's testStudy starts
		spec.Params = append(spec.Params, study.Param{Name: n, Min: -2, Max: 2, Init: &zero, Scale: "linear"})
	}
	return want
}
