package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// serveStdio is flaky's stdio mode (-stdio): one request per line on
// stdin, one answer per line on stdout, {"id": ..., "value": ...}, with
// the faults FLAKY_STDIO names. "banner" writes a numeric line before
// reading any request; "deaf" never reads stdin and writes 1.0 every 50 ms;
// "N:twice" answers trial N twice, "N:wrongid" with another trial's id,
// "N:blank" with a blank line, "N:plain" without the id, "N:nan" with NaN.
// With -plain every answer is a bare number. Trials are logged as in exec
// mode; the failures on trials ≡ 3 (mod 11) are exec mode's only.
func serveStdio(plain bool, tag string) {
	faults := os.Getenv("FLAKY_STDIO")
	out := bufio.NewWriter(os.Stdout)
	say := func(line string) {
		out.WriteString(line + "\n")
		out.Flush()
	}
	if hasFault(faults, "deaf") {
		for {
			say("1.0")
			time.Sleep(50 * time.Millisecond)
		}
	}
	if hasFault(faults, "banner") {
		say("0.5")
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	for in.Scan() {
		var req struct {
			ID     string             `json:"id"`
			Trial  string             `json:"trial"`
			Seed   int64              `json:"seed"`
			Params map[string]float64 `json:"params"`
		}
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Fprintln(os.Stderr, "flaky: bad request:", err)
			os.Exit(2)
		}
		logRun(req.Trial, req.Seed, req.Params, tag)
		v := strconv.FormatFloat(value(req.Params), 'g', -1, 64)
		answer := fmt.Sprintf(`{"id":%q,"value":%s}`, req.ID, v)
		if plain {
			answer = v
		}
		switch fault := stdioFault(faults, req.Trial); fault {
		case "twice":
			say(answer)
		case "wrongid":
			answer = fmt.Sprintf(`{"id":%q,"value":%s}`, req.ID+"x", v)
		case "blank":
			answer = ""
		case "plain":
			answer = v
		case "nan":
			answer = fmt.Sprintf(`{"id":%q,"value":NaN}`, req.ID)
		}
		say(answer)
	}
}

// hasFault reports whether the FLAKY_STDIO list names fault.
func hasFault(faults, fault string) bool {
	for f := range strings.SplitSeq(faults, ",") {
		if f == fault {
			return true
		}
	}
	return false
}

// stdioFault returns the fault FLAKY_STDIO names for trial, or "".
func stdioFault(faults, trial string) string {
	n, _ := strconv.Atoi(trial)
	for f := range strings.SplitSeq(faults, ",") {
		if t, kind, ok := strings.Cut(f, ":"); ok && t == strconv.Itoa(n) {
			return kind
		}
	}
	return ""
}
