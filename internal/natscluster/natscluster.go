package natscluster

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Options configures a cluster. The zero value is three embedded nodes in
// a temporary directory.
type Options struct {
	// Nodes is the number of nodes; default 3.
	Nodes int
	// Dir holds each node's files: Dir/nN/ with its configuration
	// (nN.conf), log (nN.log) and JetStream store (jetstream/). "": a
	// temporary directory, removed by Close.
	Dir string
	// Name is the cluster's name; default "zotune".
	Name string
	// Server is the path of a nats-server executable to run each node as
	// a process of; "": the nodes run in this process.
	Server string
	// Config is nats-server configuration text added to every node's:
	// accounts, authorization, tls. It must not set what the cluster sets
	// itself: server_name, listen, http, log_file, jetstream, cluster.
	Config string
	// ReadyTimeout bounds each wait: for a node to accept connections,
	// for the cluster to have a meta leader, for a stopped process to
	// exit. Default 30s.
	ReadyTimeout time.Duration
}

// DefaultNodes is the size of a cluster whose Options do not say.
const DefaultNodes = 3

func (o *Options) defaults() {
	if o.Nodes <= 0 {
		o.Nodes = DefaultNodes
	}
	if o.Name == "" {
		o.Name = "zotune"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 30 * time.Second
	}
}

// Cluster is a running NATS cluster on loopback.
type Cluster struct {
	o     Options
	nodes []*Node
	tmp   bool // Start created o.Dir: Close removes it
}

