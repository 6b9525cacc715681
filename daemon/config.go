package daemon

import (
	"time"

	"github.com/zotune/zotune/study"
)

// Config is what a daemon runs: where it keeps its outputs and store, how
// it reaches NATS, the evaluator processes it starts itself, and the
// studies. The config package builds one from a config file.
type Config struct {
	DataDir  string // outputs (DataDir/<study>/), the embedded server's store, the lock
	LogLevel string // the level evaluators the daemon starts log at
	// HTTP is where the status page, /metrics and /healthz are served
	// (host:port; port 0: a free one, written to DataDir/http.url); "":
	// not served.
	HTTP string
	NATS NATS
	// Heartbeat is how often an evaluator confirms a durable task is
	// still running; MaxRedeliveries bounds the redeliveries of one task.
	// Zero: transport's defaults.
	Heartbeat       time.Duration
	MaxRedeliveries int
	// Lease is how a serving daemon holds the studies it drives, when
	// several share a NATS server (docs/failover.md).
	Lease      LeaseOptions
	Evaluators []Evaluator
	Studies    []study.Spec
}

// NATS says which NATS server to use and how to authenticate. With URL
// empty the daemon starts an embedded server, which the same credentials
// protect. See docs/security.md.
type NATS struct {
	URL      string // server URL(s), comma separated; "": an embedded server
	Listen   string // the embedded server's host:port; "": a free loopback port
	Token    string
	User     string
	Password string
	Creds    string // nkeys/JWT credentials file (external servers)
	NKey     string // nkey seed file (external servers)
	TLSCA    string // CA to verify the server; the embedded server verifies clients with it
	TLSCert  string // client certificate, or the embedded server's own
	TLSKey   string
	Replicas int // JetStream stream replicas; 0 or 1 on a single server
	// Open says that the embedded server listens where other hosts reach
	// it without credentials, as the config allowed explicitly: the daemon
	// warns about it at start.
	Open bool
}

// Evaluator is one kind of evaluator process the daemon starts: Count
// processes serving Objective by running Command.
type Evaluator struct {
	Objective string
	Command   []string // simulator argv, placeholders as simexec reads them
	Mode      string   // "exec" or "stdio"
	Answers   string   // stdio: "id" or "plain"
	Slots     int      // simulations at once per process
	Timeout   time.Duration
	Count     int
	Dir       string // base of the working directories; "": a temporary one
	RunAs     string // user the simulators run as; "": the daemon's own
}
