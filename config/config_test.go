package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/zotune/zotune/study"
	"github.com/zotune/zotune/transport"
)

func ptr[T any](v T) *T { return &v }

// loadText writes text to config.toml in a fresh directory and loads it.
func loadText(tb testing.TB, text string) (*Config, error) {
	tb.Helper()
	path := filepath.Join(tb.TempDir(), "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		tb.Fatal(err)
	}
	return Load(path)
}

func TestLoadContractExample(t *testing.T) {
	c, err := Load("testdata/contract.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.Abs("testdata")
	if err != nil {
		t.Fatal(err)
	}
	want := &Config{
		NATS:   NATSConfig{Listen: "127.0.0.1:4222", Replicas: 1},
		Daemon: DaemonConfig{DataDir: filepath.Join(dir, "runs"), HTTP: "127.0.0.1:8080", LogLevel: "info", Heartbeat: Duration{transport.DefaultHeartbeat}, MaxRedeliveries: 3},
		Evaluators: []EvaluatorConfig{{
			Objective: "quartic",
			Command:   []string{filepath.Join(dir, "sim"), "--seed", "{seed}"},
			Mode:      "exec",
			Answers:   "id",
			Slots:     4,
			Timeout:   Duration{60 * time.Second},
			Count:     1,
		}},
		Studies: []StudyConfig{{
			Name:           "demo",
			Objective:      "quartic",
			Algorithm:      "zo-spider",
			Curvature:      "online",
			Seed:           1,
			Samples:        1,
			Epsilon:        1e-3,
			Delta:          1e-2,
			MaxEvaluations: 20000,
			MaxTime:        Duration{10 * time.Minute},
			Target:         ptr(-1e300),
			Dispatch:       "durable",
			OnFailure:      "retry",
			MaxRetries:     2,
			Params:         []ParamConfig{{Name: "x1", Min: -2, Max: 2, Init: ptr(0.0), Scale: "linear"}},
		}},
		Dir: dir,
	}
	if !reflect.DeepEqual(c, want) {
		t.Errorf("Load:\n got %+v\nwant %+v", c, want)
	}
	if s, ok := c.Study("demo"); !ok || s != &c.Studies[0] {
		t.Errorf("Study(demo) = %p, %v; want %p, true", s, ok, &c.Studies[0])
	}
	if _, ok := c.Study("nope"); ok {
		t.Error("Study(nope) found a study")
	}
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load("testdata/minimal.toml")
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := filepath.Abs("testdata")
	if got, want := c.Daemon, (DaemonConfig{DataDir: filepath.Join(dir, "runs"), HTTP: DefaultHTTP, LogLevel: "info", Heartbeat: Duration{transport.DefaultHeartbeat}, MaxRedeliveries: 3}); got != want {
		t.Errorf("daemon = %+v, want %+v", got, want)
	}
	if c.NATS != (NATSConfig{Replicas: 1}) {
		t.Errorf("nats = %+v, want defaults", c.NATS)
	}
	ev := c.Evaluators[0]
	if ev.Mode != "exec" || ev.Slots != 1 || ev.Timeout.Duration != 60*time.Second || ev.Count != 1 || ev.Dir != "" {
		t.Errorf("evaluator defaults = %+v", ev)
	}
	s := c.Studies[0]
	want := StudyConfig{
		Name: "demo", Objective: "quartic", Algorithm: "zo-gd", Curvature: "lanczos", Seed: 1, Samples: 1,
		Epsilon: 1e-3, Delta: 0, MaxEvaluations: 20000, Dispatch: "durable", OnFailure: "retry", MaxRetries: 2,
		Params: []ParamConfig{{Name: "x", Min: -1, Max: 1, Scale: "linear"}},
	}
	if !reflect.DeepEqual(s, want) {
		t.Errorf("study defaults:\n got %+v\nwant %+v", s, want)
	}
	if err := c.Validate(); err != nil {
		t.Errorf("Validate of a loaded config: %v", err)
	}
}

// Explicit values that equal a zero value must survive decoding over the
// defaults: http = "" turns the status page off, delta = 0 derives delta.
func TestLoadExplicitZeroes(t *testing.T) {
	c, err := loadText(t, `
[daemon]
http = ""
[[evaluator]]
objective = "f"
command = ["f"]
[[study]]
name = "s"
objective = "f"
seed = 0
delta = 0
max_time = "0s"
[[study.param]]
name = "x"
min = 0
max = 1
init = 0
`)
	if err != nil {
		t.Fatal(err)
	}
	if c.Daemon.HTTP != "" {
		t.Errorf("http = %q, want off", c.Daemon.HTTP)
	}
	if s := c.Studies[0]; s.Seed != 0 || s.Delta != 0 || s.MaxTime.Duration != 0 || s.Params[0].Init == nil || *s.Params[0].Init != 0 {
		t.Errorf("study = %+v", s)
	}
}

// base is a valid config that the error cases below extend. Its last line
// is inside the [[study.param]] of study "a".
const base = `[[evaluator]]
objective = "quartic"
command = ["./sim"]

[[study]]
name = "a"
objective = "quartic"

  [[study.param]]
  name = "x"
  min = -1
  max = 1
`

// TestLoadErrors checks that each problem is reported with its key and its
// line. A case marks each line an error must point at with "#!", once per
// error.
func TestLoadErrors(t *testing.T) {
	tests := []struct {
		name string
		text string
		keys []string // expected keys, in order of the marked lines
		msg  string   // expected in the error text
	}{
		{
			name: "unknown top-level key",
			text: "verbose = true #!\n" + base,
			keys: []string{"verbose"},
			msg:  "unknown key at top level",
		},
		{
			name: "unknown key in a param of the second study",
			text: base + `
[[study]]
name = "b"
objective = "quartic"
  [[study.param]]
  name = "y"
  min = 0
  max = 1
  [[study.param]]
  name = "z"
  min = 0
  max = 1
  step = 0.1 #!
`,
			keys: []string{"study[1].param[1].step"},
			msg:  `unknown key in [[study.param]]`,
		},
		{
			name: "bad failure policy",
			text: strings.Replace(base, `objective = "quartic"

  [[study.param]]`, "objective = \"quartic\"\non_failure = \"ignore\" #!\nmax_retries = 11 #!\n\n  [[study.param]]", 1),
			keys: []string{"study[0].on_failure", "study[0].max_retries"},
			msg:  `unknown failure policy "ignore"; want one of retry, penalize, abort`,
		},
		{
			name: "penalty without penalize",
			text: strings.Replace(base, `objective = "quartic"

  [[study.param]]`, "objective = \"quartic\"\npenalty = 1e6 #!\n\n  [[study.param]]", 1),
			keys: []string{"study[0].penalty"},
			msg:  `is used only with on_failure = "penalize"`,
		},
		{
			name: "misspelt evaluator key",
			text: strings.Replace(base, `command = ["./sim"]`, "command = [\"./sim\"]\nslotz = 4 #!", 1),
			keys: []string{"evaluator[0].slotz"},
			msg:  `did you mean "slots"?`,
		},
		{
			name: "key in the wrong case",
			text: "[daemon]\nData_Dir = \"x\" #!\n" + base,
			keys: []string{"daemon.Data_Dir"},
			msg:  `did you mean "data_dir"?`,
		},
		{
			name: "unknown table",
			text: "[nats.tls] #!\nca = \"ca.pem\"\n" + base,
			keys: []string{"nats.tls"},
			msg:  "unknown key in [nats]",
		},
		{
			name: "unknown dotted key",
			text: "[nats]\ntls.ca = \"ca.pem\" #!\ntls.cert = \"c.pem\"\n" + base,
			keys: []string{"nats.tls"},
			msg:  "unknown key in [nats]",
		},
		{
			name: "wrong type",
			text: strings.Replace(base, `command = ["./sim"]`, "command = [\"./sim\"]\nslots = \"four\" #!", 1),
			keys: []string{"evaluator[0].slots"},
			msg:  "wrong type: got string, want integer",
		},
		{
			// The decoder alone would name the line of the last evaluator.
			name: "wrong type in the first of two elements",
			text: "[[evaluator]]\nobjective = \"quartic\"\ncommand = [\"a\"]\ncount = 1.5 #!\n" +
				"[[evaluator]]\nobjective = \"quartic\"\ncommand = [\"b\"]\ncount = 2\n" + base,
			keys: []string{"evaluator[0].count"},
			msg:  "wrong type: got float, want integer",
		},
		{
			name: "every wrong type in one table",
			text: strings.Replace(base, "min = -1", "min = \"low\" #!", 1) + "  scale = 2 #!\n  init = true #!\n",
			keys: []string{"study[0].param[0].min", "study[0].param[0].scale", "study[0].param[0].init"},
			msg:  "wrong type",
		},
		{
			name: "wrong type of a table",
			text: "daemon = 3 #!\n" + base,
			keys: []string{"daemon"},
			msg:  "want table",
		},
		{
			name: "min not below max",
			text: strings.Replace(base, "max = 1", "max = -1 #!", 1),
			keys: []string{"study[0].param[0].max"},
			msg:  "must be greater than min (-1 <= -1)",
		},
		{
			name: "log scale with min <= 0",
			text: strings.Replace(base, "min = -1", "min = 0 #!", 1) + "  scale = \"log\"\n",
			keys: []string{"study[0].param[0].min"},
			msg:  "log scale needs min > 0",
		},
		{
			name: "init out of range",
			text: base + "  init = 1.5 #!\n",
			keys: []string{"study[0].param[0].init"},
			msg:  "must be within [min, max] = [-1, 1] (got 1.5)",
		},
		{
			name: "unknown scale",
			text: base + "  scale = \"exp\" #!\n",
			keys: []string{"study[0].param[0].scale"},
			msg:  `unknown scale "exp"; want one of linear, log`,
		},
		{
			name: "reserved parameter name",
			text: strings.Replace(base, `name = "x"`, `name = "trial" #!`, 1),
			keys: []string{"study[0].param[0].name"},
			msg:  "reserved",
		},
		{
			name: "duplicate parameter name",
			text: base + "  [[study.param]]\n  name = \"x\" #!\n  min = 0\n  max = 1\n",
			keys: []string{"study[0].param[1].name"},
			msg:  `duplicate parameter name "x"`,
		},
		{
			name: "no params",
			text: "[[evaluator]]\nobjective = \"f\"\ncommand = [\"f\"]\n[[study]] #!\nname = \"a\"\nobjective = \"f\"\n",
			keys: []string{"study[0].param"},
			msg:  "at least one [[study.param]]",
		},
		{
			name: "duplicate study",
			text: base + "[[study]]\nname = \"a\" #!\nobjective = \"quartic\"\n[[study.param]]\nname = \"x\"\nmin = 0\nmax = 1\n",
			keys: []string{"study[1].name"},
			msg:  `duplicate study name "a"`,
		},
		{
			name: "missing required keys",
			text: "[[evaluator]] #! #!\n[[study]]\nname = \"a\"\nobjective = \"f\" #!\n[[study.param]]\nname = \"x\"\nmin = 0\nmax = 1\n",
			keys: []string{"evaluator[0].objective", "evaluator[0].command", "study[0].objective"},
			msg:  "required",
		},
		{
			name: "objective nobody serves",
			text: strings.Replace(base, "objective = \"quartic\"\n\n", "objective = \"quartc\" #!\n\n", 1),
			keys: []string{"study[0].objective"},
			msg:  `study "a" needs objective "quartc", which no [[evaluator]] serves (served: "quartic")`,
		},
		{
			name: "bad duration",
			text: strings.Replace(base, `command = ["./sim"]`, "command = [\"./sim\"]\ntimeout = \"1 minute\" #!", 1),
			keys: []string{"evaluator[0].timeout"},
			msg:  `invalid duration "1 minute"`,
		},
		{
			name: "duration without unit",
			text: strings.Replace(base, "objective = \"quartic\"\n\n", "objective = \"quartic\"\nmax_time = 600 #!\n", 1),
			keys: []string{"study[0].max_time"},
			msg:  `invalid duration "600"`,
		},
		{
			name: "negative duration",
			text: strings.Replace(base, `command = ["./sim"]`, "command = [\"./sim\"]\ntimeout = \"-5s\" #!", 1),
			keys: []string{"evaluator[0].timeout"},
			msg:  "must be > 0",
		},
		{
			name: "negative epsilon",
			text: strings.Replace(base, "objective = \"quartic\"\n\n", "objective = \"quartic\"\nepsilon = -1e-3 #!\n", 1),
			keys: []string{"study[0].epsilon"},
			msg:  "must be finite and > 0 (got -0.001)",
		},
		{
			name: "negative seed",
			text: strings.Replace(base, "objective = \"quartic\"\n\n", "objective = \"quartic\"\nseed = -1 #!\n", 1),
			keys: []string{"study[0].seed"},
			msg:  "must be >= 0",
		},
		{
			name: "unknown algorithm",
			text: strings.Replace(base, "objective = \"quartic\"\n\n", "objective = \"quartic\"\nalgorithm = \"adam\" #!\n", 1),
			keys: []string{"study[0].algorithm"},
			msg:  `unknown algorithm "adam"; want one of zo-gd`,
		},
		{
			name: "unknown curvature",
			text: strings.Replace(base, "objective = \"quartic\"\n\n", "objective = \"quartic\"\ncurvature = \"hessian\" #!\n", 1),
			keys: []string{"study[0].curvature"},
			msg:  "want one of lanczos, online, deterministic, dimer, power, none",
		},
		{
			name: "unknown mode",
			text: strings.Replace(base, `command = ["./sim"]`, "command = [\"./sim\"]\nmode = \"shell\" #!", 1),
			keys: []string{"evaluator[0].mode"},
			msg:  "want one of exec, stdio",
		},
		{
			name: "unknown answers",
			text: strings.Replace(base, `command = ["./sim"]`, "command = [\"./sim\"]\nmode = \"stdio\"\nanswers = \"json\" #!", 1),
			keys: []string{"evaluator[0].answers"},
			msg:  `unknown answers "json"; want one of id, plain`,
		},
		{
			name: "plain answers in exec mode",
			text: strings.Replace(base, `command = ["./sim"]`, "command = [\"./sim\"]\nanswers = \"plain\" #!", 1),
			keys: []string{"evaluator[0].answers"},
			msg:  `answers "plain" is for stdio mode only`,
		},
		{
			name: "run_as with spaces",
			text: strings.Replace(base, `command = ["./sim"]`, "command = [\"./sim\"]\nrun_as = \" nobody\" #!", 1),
			keys: []string{"evaluator[0].run_as"},
			msg:  `" nobody": a user name, a uid or uid:gid, without spaces`,
		},
		{
			name: "tls cert without key",
			text: "[nats]\nurl = \"nats://h:4222\"\ntls_cert = \"config.toml\" #!\n" + base,
			keys: []string{"nats.tls_cert"},
			msg:  "needs nats.tls_key",
		},
		{
			name: "missing credentials file",
			text: "[nats]\nurl = \"nats://h:4222\"\ncreds = \"nope.creds\" #!\n" + base,
			keys: []string{"nats.creds"},
			msg:  "nope.creds does not exist",
		},
		{
			name: "missing TLS files",
			text: "[nats]\nurl = \"tls://h:4222\"\ntls_ca = \"ca.pem\" #!\ntls_cert = \"cert.pem\" #!\ntls_key = \"key.pem\" #!\n" + base,
			keys: []string{"nats.tls_ca", "nats.tls_cert", "nats.tls_key"},
			msg:  "key.pem does not exist",
		},
		{
			name: "client CA without a certificate for the embedded server",
			text: "[nats]\ntls_ca = \"config.toml\" #!\n" + base,
			keys: []string{"nats.tls_ca"},
			msg:  "the CA verifies client certificates, so it needs the server's own certificate in nats.tls_cert",
		},
		{
			name: "nkey with the embedded server",
			text: "[nats]\nnkey = \"config.toml\" #!\n" + base,
			keys: []string{"nats.nkey"},
			msg:  "does not check nkeys/JWT credentials",
		},
		{
			name: "two kinds of credentials",
			text: "[nats]\nurl = \"nats://h:4222\"\ntoken = \"t\"\nuser = \"u\" #!\npassword = \"p\"\nnkey = \"config.toml\" #!\n" + base,
			keys: []string{"nats.user", "nats.nkey"},
			msg:  "cannot be used with nats.token: set one kind of credentials",
		},
		{
			name: "missing nkey file",
			text: "[nats]\nurl = \"nats://h:4222\"\nnkey = \"user.nk\" #!\n" + base,
			keys: []string{"nats.nkey"},
			msg:  "user.nk does not exist",
		},
		{
			name: "open listen address without credentials",
			text: "[nats]\nlisten = \"0.0.0.0:4222\" #!\n" + base,
			keys: []string{"nats.listen"},
			msg: `nats.listen: "0.0.0.0:4222" is reachable from other hosts, and without credentials the embedded NATS server ` +
				"would let any of them read and write every study: set nats.token or nats.user and nats.password " +
				"(see docs/security.md), or nats.allow_unauthenticated = true to run open anyway",
		},
		{
			name: "credentials in the server URL",
			text: "[nats]\nurl = \"nats://a:4222,nats://s3cret@b:4222\" #!\n" + base,
			keys: []string{"nats.url"},
			msg:  "holds credentials (before the @): set nats.token or nats.user and nats.password instead",
		},
		{
			name: "allow_unauthenticated with an external server",
			text: "[nats]\nurl = \"nats://h:4222\"\nallow_unauthenticated = true #!\n" + base,
			keys: []string{"nats.allow_unauthenticated"},
			msg:  "applies to the embedded server only",
		},
		{
			name: "credentials file with the embedded server",
			text: "[nats]\ncreds = \"config.toml\" #!\n" + base,
			keys: []string{"nats.creds"},
			msg:  "does not check nkeys/JWT credentials",
		},
		{
			name: "replicas with the embedded server",
			text: "[nats]\nreplicas = 3 #!\n" + base,
			keys: []string{"nats.replicas"},
			msg:  "the embedded NATS server is a single server, so replicas must be 1 (got 3)",
		},
		{
			name: "parameter placeholder in a stdio command",
			text: strings.Replace(base, `command = ["./sim"]`, "command = [\"./sim\", \"--x={x}\", \"{workdir}\"] #!\nmode = \"stdio\"", 1),
			keys: []string{"evaluator[0].command"},
			msg:  `placeholder {x} in "--x={x}": in stdio mode`,
		},
		{
			name: "seed placeholder in a stdio command",
			text: strings.Replace(base, `command = ["./sim"]`, "mode = \"stdio\"\ncommand = [\"./sim\", \"{seed}\"] #!", 1),
			keys: []string{"evaluator[0].command"},
			msg:  "placeholder {seed}",
		},
		{
			name: "parameter named study",
			text: strings.Replace(base, `name = "x"`, `name = "study" #!`, 1),
			keys: []string{"study[0].param[0].name"},
			msg:  `"study" is reserved for the argv placeholder {study}`,
		},
		{
			name: "parameter without min",
			text: strings.Replace(base, "  [[study.param]]\n  name = \"x\"\n  min = -1\n", "  [[study.param]] #!\n  name = \"x\"\n", 1),
			keys: []string{"study[0].param[0].min"},
			msg:  "study[0].param[0].min: required: the parameter's lower bound",
		},
		{
			name: "parameters without bounds",
			text: base + "  [[study.param]] #! #!\n  name = \"y\"\n  init = 5\n" +
				"[[study]]\nname = \"b\"\nobjective = \"quartic\"\nparam = [{name = \"z\", min = 1}] #!\n",
			keys: []string{"study[0].param[1].min", "study[0].param[1].max", "study[1].param[0].max"},
			msg:  "required: the parameter's upper bound",
		},
		{
			name: "bad listen address",
			text: "[nats]\nlisten = \"4222\" #!\n" + base,
			keys: []string{"nats.listen"},
			msg:  "want host:port",
		},
		{
			name: "all problems, sorted by line",
			text: "[daemon]\nlog_level = \"loud\" #!\n" + strings.Replace(base, "max = 1", "max = \"2\" #!", 1) + "  colour = 1 #!\n",
			keys: []string{"daemon.log_level", "study[0].param[0].max", "study[0].param[0].colour"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadText(t, tt.text)
			if err == nil {
				t.Fatalf("no error for\n%s", tt.text)
			}
			lines := strings.Split(err.Error(), "\n")
			var marked []int
			for i, l := range strings.Split(tt.text, "\n") {
				for range strings.Count(l, "#!") {
					marked = append(marked, i+1)
				}
			}
			if len(marked) != len(tt.keys) {
				t.Fatalf("test has %d marked lines for %d keys", len(marked), len(tt.keys))
			}
			if len(lines) != len(tt.keys) {
				t.Errorf("got %d problems, want %d:\n%v", len(lines), len(tt.keys), err)
			}
			for i, key := range tt.keys {
				want := fmt.Sprintf("config.toml:%d: %s: ", marked[i], key)
				if i >= len(lines) || !strings.Contains(lines[i], want) {
					t.Errorf("problem %d: want %q in\n%v", i, want, err)
				}
			}
			if !strings.Contains(err.Error(), tt.msg) {
				t.Errorf("want %q in\n%v", tt.msg, err)
			}
			var ce *Error
			if !errors.As(err, &ce) || !strings.HasSuffix(ce.File, "config.toml") {
				t.Errorf("errors.As(*Error) = %+v", ce)
			}
		})
	}
}

func TestLoadSyntaxError(t *testing.T) {
	_, err := loadText(t, "[[study]]\nname = \"a\"\nmin = = 3\n")
	if err == nil || !strings.Contains(err.Error(), "config.toml:3: ") {
		t.Errorf("want an error at config.toml:3, got %v", err)
	}
}

func TestLoadMissingFile(t *testing.T) {
	_, err := Load(filepath.Join(t.TempDir(), "none.toml"))
	if !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v, want os.ErrNotExist", err)
	}
}

