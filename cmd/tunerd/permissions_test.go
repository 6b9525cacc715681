package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/zotune/zotune/api"
	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/journal"
	"github.com/zotune/zotune/wire"
)

// docPermissions returns the nats-server config block "NAME = {…}" of
// docs/security.md, so that what the page documents is what is tested.
func docPermissions(t *testing.T, name string) string {
	t.Helper()
	data, err := os.ReadFile("../../docs/security.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(data)
	i := strings.Index(text, "\n"+name+" = {\n")
	if i < 0 {
		t.Fatalf("docs/security.md has no block %q", name)
	}
	n := strings.Index(text[i:], "\n}\n")
	if n < 0 {
		t.Fatalf("docs/security.md: block %q does not end", name)
	}
	return text[i+1 : i+n+3]
}

// An evaluator user restricted to the permissions documented in
// docs/security.md serves a durable and a direct study to the end, for a
// tunerd restricted to its own, answers the status request of the
// evaluator service, and may read the journal for the redelivery lookup; it may not write a study's fingerprint, queue tasks,
// watch results, or take direct tasks outside the evaluators' queue group.
func TestSubjectPermissions(t *testing.T) {
	srv := permissionServer(t)
	evDone, evLog := startRoleEvaluator(t, srv.URL)

	cfg := writeConfig(t, fmt.Sprintf("[nats]\nurl = %q\nuser = \"tunerd\"\npassword = \"tunerd-pw\"\n", srv.URL)+`
[daemon]
data_dir = "out"
http = ""
heartbeat = "100ms"

[[study]]
name = "durable"
objective = "quartic"
max_evaluations = 10
`+quarticParams+`
[[study]]
name = "direct"
objective = "quartic"
dispatch = "direct"
max_evaluations = 10
`+quarticParams)
	// An evaluator denied what it needs exits, and tunerd would wait for
	// another: stop the test at once then.
	cmd, tlog := startTunerd(t, cfg, noNATSEnv...)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("tunerd: %v\n%s\nevaluator:\n%s", err, tlog, evLog.String())
		}
	case <-evDone:
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("the evaluator exited while tunerd ran:\n%s\ntunerd:\n%s", evLog.String(), tlog)
	case <-time.After(3 * time.Minute):
		_ = cmd.Process.Kill()
		<-done
		t.Fatalf("tunerd still running after 3 minutes:\n%s\nevaluator:\n%s", tlog, evLog.String())
	}
	stderr := tlog.String()
	var evaluations, failures int64
	for _, name := range []string{"durable", "direct"} {
		s := readSummary(t, filepath.Join(filepath.Dir(cfg), "out", name, "summary.json"))
		if s.Status != "budget" || s.Evaluations == 0 {
			t.Errorf("%s: %s after %d evaluations, %d failures", name, s.Status, s.Evaluations, s.Failures)
		}
		evaluations, failures = evaluations+int64(s.Evaluations), failures+int64(s.Failures)
	}

	// The evaluator's service answers a status request of tunerd's user,
	// having counted every simulation it ran.
	tnc, err := nats.Connect(srv.URL, nats.UserInfo("tunerd", "tunerd-pw"))
	if err != nil {
		t.Fatal(err)
	}
	defer tnc.Close()
	evs, err := api.NewClient(tnc).Evaluators(context.Background(), 2*time.Second)
	if err != nil || len(evs) != 1 || evs[0].Objective != "quartic" || evs[0].Slots != 2 || evs[0].Busy != 0 ||
		evs[0].Evaluations < evaluations || evs[0].Failures < failures {
		t.Errorf("evaluators %+v (%v); want the one of quartic, idle, with at least the studies' %d evaluations and %d failures",
			evs, err, evaluations, failures)
	}
	for who, log := range map[string]string{"tunerd": stderr, "evaluator": evLog.String()} {
		if strings.Contains(strings.ToLower(log), "permission") {
			t.Errorf("%s was denied something:\n%s", who, log)
		}
	}

	// What the evaluator's user may read and may not do.
	nc, denied := connectAs(t, srv.URL, "evaluator")
	js, err := jetstream.New(nc)
	if err != nil {
		t.Fatal(err)
	}
	lctx, lcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer lcancel()
	stream, err := js.Stream(lctx, wire.JournalStream)
	if err != nil {
		t.Fatal(err)
	}
	if rec, err := journal.Find(lctx, stream, "durable", wire.TrialID(0), epochOf(t, lctx, stream, "durable")); err != nil || rec == nil {
		t.Errorf("journal lookup as the evaluator: %v, %v", rec, err)
	}
	_ = nc.Publish(wire.SubjectStudy+"x", []byte("forged"))
	_ = nc.Publish(wire.TaskSubject("quartic", "durable", "999999"), []byte("{}"))
	if _, err := nc.SubscribeSync(wire.SubjectResult + ">"); err != nil {
		t.Fatal(err)
	}
	if _, err := nc.QueueSubscribeSync(wire.EvalSubject("quartic"), "elsewhere"); err != nil {
		t.Fatal(err)
	}
	want := []string{
		`Permissions Violation for Publish to "zotune.study.x"`,
		`Permissions Violation for Publish to "zotune.task.quartic.durable.999999"`,
		`Permissions Violation for Subscription to "zotune.result.>"`,
		`Permissions Violation for Subscription to "zotune.eval.quartic" using queue "elsewhere"`,
	}
	denied.expect(t, want)
}

