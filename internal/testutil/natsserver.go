package testutil

import (
	"encoding/json"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/natscluster"
)

// NATSServerOptions configures a nats-server process started by
// NATSServer. The zero value is a plain server without JetStream.
type NATSServerOptions struct {
	// Config is nats-server configuration text added to what the helper
	// writes itself (listen address, server name, ports file, JetStream
	// store): authorization, accounts, operator and resolver, tls, cluster.
	Config string
	// StoreDir turns JetStream on with its store in this directory; "":
	// JetStream off (unless Config turns it on).
	StoreDir string
	// Name is the server's name; default "zotune-test".
	Name string
	// Port is the client port on 127.0.0.1; 0: a free one, chosen by the
	// server.
	Port int
	// ReadyTimeout bounds the wait for the server to accept connections;
	// default 30s.
	ReadyTimeout time.Duration
}

// NATSProcess is a nats-server process started by NATSServer.
type NATSProcess struct {
	// URL is the client URL, e.g. nats://127.0.0.1:40321.
	URL string
	// Port is the client port. Restart keeps it.
	Port int
	// Ports is what the server reported listening on, by kind (nats,
	// cluster, monitoring, websocket, profile).
	Ports map[string][]string
	// ConfigFile is the configuration the server was started with.
	ConfigFile string

	opts NATSServerOptions
	dir  string
	cmd  *exec.Cmd
	done chan struct{}
	log  *SyncBuffer
}

var natsBin struct {
	once sync.Once
	dir  string
	path string
	err  error
}

// NATSServerBinary builds the nats-server of the module's go.mod, once per
// test binary, into a temporary directory, and returns its path. A build
// that fails fails the test with the build's output. Call
// RemoveNATSServerBinary from TestMain to remove it after the tests.
func NATSServerBinary(tb testing.TB) string {
	tb.Helper()
	natsBin.once.Do(func() {
		natsBin.dir, natsBin.err = os.MkdirTemp("", "zotune-nats-server-")
		if natsBin.err != nil {
			return
		}
		path := filepath.Join(natsBin.dir, "nats-server")
		out, err := exec.Command("go", "build", "-o", path, "github.com/nats-io/nats-server/v2").CombinedOutput()
		if err != nil {
			natsBin.err = fmt.Errorf("building nats-server: %v\n%s", err, out)
			return
		}
		natsBin.path = path
	})
	if natsBin.err != nil {
		tb.Fatal(natsBin.err)
	}
	return natsBin.path
}

// RemoveNATSServerBinary removes the nats-server built by
// NATSServerBinary, if any.
func RemoveNATSServerBinary() {
	if natsBin.dir != "" {
		os.RemoveAll(natsBin.dir)
	}
}

// NATSServer starts a nats-server process with o and waits until it
// accepts connections. It is killed when the test ends; its output is
// logged if the test failed.
func NATSServer(tb testing.TB, o NATSServerOptions) *NATSProcess {
	tb.Helper()
	if o.Name == "" {
		o.Name = "zotune-test"
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 30 * time.Second
	}
	p := &NATSProcess{opts: o, dir: tb.TempDir(), Port: o.Port}
	tb.Cleanup(func() {
		p.Kill()
		if tb.Failed() {
			tb.Logf("nats-server %s output:\n%s", o.Name, p.Log())
		}
	})
	p.start(tb, NATSServerBinary(tb))
	return p
}

