package study

import (
	"cmp"
	"encoding"
	"errors"
	"fmt"
	"maps"
	"math"
	"math/rand/v2"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/zotune/zotune/wire"
	"github.com/zotune/zotune/zo"
)

// Algorithms lists the values accepted for a study's algorithm: the
// methods zo.NewMethod can build. A config naming any other is rejected
// before anything runs.
var Algorithms = zo.Methods

// Curvatures lists the values accepted for a study's curvature: how
// negative curvature is found at a point with a small gradient (see
// NewFinder).
var Curvatures = []string{"lanczos", "online", "deterministic", "dimer", "power", "none"}

// Estimators lists the gradient estimators a study may name.
var Estimators = zo.Estimators

// Values accepted by the remaining enumerated keys.
var (
	modes      = []string{"exec", "stdio"}
	answers    = []string{"id", "plain"}
	dispatches = []string{"direct", "durable"}
	logLevels  = []string{"debug", "info", "warn", "error"}
	scales     = []string{"linear", "log"}
)

// Defaults of the keys whose zero value is not their default.
const (
	DefaultDataDir        = "runs"
	DefaultHTTP           = "127.0.0.1:8080"
	DefaultLogLevel       = "info"
	DefaultHeartbeat      = 5 * time.Second
	DefaultMode           = "exec"
	DefaultAnswers        = "id"
	DefaultTimeout        = 60 * time.Second
	DefaultAlgorithm      = "zo-gd"
	DefaultCurvature      = "lanczos"
	DefaultSeed           = 1
	DefaultEpsilon        = 1e-3
	DefaultMaxEvaluations = 20000
	DefaultDispatch       = "durable"
	DefaultScale          = "linear"
)

// reservedNames are argv placeholders filled by the evaluator itself; a
// parameter cannot take one of these names.
var reservedNames = []string{"seed", "trial", "study", "workdir"}

var (
	tokenRE      = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)
	identifierRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*$`)
	// placeholderRE finds the {name} placeholders of a command argument,
	// as the evaluator reads them.
	placeholderRE = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_.-]*)\}`)
)

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

// Config is a tunerd config file: how to reach NATS, how the daemon runs,
// the evaluator processes tunerd starts itself, and the studies to run.
type Config struct {
	NATS       NATSConfig        `toml:"nats"`
	Daemon     DaemonConfig      `toml:"daemon"`
	Evaluators []EvaluatorConfig `toml:"evaluator"`
	Studies    []StudyConfig     `toml:"study"`

	// Dir is the directory of the config file. Relative paths in the file
	// were resolved against it when it was loaded.
	Dir string `toml:"-"`
}

// NATSConfig says which NATS server to use and how to authenticate. The same
// credentials make the embedded server admit clients and let tunerd connect.
// See docs/security.md.
type NATSConfig struct {
	URL      string `toml:"url"`      // server URL(s), comma separated; default "": start an embedded server
	Listen   string `toml:"listen"`   // embedded server's host:port; default "": a free loopback port
	Token    string `toml:"token"`    // default "": none
	Creds    string `toml:"creds"`    // nkeys/JWT credentials file; default "": none
	NKey     string `toml:"nkey"`     // nkey seed file; default "": none
	User     string `toml:"user"`     // default "": none; needs Password
	Password string `toml:"password"` // default "": none; needs User
	// TLSCA is the CA certificate file clients verify the server with
	// (default "": system roots); with the embedded server it also makes
	// the server require client certificates signed by it.
	TLSCA string `toml:"tls_ca"`
	// TLSCert and TLSKey are the client certificate and key presented to an
	// external server, or the embedded server's own, which then serves TLS.
	TLSCert  string `toml:"tls_cert"`
	TLSKey   string `toml:"tls_key"`
	Replicas int    `toml:"replicas"` // JetStream stream replicas: 1 (default) on one server, 3 on a cluster
	// AllowUnauthenticated lets the embedded server listen on an address
	// other hosts reach without requiring credentials; default false: such
	// a config is refused.
	AllowUnauthenticated bool `toml:"allow_unauthenticated"`
}

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

// StudyConfig is one [[study]]: an objective, a method and a budget.
type StudyConfig struct {
	Name           string   `toml:"name"`            // unique; letters, digits, '_' and '-'; required
	Objective      string   `toml:"objective"`       // objective to minimise; required
	Algorithm      string   `toml:"algorithm"`       // one of Algorithms; default "zo-gd"
	Curvature      string   `toml:"curvature"`       // one of Curvatures; default "lanczos"
	Seed           uint64   `toml:"seed"`            // fixes the whole run; default 1
	Samples        int      `toml:"samples"`         // distinct simulator seeds; default 1 (deterministic objective)
	Epsilon        float64  `toml:"epsilon"`         // target gradient norm, unit coordinates; default 1e-3
	Delta          float64  `toml:"delta"`           // accepted lambda_min >= -Delta; default 0: derived from Epsilon
	MaxEvaluations int      `toml:"max_evaluations"` // evaluation budget; default 20000
	MaxTime        Duration `toml:"max_time"`        // wall-clock budget; default 0: none
	Target         *float64 `toml:"target"`          // stop once a value <= Target is seen; default nil: none
	Estimator      string   `toml:"estimator"`       // gradient estimator: coord (default), coord-forward, rand, gauss, randomk; where the algorithm allows
	Dispatch       string   `toml:"dispatch"`        // "durable" (default): JetStream work queue; "direct": request/reply
	// OnFailure is what a failed evaluation means: "retry" (default),
	// "penalize" or "abort" (see FailurePolicies).
	OnFailure string `toml:"on_failure"`
	// MaxRetries is how often an evaluation that failed for a transient
	// reason (timeout, crash, start, delivery, stale) is sent again;
	// default 2; 0: never.
	MaxRetries int `toml:"max_retries"`
	// Penalty is the value of a failed evaluation under "penalize";
	// default nil: the worst value seen so far.
	Penalty *float64      `toml:"penalty"`
	Params  []ParamConfig `toml:"param"` // the parameters tuned; at least one
}