// epochOf returns the generation of the first record stored for trial 0
// of study, read as the evaluator's user reads the journal.
func epochOf(t *testing.T, ctx context.Context, stream jetstream.Stream, study string) string {
	t.Helper()
	m, err := stream.GetMsg(ctx, 1, jetstream.WithGetMsgSubject(wire.ResultSubject(study, wire.TrialID(0))))
	if err != nil {
		t.Fatalf("reading the journal as the evaluator: %v", err)
	}
	rec, err := journal.DecodeRecord(m.Data)
	if err != nil {
		t.Fatal(err)
	}
	return rec.Task.Epoch
}

// permissionServer starts a nats-server with the roles of docs/security.md:
// users tunerd, evaluator (of objective quartic) and client, each with
// the password "<user>-pw".
func permissionServer(t *testing.T) *testutil.NATSProcess {
	t.Helper()
	return testutil.NATSServer(t, testutil.NATSServerOptions{StoreDir: t.TempDir(), Config: docPermissions(t, "TUNERD") +
		docPermissions(t, "EVALUATOR_QUARTIC") + docPermissions(t, "CLIENT") + `
authorization {
  users: [
    {user: "tunerd", password: "tunerd-pw", permissions: $TUNERD}
    {user: "evaluator", password: "evaluator-pw", permissions: $EVALUATOR_QUARTIC}
    {user: "client", password: "client-pw", permissions: $CLIENT}
  ]
}`})
}

// startRoleEvaluator starts an evaluator of objective quartic with 2 slots
// as the evaluator user. The channel is closed when it exits; the test's
// cleanup stops it. Every simulation lasts over a heartbeat, so that
// durable tasks get in-progress acks as well as their final one.
func startRoleEvaluator(t *testing.T, url string) (<-chan struct{}, *testutil.SyncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var evLog testutil.SyncBuffer
	ev := exec.CommandContext(ctx, filepath.Join(bin, "tunerd"), "evaluator", "--nats", url, "--objective", "quartic",
		"--slots", "2", "--", filepath.Join(bin, "flaky"))
	ev.Env = append(os.Environ(), append(noNATSEnv, "NATS_USER=evaluator", "NATS_PASSWORD=evaluator-pw", "FLAKY_SLEEP=0.25")...)
	ev.Stderr = &evLog
	if err := ev.Start(); err != nil {
		t.Fatal(err)
	}
	evDone := make(chan struct{})
	go func() { _ = ev.Wait(); close(evDone) }()
	t.Cleanup(func() { cancel(); <-evDone })
	return evDone, &evLog
}

// denials collects the permission violations the server reports to a
// connection.
type denials struct {
	mu  sync.Mutex
	err []error
}

// connectAs connects to url as user (password "<user>-pw"), collecting
// the violations the server reports.
func connectAs(t *testing.T, url, user string) (*nats.Conn, *denials) {
	t.Helper()
	d := &denials{}
	nc, err := nats.Connect(url, nats.UserInfo(user, user+"-pw"),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) {
			d.mu.Lock()
			d.err = append(d.err, err)
			d.mu.Unlock()
		}))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(nc.Close)
	return nc, d
}

