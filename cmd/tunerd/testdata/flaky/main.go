// Command flaky is a test simulator: the separable quartic saddle
// ½Σaᵢxᵢ² + ¼Σxᵢ⁴ with a₁ = −1 (minimum −1/4), which fails on purpose for
// every trial number ≡ 3 (mod 11): non-zero exit, garbage or NaN in turn.
// It appends "trial seed params ppid tag" to the file named by FLAKY_LOG,
// if set, so tests can count simulator runs (ppid: the evaluator that ran
// it; tag: its -tag flag, "-" by default). FLAKY_SLEEP (seconds), or the
// -sleep flag, slows every run down; FLAKY_SLOW="N:S" makes trial N take S
// seconds the first time it runs (a comma-separated list of such specs is
// allowed).
//
// A string parameter (a categorical one) adds 0.1·(its length mod 3) to
// the value, and counts in the log as given. With -metrics the answer is a
// JSON object with a second objective, "other": the quartic with its
// minimum moved (x₁ → x₁ − 1), to minimise too.
//
// FLAKY_FAULTS="N:kind,..." makes trial N misbehave: hang (the first time
// it runs: sleeps for an hour), crash (kills itself with SIGSEGV), flood
// (64 MiB of noise on stdout and on stderr, then the right answer), nan,
// inf, garbage and huge (1e999) as its answer, and late (answers right,
// and leaves a process behind that prints 0 once it has exited).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"
)

func main() {
	sleep := flag.Float64("sleep", -1, "seconds every run takes (default FLAKY_SLEEP)")
	tag := flag.String("tag", "-", "written in the log after the ppid")
	lateChild := flag.Bool("late-child", false, "(internal) the process flaky leaves behind for the late fault")
	stdio := flag.Bool("stdio", false, "serve one request per line (see serveStdio)")
	plain := flag.Bool("plain", false, "stdio: answer with bare numbers")
	metrics := flag.Bool("metrics", false, "answer {\"value\": …, \"other\": …} (two objectives)")
	flag.Parse()
	if *stdio {
		serveStdio(*plain, *tag)
		return
	}
	if *lateChild {
		for parent := os.Getppid(); os.Getppid() == parent; {
			time.Sleep(time.Millisecond) // until flaky has exited
		}
		time.Sleep(50 * time.Millisecond)
		fmt.Println("0")
		return
	}
	var req struct {
		Trial  string         `json:"trial"`
		Seed   int64          `json:"seed"`
		Params map[string]any `json:"params"`
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
	logRun(req.Trial, req.Seed, req.Params, *tag)
	if s, err := strconv.ParseFloat(os.Getenv("FLAKY_SLEEP"), 64); err == nil && *sleep < 0 {
		*sleep = s
	}
	time.Sleep(time.Duration(max(*sleep, 0) * float64(time.Second)))
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
	fault := faultOf(n)
	switch fault {
	case "hang":
		if first(fmt.Sprintf("%s.hang%d", os.Getenv("FLAKY_LOG"), n)) {
			time.Sleep(time.Hour)
		}
	case "crash":
		_ = syscall.Kill(os.Getpid(), syscall.SIGSEGV)
		time.Sleep(time.Hour)
	case "flood":
		noise := []byte(strings.Repeat("noise ", 1<<10) + "\n")
		for range 64 << 20 / len(noise) {
			_, _ = os.Stdout.Write(noise)
			_, _ = os.Stderr.Write(noise)
		}
	case "nan", "inf", "garbage", "huge":
		fmt.Println(map[string]string{"nan": "NaN", "inf": "+Inf", "garbage": "forty-two", "huge": "1e999"}[fault])
		return
	case "late":
		if self, err := os.Executable(); err == nil {
			late := exec.Command(self, "-late-child")
			late.Stdout = os.Stdout
			_ = late.Start()
		}
	}
	nums, extra := numbers(req.Params)
	v := strconv.FormatFloat(value(nums)+extra, 'g', -1, 64)
	if *metrics {
		nums[lowest(nums)]--
		fmt.Printf("{\"value\": %s, \"other\": %s}\n", v, strconv.FormatFloat(value(nums)+extra, 'g', -1, 64))
		return
	}
	fmt.Println(v)
}

// numbers returns the numeric parameters, and what the string ones add
// to the value: 0.1·(length mod 3) each.
func numbers(params map[string]any) (map[string]float64, float64) {
	nums, extra := map[string]float64{}, 0.0
	for k, v := range params {
		switch v := v.(type) {
		case float64:
			nums[k] = v
		case string:
			extra += 0.1 * float64(len(v)%3)
		}
	}
	return nums, extra
}

// lowest is the first of the sorted names: the coordinate with a₁ = −1.
func lowest(params map[string]float64) string {
	first := ""
	for k := range params {
		if first == "" || k < first {
			first = k
		}
	}
	return first
}

// logRun appends "trial seed params ppid tag" to the file FLAKY_LOG names.
func logRun(trial string, seed int64, params any, tag string) {
	if path := os.Getenv("FLAKY_LOG"); path != "" {
		f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			p, _ := json.Marshal(params)
			fmt.Fprintf(f, "%s %d %s %d %s\n", trial, seed, p, os.Getppid(), tag)
			f.Close()
		}
	}
}

// faultOf returns the fault FLAKY_FAULTS names for trial n, or "".
func faultOf(n int) string {
	for spec := range strings.SplitSeq(os.Getenv("FLAKY_FAULTS"), ",") {
		if trial, kind, ok := strings.Cut(spec, ":"); ok && trial == strconv.Itoa(n) {
			return kind
		}
	}
	return ""
}

// value is the separable quartic with a₁ = −1 on the sorted names.
func value(params map[string]float64) float64 {
	names := make([]string, 0, len(params))
	for k := range params {
		names = append(names, k)
	}
	sort.Strings(names)
	v := 0.0
	for i, k := range names {
		x := params[k]
		a := 1.0
		if i == 0 {
			a = -1
		}
		v += 0.5*a*x*x + 0.25*x*x*x*x
	}
	return v
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