// FailurePolicy returns the study's failure policy.
func (s *StudyConfig) FailurePolicy() FailurePolicy {
	return FailurePolicy{OnFailure: s.OnFailure, MaxRetries: s.MaxRetries, Penalty: s.Penalty}
}

// ParamConfig is one [[study.param]]: a named, bounded parameter.
type ParamConfig struct {
	Name  string   `toml:"name"`  // identifier, unique in its study, not seed, trial, study or workdir; required
	Min   float64  `toml:"min"`   // lower bound, finite; required
	Max   float64  `toml:"max"`   // upper bound, finite, above Min; required
	Init  *float64 `toml:"init"`  // start value in [Min, Max]; default nil: the centre (geometric centre for log)
	Scale string   `toml:"scale"` // "linear" or "log" (needs Min > 0); default "linear"
}

// DefaultConfig returns the defaults a config file is decoded over.
func DefaultConfig() Config {
	return Config{
		NATS:   NATSConfig{Replicas: 1},
		Daemon: DaemonConfig{DataDir: DefaultDataDir, HTTP: DefaultHTTP, LogLevel: DefaultLogLevel, Heartbeat: Duration{DefaultHeartbeat}, MaxRedeliveries: 3},
	}
}

// defaultEvaluator, defaultStudy and defaultParam are the defaults each
// array-of-tables element is decoded over.
func defaultEvaluator() EvaluatorConfig {
	return EvaluatorConfig{Mode: DefaultMode, Answers: DefaultAnswers, Slots: 1, Timeout: Duration{DefaultTimeout}, Count: 1}
}

func defaultStudy() StudyConfig {
	return StudyConfig{
		Algorithm:      DefaultAlgorithm,
		Curvature:      DefaultCurvature,
		Seed:           DefaultSeed,
		Samples:        1,
		Epsilon:        DefaultEpsilon,
		MaxEvaluations: DefaultMaxEvaluations,
		Dispatch:       DefaultDispatch,
		OnFailure:      OnFailureRetry,
		MaxRetries:     DefaultMaxRetries,
	}
}

func defaultParam() ParamConfig { return ParamConfig{Scale: DefaultScale} }

// Study returns the study called name.
func (c *Config) Study(name string) (*StudyConfig, bool) {
	for i := range c.Studies {
		if c.Studies[i].Name == name {
			return &c.Studies[i], true
		}
	}
	return nil, false
}

// A ConfigError is one problem with a config: the key at fault, where it is
// written, and what is wrong with it.
type ConfigError struct {
	File string // config file as named to Load; "" when parsed from bytes
	Line int    // 1-based line of the key; 0 when unknown
	Key  string // path of the key, like study[1].param[0].max
	Msg  string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d: ", e.File, e.Line)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d: ", e.Line)
	}
	if e.Key != "" {
		b.WriteString(e.Key + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads the config file at path. See Parse.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("study: read config: %w", err)
	}
	return parse(data, filepath.Dir(path), path)
}

// Parse decodes a config over DefaultConfig, rejecting unknown keys and
// wrong types, resolves relative paths against dir, and validates the
// result. Every problem found is reported, one *ConfigError per line of the
// returned error, sorted by line.
func Parse(data []byte, dir string) (*Config, error) {
	return parse(data, dir, "")
}

// document is the top level of a config file. Each table is decoded on its
// own, over its defaults, so that a wrong type is traced to the element it
// is in and the other elements are still checked.
type document struct {
	NATS       toml.Primitive   `toml:"nats"`
	Daemon     toml.Primitive   `toml:"daemon"`
	Evaluators []toml.Primitive `toml:"evaluator"`
	Studies    []toml.Primitive `toml:"study"`
}

// studyDocument is a [[study]] with its params left for later, and its seed
// read signed so that a negative seed is refused rather than wrapped around.
type studyDocument struct {
	StudyConfig
	Seed   *int64           `toml:"seed"`
	Params []toml.Primitive `toml:"param"`
}

