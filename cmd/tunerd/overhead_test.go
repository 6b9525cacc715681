package main

import (
	"fmt"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/natsserver"
)

// BenchmarkEndToEnd measures what the system around the optimizer costs a
// user, with the real processes: `tunerd run` with its embedded server
// and evaluator processes, the rotated quartic of examples/sims/quartic
// (microseconds of work per evaluation) in stdio mode, from its saddle,
// direct and durable dispatch, d = 4 and 64, 8 slots. Each iteration runs
// the study twice, to a budget of small and then large evaluations (ε is
// set too small to converge first), and reports the marginal cost of an
// evaluation, (large − small run) / (large − small evaluations): wall time
// and the CPU time of every process (tunerd, its evaluators and the
// simulators: this process's reaped children), without the start-up
// (compiling nothing: the binaries are built; starting the server, the
// evaluators and the simulators), which it reports apart.
// BenchmarkRawNATS is the same-run baseline. With -short the budgets are
// small: .ci/run runs it once that way so that it cannot rot.
//
//	go test -run '^$' -bench 'EndToEnd|RawNATS' -benchtime 3x ./cmd/tunerd
func BenchmarkEndToEnd(b *testing.B) {
	small, large := 500, 4000
	if testing.Short() { // .ci/run: that it runs, not what it measures
		small, large = 100, 300
	}
	for _, c := range []struct {
		dispatch string
		d        int
	}{{"direct", 4}, {"direct", 64}, {"durable", 4}, {"durable", 64}} {
		b.Run(fmt.Sprintf("%s/d=%d", c.dispatch, c.d), func(b *testing.B) {
			var dWall, dCPU, startup time.Duration
			var dEvals, dRounds int
			b.ResetTimer()
			for range b.N {
				w1, c1, e1, r1 := overheadRun(b, c.dispatch, c.d, small)
				w2, c2, e2, r2 := overheadRun(b, c.dispatch, c.d, large)
				dWall, dCPU, dEvals, dRounds = dWall+w2-w1, dCPU+c2-c1, dEvals+e2-e1, dRounds+r2-r1
				startup += w1 - time.Duration(float64(w2-w1)/float64(e2-e1)*float64(e1))
			}
			b.ReportMetric(float64(dWall.Microseconds())/float64(dEvals), "µs-wall/eval")
			b.ReportMetric(float64(dCPU.Microseconds())/float64(dEvals), "µs-CPU/eval")
			b.ReportMetric(float64(dEvals)/float64(dRounds), "evals/round")
			b.ReportMetric(startup.Seconds()/float64(b.N), "s-startup")
		})
	}
}

// overheadRun runs the benchmark's study once to budget evaluations and
// returns its wall and children's CPU time, evaluations and rounds.
func overheadRun(b *testing.B, dispatch string, d, budget int) (wall, cpu time.Duration, evals, rounds int) {
	cfg := writeConfig(b, overheadConfig(dispatch, d, budget))
	before := childrenCPU(b)
	start := time.Now()
	code, stdout, stderr := runTunerdArgs(b, []string{"run", "--plain", cfg})
	wall, cpu = time.Since(start), childrenCPU(b)-before
	if code != 0 {
		b.Fatalf("tunerd: exit %d\n%s\n%s", code, stdout, stderr)
	}
	s := readSummary(b, filepath.Join(filepath.Dir(cfg), "out", "overhead", "summary.json"))
	if s.Status != "budget" {
		b.Fatalf("the study ended %s after %d of %d evaluations: it must run to its budget", s.Status, s.Spent, budget)
	}
	return wall, cpu, s.Spent, s.Rounds
}

// overheadConfig is the benchmark's study: the d-dimensional rotated
// quartic from its saddle, 8 stdio slots, run to budget evaluations (ε
// too small to converge).
func overheadConfig(dispatch string, d, budget int) string {
	return fmt.Sprintf(`
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "quartic"
command = ["BIN/quartic", "-dim", "%d", "-stdio"]
mode = "stdio"
slots = 8

[[study]]
name = "overhead"
objective = "quartic"
dispatch = %q
epsilon = 1e-300
max_evaluations = %d
`, d, dispatch, budget) + params(d, "")
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
// machine in the same run: an embedded server (JetStream on local disk),
// and in this process one request/reply round trip at a time ("request")
// and a JetStream work queue publish, fetch and ack of one message at a
// time ("jetstream").
func BenchmarkRawNATS(b *testing.B) {
	s, err := natsserver.Start(natsserver.Options{StoreDir: b.TempDir()})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	nc, err := nats.Connect(s.URL())
	if err != nil {
		b.Fatal(err)
	}
	defer nc.Close()
	payload := []byte(`{"v":1,"id":"s/000001","params":{"x1":0.5,"x2":-0.25,"x3":0,"x4":1}}`)
	b.Run("request", func(b *testing.B) {
		sub, err := nc.Subscribe("raw.echo", func(m *nats.Msg) { _ = m.Respond(m.Data) })
		if err != nil {
			b.Fatal(err)
		}
		defer sub.Unsubscribe()
		b.ResetTimer()
		for range b.N {
			if _, err := nc.Request("raw.echo", payload, 5*time.Second); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("jetstream", func(b *testing.B) {
		ctx := b.Context()
		js, err := jetstream.New(nc)
		if err != nil {
			b.Fatal(err)
		}
		st, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "RAW", Subjects: []string{"raw.q"}, Retention: jetstream.WorkQueuePolicy})
		if err != nil {
			b.Fatal(err)
		}
		cons, err := st.CreateConsumer(ctx, jetstream.ConsumerConfig{Durable: "w", AckPolicy: jetstream.AckExplicitPolicy})
		if err != nil {
			b.Fatal(err)
		}
		b.ResetTimer()
		for range b.N {
			if _, err := js.Publish(ctx, "raw.q", payload); err != nil {
				b.Fatal(err)
			}
			batch, err := cons.Fetch(1, jetstream.FetchMaxWait(5*time.Second))
			if err != nil {
				b.Fatal(err)
			}
			for m := range batch.Messages() {
				if err := m.DoubleAck(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
	})
}
