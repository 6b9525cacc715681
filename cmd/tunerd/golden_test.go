package main

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
)

var update = flag.Bool("update", false, "rewrite the golden summaries of the default config in testdata/golden")

// The default config (config.toml, as `go run ./cmd/tunerd run` runs it,
// with the example simulators built once instead of `go run` per slot)
// gives the same summary.json for each study as recorded, timing aside:
// the same seed gives the same run, through every layer.
func TestDefaultConfigGolden(t *testing.T) {
	data, err := os.ReadFile("../../config.toml")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	for _, sim := range []string{"quartic", "projectile"} {
		text = strings.Replace(text, `["go", "-C", ".", "run", "./examples/sims/`+sim+`"`, `["BIN/`+sim+`"`, 1)
	}
	text = strings.Replace(text, `data_dir = "runs"`, `data_dir = "out"`+"\nhttp = \"\"", 1)
	cfg := writeConfig(t, text)
	if code, stdout, stderr := runTunerd(t, cfg); code != 0 {
		t.Fatalf("exit %d\n%s\n%s", code, stdout, tail(stderr, 3000))
	}
	for _, name := range []string{"quartic", "projectile"} {
		s := readSummary(t, filepath.Join(filepath.Dir(cfg), "out", name, "summary.json"))
		s.Started, s.WallSeconds, s.Timing = time.Time{}, 0, nil
		got, _ := json.MarshalIndent(s, "", "  ")
		got = append(got, '\n')
		testutil.Golden(t, filepath.Join("testdata", "golden", "default-"+name+".json"), got, *update)
	}
}