func parse(data []byte, dir, file string) (*Config, error) {
	absDir, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("study: config directory: %w", err)
	}
	finish := func(probs []*ConfigError) error {
		for _, p := range probs {
			p.File = file
		}
		slices.SortStableFunc(probs, func(a, b *ConfigError) int {
			// Problems without a line go last.
			return cmp.Compare(uint(a.Line-1), uint(b.Line-1))
		})
		return joinProblems(probs)
	}

	var doc document
	md, err := toml.Decode(string(data), &doc)
	if err != nil {
		var pe toml.ParseError
		if errors.As(err, &pe) { // a syntax error: the text has no structure to index
			return nil, finish([]*ConfigError{{Line: pe.Position.Line, Key: pe.LastKey, Msg: pe.Message}})
		}
		return nil, finish([]*ConfigError{decodeProblem(err, "", nil, scanPositions(string(data)))})
	}
	pos := scanPositions(string(data))

	c := DefaultConfig()
	c.Dir = absDir
	var (
		probs  []*ConfigError
		broken []string // keys that failed to decode, left at their defaults
	)
	decode := func(prim toml.Primitive, v any, path string, ctx ...string) {
		err := md.PrimitiveDecode(prim, v)
		if err == nil {
			return
		}
		// The decoder stops at the first wrong type it meets, in map
		// order. Decode key by key to find them all and keep the rest.
		errs := decodeFields(&md, prim, v)
		if len(errs) == 0 {
			errs = []error{err}
		}
		for _, err := range errs {
			p := decodeProblem(err, path, ctx, pos)
			probs = append(probs, p)
			broken = append(broken, p.Key)
		}
	}
	if md.IsDefined("nats") {
		decode(doc.NATS, &c.NATS, "nats", "nats")
	}
	if md.IsDefined("daemon") {
		decode(doc.Daemon, &c.Daemon, "daemon", "daemon")
	}
	for i, prim := range doc.Evaluators {
		ev := defaultEvaluator()
		decode(prim, &ev, fmt.Sprintf("evaluator[%d]", i), "evaluator")
		c.Evaluators = append(c.Evaluators, ev)
	}
	for i, prim := range doc.Studies {
		path := fmt.Sprintf("study[%d]", i)
		sd := studyDocument{StudyConfig: defaultStudy()}
		decode(prim, &sd, path, "study")
		if sd.Seed != nil {
			if *sd.Seed < 0 {
				probs = append(probs, &ConfigError{Key: path + ".seed", Msg: fmt.Sprintf("must be >= 0 (got %d)", *sd.Seed)})
			}
			sd.StudyConfig.Seed = uint64(*sd.Seed)
		}
		for j, pp := range sd.Params {
			p := defaultParam()
			pkey := fmt.Sprintf("%s.param[%d]", path, j)
			decode(pp, &p, pkey, "study", "param")
			// min and max have no default: 0 is a bound like any other,
			// so an absent one must be reported, not taken as 0.
			if missing := missingKeys(&md, pp, "min", "max"); len(missing) > 0 {
				for _, k := range missing {
					probs = append(probs, &ConfigError{Key: pkey + "." + k, Msg: "required: the parameter's " + map[string]string{"min": "lower", "max": "upper"}[k] + " bound"})
				}
				// What validation says about the range would only be noise.
				broken = append(broken, pkey+".min", pkey+".max", pkey+".init")
			}
			sd.StudyConfig.Params = append(sd.StudyConfig.Params, p)
		}
		c.Studies = append(c.Studies, sd.StudyConfig)
	}
	probs = append(probs, unknownKeys(&md, pos)...)

	c.resolvePaths()
	for _, p := range c.problems() {
		// A key of the wrong type kept its default; what validation
		// says about that default would only be noise.
		if slices.ContainsFunc(broken, func(b string) bool { return within(p.Key, b) }) {
			continue
		}
		probs = append(probs, p)
	}
	for _, p := range probs {
		if p.Line == 0 {
			p.Line = pos.line(p.Key)
		}
	}
	if len(probs) > 0 {
		return nil, finish(probs)
	}
	return &c, nil
}