// Start writes each node's configuration, starts the nodes and waits
// until the cluster has a JetStream meta leader every node follows. On an
// error, the nodes already started are killed.
func Start(o Options) (*Cluster, error) {
	o.defaults()
	c := &Cluster{o: o}
	if c.o.Dir == "" {
		dir, err := os.MkdirTemp("", "natscluster-")
		if err != nil {
			return nil, fmt.Errorf("natscluster: %w", err)
		}
		c.o.Dir, c.tmp = dir, true
	}
	if err := c.configure(); err != nil {
		c.Close()
		return nil, err
	}
	for _, n := range c.nodes {
		if err := n.Start(); err != nil {
			c.Close()
			return nil, err
		}
	}
	if err := c.WaitReady(c.o.ReadyTimeout); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// configure picks the nodes' ports and writes their configuration files.
func (c *Cluster) configure() error {
	ports, err := freePorts(3 * c.o.Nodes)
	if err != nil {
		return err
	}
	routes := make([]string, c.o.Nodes)
	for i := range c.o.Nodes {
		routes[i] = fmt.Sprintf("nats-route://127.0.0.1:%d", ports[3*i+1])
	}
	for i := range c.o.Nodes {
		name := fmt.Sprintf("n%d", i+1)
		n := &Node{
			Name: name, Port: ports[3*i], ClusterPort: ports[3*i+1], MonitorPort: ports[3*i+2],
			dir: filepath.Join(c.o.Dir, name), server: c.o.Server, ready: c.o.ReadyTimeout,
		}
		if err := n.writeConfig(c.o, routes); err != nil {
			return err
		}
		c.nodes = append(c.nodes, n)
	}
	return nil
}

// writeConfig writes the node's configuration file. Every node lists the
// routes to all nodes, its own included (the server ignores a route to
// itself): that is how each knows the cluster's size before the others
// answer, and so how many peers the JetStream meta group needs. A cluster
// of one node is a plain server, without routes: JetStream does not form
// a meta group of one.
func (n *Node) writeConfig(o Options, routes []string) error {
	if err := os.MkdirAll(n.dir, 0o755); err != nil {
		return fmt.Errorf("natscluster: %w", err)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "server_name: %q\nlisten: \"127.0.0.1:%d\"\nhttp: \"127.0.0.1:%d\"\n", n.Name, n.Port, n.MonitorPort)
	fmt.Fprintf(&b, "log_file: %q\n", n.LogFile())
	fmt.Fprintf(&b, "jetstream {\n  store_dir: %q\n}\n", filepath.Join(n.dir, "jetstream"))
	if len(routes) > 1 { // one node is a single server: JetStream is not clustered
		fmt.Fprintf(&b, "cluster {\n  name: %q\n  listen: \"127.0.0.1:%d\"\n  routes: [\n", o.Name, n.ClusterPort)
		for _, r := range routes {
			fmt.Fprintf(&b, "    %q\n", r)
		}
		b.WriteString("  ]\n}\n")
	}
	b.WriteString(o.Config + "\n")
	n.conf = filepath.Join(n.dir, n.Name+".conf")
	if err := os.WriteFile(n.conf, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("natscluster: %w", err)
	}
	return nil
}

// freePorts returns n distinct free TCP ports of 127.0.0.1: it binds them
// all at once to port 0, then releases them for the nodes to bind.
func freePorts(n int) ([]int, error) {
	ports := make([]int, 0, n)
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("natscluster: finding a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// Nodes returns the cluster's nodes, n1 first.
func (c *Cluster) Nodes() []*Node { return c.nodes }

// Node returns the node named name (n1, n2, …), or nil.
func (c *Cluster) Node(name string) *Node {
	for _, n := range c.nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// URLs returns each node's client URL, n1 first.
func (c *Cluster) URLs() []string {
	urls := make([]string, len(c.nodes))
	for i, n := range c.nodes {
		urls[i] = n.URL()
	}
	return urls
}

// URL returns the client URLs of every node, comma-separated: what a
// client (nats.url of tunerd, evaluator --nats) is given.
func (c *Cluster) URL() string { return strings.Join(c.URLs(), ",") }

// Dir is the directory of the nodes' files.
func (c *Cluster) Dir() string { return c.o.Dir }

// Close kills every node and, if Start created the directory of their
// files, removes it.
func (c *Cluster) Close() {
	for _, n := range c.nodes {
		n.Kill()
	}
	if c.tmp {
		os.RemoveAll(c.o.Dir)
	}
}

// WaitReady polls the running nodes' /jsz until every one names the same
// JetStream meta leader and that leader sees every other running node as
// a current peer, or timeout passes.
func (c *Cluster) WaitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		state, err := c.metaState()
		if err == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("natscluster: no JetStream meta leader that every node follows after %s: %w (%s)", timeout, err, state)
		}
		time.Sleep(wait)
	}
}

// ErrNotReady is wrapped by the errors of WaitReady and MetaLeader while
// the cluster has no meta leader, or not every running node follows it.
var ErrNotReady = errors.New("natscluster: cluster not ready")

// MetaLeader returns the name of the node that leads the JetStream meta
// group, if every running node follows it.
func (c *Cluster) MetaLeader() (string, error) {
	var leader string
	_, err := c.meta(func(l string) { leader = l })
	return leader, err
}

// metaState checks readiness and describes what each node reported.
func (c *Cluster) metaState() (string, error) {
	return c.meta(nil)
}

// meta reads /jsz of every running node and checks that they name one
// leader, which sees every other running node as current; found gets the
// leader's name. It returns a description of what the nodes reported.
func (c *Cluster) meta(found func(string)) (string, error) {
	var desc []string
	leader := ""
	var leaderInfo *jsz
	running := 0
	for _, n := range c.nodes {
		if !n.Running() {
			desc = append(desc, n.Name+": down")
			continue
		}
		running++
		info, err := n.jsz()
		if err != nil {
			return strings.Join(append(desc, n.Name+": "+err.Error()), "; "), fmt.Errorf("%w: %s: %v", ErrNotReady, n.Name, err)
		}
		l := info.Meta.Leader
		if len(c.nodes) == 1 { // a single server leads itself
			l, info.Meta.Leader = n.Name, n.Name
		}
		desc = append(desc, fmt.Sprintf("%s: leader %q", n.Name, l))
		switch {
		case l == "":
			return strings.Join(desc, "; "), fmt.Errorf("%w: %s has no meta leader", ErrNotReady, n.Name)
		case leader != "" && l != leader:
			return strings.Join(desc, "; "), fmt.Errorf("%w: nodes name different meta leaders, %s and %s", ErrNotReady, leader, l)
		}
		leader = l
		if l == n.Name {
			leaderInfo = info
		}
	}
	if running == 0 {
		return strings.Join(desc, "; "), fmt.Errorf("%w: no node is running", ErrNotReady)
	}
	if leaderInfo == nil {
		return strings.Join(desc, "; "), fmt.Errorf("%w: the meta leader %s is not a running node", ErrNotReady, leader)
	}
	if err := c.peersCurrent(leaderInfo); err != nil {
		return strings.Join(desc, "; "), err
	}
	if found != nil {
		found(leader)
	}
	return strings.Join(desc, "; "), nil
}

// peersCurrent checks that the meta leader's /jsz lists every other
// running node as a current, online peer.
func (c *Cluster) peersCurrent(leader *jsz) error {
	peers := map[string]bool{}
	for _, p := range leader.Meta.Replicas {
		peers[p.Name] = p.Current && !p.Offline
	}
	for _, n := range c.nodes {
		if n.Name != leader.Meta.Leader && n.Running() && !peers[n.Name] {
			return fmt.Errorf("%w: the meta leader %s does not see %s as a current peer", ErrNotReady, leader.Meta.Leader, n.Name)
		}
	}
	return nil
}
