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
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type request struct {
	ID     string             `json:"id"`
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
	Uid   int               `json:"uid"`
	Gid   int               `json:"gid"`
	// CwdWritable says whether a file could be created in the working
	// directory.
	CwdWritable bool `json:"cwd_writable"`
}

func main() {
	behave := flag.String("behave", "sum", "what to do")
	reportFile := flag.String("report", "", "write a JSON report of argv, env, stdin and cwd to this file")
	exit := flag.Int("exit", 0, "exit status at the end")
	pidfile := flag.String("pidfile", "", "hang, bg, late: write the grandchild's pid here")
	var so stdioOptions
	flag.BoolVar(&so.twice, "twice", false, "stdio: write each answer twice")
	flag.StringVar(&so.banner, "banner", "", "stdio: write this line before reading any request")
	flag.BoolVar(&so.once, "once", false, "stdio: exit with status 0 after answering one request")
	flag.IntVar(&so.exitAt, "exitat", 0, "stdio: exit with status 0, unanswered, on reading request number N")
	flag.BoolVar(&so.plain, "plain", false, "stdio: answer without the request's id")
	flag.BoolVar(&so.wrongID, "wrongid", false, "stdio: answer each request with the previous request's id")
	flag.BoolVar(&so.blank, "blank", false, "stdio: answer each request with a blank line, and nothing else")
	flag.IntVar(&so.floodErr, "flooderr", 0, "stdio: write this many MiB to stderr before each answer")
	flag.IntVar(&so.floodOut, "floodout", 0, "stdio: write this many MiB of lines to stdout before reading a request")
	flag.BoolVar(&so.oneLine, "oneline", false, "stdio: -floodout writes one line, without a newline")
	setsid := flag.Bool("setsid", false, "stdio: first start a grandchild in a session of its own (pid to -pidfile)")
	tick := flag.Duration("tick", 500*time.Millisecond, "noread: how often to print 1.0")
	mib := flag.Int("mib", 256, "floodout, flooderr: MiB to write")
	parent := flag.Int("parent", 0, "latewrite: the process whose exit to wait for")
	flag.Parse()

	switch *behave {
	case "stdio":
		if *reportFile != "" {
			writeReport(*reportFile, "")
		}
		if *setsid {
			spawnSetsid(*pidfile)
		}
		stdio(so)
		return
	case "noread": // never reads stdin; prints a plausible value forever
		for {
			fmt.Println("1.0")
			time.Sleep(*tick)
		}
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
	case "withid": // the value in an object echoing the request's id
		fmt.Fprintf(out, `{"id": %q, "value": %s}`+"\n", req.ID, strconv.FormatFloat(sum, 'g', -1, 64))
	case "otherid": // the value in an object naming another request
		fmt.Fprintf(out, `{"id": "demo/other", "value": %s}`+"\n", strconv.FormatFloat(sum, 'g', -1, 64))
	case "numid": // the value in an object whose id is a number
		fmt.Fprintf(out, `{"id": 1, "value": %s}`+"\n", strconv.FormatFloat(sum, 'g', -1, 64))
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
	case "setsid": // answer and exit, leaving a grandchild in a session of its own
		spawnSetsid(*pidfile)
		fmt.Fprintln(out, strconv.FormatFloat(sum, 'g', -1, 64))
	case "floodout": // -mib MiB of lines on stdout, then the value
		flood(out, *mib)
		fmt.Fprintln(out, strconv.FormatFloat(sum, 'g', -1, 64))
	case "flooderr": // -mib MiB on stderr, then the value
		errOut := bufio.NewWriter(os.Stderr)
		flood(errOut, *mib)
		_ = errOut.Flush()
		fmt.Fprintln(out, strconv.FormatFloat(sum, 'g', -1, 64))
	default:
		fmt.Fprintln(os.Stderr, "testsim: unknown -behave", *behave)
		os.Exit(64)
	}
	_ = out.Flush()
	os.Exit(*exit)
}