// decodeFields decodes the keys of the table prim one at a time into the
// fields of the struct *v and returns every error. Unknown keys are left to
// unknownKeys.
func decodeFields(md *toml.MetaData, prim toml.Primitive, v any) []error {
	var keys map[string]toml.Primitive
	if err := md.PrimitiveDecode(prim, &keys); err != nil {
		return []error{err}
	}
	rv := reflect.ValueOf(v).Elem()
	fields := map[string]reflect.Value{}
	for _, f := range reflect.VisibleFields(rv.Type()) {
		if name, _, _ := strings.Cut(f.Tag.Get("toml"), ","); name != "" && name != "-" && !f.Anonymous {
			fields[name] = rv.FieldByIndex(f.Index)
		}
	}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if fv, ok := fields[k]; ok {
			if err := md.PrimitiveDecode(keys[k], fv.Addr().Interface()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errs
}

// missingKeys returns those of keys that the table prim does not set. A key
// written in another case counts as set: it is reported as misspelt.
func missingKeys(md *toml.MetaData, prim toml.Primitive, keys ...string) []string {
	var set map[string]toml.Primitive
	if err := md.PrimitiveDecode(prim, &set); err != nil {
		return nil // not a table: reported as a type error
	}
	var missing []string
	for _, k := range keys {
		found := false
		for s := range set {
			found = found || strings.EqualFold(s, k)
		}
		if !found {
			missing = append(missing, k)
		}
	}
	return missing
}

// within reports whether key is path or a key inside it.
func within(key, path string) bool {
	if !strings.HasPrefix(key, path) {
		return false
	}
	rest := key[len(path):]
	return rest == "" || rest[0] == '.' || rest[0] == '['
}

func joinProblems(probs []*ConfigError) error {
	if len(probs) == 0 {
		return nil
	}
	errs := make([]error, len(probs))
	for i, p := range probs {
		errs[i] = p
	}
	return errors.Join(errs...)
}

// resolvePaths makes the file paths of c absolute, relative to c.Dir. The
// simulator command is resolved only when it names a path ("./sim",
// "bin/sim"); a bare name ("python3") is left for the PATH lookup. Any
// later argument that is "." or starts with "./" or "../" is resolved too,
// so that ["go", "-C", ".", "run", "./sims/x"] or ["python3", "./sim.py"]
// work from the evaluator's per-run working directory.
func (c *Config) resolvePaths() {
	abs := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(c.Dir, p)
	}
	c.NATS.Creds = abs(c.NATS.Creds)
	c.NATS.NKey = abs(c.NATS.NKey)
	c.NATS.TLSCA = abs(c.NATS.TLSCA)
	c.NATS.TLSCert = abs(c.NATS.TLSCert)
	c.NATS.TLSKey = abs(c.NATS.TLSKey)
	c.Daemon.DataDir = abs(c.Daemon.DataDir)
	for i := range c.Evaluators {
		e := &c.Evaluators[i]
		if len(e.Command) > 0 && strings.ContainsAny(e.Command[0], "/"+string(filepath.Separator)) {
			e.Command[0] = abs(e.Command[0])
		}
		for j := 1; j < len(e.Command); j++ {
			a := e.Command[j]
			if a == "." || a == ".." || strings.HasPrefix(a, "./") || strings.HasPrefix(a, "../") {
				e.Command[j] = abs(a)
			}
		}
		e.Dir = abs(e.Dir)
	}
}

// Validate reports every impossible value in c, one *ConfigError per line
// of the returned error. It does not change c.
func (c *Config) Validate() error {
	return joinProblems(c.problems())
}

// problemList collects the problems found by validation.
type problemList []*ConfigError

func (ps *problemList) add(key, format string, args ...any) {
	*ps = append(*ps, &ConfigError{Key: key, Msg: fmt.Sprintf(format, args...)})
}

// oneOf checks that v is one of allowed.
func (ps *problemList) oneOf(key, what, v string, allowed []string) {
	if !slices.Contains(allowed, v) {
		ps.add(key, "unknown %s %q; want one of %s", what, v, strings.Join(allowed, ", "))
	}
}

func (c *Config) problems() []*ConfigError {
	var ps problemList
	c.NATS.check(&ps)
	c.Daemon.check(&ps)

	served := map[string]bool{}
	for i, e := range c.Evaluators {
		e.check(&ps, fmt.Sprintf("evaluator[%d]", i))
		served[e.Objective] = true
	}
	names := map[string]int{}
	for i := range c.Studies {
		s := &c.Studies[i]
		key := fmt.Sprintf("study[%d]", i)
		s.check(&ps, key)
		if first, dup := names[s.Name]; dup && s.Name != "" {
			ps.add(key+".name", "duplicate study name %q (also study[%d])", s.Name, first)
		} else {
			names[s.Name] = i
		}
		// With an embedded server only the evaluators tunerd starts can
		// answer; with an external one they may be anywhere.
		if c.NATS.URL == "" && tokenRE.MatchString(s.Objective) && !served[s.Objective] {
			ps.add(key+".objective", "study %q needs objective %q, which no [[evaluator]] serves (served: %s); "+
				"add an [[evaluator]] for it, or set nats.url to use evaluators started elsewhere",
				s.Name, s.Objective, servedList(served))
		}
	}
	return ps
}

func servedList(served map[string]bool) string {
	var objs []string
	for o := range served {
		if o != "" {
			objs = append(objs, strconv.Quote(o))
		}
	}
	if len(objs) == 0 {
		return "none"
	}
	slices.Sort(objs)
	return strings.Join(objs, ", ")
}

func (n *NATSConfig) check(ps *problemList) {
	if n.Replicas < 1 || n.Replicas > 5 {
		ps.add("nats.replicas", "must be 1 to 5, got %d", n.Replicas)
	}
	if n.URL != "" {
		for u := range strings.SplitSeq(n.URL, ",") {
			if err := checkNATSURL(strings.TrimSpace(u)); err != nil {
				ps.add("nats.url", "%v", err)
			} else if urlHasCredentials(strings.TrimSpace(u)) {
				ps.add("nats.url", "holds credentials (before the @): set nats.token or nats.user and nats.password instead, "+
					"which are kept off evaluator command lines and out of messages")
			}
		}
	}
	if n.Listen != "" {
		if err := checkHostPort(n.Listen, -1); err != nil {
			ps.add("nats.listen", "%v", err)
		}
	}
	switch {
	case n.User != "" && n.Password == "":
		ps.add("nats.user", "needs nats.password")
	case n.User == "" && n.Password != "":
		ps.add("nats.password", "needs nats.user")
	}
	n.checkCredentialKinds(ps)
	switch {
	case n.TLSCert != "" && n.TLSKey == "":
		ps.add("nats.tls_cert", "needs nats.tls_key")
	case n.TLSCert == "" && n.TLSKey != "":
		ps.add("nats.tls_key", "needs nats.tls_cert")
	}
	n.checkFiles(ps)
	if n.URL == "" {
		n.checkEmbedded(ps)
	} else if n.AllowUnauthenticated {
		ps.add("nats.allow_unauthenticated", "applies to the embedded server only; with nats.url set, "+
			"the server's own config decides who may connect")
	}
}

func checkNATSURL(s string) error {
	if s == "" {
		return errors.New("empty server URL")
	}
	raw := s
	if !strings.Contains(s, "://") {
		raw = "nats://" + s
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("invalid server URL %q", s)
	}
	if !slices.Contains([]string{"nats", "tls", "ws", "wss"}, u.Scheme) {
		return fmt.Errorf("server URL %q: unknown scheme %q; want nats, tls, ws or wss", s, u.Scheme)
	}
	if u.Host == "" {
		return fmt.Errorf("server URL %q has no host", s)
	}
	return nil
}

// checkHostPort checks a listen address; minPort is the lowest port
// accepted (-1 asks the NATS server for a random one).
func checkHostPort(addr string, minPort int) error {
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("want host:port, got %q", addr)
	}
	p, err := strconv.Atoi(port)
	if err != nil || p < minPort || p > 65535 {
		return fmt.Errorf("invalid port %q in %q", port, addr)
	}
	return nil
}

func (d *DaemonConfig) check(ps *problemList) {
	if d.DataDir == "" {
		ps.add("daemon.data_dir", "must not be empty")
	}
	if d.HTTP != "" {
		if err := checkHostPort(d.HTTP, 0); err != nil {
			ps.add("daemon.http", "%v (\"\" turns the status page off)", err)
		}
	}
	ps.oneOf("daemon.log_level", "log level", d.LogLevel, logLevels)
	if d.Heartbeat.Duration <= 0 {
		ps.add("daemon.heartbeat", "must be positive, got %s", d.Heartbeat.Duration)
	}
	if d.MaxRedeliveries < 1 {
		ps.add("daemon.max_redeliveries", "must be at least 1, got %d", d.MaxRedeliveries)
	}
}

