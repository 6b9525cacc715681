package study

import (
	"context"
	"encoding/json"
	"flag"
	"path/filepath"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/zo"
)

var update = flag.Bool("update", false, "rewrite the golden summaries in testdata/golden")

// Every method × finder runs a short study of the 3-d quartic from its
// saddle (in memory: direct dispatch with the journal, and durable
// dispatch for the default method; the daemon's tests run some of them
// over NATS against the same records): its summary.json,
// timing aside, must equal the recorded one byte for byte. So the same
// seed gives the same run, and refactoring that changes a single query or
// value shows here. go test -update
// rewrites the records, for changes of behaviour meant as such. Under the
// race detector only the default finder with every method and the default
// method with every finder run.
func TestGoldenSummaries(t *testing.T) {
	m := mem(quartic3)
	type combo struct{ alg, curv, dispatch string }
	var combos []combo
	for _, alg := range zo.Methods {
		for _, curv := range Curvatures {
			if !raceDetector || *update || alg == DefaultAlgorithm || curv == DefaultCurvature {
				combos = append(combos, combo{alg, curv, "direct"})
			}
		}
	}
	combos = append(combos, combo{DefaultAlgorithm, DefaultCurvature, "durable"})
	for _, c := range combos {
		sc := testStudy(c.dispatch, 200)
		sc.Name, sc.Algorithm, sc.Curvature = c.alg+"-"+c.curv+"-"+c.dispatch, c.alg, c.curv
		s, err := Run(context.Background(), &sc, RunOptions{DataDir: t.TempDir(), Backend: m})
		if err != nil {
			t.Fatalf("%s: %v", sc.Name, err)
		}
		s.Started, s.WallSeconds, s.Timing = time.Time{}, 0, nil
		got, err := json.MarshalIndent(s, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		testutil.Golden(t, filepath.Join("testdata", "golden", sc.Name+".json"), append(got, '\n'), *update)
	}
}
