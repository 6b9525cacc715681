// Command testsim is a simulator for the simexec tests. -behave selects
// what it does; see the switch in main.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type request struct {
	Study  string             `json:"study"`
	Trial  string             `json:"trial"`
	Seed   int64              `json:"seed"`
	Params map[string]float64 `json:"params"`
}

// report is what -report writes: everything the simulator was given.
type report struct {
	Args  []string          `json:"args"`
	Env   map[string]string `json:"env"`
	Stdin string            `json:"stdin"`
	Cwd   string            `json:"cwd"`
	Pid   int               `json:"pid"`
}

func main() {
	behave := flag.String("behave", "sum", "what to do")
	reportFile := flag.String("report", "", "write a JSON report of argv, env, stdin and cwd to this file")
	exit := flag.Int("exit", 0, "exit status at the end")
	pidfile := flag.String("pidfile", "", "hang, bg, late: write the grandchild's pid here")
	twice := flag.Bool("twice", false, "stdio: write each answer twice")
	banner := flag.Bool("banner", false, "stdio: write a banner line before reading any request")
	once := flag.Bool("once", false, "stdio: exit with status 0 after answering one request")
	exitAt := flag.Int("exitat", 0, "stdio: exit with status 0, unanswered, on reading request number N")
	parent := flag.Int("parent", 0, "latewrite: the process whose exit to wait for")
	flag.Parse()

	switch *behave {
	case "stdio":
		if *reportFile != "" {
			writeReport(*reportFile, "")
		}
		stdio(*twice, *banner, *once, *exitAt)
		return
	case "sleep":
		time.Sleep(time.Hour)
		return
	case "latewrite": // once -parent has exited, wait a little and print 99
		for os.Getppid() == *parent {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(500 * time.Millisecond)
		fmt.Println("99")
		time.Sleep(time.Hour)
		return
	}

	stdin, _ := io.ReadAll(os.Stdin)
	var req request
	_ = json.Unmarshal(stdin, &req)
	if *reportFile != "" {
		writeReport(*reportFile, string(stdin))
	}
	sum := float64(req.Seed)
	for _, v := range req.Params {
		sum += v
	}
	out := bufio.NewWriter(os.Stdout)
	switch *behave {
	case "sum": // seed + Σ params
		fmt.Fprintln(out, "progress: starting")
		fmt.Fprintf(out, "%s\n\n  \n", strconv.FormatFloat(sum, 'g', -1, 64))
	case "json":
		fmt.Fprintln(out, `{"value": 1, "note": "not the last line"}`)
		fmt.Fprintf(out, `{"value": %s, "iters": 12, "loss": 0.5, "note": "text", "nested": {"a": 1}, "ok": true}`+"\n",
			strconv.FormatFloat(sum, 'g', -1, 64))
	case "exit":
		fmt.Fprintln(out, "42")
		fmt.Fprintln(os.Stderr, "diagnostic line")
		fmt.Fprintln(os.Stderr, "FATAL: boom")
	case "signal":
		_ = out.Flush()
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case "garbage":
		fmt.Fprintln(out, "hello world")
	case "empty":
	case "blank":
		fmt.Fprint(out, "   \n\t\n\n")
	case "nan":
		fmt.Fprintln(out, "NaN")
	case "inf":
		fmt.Fprintln(out, "-Inf")
	case "jsonnan":
		fmt.Fprintln(out, `{"value": NaN}`)
	case "jsonstring":
		fmt.Fprintln(out, `{"value": "1.5"}`)
	case "chatty": // 8 MiB of stdout, 1 MiB of stderr, then the value
		line := strings.Repeat("x", 1023) + "\n"
		for range 8 << 10 {
			out.WriteString(line)
		}
		for range 1 << 10 {
			fmt.Fprint(os.Stderr, line)
		}
		fmt.Fprintln(os.Stderr, "stderr-end")
		fmt.Fprintln(out, strconv.FormatFloat(sum, 'g', -1, 64))
	case "hang": // a grandchild in the group holding stdout, then sleep
		spawn(*pidfile)
		_ = out.Flush()
		time.Sleep(time.Hour)
	case "bg": // leave a grandchild holding stdout, answer and exit
		spawn(*pidfile)
		fmt.Fprintln(out, strconv.FormatFloat(sum, 'g', -1, 64))
	case "late": // answer and exit, leaving a grandchild that prints 99 after our exit
		spawn(*pidfile, "-behave", "latewrite", "-parent", strconv.Itoa(os.Getpid()))
		fmt.Fprintln(out, strconv.FormatFloat(sum, 'g', -1, 64))
	default:
		fmt.Fprintln(os.Stderr, "testsim: unknown -behave", *behave)
		os.Exit(64)
	}
	_ = out.Flush()
	os.Exit(*exit)
}

// spawn starts testsim with args (default "-behave sleep") sharing our
// stdout and writes its pid to pidfile.
func spawn(pidfile string, args ...string) {
	if len(args) == 0 {
		args = []string{"-behave", "sleep"}
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stdout = os.Stdout
	if err := cmd.Start(); err != nil {
		fmt.Fprintln(os.Stderr, "testsim:", err)
		os.Exit(65)
	}
	// Written whole or not at all: the test may kill us at any moment.
	tmp := pidfile + ".tmp"
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "testsim:", err)
		os.Exit(65)
	}
	if err := os.Rename(tmp, pidfile); err != nil {
		fmt.Fprintln(os.Stderr, "testsim:", err)
		os.Exit(65)
	}
}

func writeReport(file, stdin string) {
	env := make(map[string]string)
	for _, kv := range os.Environ() {
		k, v, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "ZOTUNE_") || strings.HasPrefix(k, "TESTSIM_") || strings.HasPrefix(k, "NATS_") {
			env[k] = v
		}
	}
	cwd, _ := os.Getwd()
	data, _ := json.Marshal(report{Args: os.Args[1:], Env: env, Stdin: stdin, Cwd: cwd, Pid: os.Getpid()})
	if err := os.WriteFile(file, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "testsim:", err)
		os.Exit(65)
	}
}

// stdio answers request lines with {"value": seed + Σ params, "pid": pid,
// "n": request number}. Params select misbehaviour: crash=1 exits, hang=1
// sleeps, garbage=1 answers nonsense. twice writes each answer twice (two
// writes), banner writes a line first, once exits after one answer, exitAt
// exits on reading request exitAt.
func stdio(twice, banner, once bool, exitAt int) {
	if banner {
		fmt.Println("testsim stdio ready")
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	for in.Scan() {
		n++
		fmt.Fprintf(os.Stderr, "request %d\n", n)
		if n == exitAt {
			os.Exit(0)
		}
		var req request
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			fmt.Printf("bad request: %v\n", err)
			continue
		}
		switch {
		case req.Params["crash"] == 1:
			fmt.Fprintln(os.Stderr, "crashing on purpose")
			os.Exit(3)
		case req.Params["hang"] == 1:
			time.Sleep(time.Hour)
		case req.Params["garbage"] == 1:
			fmt.Println("oops")
			continue
		}
		sum := float64(req.Seed)
		for k, v := range req.Params {
			if k != "crash" && k != "hang" && k != "garbage" {
				sum += v
			}
		}
		answer := fmt.Sprintf(`{"value": %s, "pid": %d, "n": %d}`+"\n", strconv.FormatFloat(sum, 'g', -1, 64), os.Getpid(), n)
		os.Stdout.WriteString(answer)
		if twice {
			os.Stdout.WriteString(answer)
		}
		if once {
			os.Exit(0)
		}
	}
}
