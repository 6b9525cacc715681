package transport_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/natsserver"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// BenchmarkDispatch measures the cost of dispatch itself: a trivial
// simulator (x1 + 10·x2), evaluators in the same process, batches of 64
// tasks, 16 slots. "direct" is request/reply; "durable" is the JetStream
// work queue plus the journal (task stored, pulled, result stored, task
// acked). The ratio is the throughput cost of durability.
func BenchmarkDispatch(b *testing.B) {
	const batch, slots = 64, 16
	for _, mode := range []string{"direct", "durable"} {
		b.Run(mode, func(b *testing.B) {
			s := startServer(b, natsserver.Options{StoreDir: b.TempDir()})
			nc := connect(b, s.URL())
			js, err := jetstream.New(nc)
			if err != nil {
				b.Fatal(err)
			}
			ctx := context.Background()
			var send func(tasks []*wire.Task) error
			switch mode {
			case "direct":
				d, err := transport.NewDispatcher(nc, transport.DispatchOptions{Study: "bench", Objective: "sum", MaxInFlight: slots})
				if err != nil {
					b.Fatal(err)
				}
				send = func(tasks []*wire.Task) error { _, err := d.Send(ctx, tasks); return err }
			case "durable":
				j, err := journal.Open(ctx, js, "bench", "bench", journal.Options{Objective: "sum"})
				if err != nil {
					b.Fatal(err)
				}
				q, err := transport.OpenQueue(ctx, js, j, transport.QueueOptions{Objective: "sum", Study: "bench", Logger: zerologNop()})
				if err != nil {
					b.Fatal(err)
				}
				b.Cleanup(q.Close)
				send = func(tasks []*wire.Task) error { _, err := q.Send(ctx, tasks); return err }
			}
			serve(b, connect(b, s.URL()), transport.ServeOptions{Objective: "sum", Slots: slots}, benchHandler())
			trial := 0
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tasks := make([]*wire.Task, batch)
				for k := range tasks {
					id := wire.TrialID(trial)
					trial++
					tasks[k] = &wire.Task{V: wire.Version, ID: "bench/" + id, Study: "bench", Trial: id, Objective: "sum",
						Params: map[string]float64{"x1": float64(k), "x2": 1}}
				}
				if err := send(tasks); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N*batch)/b.Elapsed().Seconds(), "evals/s")
		})
	}
}

func benchHandler() transport.Handler {
	return transport.HandlerFunc(func(ctx context.Context, t *wire.Task) wire.Reply {
		return wire.Reply{Value: t.Params["x1"] + 10*t.Params["x2"]}
	})
}

func ExampleTrialID() {
	fmt.Println(wire.TrialID(42))
	// Output: 000042
}