// With an external NATS server, evaluators may run anywhere: a study's
// objective need not be served by an [[evaluator]] of the file.
func TestLoadExternalNATSObjective(t *testing.T) {
	text := "[nats]\nurl = \"nats://nats.example.com:4222\"\n" + strings.Replace(base, `objective = "quartic"`+"\n\n", `objective = "remote"`+"\n\n", 1)
	c, err := loadText(t, text)
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Studies[0].Objective; got != "remote" {
		t.Errorf("objective = %q", got)
	}
	c.NATS.URL = ""
	if err := c.Validate(); err == nil || !strings.Contains(err.Error(), `"remote"`) {
		t.Errorf("Validate with an embedded server: got %v", err)
	}
}

func TestResolvePaths(t *testing.T) {
	dir := t.TempDir()
	abs := filepath.Join(dir, "elsewhere")
	for _, f := range []string{filepath.Join(dir, "nats.creds"), abs} {
		if err := os.WriteFile(f, nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	text := fmt.Sprintf(`
[nats]
url = "tls://nats.example.com"
creds = "nats.creds"
tls_ca = %q
[daemon]
data_dir = "out/runs"
[[evaluator]]
objective = "a"
command = ["./sim", "./input.txt", "{x}"]
dir = "work"
[[evaluator]]
objective = "a"
command = ["bin/sim"]
[[evaluator]]
objective = "a"
command = ["go", "run", "./cmd/sim"]
[[evaluator]]
objective = "a"
command = [%q]
[[evaluator]]
objective = "a"
command = ["../tools/sim"]
`, abs, abs)
	path := filepath.Join(dir, "config.toml")
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	checks := []struct{ name, got, want string }{
		{"dir", c.Dir, dir},
		{"creds", c.NATS.Creds, filepath.Join(dir, "nats.creds")},
		{"tls_ca", c.NATS.TLSCA, abs},
		{"data_dir", c.Daemon.DataDir, filepath.Join(dir, "out", "runs")},
		{"./sim", c.Evaluators[0].Command[0], filepath.Join(dir, "sim")},
		{"argument", c.Evaluators[0].Command[1], filepath.Join(dir, "input.txt")},
		{"placeholder argument", c.Evaluators[0].Command[2], "{x}"},
		{"evaluator dir", c.Evaluators[0].Dir, filepath.Join(dir, "work")},
		{"bin/sim", c.Evaluators[1].Command[0], filepath.Join(dir, "bin", "sim")},
		{"bare name", c.Evaluators[2].Command[0], "go"},
		{"bare name args", c.Evaluators[2].Command[2], filepath.Join(dir, "cmd", "sim")},
		{"bare word arg", c.Evaluators[2].Command[1], "run"},
		{"absolute", c.Evaluators[3].Command[0], abs},
		{"../tools/sim", c.Evaluators[4].Command[0], filepath.Join(filepath.Dir(dir), "tools", "sim")},
		{"no evaluator dir", c.Evaluators[1].Dir, ""},
		{"absolute data_dir default", Default().Daemon.DataDir, "runs"},
	}
	for _, ck := range checks {
		if ck.got != ck.want {
			t.Errorf("%s = %q, want %q", ck.name, ck.got, ck.want)
		}
	}

	// Parse resolves against the directory it is given, made absolute.
	c, err = Parse([]byte("[daemon]\ndata_dir = \"r\"\n"), ".")
	if err != nil {
		t.Fatal(err)
	}
	wd, _ := os.Getwd()
	if want := filepath.Join(wd, "r"); c.Daemon.DataDir != want || c.Dir != wd {
		t.Errorf("Parse(dir \".\"): data_dir %q, dir %q; want %q, %q", c.Daemon.DataDir, c.Dir, want, wd)
	}
}

func TestValidate(t *testing.T) {
	c := Default()
	if err := c.Validate(); err != nil {
		t.Errorf("Default().Validate() = %v", err)
	}
	c.Evaluators = append(c.Evaluators, defaultEvaluator())
	c.Evaluators[0].Objective, c.Evaluators[0].Command = "f", []string{"f"}
	s := defaultStudy()
	s.Name, s.Objective = "s", "f"
	s.Params = []ParamConfig{{Name: "x", Min: 1, Max: 0, Scale: "linear"}}
	c.Studies = append(c.Studies, s)
	err := c.Validate()
	var ce *Error
	if !errors.As(err, &ce) || ce.Key != "study[0].param[0].max" || ce.Line != 0 || ce.File != "" {
		t.Fatalf("Validate = %v (%+v)", err, ce)
	}
	if got, want := ce.Error(), "study[0].param[0].max: must be greater than min (0 <= 1)"; got != want {
		t.Errorf("error = %q, want %q", got, want)
	}
	c.Studies[0].Params[0].Max = 2
	if err := c.Validate(); err != nil {
		t.Errorf("Validate = %v", err)
	}
}

func TestDuration(t *testing.T) {
	var d Duration
	if err := d.UnmarshalText([]byte("1h30m")); err != nil || d.Duration != 90*time.Minute {
		t.Fatalf("UnmarshalText = %v, %v", d, err)
	}
	b, err := d.MarshalText()
	if err != nil || string(b) != "1h30m0s" {
		t.Errorf("MarshalText = %q, %v", b, err)
	}
	if err := d.UnmarshalText([]byte("soon")); err == nil {
		t.Error("UnmarshalText(soon) succeeded")
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"contract.toml", "minimal.toml"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte(base))
	f.Add([]byte("a.b.c = 1\n[x.y]\n[[x.z]]\nq = [{a = 1}, [2], '''\n''']\n"))
	f.Add([]byte("[[study]]\nparam = [{name = \"x\", min = \"0\"}]\nseed = -2\n"))
	f.Add([]byte("evaluator = 3\n"))
	dir := f.TempDir() // Parse only resolves paths against it
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse(data, dir)
		if err != nil {
			for l := range strings.SplitSeq(err.Error(), "\n") {
				if strings.TrimSpace(l) == "" {
					t.Fatalf("empty line in error %q", err)
				}
			}
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("Parse accepted a config that Validate rejects: %v", err)
		}
		for _, spec := range c.Specs() {
			sp, err := study.NewSpace(spec.Params)
			if err != nil {
				t.Fatalf("study %s: %v", spec.Name, err)
			}
			x := sp.ToUser(sp.Init())
			for i, p := range sp.Params {
				if !(x[i] >= p.Min && x[i] <= p.Max) {
					t.Fatalf("init %v outside [%v, %v]", x[i], p.Min, p.Max)
				}
			}
		}
	})
}

