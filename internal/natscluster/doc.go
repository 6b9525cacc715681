// Package natscluster runs a NATS cluster on loopback for tests,
// benchmarks and people trying zotune on a cluster by hand: N nats-server
// nodes (3 by default) with JetStream, each with its own store directory,
// routed to one another, on free ports of 127.0.0.1. Start returns once
// the cluster has a JetStream meta leader that every node follows; a node
// can then be killed, stopped and started again on the same ports and
// store.
//
// Nodes run in one of two ways. Embedded (Options.Server empty): each node
// is a server.Server in the calling process; Kill is its Shutdown, which
// steps its Raft leaderships down to the other nodes before it goes, so
// the rest of the cluster never has to notice a dead leader. Separate
// processes (Options.Server naming a nats-server executable, such as one
// built from this module's go.mod): Kill is SIGKILL, a node that vanishes
// mid-write with its leaderships, as a crashed or powered-off machine
// does; the survivors elect new leaders after their election timeouts.
// The failure tests use processes for that realism; embedded nodes need no
// binary and start faster.
//
// Both ways read the same configuration file, written per node into its
// directory (nN.conf), and log to nN.log there. Each node serves the
// monitoring endpoints on a port of its own (Node.MonitorURL), which is
// how readiness is checked: /jsz of every running node must name the same
// meta leader, and the leader must see every other running node as
// current.
//
// Ports are picked free by binding to port 0 and released just before the
// nodes bind them again: the routes between nodes must name each other's
// ports before any node starts. A port taken by another program in between
// makes Start fail with the node's log; it does not go unnoticed.
//
// The command cmd/natscluster runs such a cluster from a shell.
package natscluster
