package testutil

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// GatedSim is a simulator for tests that stop an evaluator while its
// simulations run; a test binary runs it as its simulator (see the
// evaluator tests). It reads the request on stdin and creates
// dir/run-<pid>, so the test can count and find its runs; a request whose
// params have "fail" ≠ 0 then exits 3 at once. Otherwise it waits until
// dir/release exists (ReleaseGatedSims) and answers {"id": ID, "value":
// Σ params}. It returns its exit status.
func GatedSim(dir string) int {
	var req struct {
		ID     string             `json:"id"`
		Params map[string]float64 `json:"params"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "gated sim: bad request:", err)
		return 2
	}
	// Written whole, then renamed: a reader never sees a run without its id.
	run, tmp := filepath.Join(dir, "run-"+strconv.Itoa(os.Getpid())), filepath.Join(dir, "tmp-"+strconv.Itoa(os.Getpid()))
	if err := os.WriteFile(tmp, []byte(req.ID), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "gated sim:", err)
		return 2
	}
	if err := os.Rename(tmp, run); err != nil {
		fmt.Fprintln(os.Stderr, "gated sim:", err)
		return 2
	}
	if req.Params["fail"] != 0 {
		fmt.Fprintln(os.Stderr, "gated sim: failing as asked")
		return 3
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "release")); err == nil {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	sum := 0.0
	for _, v := range req.Params {
		sum += v
	}
	fmt.Printf("{\"id\": %q, \"value\": %s}\n", req.ID, strconv.FormatFloat(sum, 'g', -1, 64))
	return 0
}

// ReleaseGatedSims lets the GatedSim simulations of dir, running and
// to come, answer.
func ReleaseGatedSims(tb testing.TB, dir string) {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, "release"), nil, 0o644); err != nil {
		tb.Fatal(err)
	}
}

// GatedSimRuns returns the pids of the GatedSim simulations started in dir,
// with the id of the request each got.
func GatedSimRuns(tb testing.TB, dir string) map[int]string {
	tb.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		tb.Fatal(err)
	}
	runs := map[int]string{}
	for _, e := range entries {
		pid, ok := strings.CutPrefix(e.Name(), "run-")
		if !ok {
			continue
		}
		n, err := strconv.Atoi(pid)
		if err != nil {
			tb.Fatalf("gated sim run file %s", e.Name())
		}
		id, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			tb.Fatal(err)
		}
		runs[n] = string(id)
	}
	return runs
}