func ExampleParse() {
	_, err := Parse([]byte(`
[[evaluator]]
objective = "quartic"
command = ["./sim"]
slotz = 4

[[study]]
name = "demo"
objective = "quartic"
  [[study.param]]
  name = "x"
  min = 1
  max = -1
`), ".")
	fmt.Println(err)
	// Output:
	// line 5: evaluator[0].slotz: unknown key in [[evaluator]]; did you mean "slots"?
	// line 13: study[0].param[0].max: must be greater than min (-1 <= 1)
}

func TestEstimatorMustSuitAlgorithm(t *testing.T) {
	base := `
[[evaluator]]
objective = "o"
command = ["sim"]

[[study]]
name = "s"
objective = "o"
algorithm = "ALG"
estimator = "EST"
  [[study.param]]
  name = "x"
  min = 0.0
  max = 1.0
`
	ok := strings.NewReplacer("ALG", "zo-sgd", "EST", "rand").Replace(base)
	if _, err := Parse([]byte(ok), t.TempDir()); err != nil {
		t.Fatalf("zo-sgd with rand: %v", err)
	}
	bad := strings.NewReplacer("ALG", "zo-gd", "EST", "rand").Replace(base)
	_, err := Parse([]byte(bad), t.TempDir())
	if err == nil || !strings.Contains(err.Error(), "study[0].estimator") || !strings.Contains(err.Error(), "line 10") {
		t.Fatalf("zo-gd with rand: %v", err)
	}
}

