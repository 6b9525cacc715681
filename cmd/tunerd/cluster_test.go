package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/natscluster"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/wire"
)

// clusterEvaluatorSlots are the slots of each evaluator of the cluster
// tests, one evaluator per node.
const clusterEvaluatorSlots = 2

// A three-node NATS cluster (nats-server processes), replicas = 3, an
// evaluator process attached to each node, tunerd on one of them. Once
// the study is under way, the leaders of the journal, of the task queue
// and of its consumer are moved to tunerd's node, and that node is killed
// (SIGKILL): tunerd, one evaluator and every leader of the study's data
// lose their server at once. Promise: the streams have a replica on every
// node; tunerd and the evaluators reconnect to the survivors; the study
// completes with the summary of an undisturbed run on one server (counts
// exact, same best and final point and value); and no (point, seed) runs
// twice beyond the slots in flight at the kill.
func TestClusterNodeKilled(t *testing.T) {
	ref, refRuns := reference(t)
	c := testutil.NATSCluster(t, natscluster.Options{Server: testutil.NATSServerBinary(t)})
	simlog := filepath.Join(t.TempDir(), "sim.log")
	// The start point's first run takes 5 s: time to move the leaders
	// while the study has barely begun.
	env := []string{"FLAKY_LOG=" + simlog, "FLAKY_SLEEP=0.05", "FLAKY_SLOW=0:5"}
	for _, n := range c.Nodes() {
		startClusterEvaluator(t, n, env)
	}
	cfg := writeConfig(t, fmt.Sprintf("[nats]\nurl = %q\nreplicas = 3\n", c.URL())+calmDaemonCfg+flakyStudy)
	start := time.Now()
	cmd, errb := startTunerd(t, cfg, env...)

	js := clusterClient(t, c.URL())
	testutil.WaitFor(t, time.Minute, "the study's first simulator runs", func() bool { return len(simRuns(t, simlog)) > 0 })
	victim := tunerdNode(t, c)
	checkReplicas(t, js, c, wire.JournalStream, wire.TaskStream("flaky"))
	leadOn(t, js, victim.Name)
	testutil.WaitFor(t, time.Minute, "a third of the study's simulator runs", func() bool { return len(simRuns(t, simlog)) >= refRuns/3 })
	atKill := len(simRuns(t, simlog))
	if atKill > refRuns*2/3 {
		t.Fatalf("%d of about %d simulator runs done before the kill: too late to be mid-study", atKill, refRuns)
	}
	victim.Kill()
	killed := time.Now()

	if err := waitExit(cmd, 2*time.Minute); err != nil {
		t.Fatalf("tunerd after %s was killed: %v\n%s", victim.Name, err, tail(errb.String(), 4000))
	}
	got := sameAsReference(t, cfg, ref, "after killing node %s differs from the undisturbed run", victim.Name)
	runs := simRuns(t, simlog)
	bound := clusterEvaluatorSlots * len(c.Nodes())
	if d := duplicates(runs); d > bound {
		t.Errorf("%d simulator runs repeated a finished (point, seed); at most %d were in flight at the kill", d, bound)
	}
	if len(runs) <= atKill {
		t.Errorf("no simulator ran after the kill (%d runs before, %d in all)", atKill, len(runs))
	}
	if by := runsByNode(runs); len(by) != len(c.Nodes()) {
		t.Errorf("simulator runs by the evaluator's node: %v; want runs on every node", by)
	}
	t.Logf("fault: cluster node killed | %s (tunerd's node, leader of the journal, the task queue and its consumer) killed after %d of %d runs | %d evaluations (%d failed) as undisturbed, 0 lost | %d re-runs (bound %d) | runs by node %v | %.1fs to the end after the kill, %.1fs in all",
		victim.Name, atKill, len(runs), got.Evaluations, got.Failures, duplicates(runs), bound, runsByNode(runs), time.Since(killed).Seconds(), time.Since(start).Seconds())
}

// startClusterEvaluator starts an evaluator of objective flaky attached
// to node n (given that node's URL only: it learns the others from the
// cluster), its simulator runs tagged with the node's name.
func startClusterEvaluator(t *testing.T, n *natscluster.Node, env []string) {
	t.Helper()
	startEvaluatorOn(t, n, env, "--objective", "flaky", "--slots", fmt.Sprint(clusterEvaluatorSlots), "--name", "ev-"+n.Name,
		"--", filepath.Join(bin, "flaky"), "-tag", n.Name)
}

