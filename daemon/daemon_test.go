package daemon

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/internal/testutil"
)

// Secrets reach evaluator processes through the environment, never their
// command line, which every user of the host can read; credential
// variables of the daemon's own environment are not passed on.
func TestEvaluatorCommandKeepsSecretsOffArgv(t *testing.T) {
	e := Evaluator{Objective: "q", Command: []string{"./sim", "{x}"}, Mode: "exec", Slots: 2, Timeout: time.Minute}
	environ := []string{"HOME=/home/u", "NATS_TOKEN=stale-token", "NATS_PASSWORD=stale-password", "NATS_USER=stale", "NATS_CREDS=/stale.creds", "NATS_URL=nats://elsewhere:4222"}
	for _, tc := range []struct {
		name    string
		nats    NATS
		secrets []string
		env     []string // expected credential variables, in order
		args    []string // expected on the command line
	}{
		{"token", NATS{Token: "t0ken-s3cret"}, []string{"t0ken-s3cret"}, []string{"NATS_TOKEN=t0ken-s3cret"}, nil},
		{"user and password", NATS{User: "alice", Password: "pa55-s3cret"}, []string{"pa55-s3cret"},
			[]string{"NATS_USER=alice", "NATS_PASSWORD=pa55-s3cret"}, nil},
		{"nkey", NATS{NKey: "/keys/user.nk"}, nil, nil, []string{"--nkey /keys/user.nk"}},
		{"creds and client certificate", NATS{Creds: "/keys/u.creds", TLSCA: "/ca.pem", TLSCert: "/c.pem", TLSKey: "/k.pem"}, nil, nil,
			[]string{"--creds /keys/u.creds", "--tls-ca /ca.pem", "--tls-cert /c.pem", "--tls-key /k.pem"}},
	} {
		tc.nats.URL = "nats://tuner:4222"
		argv, env := evaluatorCommand([]string{"tunerd", "evaluator"}, e, "q-0", "info", ConnOptions(tc.nats, tc.nats.URL), environ)
		cmdline := strings.Join(argv, " ")
		for _, s := range append(tc.secrets, "stale") {
			if strings.Contains(cmdline, s) {
				t.Errorf("%s: %q on the command line %q", tc.name, s, cmdline)
			}
		}
		for _, a := range append(tc.args, "--nats nats://tuner:4222", "--objective q", "-- ./sim {x}") {
			if !strings.Contains(cmdline, a) {
				t.Errorf("%s: %q not on the command line %q", tc.name, a, cmdline)
			}
		}
		var creds []string
		for _, kv := range env {
			if strings.HasPrefix(kv, "NATS_") {
				creds = append(creds, kv)
			}
		}
		if !slices.Equal(creds, tc.env) || !slices.Contains(env, "HOME=/home/u") {
			t.Errorf("%s: credential variables %q, want %q (and HOME kept in %q)", tc.name, creds, tc.env, env)
		}
	}
}

// An embedded server open to other hosts without credentials (allowed by
// nats.allow_unauthenticated; config.NATSConfig.OpenEmbedded says which)
// is warned about at start; others are not.
func TestWarnOpen(t *testing.T) {
	for _, open := range []bool{true, false} {
		var buf testutil.SyncBuffer
		warnOpen(NATS{Listen: "0.0.0.0:4222", Open: open}, zerolog.New(&buf))
		got := buf.String()
		warned := strings.Contains(got, `"level":"warn"`) &&
			strings.Contains(got, "any host that reaches the port can read and write every study")
		if warned != open || (!open && got != "") {
			t.Errorf("open %v: logged %q", open, got)
		}
	}
}
