package main

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/study"
)

// BenchmarkEndToEnd measures what the system around the optimizer costs a
// user, with the real processes: `tunerd run` with its embedded server
// and evaluator processes, a cheap simulator in stdio mode (the rotated
// quartic of examples/sims/quartic, a Go program, and a Python one,
// testdata/pysim), from the saddle, direct and durable dispatch, d = 4, 64
// and 1024, 8 slots. Each iteration runs the study twice, to a budget of
// small and then large evaluations (ε is set too small to converge
// first); the difference is the marginal cost of an evaluation without the
// start-up (which it reports apart):
//
//   - µs-wall/eval, and x-raw: that wall time over the same run's raw NATS
//     round trip (request/reply for direct dispatch, a JetStream work-queue
//     publish, fetch and ack for durable; see BenchmarkRawNATS);
//   - µs-CPU/eval: every process's CPU (tunerd, its evaluators, the
//     simulators: this process's reaped children); µs-CPU/eval-sim: the
//     simulator's own, measured apart in the same run (the simulator
//     answering as many requests read from a pipe); µs-CPU/eval-ours, the
//     difference: tunerd's and the evaluators';
//   - dead-ms-p50 and -p90: the dead time between rounds (summary.json's
//     timing) of the large run; evals/round.
//
// With -short the budgets are small and d = 1024 is left out: .ci/run
// runs it once that way so that it cannot rot.
//
//	go test -run '^$' -bench 'EndToEnd' -benchtime 3x ./cmd/tunerd
func BenchmarkEndToEnd(b *testing.B) {
	small, large, dims := 500, 4000, []int{4, 64, 1024}
	if testing.Short() {
		small, large, dims = 100, 300, []int{4, 64}
	}
	raw := measureRaw(b, 2000)
	for _, sim := range simulators(b) {
		for _, dispatch := range []string{"direct", "durable"} {
			for _, d := range dims {
				if sim.name == "python" && d > 64 {
					continue
				}
				b.Run(fmt.Sprintf("%s/%s/d=%d", sim.name, dispatch, d), func(b *testing.B) {
					endToEnd(b, sim, dispatch, d, small, large, raw[dispatch])
				})
			}
		}
	}
}

// endToEnd is one case of BenchmarkEndToEnd.
func endToEnd(b *testing.B, sim simulator, dispatch string, d, small, large int, raw time.Duration) {
	var dWall, dCPU, startup time.Duration
	var dEvals, dRounds int
	var last study.Summary
	b.ResetTimer()
	for range b.N {
		w1, c1, s1 := overheadRun(b, sim, dispatch, d, small)
		w2, c2, s2 := overheadRun(b, sim, dispatch, d, large)
		e1, e2 := s1.Spent, s2.Spent
		dWall, dCPU, dEvals, dRounds = dWall+w2-w1, dCPU+c2-c1, dEvals+e2-e1, dRounds+s2.Rounds-s1.Rounds
		startup += w1 - time.Duration(float64(w2-w1)/float64(e2-e1)*float64(e1))
		last = s2
	}
	b.StopTimer()
	simCPU := sim.cpu(b, d, 2000)
	wall := float64(dWall.Microseconds()) / float64(dEvals)
	cpu := float64(dCPU.Microseconds()) / float64(dEvals)
	b.ReportMetric(wall, "µs-wall/eval")
	b.ReportMetric(wall/float64(raw.Microseconds()), "x-raw")
	b.ReportMetric(float64(raw.Microseconds()), "µs-raw")
	b.ReportMetric(cpu, "µs-CPU/eval")
	b.ReportMetric(simCPU, "µs-CPU/eval-sim")
	b.ReportMetric(cpu-simCPU, "µs-CPU/eval-ours")
	b.ReportMetric(float64(dEvals)/float64(dRounds), "evals/round")
	if t := last.Timing; t != nil {
		b.ReportMetric(t.Dead.Median*1e3, "dead-ms-p50")
		b.ReportMetric(t.Dead.P90*1e3, "dead-ms-p90")
	}
	b.ReportMetric(startup.Seconds()/float64(b.N), "s-startup")
}

// simulator is a stdio simulator of the end-to-end benchmarks.
type simulator struct {
	name    string
	command func(d int) []string // its argv for d parameters, stdio mode
}

// simulators are the Go simulator and, when there is a python3, the
// Python one.
func simulators(tb testing.TB) []simulator {
	sims := []simulator{{"go", func(d int) []string {
		return []string{filepath.Join(bin, "quartic"), "-dim", fmt.Sprint(d), "-stdio"}
	}}}
	py := python(tb, false)
	if py == "" {
		tb.Log("no python3: the Python simulator is left out")
		return sims
	}
	script, err := filepath.Abs("testdata/pysim/quartic.py")
	if err != nil {
		tb.Fatal(err)
	}
	return append(sims, simulator{"python", func(int) []string { return []string{py, script, "--stdio"} }})
}

// python is the path of the Python interpreter python3 runs (not a
// wrapper script in front of it, whose start-up would be measured too),
// one that can import numpy if withNumpy; "" if there is none.
func python(tb testing.TB, withNumpy bool) string {
	prog := "import sys; print(sys.executable)"
	if withNumpy {
		prog = "import numpy, sys; print(sys.executable)"
	}
	for _, cand := range []string{"python3", "/usr/bin/python3"} {
		out, err := exec.Command(cand, "-c", prog).Output()
		if path := strings.TrimSpace(string(out)); err == nil && path != "" {
			return path
		}
	}
	return ""
}

