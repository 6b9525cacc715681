package config

import (
	"encoding"
	"fmt"
	"strings"
	"time"

	"github.com/zotune/zotune/internal/tomlcheck"
	"github.com/zotune/zotune/simexec"
	"github.com/zotune/zotune/transport"
	"github.com/zotune/zotune/wire"
)

// Defaults of the [daemon] and [[evaluator]] keys whose zero value is not
// their default.
const (
	DefaultDataDir  = "runs"
	DefaultHTTP     = "127.0.0.1:8080"
	DefaultLogLevel = "info"
	DefaultSlots    = 1
	DefaultCount    = 1
)

// logLevels are the values of daemon.log_level.
var logLevels = []string{"debug", "info", "warn", "error"}

// Duration is a time.Duration written in TOML as a string such as "90s",
// "10m" or "1h30m".
type Duration struct{ time.Duration }

var (
	_ encoding.TextUnmarshaler = (*Duration)(nil)
	_ encoding.TextMarshaler   = Duration{}
)

// UnmarshalText parses a duration in time.ParseDuration syntax.
func (d *Duration) UnmarshalText(text []byte) error {
	s := strings.TrimSpace(string(text))
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf("invalid duration %q: want a number with a unit, like \"90s\" or \"10m\"", s)
	}
	d.Duration = v
	return nil
}

// MarshalText formats the duration the way UnmarshalText reads it.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.Duration.String()), nil }

// DaemonConfig is where tunerd keeps its outputs and what it serves.
type DaemonConfig struct {
	DataDir  string `toml:"data_dir"`  // outputs and JetStream store; default "runs"
	HTTP     string `toml:"http"`      // status page and /metrics; default "127.0.0.1:8080"; "" turns it off
	LogLevel string `toml:"log_level"` // debug, info, warn or error; default "info"
	// Heartbeat is how often an evaluator confirms a durable task is still
	// running; a task whose evaluator misses three is redelivered. Default 5s.
	Heartbeat Duration `toml:"heartbeat"`
	// MaxRedeliveries bounds how often a durable task is redelivered before
	// it fails as "stale"; default 3.
	MaxRedeliveries int `toml:"max_redeliveries"`
	// LeaseHeartbeat is how often tunerd serve renews the leases of the
	// studies it drives, when several daemons share a NATS server.
	// LeaseTTL is how long a lease lasts unrenewed before another daemon
	// takes its study over, at least 3 heartbeats. Zero: the defaults of
	// daemon.LeaseOptions (2s and 10s). See docs/failover.md.
	LeaseHeartbeat Duration `toml:"lease_heartbeat"`
	LeaseTTL       Duration `toml:"lease_ttl"`
}

func defaultDaemon() DaemonConfig {
	return DaemonConfig{DataDir: DefaultDataDir, HTTP: DefaultHTTP, LogLevel: DefaultLogLevel,
		Heartbeat: Duration{transport.DefaultHeartbeat}, MaxRedeliveries: transport.DefaultMaxRedeliveries}
}

func (d *DaemonConfig) check(ps *tomlcheck.Problems) {
	if d.DataDir == "" {
		ps.Add("daemon.data_dir", "must not be empty")
	}
	if d.HTTP != "" {
		if err := checkHostPort(d.HTTP, 0); err != nil {
			ps.Add("daemon.http", "%v (\"\" turns the status page off)", err)
		}
	}
	ps.OneOf("daemon.log_level", "log level", d.LogLevel, logLevels)
	if d.Heartbeat.Duration <= 0 {
		ps.Add("daemon.heartbeat", "must be positive, got %s", d.Heartbeat.Duration)
	}
	if d.MaxRedeliveries < 1 {
		ps.Add("daemon.max_redeliveries", "must be at least 1, got %d", d.MaxRedeliveries)
	}
	hb, ttl := d.LeaseHeartbeat.Duration, d.LeaseTTL.Duration
	if hb < 0 {
		ps.Add("daemon.lease_heartbeat", "must be positive, got %s", hb)
	}
	if ttl < 0 {
		ps.Add("daemon.lease_ttl", "must be positive, got %s", ttl)
	}
	if hb > 0 && ttl > 0 && ttl < 3*hb {
		ps.Add("daemon.lease_ttl", "must be at least 3 lease heartbeats (%s), got %s", 3*hb, ttl)
	}
}

// EvaluatorConfig is one [[evaluator]]: simulator processes tunerd starts
// itself to serve an objective. Several entries may serve one objective.
type EvaluatorConfig struct {
	Objective string   `toml:"objective"` // objective served; required
	Command   []string `toml:"command"`   // simulator argv, run without a shell; required
	Mode      string   `toml:"mode"`      // "exec": a process per evaluation; "stdio": a process per slot; default "exec"
	Answers   string   `toml:"answers"`   // stdio: "id", answers echo the request's id; "plain", they need not (unsafe); default "id"
	Slots     int      `toml:"slots"`     // evaluations run at once per process; default 1
	Timeout   Duration `toml:"timeout"`   // limit on one evaluation; default 60s
	Count     int      `toml:"count"`     // evaluator processes started; default 1
	Dir       string   `toml:"dir"`       // base of the per-evaluation working directories; default: a temporary directory
	RunAs     string   `toml:"run_as"`    // user simulators run as: a name, a uid or uid:gid; default "": tunerd's own
}

// defaultEvaluator is the defaults each [[evaluator]] is decoded over.
func defaultEvaluator() EvaluatorConfig {
	return EvaluatorConfig{Mode: string(simexec.ModeExec), Answers: string(simexec.AnswersID), Slots: DefaultSlots,
		Timeout: Duration{simexec.DefaultTimeout}, Count: DefaultCount}
}

func (e *EvaluatorConfig) check(ps *tomlcheck.Problems, key string) {
	switch {
	case e.Objective == "":
		ps.Add(key+".objective", "required")
	case wire.CheckName(e.Objective) != nil:
		ps.Add(key+".objective", "%q: use only letters, digits, '_' and '-'", e.Objective)
	}
	switch {
	case len(e.Command) == 0:
		ps.Add(key+".command", "required: the simulator's argv, like [\"./sim\", \"{x1}\"]")
	case e.Command[0] == "":
		ps.Add(key+".command", "program name (the first element) is empty")
	}
	ps.OneOf(key+".mode", "mode", e.Mode, simexec.Modes)
	ps.OneOf(key+".answers", "answers", e.Answers, simexec.AnswerProtocols)
	if err := simexec.CheckAnswers(simexec.Answers(e.Answers), simexec.Mode(e.Mode)); err != nil {
		ps.Add(key+".answers", "%v", err)
	}
	for _, err := range simexec.CheckStdioCommand(e.Command, simexec.Mode(e.Mode)) {
		ps.Add(key+".command", "%v", err)
	}
	if e.Slots < 1 {
		ps.Add(key+".slots", "must be >= 1 (got %d)", e.Slots)
	}
	if e.Timeout.Duration <= 0 {
		ps.Add(key+".timeout", "must be > 0 (got %v)", e.Timeout.Duration)
	}
	if e.Count < 1 {
		ps.Add(key+".count", "must be >= 1 (got %d)", e.Count)
	}
	if e.RunAs != "" && strings.TrimSpace(e.RunAs) != e.RunAs {
		ps.Add(key+".run_as", "%q: a user name, a uid or uid:gid, without spaces", e.RunAs)
	}
}
