package main

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/natscluster"
	"github.com/zotune/zotune/internal/testutil"
)

// BenchmarkCluster measures the throughput of durable dispatch on a NATS
// cluster of 1, 2 and 3 nodes (nats-server processes on loopback,
// replicas = the number of nodes): tunerd given every node's URL, three
// evaluator processes of 8 stdio slots each, spread over the nodes (one
// per node on 3 nodes), the 64-d rotated quartic from its saddle (62
// evaluations a round), run twice to a budget so that evals/s is the
// marginal rate without the start-up. With -short the budgets are small.
//
//	go test -run '^$' -bench Cluster -benchtime 2x ./cmd/tunerd
func BenchmarkCluster(b *testing.B) {
	const d, evaluators, slots = 64, 3, 8
	small, large := 500, 3000
	if testing.Short() {
		small, large = 100, 300
	}
	for _, nodes := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			c := testutil.NATSCluster(b, natscluster.Options{Nodes: nodes, Server: testutil.NATSServerBinary(b)})
			for i := range evaluators {
				n := c.Nodes()[i%nodes]
				startEvaluatorOn(b, n, nil, "--objective", "quartic", "--mode", "stdio", "--slots", fmt.Sprint(slots),
					"--name", fmt.Sprintf("ev%d-%s", i, n.Name), "--", filepath.Join(bin, "quartic"), "-dim", fmt.Sprint(d), "-stdio")
			}
			var wall time.Duration
			var evals int
			b.ResetTimer()
			for i := range b.N {
				w1, e1 := clusterRun(b, c, fmt.Sprintf("s%d", i), d, small)
				w2, e2 := clusterRun(b, c, fmt.Sprintf("l%d", i), d, large)
				wall, evals = wall+w2-w1, evals+e2-e1
			}
			b.ReportMetric(float64(evals)/wall.Seconds(), "evals/s")
			b.ReportMetric(float64(wall.Microseconds())/float64(evals), "µs-wall/eval")
		})
	}
}

// clusterRun runs a study named name on the cluster to budget evaluations
// and returns its wall time and evaluations spent.
func clusterRun(b *testing.B, c *natscluster.Cluster, name string, d, budget int) (time.Duration, int) {
	cfg := writeConfig(b, fmt.Sprintf(`
[nats]
url = %q
replicas = %d

[daemon]
data_dir = "out"
http = ""

[[study]]
name = %q
objective = "quartic"
epsilon = 1e-300
max_evaluations = %d
`, c.URL(), len(c.Nodes()), name, budget)+params(d, ""))
	start := time.Now()
	code, stdout, stderr := runTunerdArgs(b, []string{"run", "--plain", cfg})
	wall := time.Since(start)
	if code != 0 {
		b.Fatalf("tunerd: exit %d\n%s\n%s", code, stdout, tail(stderr, 3000))
	}
	s := readSummary(b, filepath.Join(filepath.Dir(cfg), "out", name, "summary.json"))
	if s.Status != "budget" {
		b.Fatalf("the study ended %s after %d of %d evaluations: it must run to its budget", s.Status, s.Spent, budget)
	}
	return wall, s.Spent
}