// cpu is the simulator's own CPU time per request, in µs, answering n
// requests of d parameters read from a pipe.
func (s simulator) cpu(tb testing.TB, d, n int) float64 {
	var in bytes.Buffer
	for i := range n {
		fmt.Fprintf(&in, `{"id":"s/%06d","study":"s","trial":"%06d","seed":%d,"params":{`, i, i, i)
		for k := 1; k <= d; k++ {
			if k > 1 {
				in.WriteByte(',')
			}
			fmt.Fprintf(&in, `"x%d":%g`, k, 0.001*float64(i%7+k))
		}
		in.WriteString("}}\n")
	}
	argv := s.command(d)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin = &in
	var out bytes.Buffer
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		tb.Fatalf("%s simulator alone: %v", s.name, err)
	}
	if got := strings.Count(out.String(), "\n"); got != n {
		tb.Fatalf("%s simulator alone answered %d of %d requests", s.name, got, n)
	}
	used := cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	return float64(used.Microseconds()) / float64(n)
}

// overheadRun runs the benchmark's study once to budget evaluations and
// returns its wall and children's CPU time, and its summary.
func overheadRun(b *testing.B, sim simulator, dispatch string, d, budget int) (wall, cpu time.Duration, s study.Summary) {
	cfg := writeConfig(b, overheadConfig(sim.command(d), dispatch, d, budget))
	before := childrenCPU(b)
	start := time.Now()
	code, stdout, stderr := runTunerdArgs(b, []string{"run", "--plain", cfg})
	wall, cpu = time.Since(start), childrenCPU(b)-before
	if code != 0 {
		b.Fatalf("tunerd: exit %d\n%s\n%s", code, stdout, stderr)
	}
	s = readSummary(b, filepath.Join(filepath.Dir(cfg), "out", "overhead", "summary.json"))
	if s.Status != "budget" {
		b.Fatalf("the study ended %s after %d of %d evaluations: it must run to its budget", s.Status, s.Spent, budget)
	}
	return wall, cpu, s
}

// overheadConfig is the benchmark's study: d parameters from the saddle
// at 0, 8 stdio slots of command, run to budget evaluations (ε too small
// to converge).
func overheadConfig(command []string, dispatch string, d, budget int) string {
	return fmt.Sprintf(`
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "quartic"
command = %s
mode = "stdio"
slots = 8

[[study]]
name = "overhead"
objective = "quartic"
dispatch = %q
epsilon = 1e-300
max_evaluations = %d
`, tomlList(command), dispatch, budget) + params(d, "")
}

// tomlList writes ss as a TOML array of strings.
func tomlList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// childrenCPU is the user and system CPU time of this process's reaped
// children and their descendants.
func childrenCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_CHILDREN, &ru); err != nil {
		tb.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// BenchmarkRawNATS is the baseline of BenchmarkEndToEnd on the same
// machine: an embedded server (JetStream on local disk), and in this
// process one request/reply round trip at a time ("request") and a
// JetStream work queue publish, fetch and ack of one message at a time
// ("jetstream"). BenchmarkEndToEnd measures the same in its own run.
func BenchmarkRawNATS(b *testing.B) {
	nc, js := rawServer(b)
	b.Run("request", func(b *testing.B) { rawRequests(b, nc, b.N) })
	b.Run("jetstream", func(b *testing.B) { rawJetStream(b, js, b.N) })
}

// measureRaw times n raw operations of each kind, by dispatch mode.
func measureRaw(tb testing.TB, n int) map[string]time.Duration {
	nc, js := rawServer(tb)
	start := time.Now()
	rawRequests(tb, nc, n)
	req := time.Since(start) / time.Duration(n)
	start = time.Now()
	rawJetStream(tb, js, n)
	return map[string]time.Duration{"direct": req, "durable": time.Since(start) / time.Duration(n)}
}

// rawPayload is a task-sized message.
var rawPayload = []byte(`{"v":1,"id":"s/000001","params":{"x1":0.5,"x2":-0.25,"x3":0,"x4":1}}`)

// rawServer starts an embedded server with JetStream and connects to it.
func rawServer(tb testing.TB) (*nats.Conn, jetstream.JetStream) {
	s, err := natsserver.Start(natsserver.Options{StoreDir: tb.TempDir()})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(s.Close)
	nc, err := nats.Connect(s.URL())
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		tb.Fatal(err)
	}
	return nc, js
}

// rawRequests makes n request/reply round trips, one at a time.
func rawRequests(tb testing.TB, nc *nats.Conn, n int) {
	sub, err := nc.Subscribe("raw.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
	if err != nil {
		tb.Fatal(err)
	}
	defer sub.Unsubscribe()
	for range n {
		if _, err := nc.Request("raw.echo", rawPayload, 5*time.Second); err != nil {
			tb.Fatal(err)
		}
	}
}

// rawJetStream publishes, fetches and acks n messages of a work queue,
// one at a time.
func rawJetStream(tb testing.TB, js jetstream.JetStream, n int) {
	ctx := tb.Context()
	st, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.q"}, Retention: jetstream.WorkQueuePolicy})
	if err != nil {
		tb.Fatal(err)
	}
	cons, err := st.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy})
	if err != nil {
		tb.Fatal(err)
	}
	for range n {
		if _, err := js.Publish(ctx, "raw.q", rawPayload); err != nil {
			tb.Fatal(err)
		}
		msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
		if err != nil {
			tb.Fatal(err)
		}
		if err := msg.DoubleAck(ctx); err != nil {
			tb.Fatal(err)
		}
	}
}
