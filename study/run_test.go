package study

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/zo"
)

// Same seed ⇒ the same run, bit for bit, for every method: each runs twice
// over NATS (durable dispatch, journal) against an in-process evaluator of
// the 3-d separable quartic, in fresh stores, and the summaries must be
// identical apart from timing.
func TestSameSeedSameSummary(t *testing.T) {
	quartic := quartic3
	runOnce := func(alg string) string {
		srv, err := transport.StartServer(transport.ServerOptions{StoreDir: t.TempDir()})
		if err != nil {
			t.Fatal(err)
		}
		defer srv.Close()
		nc, err := transport.Connect(transport.ConnOptions{URL: srv.URL()})
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		served := make(chan struct{})
		go func() {
			defer close(served)
			_ = transport.Serve(ctx, nc, transport.ServeOptions{Objective: "q", Slots: 8}, quartic)
		}()
		defer func() { cancel(); <-served }()

		sc := defaultStudy()
		sc.Name, sc.Objective, sc.Algorithm, sc.Curvature = "s", "q", alg, "lanczos"
		sc.Seed, sc.Epsilon, sc.Delta, sc.MaxEvaluations = 7, 1e-3, 0.05, 1500
		for _, n := range []string{"x1", "x2", "x3"} {
			sc.Params = append(sc.Params, ParamConfig{Name: n, Min: -2, Max: 2, Scale: "linear"})
		}
		s, err := Run(context.Background(), &sc, nc, RunOptions{DataDir: t.TempDir(), JS: js, MaxInFlight: 8})
		if err != nil {
			t.Fatalf("%s: %v", alg, err)
		}
		if s.Evaluations == 0 || s.Status == "running" || s.Status == "failed" {
			t.Fatalf("%s: %s after %d evaluations (%s)", alg, s.Status, s.Evaluations, s.Reason)
		}
		s.Started, s.WallSeconds = time.Time{}, 0
		data, _ := json.Marshal(s)
		return string(data)
	}
	for _, alg := range zo.Methods {
		a, b := runOnce(alg), runOnce(alg)
		if a != b {
			t.Errorf("%s: two runs with the same seed differ:\n%s\n%s", alg, a, b)
		}
	}
}
