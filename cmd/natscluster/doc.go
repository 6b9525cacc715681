// Command natscluster runs a NATS cluster on loopback to try zotune on:
// N nats-server nodes (3 by default) with JetStream, routed to one
// another, on free ports of 127.0.0.1 (package internal/natscluster).
//
// Usage:
//
//	go run ./cmd/natscluster [-n 3] [-dir DIR] [-nats-server PATH]
//
// It prints each node's client and monitoring URL, the [nats] table of a
// tunerd config that uses the cluster (every node's URL, replicas = N),
// and an evaluator command line per node, then runs until interrupted
// (Ctrl-C, SIGTERM), when it kills the nodes.
//
// The nodes run in this process unless -nats-server names a nats-server
// executable, in which case each is a process of it (printed with its
// pid) and can be killed from another shell with kill -9. Lines on stdin
// act on a node: "kill 2" (or "kill n2"), "stop 2", "start 2", and
// "status" prints the nodes and the meta leader.
//
// -dir keeps the nodes' configuration, logs and JetStream stores there
// (DIR/n1, DIR/n2, …); without it they go to a temporary directory,
// removed at exit.
package main
