package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/zotune/zotune/internal/natscluster"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run starts the cluster the flags in args describe, prints how to use
// it, acts on the commands read from in, and kills the cluster when ctx
// ends. It returns the exit status: 2 for a usage error, 1 when the
// cluster cannot start.
func run(ctx context.Context, args []string, in io.Reader, out, errw io.Writer) int {
	fs := flag.NewFlagSet("natscluster", flag.ContinueOnError)
	fs.SetOutput(errw)
	var o natscluster.Options
	fs.IntVar(&o.Nodes, "n", natscluster.DefaultNodes, "number of nodes")
	fs.StringVar(&o.Dir, "dir", "", "directory of the nodes' configuration, logs and stores (default: a temporary one, removed at exit)")
	fs.StringVar(&o.Server, "nats-server", "", "run each node as a process of this nats-server executable (default: in this process)")
	fs.StringVar(&o.Name, "name", "zotune", "cluster name")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 || o.Nodes < 1 {
		fmt.Fprintln(errw, "usage: natscluster [-n N] [-dir DIR] [-nats-server PATH] [-name NAME]")
		return 2
	}
	c, err := natscluster.Start(o)
	if err != nil {
		fmt.Fprintln(errw, err)
		return 1
	}
	defer c.Close()
	printUsage(out, c)
	go commands(c, in, out)
	<-ctx.Done()
	fmt.Fprintln(out, "stopping the cluster")
	return 0
}

// printUsage prints the nodes, a tunerd config's [nats] table and an
// evaluator command line per node.
func printUsage(w io.Writer, c *natscluster.Cluster) {
	fmt.Fprintf(w, "natscluster: %d nodes, files in %s\n", len(c.Nodes()), c.Dir())
	status(w, c)
	fmt.Fprintf(w, "\n# in tunerd's config.toml:\n[nats]\nurl = %q\nreplicas = %d\n", c.URL(), min(len(c.Nodes()), 3))
	fmt.Fprintln(w, "\n# an evaluator on each node (it learns the other nodes from the cluster, to reconnect to):")
	for _, n := range c.Nodes() {
		fmt.Fprintf(w, "evaluator --nats %s --objective OBJECTIVE -- SIMULATOR ARGS...\n", n.URL())
	}
	fmt.Fprintln(w, "\ncommands: kill N, stop N, start N, status; Ctrl-C stops the cluster")
}

// status prints each node's state and URLs, and the meta leader.
func status(w io.Writer, c *natscluster.Cluster) {
	for _, n := range c.Nodes() {
		state := "down"
		if n.Running() {
			state = "up"
			if pid := n.Pid(); pid != 0 {
				state = fmt.Sprintf("up (pid %d)", pid)
			}
		}
		fmt.Fprintf(w, "  %-3s %-26s monitor %-26s %s\n", n.Name, n.URL(), n.MonitorURL(), state)
	}
	if l, err := c.MetaLeader(); err != nil {
		fmt.Fprintf(w, "  no meta leader yet: %v\n", err)
	} else {
		fmt.Fprintf(w, "  JetStream meta leader: %s\n", l)
	}
}

// commands reads "kill N", "stop N", "start N" and "status" lines from in
// until it ends, and answers each on w.
func commands(c *natscluster.Cluster, in io.Reader, w io.Writer) {
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if err := command(c, f, w); err != nil {
			fmt.Fprintln(w, err)
		}
	}
}

// command runs one command line, split into words.
func command(c *natscluster.Cluster, f []string, w io.Writer) error {
	if f[0] == "status" && len(f) == 1 {
		status(w, c)
		return nil
	}
	if len(f) != 2 {
		return fmt.Errorf("commands: kill N, stop N, start N, status")
	}
	name := f[1]
	if !strings.HasPrefix(name, "n") {
		name = "n" + name
	}
	n := c.Node(name)
	if n == nil {
		return fmt.Errorf("no node %s", f[1])
	}
	switch f[0] {
	case "kill":
		n.Kill()
	case "stop":
		n.Stop()
	case "start":
		if err := n.Start(); err != nil {
			return err
		}
		if err := c.WaitReady(30 * time.Second); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown command %q: kill N, stop N, start N, status", f[0])
	}
	fmt.Fprintf(w, "%s: %s done\n", n.Name, f[0])
	return nil
}
