package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkFleetUtilisation measures how busy a study keeps a fleet of 64
// slots whose simulations take T = 20 ms (2 ms with -short) and cost no
// CPU (examples/sims/quartic -sleep: on this 2-core machine 64 busy
// simulators would measure the CPU, not the dispatch): the rotated quartic
// at d = 64 from its saddle, stdio mode, direct and durable dispatch.
//
//   - busy: evaluations × T / (span × 64), the fleet's busy fraction,
//     where span is the time from the study's first task to its last
//     answer (summary.json's timing: time with tasks out plus the dead
//     time between rounds);
//   - of-ideal: waves × T / span, the busy fraction of what the round
//     structure allows: no study of these rounds can take less than
//     Σ over rounds of ⌈tasks / 64⌉ × T (timing.waves);
//   - dead-ms-p50, dead-ms-p90: the dead time between rounds.
//
// Run it with
//
//	go test -run '^$' -bench FleetUtilisation -benchtime 3x ./cmd/tunerd
func BenchmarkFleetUtilisation(b *testing.B) {
	T, budget := 20*time.Millisecond, 2000
	if testing.Short() {
		T, budget = 2*time.Millisecond, 300
	}
	for _, dispatch := range []string{"direct", "durable"} {
		b.Run(dispatch, func(b *testing.B) {
			var span, ideal, work float64
			var dead50, dead90 float64
			for range b.N {
				cfg := writeConfig(b, fleetConfig(dispatch, T, budget))
				code, stdout, stderr := runTunerdArgs(b, []string{"run", "--plain", cfg})
				if code != 0 {
					b.Fatalf("tunerd: exit %d\n%s\n%s", code, stdout, stderr)
				}
				s := readSummary(b, filepath.Join(filepath.Dir(cfg), "out", "fleet", "summary.json"))
				t := s.Timing
				if t == nil || t.Slots != 64 {
					b.Fatalf("timing %+v: want the study's 64 slots", t)
				}
				span += t.OutSeconds + t.Dead.Total
				ideal += float64(t.Waves) * T.Seconds()
				work += float64(s.Spent) * T.Seconds()
				dead50, dead90 = dead50+t.Dead.Median, dead90+t.Dead.P90
			}
			n := float64(b.N)
			b.ReportMetric(work/(span*64), "busy")
			b.ReportMetric(ideal/span, "of-ideal")
			b.ReportMetric(dead50/n*1e3, "dead-ms-p50")
			b.ReportMetric(dead90/n*1e3, "dead-ms-p90")
		})
	}
}

// fleetConfig is BenchmarkFleetUtilisation's study.
func fleetConfig(dispatch string, T time.Duration, budget int) string {
	return fmt.Sprintf(`
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "quartic"
command = ["BIN/quartic", "-dim", "64", "-stdio", "-sleep", %q]
mode = "stdio"
slots = 64

[[study]]
name = "fleet"
objective = "quartic"
dispatch = %q
epsilon = 1e-300
max_evaluations = %d
`, T.String(), dispatch, budget) + params(64, "")
}

// BenchmarkStdioVsExec compares the two ways of running a simulator that
// is slow to start (a Python program importing numpy, testdata/pysim):
// exec mode starts it for every evaluation, stdio mode once per slot. A
// study of 120 evaluations at d = 4 on 2 slots; it reports the wall time
// per evaluation of each and the speed-up. Skipped without a python3 that
// has numpy.
//
//	go test -run '^$' -bench StdioVsExec -benchtime 1x ./cmd/tunerd
func BenchmarkStdioVsExec(b *testing.B) {
	py := python(b, true)
	if py == "" {
		b.Skip("no python3 with numpy")
	}
	script, err := filepath.Abs("testdata/pysim/quartic.py")
	if err != nil {
		b.Fatal(err)
	}
	budget := 120
	if testing.Short() {
		budget = 20
	}
	per := map[string]float64{}
	for _, mode := range []string{"exec", "stdio"} {
		b.Run(mode, func(b *testing.B) {
			var wall time.Duration
			var evals int
			for range b.N {
				argv := []string{py, script, "--numpy"}
				if mode == "stdio" {
					argv = append(argv, "--stdio")
				}
				cfg := writeConfig(b, fmt.Sprintf(`
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "quartic"
command = %s
mode = %q
slots = 2

[[study]]
name = "start"
objective = "quartic"
epsilon = 1e-300
max_evaluations = %d
`, tomlList(argv), mode, budget)+params(4, ""))
				start := time.Now()
				code, stdout, stderr := runTunerdArgs(b, []string{"run", "--plain", cfg})
				wall += time.Since(start)
				if code != 0 {
					b.Fatalf("tunerd: exit %d\n%s\n%s", code, stdout, stderr)
				}
				evals += readSummary(b, filepath.Join(filepath.Dir(cfg), "out", "start", "summary.json")).Spent
			}
			per[mode] = wall.Seconds() * 1e3 / float64(evals)
			b.ReportMetric(per[mode], "ms-wall/eval")
			if mode == "stdio" && per["exec"] > 0 {
				b.ReportMetric(per["exec"]/per["stdio"], "speed-up")
			}
		})
	}
}
