package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/zotune/zotune/internal/testutil"
)

// noNATSEnv clears the NATS variables a developer's environment may hold,
// so that only what a test sets is used.
var noNATSEnv = []string{"NATS_URL=", "NATS_TOKEN=", "NATS_USER=", "NATS_PASSWORD=", "NATS_CREDS="}

// credentialKind is one way of authenticating to a nats-server: the
// server's config, tunerd's [nats] lines, and credentials the server (or
// the evaluator, for the server's certificate) must refuse.
type credentialKind struct {
	name      string
	server    string     // nats-server config text
	nats      string     // [nats] lines that connect
	wrongNats string     // [nats] lines that must be refused
	wrongArgs [][]string // evaluator flags that must be refused: wrong and missing credentials
	refusal   string     // what the evaluator and tunerd say when refused
}

const refusedCreds = "credentials refused by the NATS server"

func credentialKinds(t *testing.T) []credentialKind {
	nkeyPub, nkeySeed := testutil.NKeyUser(t)
	_, otherSeed := testutil.NKeyUser(t)
	op := testutil.NewOperator(t)
	creds, strangerCreds := op.UserCreds(t, "tunerd"), testutil.NewOperator(t).UserCreds(t, "stranger")
	ca, other := testutil.NewCA(t, "ca"), testutil.NewCA(t, "other")
	cert, key := ca.Issue(t, "server", "127.0.0.1")
	clientCert, clientKey := ca.Issue(t, "client")
	otherCert, otherKey := other.Issue(t, "stranger")
	serverTLS := fmt.Sprintf("tls {\n  cert_file: %q\n  key_file: %q\n  timeout: 5\n", cert, key)
	return []credentialKind{
		{
			name:      "token",
			server:    `authorization { token: "t0ken-s3cret" }`,
			nats:      `token = "t0ken-s3cret"`,
			wrongNats: `token = "wrong"`,
			wrongArgs: [][]string{{"--token", "wrong"}, {}},
			refusal:   refusedCreds,
		},
		{
			name:      "user and password",
			server:    `authorization { users: [ {user: "alice", password: "pa55-s3cret"} ] }`,
			nats:      "user = \"alice\"\npassword = \"pa55-s3cret\"",
			wrongNats: "user = \"alice\"\npassword = \"wrong\"",
			wrongArgs: [][]string{{"--user", "alice", "--password", "wrong"}, {}},
			refusal:   refusedCreds,
		},
		{
			name:      "nkey",
			server:    fmt.Sprintf("authorization { users: [ {nkey: %q} ] }", nkeyPub),
			nats:      fmt.Sprintf("nkey = %q", nkeySeed),
			wrongNats: fmt.Sprintf("nkey = %q", otherSeed),
			wrongArgs: [][]string{{"--nkey", otherSeed}, {}},
			refusal:   refusedCreds,
		},
		{
			name:      "creds file",
			server:    op.Config,
			nats:      fmt.Sprintf("creds = %q", creds),
			wrongNats: fmt.Sprintf("creds = %q", strangerCreds),
			wrongArgs: [][]string{{"--creds", strangerCreds}, {}},
			refusal:   refusedCreds,
		},
		{
			name:      "TLS with a CA",
			server:    serverTLS + "}",
			nats:      fmt.Sprintf("tls_ca = %q", ca.File),
			wrongNats: fmt.Sprintf("tls_ca = %q", other.File),
			wrongArgs: [][]string{{"--tls-ca", other.File}, {}},
			refusal:   "the NATS server's TLS certificate is not trusted",
		},
		{
			name:      "TLS client certificate",
			server:    serverTLS + fmt.Sprintf("  ca_file: %q\n  verify: true\n}", ca.File),
			nats:      fmt.Sprintf("tls_ca = %q\ntls_cert = %q\ntls_key = %q", ca.File, clientCert, clientKey),
			wrongNats: fmt.Sprintf("tls_ca = %q\ntls_cert = %q\ntls_key = %q", ca.File, otherCert, otherKey),
			wrongArgs: [][]string{{"--tls-ca", ca.File, "--tls-cert", otherCert, "--tls-key", otherKey}, {"--tls-ca", ca.File}},
			refusal:   refusedCreds,
		},
	}
}