// start writes the config file and starts the server on p.Port (0: any).
func (p *NATSProcess) start(tb testing.TB, bin string) {
	tb.Helper()
	portsDir := filepath.Join(p.dir, fmt.Sprintf("ports-%d", time.Now().UnixNano()))
	if err := os.Mkdir(portsDir, 0o755); err != nil {
		tb.Fatal(err)
	}
	port := p.Port
	if port == 0 {
		port = -1
	}
	conf := fmt.Sprintf("listen: \"127.0.0.1:%d\"\nserver_name: %q\nports_file_dir: %q\n", port, p.opts.Name, portsDir)
	if p.opts.StoreDir != "" {
		conf += fmt.Sprintf("jetstream {\n  store_dir: %q\n}\n", p.opts.StoreDir)
	}
	conf += p.opts.Config + "\n"
	p.ConfigFile = filepath.Join(p.dir, "nats-server.conf")
	if err := os.WriteFile(p.ConfigFile, []byte(conf), 0o600); err != nil {
		tb.Fatal(err)
	}
	if p.log == nil {
		p.log = new(SyncBuffer) // kept across restarts
	}
	p.cmd = exec.Command(bin, "-c", p.ConfigFile)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		tb.Fatal(err)
	}
	p.done = make(chan struct{})
	go func(cmd *exec.Cmd, done chan struct{}) { _ = cmd.Wait(); close(done) }(p.cmd, p.done)
	if err := p.waitReady(portsDir); err != nil {
		p.Kill()
		tb.Fatalf("nats-server: %v\nconfig:\n%s\noutput:\n%s", err, conf, p.Log())
	}
}

// waitReady polls for the ports file, then for the client port to accept
// a connection.
func (p *NATSProcess) waitReady(portsDir string) error {
	deadline := time.Now().Add(p.opts.ReadyTimeout)
	file := filepath.Join(portsDir, fmt.Sprintf("nats-server_%d.ports", p.cmd.Process.Pid))
	var ports map[string][]string
	for {
		select {
		case <-p.done:
			return fmt.Errorf("exited before accepting connections (%v)", p.cmd.ProcessState)
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after %s", p.opts.ReadyTimeout)
		}
		if len(ports["nats"]) == 0 {
			// The file is written in place: a read may see part of it.
			if data, err := os.ReadFile(file); err == nil {
				_ = json.Unmarshal(data, &ports)
			}
		}
		if len(ports["nats"]) > 0 {
			u, err := url.Parse(ports["nats"][0])
			if err != nil {
				return fmt.Errorf("ports file %s: %v", file, err)
			}
			if c, err := net.DialTimeout("tcp", u.Host, time.Second); err == nil {
				c.Close()
				p.Ports, p.URL = ports, u.String()
				p.Port, _ = strconv.Atoi(u.Port())
				return nil
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Log is what the server has written to stdout and stderr.
func (p *NATSProcess) Log() string {
	if p.log == nil {
		return ""
	}
	return p.log.String()
}

// Stop shuts the server down gracefully (SIGTERM) and waits for it to
// exit; after 10s it is killed.
func (p *NATSProcess) Stop() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
		p.Kill()
	}
}

// Kill kills the server (SIGKILL) and waits for it to exit.
func (p *NATSProcess) Kill() {
	if p.cmd == nil || p.cmd.Process == nil {
		return
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Restart stops the server and starts it again with the same config on
// the same port (and store, if any).
func (p *NATSProcess) Restart(tb testing.TB) {
	tb.Helper()
	p.Stop()
	p.start(tb, NATSServerBinary(tb))
}

// NATSCluster starts a NATS cluster on loopback (package natscluster)
// with o, its files in a temporary directory unless o.Dir says otherwise,
// and waits until it has a JetStream meta leader. Its nodes are killed
// when the test ends; if the test failed, the end of each node's log is
// logged.
// Set o.Server to NATSServerBinary(tb) for nodes that are processes.
func NATSCluster(tb testing.TB, o natscluster.Options) *natscluster.Cluster {
	tb.Helper()
	if o.Dir == "" {
		o.Dir = tb.TempDir()
	}
	c, err := natscluster.Start(o)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		c.Close()
		if tb.Failed() {
			for _, n := range c.Nodes() {
				data, _ := os.ReadFile(n.LogFile())
				if len(data) > 8<<10 {
					data = append([]byte("…"), data[len(data)-8<<10:]...)
				}
				tb.Logf("%s log (%s), its end:\n%s", n.Name, n.LogFile(), data)
			}
		}
	})
	return c
}
