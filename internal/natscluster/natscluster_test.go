package natscluster_test

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/internal/natscluster"
	"github.com/zotune/zotune/internal/testutil"
)

func TestMain(m *testing.M) {
	code := m.Run()
	testutil.RemoveNATSServerBinary()
	os.Exit(code)
}

// A three-node cluster, embedded and as processes: a stream created with 3
// replicas has one on every node; killing the node that leads it leaves a
// cluster with a new meta leader and a stream that takes writes through
// the survivors and keeps every message; the killed node, started again,
// rejoins and catches up.
func TestCluster(t *testing.T) {
	for _, mode := range []string{"embedded", "process"} {
		t.Run(mode, func(t *testing.T) {
			var o natscluster.Options
			if mode == "process" {
				o.Server = testutil.NATSServerBinary(t)
			}
			c := testutil.NATSCluster(t, o)
			checkNodes(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			js := connect(t, c.URL())
			s, err := js.CreateStream(ctx, jetstream.StreamConfig{Name: "S", Subjects: []string{"s.>"}, Replicas: 3})
			if err != nil {
				t.Fatal(err)
			}
			info, err := s.Info(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := replicaNodes(info); !slices.Equal(got, []string{"n1", "n2", "n3"}) {
				t.Fatalf("stream on %v, want a replica on each of n1, n2, n3", got)
			}
			publish(t, js, 0, 50)

			victim := c.Node(info.Cluster.Leader)
			victim.Kill()
			if victim.Running() || victim.Pid() != 0 {
				t.Fatalf("%s still running after Kill", victim.Name)
			}
			if err := c.WaitReady(30 * time.Second); err != nil {
				t.Fatal(err)
			}
			if l, err := c.MetaLeader(); err != nil || l == victim.Name {
				t.Fatalf("meta leader %q (%v) after killing %s", l, err, victim.Name)
			}
			publish(t, js, 50, 100) // through the survivors: nats.go reconnects
			if info := streamInfo(t, js); info.State.Msgs != 100 || info.Cluster.Leader == victim.Name {
				t.Fatalf("after the kill: %d messages, leader %s; want 100 on a new leader", info.State.Msgs, info.Cluster.Leader)
			}

			if err := victim.Start(); err != nil {
				t.Fatal(err)
			}
			if err := c.WaitReady(30 * time.Second); err != nil {
				t.Fatal(err)
			}
			testutil.WaitFor(t, 30*time.Second, victim.Name+" to catch up with the stream", func() bool {
				info := streamInfo(t, js)
				for _, r := range info.Cluster.Replicas {
					if r.Name == victim.Name {
						return r.Current && !r.Offline && r.Lag == 0
					}
				}
				return false
			})
		})
	}
}

// checkNodes checks the nodes' names, URLs and monitoring endpoints, and
// that a client of each node is seen on that node only.
func checkNodes(t *testing.T, c *natscluster.Cluster) {
	t.Helper()
	if got := strings.Split(c.URL(), ","); len(got) != 3 || !slices.Equal(got, c.URLs()) {
		t.Fatalf("URL %q, URLs %v", c.URL(), c.URLs())
	}
	if _, err := c.MetaLeader(); err != nil {
		t.Fatal(err)
	}
	for _, n := range c.Nodes() {
		if !n.Running() || !strings.HasPrefix(n.URL(), "nats://127.0.0.1:") {
			t.Fatalf("%s: running %v, URL %s", n.Name, n.Running(), n.URL())
		}
		nc, err := nats.Connect(n.URL(), nats.Name("probe-"+n.Name))
		if err != nil {
			t.Fatal(err)
		}
		defer nc.Close()
		if got := nc.ConnectedServerName(); got != n.Name {
			t.Fatalf("connected to %s through %s's URL", got, n.Name)
		}
	}
	for _, n := range c.Nodes() {
		names, err := n.Clients()
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(names, []string{"probe-" + n.Name}) {
			t.Errorf("%s has clients %q, want its probe only", n.Name, names)
		}
	}
}

func connect(t *testing.T, url string) jetstream.JetStream {
	t.Helper()
	nc, err := nats.Connect(url, nats.MaxReconnects(-1), nats.ReconnectWait(50*time.Millisecond))
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

// publish stores messages from to to on stream S, retrying each while the
// cluster elects new leaders.
func publish(t *testing.T, js jetstream.JetStream, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		testutil.WaitFor(t, 30*time.Second, fmt.Sprintf("message %d stored", i), func() bool {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			_, err := js.Publish(ctx, fmt.Sprintf("s.%d", i), nil, jetstream.WithMsgID(fmt.Sprint(i)))
			return err == nil
		})
	}
}

func streamInfo(t *testing.T, js jetstream.JetStream) *jetstream.StreamInfo {
	t.Helper()
	var info *jetstream.StreamInfo
	testutil.WaitFor(t, 30*time.Second, "stream info", func() bool {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		s, err := js.Stream(ctx, "S")
		if err == nil {
			info, err = s.Info(ctx)
		}
		return err == nil
	})
	return info
}

// replicaNodes lists the nodes holding a replica of a stream, its leader
// included, in order.
func replicaNodes(info *jetstream.StreamInfo) []string {
	nodes := []string{info.Cluster.Leader}
	for _, r := range info.Cluster.Replicas {
		nodes = append(nodes, r.Name)
	}
	slices.Sort(nodes)
	return nodes
}
