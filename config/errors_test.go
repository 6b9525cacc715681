package config

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

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
			name: "difference step and sharpness-aware radius",
			text: strings.Replace(base, `objective = "quartic"

  [[study.param]]`, "objective = \"quartic\"\nalgorithm = \"zo-scsg\"\nmu = 0.5 #!\nsam_radius = 0.05 #!\n\n  [[study.param]]", 1),
			keys: []string{"study[0].mu", "study[0].sam_radius"},
			msg:  `only zo-gd and zo-sgd take sharpness-aware steps (algorithm is "zo-scsg")`,
		},
		{
			name: "speculation",
			text: strings.Replace(base, `objective = "quartic"

  [[study.param]]`, "objective = \"quartic\"\nalgorithm = \"zo-sgd\"\nspeculate = true #!\n\n  [[study.param]]", 1),
			keys: []string{"study[0].speculate"},
			msg:  `only zo-gd sends speculative gradient stencils (algorithm is "zo-sgd")`,
		},
		{
			name: "integer parameter",
			text: strings.Replace(base, `objective = "quartic"

  [[study.param]]`, "objective = \"quartic\"\nalgorithm = \"zo-spider\" #!\n\n  [[study.param]]", 1) + "  type = \"int\"\n  init = 0.5 #!\n",
			keys: []string{"study[0].algorithm", "study[0].param[0].init"},
			msg:  `must be an integer for type = "int" (got 0.5)`,
		},
		{
			name: "categorical parameter",
			text: base + "\n  [[study.param]]\n  name = \"opt\"\n  type = \"categorical\"\n  values = [\"adam\", \"adam\"] #!\n  init = 1.0 #!\n",
			keys: []string{"study[0].param[1].values", "study[0].param[1].init"},
			msg:  `duplicate value "adam"`,
		},
		{
			name: "several objectives",
			text: strings.Replace(base, `objective = "quartic"

  [[study.param]]`, "objective = \"quartic\"\ntarget = 1.0 #!\nobjectives = [{metric = \"error\"}, {metric = \"error\", goal = \"max\"}] #!\n\n  [[study.param]]", 1),
			keys: []string{"study[0].target", "study[0].objectives[1].metric"},
			msg:  `duplicate objective "error"`,
		},
		{
			name: "unknown goal",
			text: strings.Replace(base, `objective = "quartic"

  [[study.param]]`, "objective = \"quartic\"\ngoal = \"maximize\" #!\n\n  [[study.param]]", 1),
			keys: []string{"study[0].goal"},
			msg:  `unknown goal "maximize"; want one of min, max`,
		},
		{
			name: "unknown parameter type",
			text: base + "  type = \"integer\" #!\n",
			keys: []string{"study[0].param[0].type"},
			msg:  `unknown type "integer"; want one of float, int`,
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
			msg:  "at least one parameter is required",
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