func (e *EvaluatorConfig) check(ps *problemList, key string) {
	checkToken(ps, key+".objective", e.Objective)
	switch {
	case len(e.Command) == 0:
		ps.add(key+".command", "required: the simulator's argv, like [\"./sim\", \"{x1}\"]")
	case e.Command[0] == "":
		ps.add(key+".command", "program name (the first element) is empty")
	}
	ps.oneOf(key+".mode", "mode", e.Mode, modes)
	ps.oneOf(key+".answers", "answers", e.Answers, answers)
	if e.Answers == "plain" && e.Mode != "stdio" {
		ps.add(key+".answers", `"plain" is for mode = "stdio" only; in exec mode the answer is the last line of stdout`)
	}
	if e.Slots < 1 {
		ps.add(key+".slots", "must be >= 1 (got %d)", e.Slots)
	}
	if e.Timeout.Duration <= 0 {
		ps.add(key+".timeout", "must be > 0 (got %v)", e.Timeout.Duration)
	}
	if e.Count < 1 {
		ps.add(key+".count", "must be >= 1 (got %d)", e.Count)
	}
	if e.RunAs != "" && strings.TrimSpace(e.RunAs) != e.RunAs {
		ps.add(key+".run_as", "%q: a user name, a uid or uid:gid, without spaces", e.RunAs)
	}
	if e.Mode == "stdio" {
		for _, arg := range e.Command {
			for _, m := range placeholderRE.FindAllStringSubmatch(arg, -1) {
				if m[1] != "workdir" {
					ps.add(key+".command", "placeholder {%s} in %q: in stdio mode one process serves many evaluations, "+
						"so only {workdir} may be used; the process reads params, seed and trial from each request line", m[1], arg)
				}
			}
		}
	}
}

// checkToken checks a required name that is used as a NATS subject token
// or a directory name.
func checkToken(ps *problemList, key, v string) {
	switch {
	case v == "":
		ps.add(key, "required")
	case !tokenRE.MatchString(v):
		ps.add(key, "%q: use only letters, digits, '_' and '-'", v)
	}
}

func (s *StudyConfig) check(ps *problemList, key string) {
	checkToken(ps, key+".name", s.Name)
	checkToken(ps, key+".objective", s.Objective)
	ps.oneOf(key+".algorithm", "algorithm", s.Algorithm, Algorithms)
	ps.oneOf(key+".curvature", "curvature", s.Curvature, Curvatures)
	if s.Samples < 1 {
		ps.add(key+".samples", "must be >= 1 (got %d)", s.Samples)
	}
	if !(s.Epsilon > 0) || math.IsInf(s.Epsilon, 1) {
		ps.add(key+".epsilon", "must be finite and > 0 (got %s)", num(s.Epsilon))
	}
	if !(s.Delta >= 0) || math.IsInf(s.Delta, 1) {
		ps.add(key+".delta", "must be finite and >= 0, 0 deriving it from epsilon (got %s)", num(s.Delta))
	}
	if s.MaxEvaluations < 1 {
		ps.add(key+".max_evaluations", "must be >= 1 (got %d)", s.MaxEvaluations)
	}
	if s.MaxTime.Duration < 0 {
		ps.add(key+".max_time", "must be >= 0, 0 meaning no limit (got %v)", s.MaxTime.Duration)
	}
	if s.Target != nil && math.IsNaN(*s.Target) {
		ps.add(key+".target", "must be a number (got nan)")
	}
	ps.oneOf(key+".dispatch", "dispatch", s.Dispatch, dispatches)
	ps.oneOf(key+".on_failure", "failure policy", s.OnFailure, FailurePolicies)
	if s.MaxRetries < 0 || s.MaxRetries > MaxRetriesLimit {
		ps.add(key+".max_retries", "must be 0 to %d (got %d)", MaxRetriesLimit, s.MaxRetries)
	}
	if s.Penalty != nil {
		switch {
		case math.IsNaN(*s.Penalty) || math.IsInf(*s.Penalty, 0):
			ps.add(key+".penalty", "must be finite (got %s)", num(*s.Penalty))
		case s.OnFailure != OnFailurePenalize:
			ps.add(key+".penalty", "is used only with on_failure = %q (on_failure is %q)", OnFailurePenalize, s.OnFailure)
		}
	}
	if s.Estimator != "" {
		ps.oneOf(key+".estimator", "estimator", s.Estimator, Estimators)
	}
	if slices.Contains(Algorithms, s.Algorithm) && (s.Estimator == "" || slices.Contains(Estimators, s.Estimator)) {
		// Combinations the method cannot honour (e.g. an estimator it has
		// no use for) are refused here, before anything runs.
		if _, err := zo.NewMethod(s.Algorithm, zo.Settings{Estimator: s.Estimator}, nil, rand.New(rand.NewPCG(1, 1))); err != nil {
			ps.add(key+".estimator", "%v", err)
		}
	}
	if len(s.Params) == 0 {
		ps.add(key+".param", "at least one [[study.param]] is required")
	}
	if len(s.Params) > wire.MaxParams {
		ps.add(key+".param", "%d parameters; at most %d", len(s.Params), wire.MaxParams)
	}
	*ps = append(*ps, paramProblems(s.Params, key)...)
}