// expect waits for the violations want (in order: what the server reports
// names the subject).
func (d *denials) expect(t *testing.T, want []string) {
	t.Helper()
	testutil.WaitFor(t, 30*time.Second, "the permission violations", func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		return len(d.err) >= len(want)
	})
	d.mu.Lock()
	defer d.mu.Unlock()
	for i, w := range want {
		if i >= len(d.err) || !errors.Is(d.err[i], nats.ErrPermissionViolation) || !strings.Contains(d.err[i].Error(), w) {
			t.Errorf("denial %d: want a permissions violation %q (all: %q)", i, w, d.err)
		}
	}
}

// tunerd serve restricted to the tunerd role of docs/security.md keeps its
// registry and serves the control API; a user with the client role submits
// a study, watches it to the end, reads its trials and the evaluators'
// status; and is denied the rest: it cannot write to the journal, queue a
// task, read the journal or listen to the API's requests.
func TestServePermissions(t *testing.T) {
	srv := permissionServer(t)
	evDone, evLog := startRoleEvaluator(t, srv.URL)
	cfg := writeConfig(t, fmt.Sprintf("[nats]\nurl = %q\nuser = \"tunerd\"\npassword = \"tunerd-pw\"\n", srv.URL)+daemonCfg)
	serve, tlog := startServe(t, cfg, noNATSEnv...)
	file := filepath.Join(filepath.Dir(cfg), "served.toml")
	doc := "name = \"served\"\nobjective = \"quartic\"\nmax_evaluations = 10\n" + strings.ReplaceAll(quarticParams, "study.param", "param")
	if err := os.WriteFile(file, []byte(doc), 0o644); err != nil {
		t.Fatal(err)
	}
	client := append(append([]string{}, noNATSEnv...), "NATS_USER=client", "NATS_PASSWORD=client-pw")
	asClient := func(args ...string) string {
		t.Helper()
		code, stdout, stderr := runTunerdArgs(t, append(args, "--nats", srv.URL), client...)
		if code != 0 {
			t.Fatalf("tunerd %s as the client: exit %d\n%s%s\ntunerd:\n%s\nevaluator:\n%s",
				strings.Join(args, " "), code, stdout, stderr, tlog, evLog)
		}
		return stdout
	}
	asClient("submit", file)
	var s api.Study
	testutil.WaitFor(t, 2*time.Minute, "the submitted study to finish", func() bool {
		var list api.List
		if err := json.Unmarshal([]byte(asClient("status", "--json")), &list); err != nil || len(list.Studies) != 1 {
			t.Fatalf("status --json: %v, %+v", err, list)
		}
		s = list.Studies[0]
		return !s.Running && s.Status != "pending" && s.Status != "running"
	})
	if s.Status != "budget" || s.Evaluations == 0 {
		t.Errorf("the study ended %s after %d evaluations", s.Status, s.Evaluations)
	}
	if lines := strings.Count(asClient("trials", "--format", "jsonl", "served"), "\n"); lines != s.Spent {
		t.Errorf("trials as the client: %d lines for %d trials spent", lines, s.Spent)
	}
	if out := asClient("status", "--evaluators"); !strings.Contains(out, "quartic") {
		t.Errorf("status --evaluators as the client lists no evaluator of quartic:\n%s", out)
	}
	select {
	case <-evDone:
		t.Fatalf("the evaluator exited:\n%s", evLog)
	default:
	}
	for who, log := range map[string]string{"tunerd": tlog.String(), "evaluator": evLog.String()} {
		if strings.Contains(strings.ToLower(log), "permission") {
			t.Errorf("%s was denied something:\n%s", who, log)
		}
	}

	nc, denied := connectAs(t, srv.URL, "client")
	_ = nc.Publish(wire.SubjectStudy+"x", []byte("forged"))
	_ = nc.Publish(wire.ResultSubject("served", wire.TrialID(0)), []byte("{}"))
	_ = nc.Publish("$JS.API.STREAM.INFO."+wire.JournalStream, nil)
	if _, err := nc.SubscribeSync("zotune.api.>"); err != nil {
		t.Fatal(err)
	}
	denied.expect(t, []string{
		`Permissions Violation for Publish to "zotune.study.x"`,
		`Permissions Violation for Publish to "zotune.result.served.`,
		`Permissions Violation for Publish to "$JS.API.STREAM.INFO.ZOTUNE_JOURNAL"`,
		`Permissions Violation for Subscription to "zotune.api.>"`,
	})

	if err := serve.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := serve.Wait(); err != nil {
		t.Errorf("tunerd serve after SIGTERM: %v\n%s", err, tlog)
	}
}