// flood writes mib MiB of 1 KiB lines to w.
func flood(w *bufio.Writer, mib int) {
	line := strings.Repeat("x", 1023) + "\n"
	for range mib << 10 {
		_, _ = w.WriteString(line)
	}
}

// spawn starts testsim with args (default "-behave sleep") sharing our
// stdout and writes its pid to pidfile.
func spawn(pidfile string, args ...string) {
	if len(args) == 0 {
		args = []string{"-behave", "sleep"}
	}
	cmd := exec.Command(os.Args[0], args...)
	cmd.Stdout = os.Stdout
	start(cmd, pidfile)
}

// spawnSetsid starts "testsim -behave sleep" in a session of its own, out
// of our process group, and writes its pid to pidfile.
func spawnSetsid(pidfile string) {
	cmd := exec.Command(os.Args[0], "-behave", "sleep")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	start(cmd, pidfile)
}

// start starts cmd and writes its pid to pidfile.
func start(cmd *exec.Cmd, pidfile string) {
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
	writable := os.WriteFile(filepath.Join(cwd, "testsim.probe"), nil, 0o644) == nil
	data, _ := json.Marshal(report{Args: os.Args[1:], Env: env, Stdin: stdin, Cwd: cwd, Pid: os.Getpid(),
		Uid: os.Getuid(), Gid: os.Getgid(), CwdWritable: writable})
	if err := os.WriteFile(file, data, 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "testsim:", err)
		os.Exit(65)
	}
}

// stdioOptions select how stdio misbehaves.
type stdioOptions struct {
	twice    bool   // write each answer twice (two writes)
	banner   string // a line written before reading any request
	once     bool   // exit after one answer
	exitAt   int    // exit, unanswered, on reading request exitAt
	plain    bool   // answer without the request's id
	wrongID  bool   // answer with the previous request's id
	blank    bool   // answer with a blank line only
	floodErr int    // MiB written to stderr before each answer
	floodOut int    // MiB of lines written to stdout before reading a request
	oneLine  bool   // floodOut writes a single line, never ended
}

// stdio answers request lines with {"id": id, "value": seed + Σ params,
// "pid": pid, "n": request number}. Params select misbehaviour: crash=1
// exits, hang=1 sleeps, garbage=1 answers nonsense; o selects more.
func stdio(o stdioOptions) {
	if o.banner != "" {
		fmt.Println(o.banner)
	}
	if o.floodOut > 0 {
		out := bufio.NewWriter(os.Stdout)
		if o.oneLine {
			chunk := strings.Repeat("y", 1<<20)
			for range o.floodOut {
				_, _ = out.WriteString(chunk)
			}
		} else {
			flood(out, o.floodOut)
		}
		_ = out.Flush()
	}
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	n := 0
	prevID := "demo/none"
	for in.Scan() {
		n++
		fmt.Fprintf(os.Stderr, "request %d\n", n)
		if n == o.exitAt {
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
		case o.blank:
			fmt.Println()
			continue
		}
		if o.floodErr > 0 {
			errOut := bufio.NewWriter(os.Stderr)
			flood(errOut, o.floodErr)
			_ = errOut.Flush()
		}
		sum := float64(req.Seed)
		for k, v := range req.Params {
			if k != "crash" && k != "hang" && k != "garbage" {
				sum += v
			}
		}
		id := ""
		switch {
		case o.wrongID:
			id = fmt.Sprintf(`"id": %q, `, prevID)
		case !o.plain:
			id = fmt.Sprintf(`"id": %q, `, req.ID)
		}
		prevID = req.ID
		answer := fmt.Sprintf(`{%s"value": %s, "pid": %d, "n": %d}`+"\n", id, strconv.FormatFloat(sum, 'g', -1, 64), os.Getpid(), n)
		os.Stdout.WriteString(answer)
		if o.twice {
			os.Stdout.WriteString(answer)
		}
		if o.once {
			os.Exit(0)
		}
	}
}