// paramProblems validates a parameter list; keys are prefixed with prefix.
func paramProblems(params []ParamConfig, prefix string) []*ConfigError {
	var ps problemList
	if prefix != "" {
		prefix += "."
	}
	seen := map[string]int{}
	for i, p := range params {
		key := fmt.Sprintf("%sparam[%d]", prefix, i)
		switch {
		case p.Name == "":
			ps.add(key+".name", "required")
		case len(p.Name) > wire.MaxNameBytes:
			ps.add(key+".name", "is %d bytes long; at most %d", len(p.Name), wire.MaxNameBytes)
		case !identifierRE.MatchString(p.Name):
			ps.add(key+".name", "%q is not an identifier (letters, digits and '_', not starting with a digit)", p.Name)
		case slices.Contains(reservedNames, p.Name):
			ps.add(key+".name", "%q is reserved for the argv placeholder {%s}", p.Name, p.Name)
		default:
			if first, dup := seen[p.Name]; dup {
				ps.add(key+".name", "duplicate parameter name %q (also param[%d])", p.Name, first)
			} else {
				seen[p.Name] = i
			}
		}
		finite := true
		for _, b := range []struct {
			key string
			v   float64
		}{{"min", p.Min}, {"max", p.Max}} {
			if math.IsNaN(b.v) || math.IsInf(b.v, 0) {
				ps.add(key+"."+b.key, "must be finite (got %s)", num(b.v))
				finite = false
			}
		}
		ps.oneOf(key+".scale", "scale", p.Scale, scales)
		if !finite {
			continue
		}
		switch {
		case p.Max <= p.Min:
			ps.add(key+".max", "must be greater than min (%s <= %s)", num(p.Max), num(p.Min))
			continue
		case math.IsInf(p.Max-p.Min, 0):
			ps.add(key+".max", "range [%s, %s] is too wide to represent", num(p.Min), num(p.Max))
			continue
		case p.Scale == "log" && p.Min <= 0:
			ps.add(key+".min", "log scale needs min > 0 (got %s)", num(p.Min))
			continue
		}
		if p.Init != nil && !(*p.Init >= p.Min && *p.Init <= p.Max) {
			ps.add(key+".init", "must be within [min, max] = [%s, %s] (got %s)", num(p.Min), num(p.Max), num(*p.Init))
		}
	}
	return ps
}

func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// Decoder errors.

// libError matches the errors the TOML decoder returns as plain text.
var libError = regexp.MustCompile(`^toml: (?:line (\d+) )?(?:\(last key ("(?:[^"\\]|\\.)*")\): )?((?s).*)$`)

// decodeProblem turns an error of the TOML decoder into a ConfigError. elem
// is the indexed path of the element being decoded ("" for the document)
// and ctx its key without indices.
func decodeProblem(err error, elem string, ctx []string, pos positions) *ConfigError {
	var (
		line    int
		lastKey string
		msg     = err.Error()
	)
	var pe toml.ParseError
	if errors.As(err, &pe) {
		line, lastKey, msg = pe.Position.Line, pe.LastKey, pe.Message
	} else if m := libError.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		if m[2] != "" {
			lastKey, _ = strconv.Unquote(m[2])
		}
		msg = m[3]
	}
	msg = typeMessage(msg)

	parts := strings.Split(lastKey, ".")
	if lastKey == "" {
		parts = nil
	}
	key := elem
	if len(parts) >= len(ctx) && slices.Equal(parts[:len(ctx)], ctx) {
		for _, p := range parts[len(ctx):] {
			key = joinKey(key, p)
		}
	}
	// The decoder knows the line of a key only without array indices, which
	// makes it the line of the key's last occurrence. Ours is exact.
	if l := pos.line(key); l > 0 && (elem != "" || line == 0) {
		line = l
	}
	return &ConfigError{Line: line, Key: key, Msg: msg}
}

var (
	incompatibleRE = regexp.MustCompile(`^incompatible types: TOML value has type (.+); destination has type (.+)$`)
	mismatchRE     = regexp.MustCompile(`^type mismatch for \S+: expected table but found (.+)$`)
)

// typeMessage rewords the decoder's type errors in TOML terms.
func typeMessage(msg string) string {
	if m := incompatibleRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("wrong type: got %s, want %s", tomlType(m[1]), tomlType(m[2]))
	}
	if m := mismatchRE.FindStringSubmatch(msg); m != nil {
		return fmt.Sprintf("wrong type: got %s, want table", tomlType(m[1]))
	}
	return msg
}

func tomlType(goType string) string {
	switch strings.ReplaceAll(goType, "interface {}", "any") {
	case "int64", "integer":
		return "integer"
	case "float64", "float":
		return "float"
	case "bool", "boolean":
		return "boolean"
	case "string", "primitive (string-like)":
		return "string"
	case "[]any", "slice":
		return "array"
	case "map[string]any", "map":
		return "table"
	case "[]map[string]any":
		return "array of tables"
	case "time.Time", "toml.LocalDate", "toml.LocalTime", "toml.LocalDatetime":
		return "datetime"
	}
	return goType
}

// Unknown keys.

type keyKind int

const (
	leafKey keyKind = iota
	tableKey
	arrayTableKey
)

// schema lists the keys a config may have, without array indices, and the
// keys each table may hold, in declaration order.
type schema struct {
	kinds    map[string]keyKind
	children map[string][]string
}

var configSchema = buildSchema(reflect.TypeFor[Config]())

func buildSchema(t reflect.Type) schema {
	s := schema{kinds: map[string]keyKind{}, children: map[string][]string{}}
	textUnmarshaler := reflect.TypeFor[encoding.TextUnmarshaler]()
	var walk func(prefix string, t reflect.Type)
	walk = func(prefix string, t reflect.Type) {
		for i := range t.NumField() {
			f := t.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
			if name == "" || name == "-" {
				continue
			}
			key := joinKey(prefix, name)
			s.children[prefix] = append(s.children[prefix], name)
			ft := f.Type
			switch {
			case ft.Kind() == reflect.Struct && !reflect.PointerTo(ft).Implements(textUnmarshaler):
				s.kinds[key] = tableKey
				walk(key, ft)
			case ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct:
				s.kinds[key] = arrayTableKey
				walk(key, ft.Elem())
			default:
				s.kinds[key] = leafKey
			}
		}
	}
	walk("", t)
	return s
}

