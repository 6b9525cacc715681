package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
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
			Restarts:       true,
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
		Epsilon: 1e-3, Delta: 0, MaxEvaluations: 20000, Dispatch: "durable", OnFailure: "retry", MaxRetries: 2, Restarts: true,
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

	// A later argument without ./ that names a file in the config's
	// folder is resolved; a word, a folder, a file that is not there, or
	// an argument with a placeholder is left alone.
	for _, f := range []string{"sim.py", filepath.Join("data", "input.csv"), "in{x}"} {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, f)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := []string{"python3", "sim.py", "--seed", "{seed}", "data/input.csv", "data", "missing.py", "in{x}", "fast", "sim.py"}
	quoted := make([]string, len(cmd))
	for i, a := range cmd {
		quoted[i] = strconv.Quote(a)
	}
	c, err = Parse([]byte("[[evaluator]]\nobjective = \"a\"\ncommand = ["+strings.Join(quoted, ", ")+"]\n"), dir)
	if err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(cmd)
	want[1], want[4], want[9] = filepath.Join(dir, "sim.py"), filepath.Join(dir, "data", "input.csv"), filepath.Join(dir, "sim.py")
	if got := c.Evaluators[0].Command; !slices.Equal(got, want) {
		t.Errorf("command %q resolved to\n%q, want\n%q", cmd, got, want)
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