// The embedded server on an address other hosts reach needs credentials,
// or nats.allow_unauthenticated; on loopback it needs neither.
func TestLoadOpenListen(t *testing.T) {
	for _, tt := range []struct {
		nats string
		open bool // refused as open
	}{
		{`listen = "0.0.0.0:4222"`, true},
		{`listen = "[::]:4222"`, true},
		{`listen = "192.168.1.5:4222"`, true},
		{`listen = "tuner.lan:4222"`, true},
		{`listen = "0.0.0.0:4222"` + "\nallow_unauthenticated = true", false},
		{`listen = "0.0.0.0:4222"` + "\ntoken = \"s3cret\"", false},
		{`listen = "0.0.0.0:4222"` + "\nuser = \"u\"\npassword = \"p\"", false},
		{`listen = "127.0.0.1:4222"`, false},
		{`listen = "127.0.0.2:4222"`, false},
		{`listen = "localhost:4222"`, false},
		{`listen = "[::1]:4222"`, false},
		{`listen = ":4222"`, false}, // the embedded server's default host, 127.0.0.1
		{``, false},
	} {
		c, err := loadText(t, "[nats]\n"+tt.nats+"\n"+base)
		if refused := err != nil && strings.Contains(err.Error(), "reachable from other hosts"); refused != tt.open || (err != nil && !refused) {
			t.Errorf("%q: got %v; want refused as open: %v", tt.nats, err, tt.open)
			continue
		}
		if err == nil && c.NATS.OpenEmbedded() != strings.Contains(tt.nats, "allow_unauthenticated") {
			t.Errorf("%q: OpenEmbedded() = %v", tt.nats, c.NATS.OpenEmbedded())
		}
	}
}

// The embedded server serves TLS with nats.tls_cert and nats.tls_key, and
// verifies client certificates with nats.tls_ca; that counts as
// credentials on an open address.
func TestLoadEmbeddedTLS(t *testing.T) {
	dir := t.TempDir()
	for _, f := range []string{"ca.pem", "cert.pem", "key.pem"} {
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	path := filepath.Join(dir, "config.toml")
	text := "[nats]\nlisten = \"0.0.0.0:4222\"\ntls_ca = \"ca.pem\"\ntls_cert = \"cert.pem\"\ntls_key = \"key.pem\"\n" + base
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if c.NATS.TLSCert != filepath.Join(dir, "cert.pem") || c.NATS.OpenEmbedded() {
		t.Errorf("tls_cert %q, open %v", c.NATS.TLSCert, c.NATS.OpenEmbedded())
	}
	// Without the client CA, the open address needs other credentials.
	text = strings.Replace(text, "tls_ca = \"ca.pem\"\n", "", 1)
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(path); err == nil || !strings.Contains(err.Error(), "config.toml:2: nats.listen: ") {
		t.Errorf("TLS without client certificates on an open address: got %v", err)
	}
}