// unknownKeys reports the keys of md that no field of Config takes, at
// every place they are written.
func unknownKeys(md *toml.MetaData, pos positions) []*ConfigError {
	var probs []*ConfigError
	reported := map[string]bool{} // plain and indexed paths
	check := func(k toml.Key) {
		// Report the outermost unknown part only: an unknown table's keys
		// are covered by it.
		for n := 1; n <= len(k); n++ {
			kind, ok := configSchema.kinds[k[:n].String()]
			if ok && kind != leafKey {
				continue
			}
			if !ok && !reported[k[:n].String()] {
				reported[k[:n].String()] = true
				probs = append(probs, unknownKey(k[:n], pos, reported)...)
			}
			// Keys under a value (an inline table where a number belongs)
			// come with a type error of their own.
			return
		}
	}
	// Undecoded lists the keys no field took (and known keys that a wrong
	// type stopped the decoding of, which check passes over).
	for _, k := range md.Undecoded() {
		check(k)
	}
	// The decoder also matches field names case-insensitively; the config
	// language is case-sensitive.
	for _, k := range md.Keys() {
		check(k)
	}
	return probs
}

func unknownKey(k toml.Key, pos positions, reported map[string]bool) []*ConfigError {
	name := k[len(k)-1]
	parent := k[:len(k)-1].String()
	var where string
	switch {
	case len(k) == 1:
		where = "at top level"
	case configSchema.kinds[parent] == arrayTableKey:
		where = "in [[" + parent + "]]"
	default:
		where = "in [" + parent + "]"
	}
	msg := "unknown key " + where
	known := configSchema.children[k[:len(k)-1].String()]
	if s := suggest(name, known); s != "" {
		msg += fmt.Sprintf("; did you mean %q?", s)
	} else {
		msg += "; known keys: " + strings.Join(known, ", ")
	}

	var probs []*ConfigError
	for _, kl := range pos.keys {
		if slices.Equal(kl.parts, k) && !reported[kl.path] {
			reported[kl.path] = true
			probs = append(probs, &ConfigError{Line: kl.line, Key: kl.path, Msg: msg})
		}
	}
	if len(probs) == 0 {
		probs = append(probs, &ConfigError{Key: k.String(), Msg: msg})
	}
	return probs
}