// A small study runs to its budget against a real nats-server with each
// kind of credentials, with evaluators started by tunerd. Wrong or missing
// credentials end an evaluator with exit status 1 and a message saying so,
// and stop tunerd before it starts anything.
func TestCredentialKinds(t *testing.T) {
	for _, k := range credentialKinds(t) {
		t.Run(k.name, func(t *testing.T) {
			srv := testutil.NATSServer(t, testutil.NATSServerOptions{StoreDir: t.TempDir(), Config: k.server})
			cfg := writeConfig(t, fmt.Sprintf("[nats]\nurl = %q\n%s\n", srv.URL, k.nats)+smallStudy)
			code, stdout, stderr := runTunerd(t, cfg, noNATSEnv...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			checkSmallStudy(t, filepath.Join(filepath.Dir(cfg), "out"))

			for _, args := range k.wrongArgs {
				argv := append([]string{"evaluator", "--nats", srv.URL}, args...)
				argv = append(argv, "--objective", "q", "--", filepath.Join(bin, "quartic"))
				code, _, stderr := runTunerdArgs(t, argv, noNATSEnv...)
				if code != 1 || !strings.Contains(stderr, k.refusal) {
					t.Errorf("evaluator %q: exit %d, stderr %q; want 1 and %q", args, code, stderr, k.refusal)
				}
			}

			cfg = writeConfig(t, fmt.Sprintf("[nats]\nurl = %q\n%s\n", srv.URL, k.wrongNats)+smallStudy)
			code, _, stderr = runTunerd(t, cfg, noNATSEnv...)
			want := "tunerd: daemon: transport: " + k.refusal + " at " + srv.URL
			if last := lastLine(stderr); code != 1 || !strings.HasPrefix(last, want) {
				t.Errorf("tunerd with wrong credentials: exit %d, last line %q; want 1 and %q", code, last, want)
			}
		})
	}
}

// smallStudy is a study of 20 evaluations of the 4-d quartic and the
// evaluator tunerd starts for it.
var smallStudy = `
[daemon]
data_dir = "out"
http = ""

[[evaluator]]
objective = "q"
command = ["BIN/quartic", "-dim", "4"]
slots = 2

[[study]]
name = "small"
objective = "q"
max_evaluations = 20
` + quarticParams

func lastLine(s string) string {
	s = strings.TrimRight(s, "\n")
	return s[strings.LastIndex(s, "\n")+1:]
}

// checkSmallStudy checks that smallStudy ran to its budget without a
// failure, every evaluation logged.
func checkSmallStudy(t *testing.T, out string) {
	t.Helper()
	s := readSummary(t, filepath.Join(out, "small", "summary.json"))
	trials := readTrials(t, filepath.Join(out, "small", "trials.jsonl"))
	if s.Status != "budget" || s.Evaluations == 0 || s.Failures != 0 || len(trials) != s.Evaluations {
		t.Errorf("summary: %s after %d evaluations and %d failures, %d trial lines; want budget, no failure",
			s.Status, s.Evaluations, s.Failures, len(trials))
	}
}

// An evaluator refused by tunerd's embedded server for a wrong token exits
// 1 saying so, and tunerd's log names the authentication error, from the
// embedded server, with the client's address.
func TestEmbeddedServerLogsRefusedEvaluator(t *testing.T) {
	simlog := filepath.Join(t.TempDir(), "sim.log")
	env := append([]string{"FLAKY_LOG=" + simlog, "FLAKY_SLEEP=0.05"}, noNATSEnv...)
	cfg := writeConfig(t, "[nats]\ntoken = \"t0ken-s3cret\"\n"+daemonCfg+flakyEvaluator(2, 1)+flakyStudy)
	cmd, log := startTunerd(t, cfg, env...)
	urlFile := filepath.Join(filepath.Dir(cfg), "out", "nats.url")
	var url string
	testutil.WaitFor(t, time.Minute, "the embedded server's URL", func() bool {
		data, err := os.ReadFile(urlFile)
		url = strings.TrimSpace(string(data))
		return err == nil && strings.HasSuffix(string(data), "\n")
	})

	argv := []string{"evaluator", "--nats", url, "--token", "wrong", "--objective", "flaky", "--", filepath.Join(bin, "flaky")}
	code, _, stderr := runTunerdArgs(t, argv, noNATSEnv...)
	if code != 1 || !strings.Contains(stderr, refusedCreds) {
		t.Errorf("evaluator with a wrong token: exit %d, stderr %q; want 1 and %q", code, stderr, refusedCreds)
	}
	testutil.WaitFor(t, time.Minute, "tunerd's log line of the refused evaluator", func() bool {
		for _, line := range strings.Split(log.String(), "\n") {
			if strings.Contains(line, `"component":"nats-server"`) && strings.Contains(line, `"level":"error"`) &&
				strings.Contains(line, "authentication error") && strings.Contains(line, "127.0.0.1:") {
				return true
			}
		}
		return false
	})
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Wait(); err == nil || cmd.ProcessState.ExitCode() != 130 {
		t.Errorf("tunerd after SIGINT: %v\n%s", err, log)
	}
	if strings.Contains(log.String(), "t0ken-s3cret") {
		t.Errorf("the token is in tunerd's log:\n%s", log)
	}
}

// The embedded server serves TLS with nats.tls_cert and nats.tls_key; with
// nats.tls_ca it also requires client certificates signed by that CA.
// tunerd and the evaluators it starts connect either way.
func TestEmbeddedServerTLS(t *testing.T) {
	ca := testutil.NewCA(t, "ca")
	cert, key := ca.Issue(t, "tuner", "127.0.0.1")
	for name, nats := range map[string]string{
		"server certificate":  fmt.Sprintf("tls_cert = %q\ntls_key = %q\n", cert, key),
		"client certificates": fmt.Sprintf("tls_ca = %q\ntls_cert = %q\ntls_key = %q\n", ca.File, cert, key),
	} {
		t.Run(name, func(t *testing.T) {
			cfg := writeConfig(t, "[nats]\n"+nats+smallStudy)
			code, stdout, stderr := runTunerd(t, cfg, noNATSEnv...)
			if code != 0 {
				t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout, stderr)
			}
			out := filepath.Join(filepath.Dir(cfg), "out")
			checkSmallStudy(t, out)
			if data, err := os.ReadFile(filepath.Join(out, "nats.url")); err != nil || !strings.HasPrefix(string(data), "tls://127.0.0.1:") {
				t.Errorf("nats.url: %q, %v; want tls://127.0.0.1:PORT", data, err)
			}
		})
	}
}
