// Command flaky is a test simulator: the separable quartic saddle
// ½Σaᵢxᵢ² + ¼Σxᵢ⁴ with a₁ = −1 (minimum −1/4), which fails on purpose for
// every trial number ≡ 3 (mod 11): non-zero exit, garbage or NaN in turn.
// It appends "trial seed params ppid" to the file named by FLAKY_LOG, if
// set, so tests can count simulator runs (ppid: the evaluator that ran
// it). FLAKY_SLEEP (seconds) slows every run down; FLAKY_SLOW="N:S"
// makes trial N take S seconds the first time it runs (a comma-separated
// list of such specs is allowed).
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

func main() {
	var req struct {
		Trial  string             `json:"trial"`
		Seed   int64              `json:"seed"`
		Params map[string]float64 `json:"params"`
	}
	if err := json.NewDecoder(os.Stdin).Decode(&req); err != nil {
		fmt.Fprintln(os.Stderr, "flaky: bad request:", err)
		os.Exit(2)
	}
	n, _ := strconv.Atoi(req.Trial)
	// Claim the slow-run marker before the log line is written: a test that
	// sees the line and kills this run must find the marker taken, so the
	// redelivered run is fast.
	var slow time.Duration
	for spec := range strings.SplitSeq(os.Getenv("FLAKY_SLOW"), ",") {
		var trial int
		var secs float64
		if _, err := fmt.Sscanf(spec, "%d:%g", &trial, &secs); err == nil && trial == n && first(fmt.Sprintf("%s.slow%d", os.Getenv("FLAKY_LOG"), n)) {
			slow += time.Duration(secs * float64(time.Second))
		}
	}
	if path := os.Getenv("FLAKY_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			p, _ := json.Marshal(req.Params)
			fmt.Fprintf(f, "%s %d %s %d\n", req.Trial, req.Seed, p, os.Getppid())
			f.Close()
		}
	}
	if s, err := strconv.ParseFloat(os.Getenv("FLAKY_SLEEP"), 64); err == nil {
		time.Sleep(time.Duration(s * float64(time.Second)))
	}
	time.Sleep(slow)
	if n%11 == 3 {
		switch (n / 11) % 3 {
		case 0:
			fmt.Fprintln(os.Stderr, "flaky: simulated crash")
			os.Exit(3)
		case 1:
			fmt.Println("this is not a number")
			return
		default:
			fmt.Println("NaN")
			return
		}
	}
	names := make([]string, 0, len(req.Params))
	for k := range req.Params {
		names = append(names, k)
	}
	sort.Strings(names)
	v := 0.0
	for i, k := range names {
		x := req.Params[k]
		a := 1.0
		if i == 0 {
			a = -1
		}
		v += 0.5*a*x*x + 0.25*x*x*x*x
	}
	fmt.Println(strconv.FormatFloat(v, 'g', -1, 64))
}

// first reports whether this is the first run to claim the marker file.
func first(marker string) bool {
	f, err := os.OpenFile(marker, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o644)
	if err != nil {
		return false
	}
	f.Close()
	return true
}