// suggest returns the known key closest to a misspelt one, or "".
func suggest(name string, known []string) string {
	best, bestDist := "", 3
	for _, k := range known {
		if strings.EqualFold(k, name) {
			return k
		}
		if d := editDistance(strings.ToLower(name), k); d < bestDist && d < len(k)/2+1 {
			best, bestDist = k, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// Key positions.
//
// The TOML decoder does not say where a key is written, and names keys in
// arrays of tables without their index. positions is an index of every key
// of a (syntactically valid) config by its full path, built by scanning the
// text once: study[1].param[0].max is the max key under the first
// [[study.param]] after the second [[study]].

// keyLine is one key as written.
type keyLine struct {
	path  string   // with array indices: study[1].param[0].max
	parts []string // without: study, param, max
	line  int
}

type positions struct {
	keys  []keyLine      // in the order written
	lines map[string]int // path → line of its first occurrence
}

// line returns the line path is written on. A path that is not written
// (a missing required key) gets the line of the nearest table holding it;
// 0 means not even that was found.
func (p positions) line(path string) int {
	for path != "" {
		if l, ok := p.lines[path]; ok {
			return l
		}
		i := strings.LastIndexAny(path, ".[")
		if i < 0 {
			break
		}
		path = path[:i]
	}
	return 0
}

// joinKey appends a key part to a path, quoting it unless it is bare.
func joinKey(path, part string) string {
	if part == "" || strings.ContainsFunc(part, func(r rune) bool { return !isBare(r) }) {
		part = strconv.Quote(part)
	}
	if path == "" {
		return part
	}
	return path + "." + part
}

func isBare(r rune) bool {
	return r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_' || r == '-'
}

// scanner reads just enough TOML to know which key is on which line. It
// assumes the text parsed, but stops or skips ahead on anything unexpected
// rather than failing.
type scanner struct {
	s      string
	i      int
	line   int
	pos    positions
	arrays map[string]int // indexed path of an array of tables → elements so far
}

func scanPositions(text string) positions {
	sc := &scanner{
		s:      strings.TrimPrefix(text, "\ufeff"),
		line:   1,
		pos:    positions{lines: map[string]int{}},
		arrays: map[string]int{},
	}
	sc.document()
	return sc.pos
}

func (sc *scanner) peek() byte {
	if sc.i < len(sc.s) {
		return sc.s[sc.i]
	}
	return 0
}

func (sc *scanner) record(path string, parts []string, line int) {
	sc.pos.keys = append(sc.pos.keys, keyLine{path: path, parts: parts, line: line})
	if _, ok := sc.pos.lines[path]; !ok {
		sc.pos.lines[path] = line
	}
}

func (sc *scanner) skipSpace() {
	for sc.i < len(sc.s) && (sc.s[sc.i] == ' ' || sc.s[sc.i] == '\t') {
		sc.i++
	}
}

// skipBlank skips spaces, newlines and comments.
func (sc *scanner) skipBlank() {
	for sc.i < len(sc.s) {
		switch sc.s[sc.i] {
		case ' ', '\t', '\r':
			sc.i++
		case '\n':
			sc.i++
			sc.line++
		case '#':
			sc.skipToEOL()
		default:
			return
		}
	}
}

// skipToEOL moves to the next newline, leaving it unread.
func (sc *scanner) skipToEOL() {
	for sc.i < len(sc.s) && sc.s[sc.i] != '\n' {
		sc.i++
	}
}

func (sc *scanner) document() {
	var (
		table      string   // indexed path of the current table
		tableParts []string // the same without indices
	)
	for sc.i < len(sc.s) {
		sc.skipBlank()
		if sc.i >= len(sc.s) {
			return
		}
		line := sc.line
		if sc.peek() == '[' {
			array := strings.HasPrefix(sc.s[sc.i:], "[[")
			sc.i++
			if array {
				sc.i++
			}
			parts := sc.keyParts()
			sc.skipToEOL()
			if len(parts) == 0 {
				continue
			}
			paths := sc.header(parts, array)
			for n, path := range paths { // a header implies its parent tables
				sc.record(path, parts[:n+1:n+1], line)
			}
			table, tableParts = paths[len(paths)-1], parts
			continue
		}
		start := sc.i
		parts := sc.keyParts()
		sc.skipSpace()
		if len(parts) == 0 || sc.peek() != '=' {
			if sc.i == start {
				sc.i++
			}
			sc.skipToEOL()
			continue
		}
		sc.i++
		sc.keyValue(table, tableParts, parts, line)
	}
}

// keyValue records the key parts (after '=') under the table at path and
// scans its value.
func (sc *scanner) keyValue(path string, tableParts, parts []string, line int) {
	full := slices.Concat(tableParts, parts)
	for n, p := range parts {
		path = joinKey(path, p)
		end := len(tableParts) + n + 1
		sc.record(path, full[:end:end], line) // a dotted key implies its tables
	}
	sc.value(path, full)
}

// header resolves the parts of a table header to indexed paths, one per
// prefix: a part naming an array of tables refers to its last element, and
// [[...]] starts a new element.
func (sc *scanner) header(parts []string, array bool) []string {
	paths := make([]string, len(parts))
	path := ""
	for n, part := range parts {
		path = joinKey(path, part)
		count, isArray := sc.arrays[path]
		switch {
		case array && n == len(parts)-1:
			sc.arrays[path] = count + 1
			path += "[" + strconv.Itoa(count) + "]"
		case isArray && count > 0:
			path += "[" + strconv.Itoa(count-1) + "]"
		}
		paths[n] = path
	}
	return paths
}

// keyParts reads a possibly dotted key.
func (sc *scanner) keyParts() []string {
	var parts []string
	for {
		sc.skipSpace()
		var part string
		switch c := sc.peek(); {
		case c == '"' || c == '\'':
			s, ok := sc.quoted(c)
			if !ok {
				return parts
			}
			part = s
		case c < 0x80 && isBare(rune(c)):
			start := sc.i
			for sc.i < len(sc.s) && sc.s[sc.i] < 0x80 && isBare(rune(sc.s[sc.i])) {
				sc.i++
			}
			part = sc.s[start:sc.i]
		default:
			return parts
		}
		parts = append(parts, part)
		sc.skipSpace()
		if sc.peek() != '.' {
			return parts
		}
		sc.i++
	}
}

// quoted reads a one-line string quoted with q and returns its value.
func (sc *scanner) quoted(q byte) (string, bool) {
	start := sc.i
	sc.i++
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c == '\n':
			return "", false
		case c == '\\' && q == '"':
			sc.i += 2
		case c == q:
			sc.i++
			raw := sc.s[start:sc.i]
			if q == '\'' {
				return raw[1 : len(raw)-1], true
			}
			if s, err := strconv.Unquote(raw); err == nil {
				return s, true
			}
			return raw[1 : len(raw)-1], true
		default:
			sc.i++
		}
	}
	return "", false
}

// value skips over a value, recording the keys of inline tables in it.
func (sc *scanner) value(path string, parts []string) {
	sc.skipSpace()
	switch c := sc.peek(); c {
	case '"', '\'':
		if strings.HasPrefix(sc.s[sc.i:], strings.Repeat(string(c), 3)) {
			sc.multiline(c)
		} else {
			sc.quoted(c)
		}
	case '[':
		sc.i++
		for n := 0; sc.i < len(sc.s); {
			sc.skipBlank()
			switch sc.peek() {
			case ']':
				sc.i++
				return
			case ',':
				sc.i++
				n++
			default:
				start := sc.i
				sc.value(path+"["+strconv.Itoa(n)+"]", parts)
				if sc.i == start {
					sc.i++
				}
			}
		}
	case '{':
		sc.i++
		for sc.i < len(sc.s) {
			sc.skipBlank()
			switch sc.peek() {
			case '}':
				sc.i++
				return
			case ',':
				sc.i++
			default:
				line := sc.line
				start := sc.i
				keys := sc.keyParts()
				sc.skipSpace()
				if len(keys) == 0 || sc.peek() != '=' {
					if sc.i == start {
						sc.i++
					}
					continue
				}
				sc.i++
				sc.keyValue(path, parts, keys, line)
			}
		}
	default:
		for sc.i < len(sc.s) && !strings.ContainsRune(",]}#\r\n", rune(sc.s[sc.i])) {
			sc.i++
		}
	}
}

// multiline skips a multi-line string quoted with q.
func (sc *scanner) multiline(q byte) {
	sc.i += 3
	delim := strings.Repeat(string(q), 3)
	for sc.i < len(sc.s) {
		switch c := sc.s[sc.i]; {
		case c == '\n':
			sc.line++
			sc.i++
		case c == '\\' && q == '"':
			sc.i++
			if sc.i < len(sc.s) && sc.s[sc.i] == '\n' {
				sc.line++
			}
			sc.i++
		case strings.HasPrefix(sc.s[sc.i:], delim):
			sc.i += 3
			// Up to two more quotes belong to the string.
			for k := 0; k < 2 && sc.peek() == q; k++ {
				sc.i++
			}
			return
		default:
			sc.i++
		}
	}
}