// startEvaluatorOn starts `tunerd evaluator --nats <n's URL> args...`. It
// is stopped when the test ends, and its log shown if the test failed.
func startEvaluatorOn(tb testing.TB, n *natscluster.Node, env []string, args ...string) {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ev := exec.CommandContext(ctx, filepath.Join(bin, "tunerd"), append([]string{"evaluator", "--nats", n.URL()}, args...)...)
	ev.Env = append(os.Environ(), env...)
	var errb testutil.SyncBuffer
	ev.Stderr = &errb
	if err := ev.Start(); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		_ = ev.Wait()
		if tb.Failed() {
			tb.Logf("evaluator on %s:\n%s", n.Name, tail(errb.String(), 3000))
		}
	})
}

// clusterClient connects the test to the cluster.
func clusterClient(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.Name("test"), nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// tunerdNode returns the node tunerd is connected to.
func tunerdNode(t *testing.T, c *natscluster.Cluster) *natscluster.Node {
	t.Helper()
	for _, n := range c.Nodes() {
		names, err := n.Clients()
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(names, "tunerd") {
			return n
		}
	}
	t.Fatal("tunerd is connected to no node")
	return nil
}

// checkReplicas checks that each stream has a replica on every node of
// the cluster.
func checkReplicas(t *testing.T, js jetstream.JetStream, c *natscluster.Cluster, streams ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, name := range streams {
		s, err := js.Stream(ctx, name)
		if err != nil {
			t.Fatal(err)
		}
		info, err := s.Info(ctx)
		if err != nil {
			t.Fatal(err)
		}
		on := []string{info.Cluster.Leader}
		for _, r := range info.Cluster.Replicas {
			on = append(on, r.Name)
		}
		slices.Sort(on)
		if info.Config.Replicas != len(c.Nodes()) || !slices.Equal(on, []string{"n1", "n2", "n3"}) {
			t.Errorf("stream %s: %d replicas, on %v; want one on every node", name, info.Config.Replicas, on)
		}
	}
}

// leadOn moves the leadership of the journal, the task stream of flaky
// and its consumer to node, and waits until each is there.
func leadOn(t *testing.T, js jetstream.JetStream, node string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"placement": map[string]string{"preferred": node}})
	tasks := wire.TaskStream("flaky")
	streamLeader := func(name string) func(context.Context) (*jetstream.ClusterInfo, error) {
		return func(ctx context.Context) (*jetstream.ClusterInfo, error) {
			s, err := js.Stream(ctx, name)
			if err != nil {
				return nil, err
			}
			info, err := s.Info(ctx)
			if err != nil {
				return nil, err
			}
			return info.Cluster, nil
		}
	}
	consumerLeader := func(ctx context.Context) (*jetstream.ClusterInfo, error) {
		info, err := js.Consumer(ctx, tasks, wire.TaskConsumer)
		if err != nil {
			return nil, err
		}
		return info.CachedInfo().Cluster, nil
	}
	for _, g := range []struct {
		what, stepdown string
		leader         func(context.Context) (*jetstream.ClusterInfo, error)
	}{
		{"the journal", "$JS.API.STREAM.LEADER.STEPDOWN." + wire.JournalStream, streamLeader(wire.JournalStream)},
		{"the task stream", "$JS.API.STREAM.LEADER.STEPDOWN." + tasks, streamLeader(tasks)},
		{"the task consumer", "$JS.API.CONSUMER.LEADER.STEPDOWN." + tasks + "." + wire.TaskConsumer, consumerLeader},
	} {
		testutil.WaitFor(t, 30*time.Second, g.what+" led by "+node, func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			if ci, err := g.leader(ctx); err == nil && ci != nil && ci.Leader == node {
				return true
			}
			_, _ = js.Conn().Request(g.stepdown, body, 2*time.Second)
			return false
		})
	}
}

// runsByNode counts simulator runs by the node of the evaluator that ran
// them (the simulator's tag).
func runsByNode(runs []simRun) map[string]int {
	by := map[string]int{}
	for _, r := range runs {
		by[r.tag]++
	}
	return by
}
