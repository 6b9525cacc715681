package natscluster

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Node is one server of a cluster. Its ports and store stay the same
// across a restart.
type Node struct {
	// Name is the node's server name: n1, n2, …
	Name string
	// Port, ClusterPort and MonitorPort are the node's client, route and
	// monitoring ports on 127.0.0.1.
	Port, ClusterPort, MonitorPort int

	dir, conf, server string
	ready             time.Duration

	mu   sync.Mutex
	srv  *server.Server // embedded
	cmd  *exec.Cmd      // process
	done chan struct{}  // closed when the process has exited
}

// URL is the node's client URL, e.g. nats://127.0.0.1:40321.
func (n *Node) URL() string { return "nats://127.0.0.1:" + strconv.Itoa(n.Port) }

// MonitorURL is the base URL of the node's monitoring endpoints (/jsz,
// /connz, /routez, …).
func (n *Node) MonitorURL() string { return "http://127.0.0.1:" + strconv.Itoa(n.MonitorPort) }

// LogFile is the file the node logs to.
func (n *Node) LogFile() string { return filepath.Join(n.dir, n.Name+".log") }

// ConfigFile is the node's nats-server configuration.
func (n *Node) ConfigFile() string { return n.conf }

// Pid is the node's process id, or 0 when it runs embedded or is down.
func (n *Node) Pid() int {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.cmd == nil || !n.runningLocked() {
		return 0
	}
	return n.cmd.Process.Pid
}

// Running reports whether the node has been started and has not been
// killed or stopped (nor, as a process, exited).
func (n *Node) Running() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.runningLocked()
}

func (n *Node) runningLocked() bool {
	switch {
	case n.srv != nil:
		return n.srv.Running()
	case n.cmd != nil:
		select {
		case <-n.done:
			return false
		default:
			return true
		}
	}
	return false
}

// Start starts the node (again, after Kill or Stop) with its
// configuration, and waits until it accepts client connections. It does
// not wait for the node to rejoin JetStream: see Cluster.WaitReady.
func (n *Node) Start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.runningLocked() {
		return fmt.Errorf("natscluster: %s is already running", n.Name)
	}
	if n.server == "" {
		return n.startEmbedded()
	}
	return n.startProcess()
}

// startEmbedded runs the node in this process. NoSigs: the server must
// not take the host program's signals.
func (n *Node) startEmbedded() error {
	opts, err := server.ProcessConfigFile(n.conf)
	if err != nil {
		return fmt.Errorf("natscluster: %s: %w", n.Name, err)
	}
	opts.NoSigs = true
	s, err := server.NewServer(opts)
	if err != nil {
		return fmt.Errorf("natscluster: %s: %w", n.Name, err)
	}
	s.ConfigureLogger()
	go s.Start()
	if !s.ReadyForConnections(n.ready) {
		s.Shutdown()
		s.WaitForShutdown()
		return fmt.Errorf("natscluster: %s not accepting connections after %s (a port taken meanwhile?); see %s", n.Name, n.ready, n.LogFile())
	}
	n.srv = s
	return nil
}

// startProcess runs the node as a process of the nats-server executable.
// It gets SIGKILL when the thread that started it exits, so that nodes do
// not outlive a test binary killed on a timeout.
func (n *Node) startProcess() error {
	out, err := os.OpenFile(filepath.Join(n.dir, n.Name+".out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("natscluster: %w", err)
	}
	defer out.Close()
	cmd := exec.Command(n.server, "-c", n.conf)
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("natscluster: %s: %w", n.Name, err)
	}
	done := make(chan struct{})
	go func() { _ = cmd.Wait(); close(done) }()
	n.cmd, n.done = cmd, done
	return n.waitListening()
}

// waitListening polls the process's client port until it accepts a
// connection; it fails if the process exits first or the wait times out.
func (n *Node) waitListening() error {
	deadline := time.Now().Add(n.ready)
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(n.Port))
	for wait := time.Millisecond; ; wait = min(2*wait, 50*time.Millisecond) {
		select {
		case <-n.done:
			return fmt.Errorf("natscluster: %s exited at start (%v); see %s and %s.out", n.Name, n.cmd.ProcessState, n.LogFile(), filepath.Join(n.dir, n.Name))
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("natscluster: %s not accepting connections after %s; see %s", n.Name, n.ready, n.LogFile())
		}
		time.Sleep(wait)
	}
}

// Kill ends the node at once: SIGKILL for a process (it vanishes with its
// Raft leaderships, unflushed writes and connections), Shutdown for an
// embedded node (which first hands its leaderships over). It waits until
// the node is gone. Killing a node that is down does nothing.
func (n *Node) Kill() {
	n.mu.Lock()
	defer n.mu.Unlock()
	switch {
	case n.srv != nil:
		n.srv.Shutdown()
		n.srv.WaitForShutdown()
		n.srv = nil
	case n.cmd != nil:
		_ = n.cmd.Process.Kill()
		<-n.done
		n.cmd = nil
	}
}

// Stop shuts the node down gracefully: SIGTERM for a process (killed if
// it has not exited within the ready timeout), Shutdown for an embedded
// node.
func (n *Node) Stop() {
	n.mu.Lock()
	if n.cmd != nil {
		_ = n.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-n.done:
		case <-time.After(n.ready):
		}
	}
	n.mu.Unlock()
	n.Kill()
}

// jsz is the part of a node's /jsz that readiness needs.
type jsz struct {
	Meta struct {
		Leader   string `json:"leader"`
		Replicas []struct {
			Name    string `json:"name"`
			Current bool   `json:"current"`
			Offline bool   `json:"offline"`
		} `json:"replicas"`
	} `json:"meta_cluster"`
}

var monitor = &http.Client{Timeout: 2 * time.Second}

// getJSON reads a monitoring endpoint of the node into v.
func (n *Node) getJSON(path string, v any) error {
	resp, err := monitor.Get(n.MonitorURL() + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

func (n *Node) jsz() (*jsz, error) {
	var j jsz
	if err := n.getJSON("/jsz", &j); err != nil {
		return nil, err
	}
	return &j, nil
}

// Clients returns the names of the clients connected to the node (what
// each gave as its connection name; "" for those that gave none).
func (n *Node) Clients() ([]string, error) {
	var connz struct {
		Conns []struct {
			Name string `json:"name"`
		} `json:"connections"`
	}
	if err := n.getJSON("/connz?limit=100000", &connz); err != nil {
		return nil, fmt.Errorf("natscluster: %s: %w", n.Name, err)
	}
	names := make([]string, len(connz.Conns))
	for i, c := range connz.Conns {
		names[i] = c.Name
	}
	return names, nil
}
