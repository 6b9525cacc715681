//go:build unix

package evaluator

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats-server/v2/test"
	"github.com/nats-io/nats.go"

	"github.com/zotune/zotune/internal/testutil"
	"github.com/zotune/zotune/wire"
)

// simEnv makes the test binary act as a simulator (see helperSim) when it
// is started by the evaluator under test.
const simEnv = "ZOTUNE_EVALUATOR_TEST_SIM"

func TestMain(m *testing.M) {
	if os.Getenv(simEnv) == "1" {
		os.Exit(helperSim(os.Args[1:]))
	}
	// Simulators started by the tests inherit this and become helperSim.
	os.Setenv(simEnv, "1")
	// Under -race a program sleeps a second on exit; not the simulators.
	os.Setenv("GORACE", strings.TrimSpace(os.Getenv("GORACE")+" atexit_sleep_ms=0"))
	os.Exit(m.Run())
}

// helperSim is the simulator: "exec" answers the request on stdin with
// {"id": ID, "value": seed + Σ params, "pid": pid, "arg": ARG, "creds": N}
// where ID is the request's, ARG its second argument and N the number of
// NATS credential variables in its environment; "stdio" answers request
// lines the same way; "gated DIR" is testutil.GatedSim.
func helperSim(args []string) int {
	answer := func(line []byte, arg float64) string {
		var req struct {
			ID     string             `json:"id"`
			Seed   int64              `json:"seed"`
			Params map[string]float64 `json:"params"`
		}
		if err := json.Unmarshal(line, &req); err != nil {
			return "bad request: " + err.Error()
		}
		sum := float64(req.Seed)
		for _, v := range req.Params {
			sum += v
		}
		creds := 0 // NATS credential variables the simulator can see
		for _, k := range []string{"NATS_TOKEN", "NATS_USER", "NATS_PASSWORD", "NATS_CREDS"} {
			if _, ok := os.LookupEnv(k); ok {
				creds++
			}
		}
		return fmt.Sprintf(`{"id": %q, "value": %s, "pid": %d, "arg": %s, "creds": %d}`, req.ID,
			strconv.FormatFloat(sum, 'g', -1, 64), os.Getpid(), strconv.FormatFloat(arg, 'g', -1, 64), creds)
	}
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "helper sim: no mode")
		return 64
	}
	switch args[0] {
	case "exec":
		var arg float64
		if len(args) > 1 {
			arg, _ = strconv.ParseFloat(args[1], 64)
		}
		line, _ := io.ReadAll(os.Stdin)
		fmt.Println("working...")
		fmt.Println(answer(line, arg))
	case "stdio":
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			fmt.Println(answer(in.Bytes(), 0))
		}
	case "stdio-plain": // stdio, answering without the request's id
		in := bufio.NewScanner(os.Stdin)
		for in.Scan() {
			fmt.Println(`{` + strings.SplitN(answer(in.Bytes(), 0), ",", 2)[1])
		}
	case "gated": // testutil.GatedSim in the directory args[1]
		return testutil.GatedSim(args[1])
	default:
		fmt.Fprintln(os.Stderr, "helper sim: unknown mode", args[0])
		return 64
	}
	return 0
}

func simCommand(tb testing.TB, args ...string) []string {
	tb.Helper()
	exe, err := os.Executable()
	if err != nil {
		tb.Fatal(err)
	}
	return append([]string{"--", exe}, args...)
}

// startServer runs an embedded NATS server on a free port; configure may
// set authentication.
func startServer(tb testing.TB, configure func(*server.Options)) *server.Server {
	tb.Helper()
	return startServerOn(tb, -1, configure)
}

// startServerOn runs an embedded NATS server on port (-1: a free one).
func startServerOn(tb testing.TB, port int, configure func(*server.Options)) *server.Server {
	tb.Helper()
	opts := test.DefaultTestOptions
	opts.Host = "127.0.0.1"
	opts.Port = port
	opts.NoSigs = true
	if configure != nil {
		configure(&opts)
	}
	s := test.RunServer(&opts)
	tb.Cleanup(func() {
		s.Shutdown()
		s.WaitForShutdown()
	})
	return s
}

func connect(tb testing.TB, s *server.Server, opts ...nats.Option) *nats.Conn {
	tb.Helper()
	nc, err := nats.Connect(s.ClientURL(), opts...)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	tb.Cleanup(nc.Close)
	return nc
}

// evaluator is Main going in the background. Cancelling it is the first
// signal; signal sends the next ones.
type evaluator struct {
	stdout, stderr testutil.SyncBuffer
	cancel         context.CancelFunc
	done           chan int
	signals        chan os.Signal
}

// signal sends the evaluator a signal after the first.
func (e *evaluator) signal() { e.signals <- syscall.SIGTERM }

// stop cancels the evaluator and returns its exit status.
func (e *evaluator) stop(tb testing.TB) int {
	tb.Helper()
	e.cancel()
	select {
	case code := <-e.done:
		e.done <- code // for the cleanup
		return code
	case <-time.After(20 * time.Second):
		tb.Fatalf("evaluator did not stop; stderr:\n%s", e.stderr.String())
		return -1
	}
}

// startEvaluator runs the evaluator with args and waits until it is ready.
func startEvaluator(tb testing.TB, args ...string) *evaluator {
	tb.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	e := &evaluator{cancel: cancel, done: make(chan int, 1), signals: make(chan os.Signal, 1)}
	signals := func() (<-chan os.Signal, func()) { return e.signals, func() {} }
	go func() { e.done <- run(ctx, signals, args, &e.stdout, &e.stderr) }()
	tb.Cleanup(func() {
		// A drain of simulations the test never let finish would hang:
		// a second signal abandons them.
		cancel()
		select {
		case e.signals <- syscall.SIGTERM:
		default:
		}
		select {
		case <-e.done:
		case <-time.After(20 * time.Second):
			tb.Errorf("evaluator did not stop")
		}
	})
	testutil.WaitFor(tb, 10*time.Second, "the evaluator to be ready", func() bool {
		select {
		case code := <-e.done:
			tb.Fatalf("evaluator exited with status %d before it was ready; stderr:\n%s", code, e.stderr.String())
		default:
		}
		return strings.Contains(e.stderr.String(), `"message":"ready"`)
	})
	return e
}

// evaluate sends task for objective and decodes the reply.
func evaluate(tb testing.TB, nc *nats.Conn, objective string, task wire.Task) *wire.Reply {
	tb.Helper()
	task.V = wire.Version
	task.Objective = objective
	data, err := json.Marshal(task)
	if err != nil {
		tb.Fatal(err)
	}
	msg, err := nc.Request(wire.EvalSubject(objective), data, 15*time.Second)
	if err != nil {
		tb.Fatalf("request %s: %v", task.ID, err)
	}
	rep, err := wire.DecodeReply(msg.Data)
	if err != nil {
		tb.Fatalf("reply to %s: %v", task.ID, err)
	}
	return rep
}

func TestServeExec(t *testing.T) {
	s := startServer(t, func(o *server.Options) { o.Authorization = "s3cret" })
	args := append([]string{"--nats", s.ClientURL(), "--token", "s3cret", "--objective", "quad",
		"--slots", "2", "--name", "ev-exec", "--workdir", t.TempDir()}, simCommand(t, "exec", "{x}")...)
	e := startEvaluator(t, args...)

	nc := connect(t, s, nats.Token("s3cret"))
	for i, x := range []float64{0.1, -2.5, 1e-300} {
		id := fmt.Sprintf("demo/%d", i)
		rep := evaluate(t, nc, "quad", wire.Task{ID: id, Study: "demo", Trial: strconv.Itoa(i), Seed: 3, Params: map[string]float64{"x": x}})
		if err := rep.Err(); err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if rep.ID != id || rep.Value != 3+x || rep.Metrics["arg"] != x || rep.Evaluator != "ev-exec" || rep.Seconds <= 0 {
			t.Errorf("%s: reply %+v; want value %v, arg metric %v from ev-exec", id, rep, 3+x, x)
		}
	}
	if code := e.stop(t); code != 0 {
		t.Errorf("exit status %d after cancel, want 0; stderr:\n%s", code, e.stderr.String())
	}
	if !strings.Contains(e.stderr.String(), `"message":"stopped"`) {
		t.Errorf("no stopped event in the log:\n%s", e.stderr.String())
	}
	if !strings.Contains(e.stderr.String(), `"containment":"cgroup `) && !strings.Contains(e.stderr.String(), `"containment":"subreaper `) {
		t.Errorf("the log does not say how simulators are contained:\n%s", e.stderr.String())
	}
}

// The stdio test also takes the server and token from the environment.
func TestServeStdio(t *testing.T) {
	s := startServer(t, func(o *server.Options) { o.Authorization = "envtoken" })
	t.Setenv("NATS_URL", s.ClientURL())
	t.Setenv("NATS_TOKEN", "envtoken")
	args := append([]string{"--objective", "quad", "--mode", "stdio", "--slots", "2"}, simCommand(t, "stdio")...)
	e := startEvaluator(t, args...)

	nc := connect(t, s, nats.Token("envtoken"))
	var (
		wg   sync.WaitGroup
		mu   sync.Mutex
		pids = make(map[float64]bool)
	)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := fmt.Sprintf("demo/%d", i)
			x := float64(i) / 4
			rep := evaluate(t, nc, "quad", wire.Task{ID: id, Study: "demo", Trial: strconv.Itoa(i), Seed: 1, Params: map[string]float64{"x": x}})
			if err := rep.Err(); err != nil || rep.Value != 1+x || rep.ID != id {
				t.Errorf("%s: value %v, error %v; want %v", id, rep.Value, err, 1+x)
			}
			if c, ok := rep.Metrics["creds"]; !ok || c != 0 {
				t.Errorf("%s: the simulator saw %v NATS credential variables (NATS_TOKEN is set), want 0", id, c)
			}
			mu.Lock()
			pids[rep.Metrics["pid"]] = true
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(pids) > 2 {
		t.Errorf("%d simulator processes for 2 slots", len(pids))
	}
	if code := e.stop(t); code != 0 {
		t.Errorf("exit status %d after cancel, want 0; stderr:\n%s", code, e.stderr.String())
	}
	// The simulators are the evaluator's children, reaped before Main returns.
	for pid := range pids {
		if err := syscall.Kill(int(pid), 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("stdio simulator %v still exists after the evaluator stopped (kill: %v)", pid, err)
		}
	}
}

// A stdio simulator answering without ids fails every evaluation by
// default, saying what to do; with --answers plain it is served, after a
// warning.
func TestServeStdioAnswers(t *testing.T) {
	s := startServer(t, nil)
	nc := connect(t, s)
	for _, answers := range []string{"id", "plain"} {
		t.Run(answers, func(t *testing.T) {
			objective := "quad-" + answers
			args := append([]string{"--nats", s.ClientURL(), "--objective", objective, "--mode", "stdio", "--answers", answers},
				simCommand(t, "stdio-plain")...)
			e := startEvaluator(t, args...)
			for i := range 3 {
				id := fmt.Sprintf("demo/%d", i)
				rep := evaluate(t, nc, objective, wire.Task{ID: id, Study: "demo", Trial: strconv.Itoa(i), Seed: 1, Params: map[string]float64{"x": 0.5}})
				switch {
				case answers == "plain" && (rep.Err() != nil || rep.Value != 1.5):
					t.Errorf("%s: value %v, error %v; want 1.5", id, rep.Value, rep.Err())
				case answers == "id" && (rep.Reason != wire.ReasonParse || !strings.Contains(rep.Error, "--answers plain")):
					t.Errorf("%s: reason %q, error %q; want parse, pointing at --answers plain", id, rep.Reason, rep.Error)
				}
			}
			if code := e.stop(t); code != 0 {
				t.Errorf("exit status %d after cancel, want 0; stderr:\n%s", code, e.stderr.String())
			}
			if warned := strings.Contains(e.stderr.String(), "cannot be proven"); warned != (answers == "plain") {
				t.Errorf("warning about unprovable answers logged: %v; stderr:\n%s", warned, e.stderr.String())
			}
		})
	}
}

func TestRefusedCredentials(t *testing.T) {
	tokenServer := startServer(t, func(o *server.Options) { o.Authorization = "s3cret" })
	userServer := startServer(t, func(o *server.Options) { o.Username, o.Password = "alice", "pw" })
	for _, tt := range []struct {
		name string
		args []string
	}{
		{"wrong token", []string{"--nats", tokenServer.ClientURL(), "--token", "wrong"}},
		{"no token", []string{"--nats", tokenServer.ClientURL()}},
		{"wrong password", []string{"--nats", userServer.ClientURL(), "--user", "alice", "--password", "nope"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("NATS_TOKEN", "")
			var stdout, stderr testutil.SyncBuffer
			args := append(tt.args, append([]string{"--objective", "quad"}, simCommand(t, "exec")...)...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			code := Main(ctx, args, &stdout, &stderr)
			if code == 0 {
				t.Fatalf("exit status 0 with refused credentials")
			}
			msg := stderr.String()
			if !strings.Contains(msg, "credentials refused") || strings.Count(strings.TrimSpace(msg), "\n") != 0 {
				t.Errorf("stderr = %q; want one line saying the credentials were refused", msg)
			}
		})
	}
}

// waitExit waits for the evaluator to exit on its own and returns its status.
func (e *evaluator) waitExit(tb testing.TB, timeout time.Duration) int {
	tb.Helper()
	select {
	case code := <-e.done:
		e.done <- code // for the cleanup
		return code
	case <-time.After(timeout):
		tb.Fatalf("evaluator still running after %v; stderr:\n%s", timeout, e.stderr.String())
		return -1
	}
}

// Credentials refused on a reconnect end the evaluator, as at start-up.
func TestCredentialsRefusedOnReconnect(t *testing.T) {
	t.Setenv("NATS_TOKEN", "")
	s := startServer(t, func(o *server.Options) { o.Authorization = "first" })
	port := s.Addr().(*net.TCPAddr).Port
	args := append([]string{"--nats", s.ClientURL(), "--token", "first", "--objective", "quad"}, simCommand(t, "exec")...)
	e := startEvaluator(t, args...)

	s.Shutdown()
	s.WaitForShutdown()
	startServerOn(t, port, func(o *server.Options) { o.Authorization = "second" })

	if code := e.waitExit(t, 30*time.Second); code != 1 {
		t.Errorf("exit status %d, want 1", code)
	}
	log := e.stderr.String()
	last := log[strings.LastIndex(strings.TrimRight(log, "\n"), "\n")+1:]
	if !strings.HasPrefix(last, "evaluator: ") || !strings.Contains(last, "credentials refused") || !strings.Contains(last, "--token") {
		t.Errorf("last line of stderr = %q; want the evaluator saying the credentials were refused", last)
	}
	// Connection events are logged with one component key, not two.
	var disconnected bool
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "disconnected") {
			disconnected = true
			if n := strings.Count(line, `"component"`); n != 1 {
				t.Errorf("%d component keys in %s", n, line)
			}
		}
	}
	if !disconnected {
		t.Errorf("no disconnect logged:\n%s", log)
	}
}

// A user that may connect but not subscribe to the objective's subject
// cannot serve it: the evaluator says so and exits.
func TestPermissionDenied(t *testing.T) {
	t.Setenv("NATS_TOKEN", "")
	s := startServer(t, func(o *server.Options) {
		o.Users = []*server.User{{Username: "alice", Password: "pw", Permissions: &server.Permissions{
			Subscribe: &server.SubjectPermission{Deny: []string{wire.EvalSubject("quad")}},
		}}}
	})
	var stdout, stderr testutil.SyncBuffer
	args := append([]string{"--nats", s.ClientURL(), "--user", "alice", "--password", "pw", "--objective", "quad"}, simCommand(t, "exec")...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if code := Main(ctx, args, &stdout, &stderr); code != 1 || ctx.Err() != nil {
		t.Fatalf("exit status %d (context %v), want 1 before the deadline; stderr:\n%s", code, ctx.Err(), stderr.String())
	}
	log := stderr.String()
	last := log[strings.LastIndex(strings.TrimRight(log, "\n"), "\n")+1:]
	if !strings.HasPrefix(last, "evaluator: permission denied") || !strings.Contains(last, wire.EvalSubject("quad")) {
		t.Errorf("last line of stderr = %q; want permission denied naming %s", last, wire.EvalSubject("quad"))
	}
}

func TestNeededSubjects(t *testing.T) {
	for msg, want := range map[string]bool{
		`nats: permissions violation: Permissions Violation for Subscription to "zotune.eval.quad" using queue "zotune-evaluators.quad"`: true,
		`nats: permissions violation: Permissions Violation for Subscription to "zotune.eval.quadratic"`:                                 false,
		`nats: permissions violation: Permissions Violation for Publish to "$JS.API.CONSUMER.INFO.ZOTUNE_TASKS_quad.evaluators"`:         true,
		`nats: permissions violation: Permissions Violation for Publish to "$JS.API.STREAM.INFO.ZOTUNE_TASKS_quad"`:                      true,
		`nats: permissions violation: Permissions Violation for Publish to "$JS.API.STREAM.INFO.ZOTUNE_TASKS_quadratic"`:                 false,
		`nats: permissions violation: Permissions Violation for Publish to "zotune.result.demo.000001"`:                                  true,
		`nats: permissions violation: Permissions Violation for Publish to "other.subject"`:                                              false,
	} {
		if got := needed(msg, "quad"); got != want {
			t.Errorf("needed(%q) = %v, want %v", msg, got, want)
		}
	}
}

func TestUnreachableServer(t *testing.T) {
	s := startServer(t, nil)
	url := s.ClientURL()
	s.Shutdown()
	s.WaitForShutdown()
	var stdout, stderr testutil.SyncBuffer
	args := append([]string{"--nats", url, "--objective", "quad"}, simCommand(t, "exec")...)
	if code := Main(context.Background(), args, &stdout, &stderr); code != 1 {
		t.Errorf("exit status %d, want 1; stderr: %s", code, stderr.String())
	}
	if !strings.Contains(stderr.String(), "connect") {
		t.Errorf("stderr = %q; want a connection error", stderr.String())
	}
}

func TestUsageErrors(t *testing.T) {
	cmd := simCommand(t, "exec")
	for _, tt := range []struct {
		name   string
		args   []string
		errHas string
	}{
		{"no objective", cmd, "--objective is required"},
		{"no command", []string{"--objective", "q"}, "no simulator command"},
		{"unknown flag", append([]string{"--objective", "q", "--bogus"}, cmd...), "bogus"},
		{"bad slots", append([]string{"--objective", "q", "--slots", "0"}, cmd...), "--slots"},
		{"bad timeout", append([]string{"--objective", "q", "--timeout", "soon"}, cmd...), "timeout"},
		{"zero timeout", append([]string{"--objective", "q", "--timeout", "0s"}, cmd...), "--timeout"},
		{"bad mode", append([]string{"--objective", "q", "--mode", "batch"}, cmd...), "unknown mode"},
		{"bad log level", append([]string{"--objective", "q", "--log-level", "loud"}, cmd...), "--log-level"},
		{"bad objective", append([]string{"--objective", "a b"}, cmd...), "letters, digits"},
		{"tls cert without key", append([]string{"--objective", "q", "--tls-cert", "c.pem"}, cmd...), "--tls-key"},
		{"stdio with a param", []string{"--objective", "q", "--mode", "stdio", "--", "sim", "{x}"}, "{x}"},
		{"bad answers", append([]string{"--objective", "q", "--mode", "stdio", "--answers", "json"}, cmd...), `unknown answers "json"`},
		{"plain answers in exec mode", append([]string{"--objective", "q", "--answers", "plain"}, cmd...), "stdio mode only"},
		{"unknown user", append([]string{"--objective", "q", "--run-as", "zotune-no-such-user"}, cmd...), "zotune-no-such-user"},
		{"command not found", []string{"--objective", "q", "--", "zotune-no-such-simulator"}, "zotune-no-such-simulator"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr testutil.SyncBuffer
			if code := Main(context.Background(), tt.args, &stdout, &stderr); code != 2 {
				t.Errorf("exit status %d, want 2", code)
			}
			if !strings.Contains(stderr.String(), tt.errHas) || !strings.Contains(stderr.String(), "--help") {
				t.Errorf("stderr = %q; want it to mention %q and --help", stderr.String(), tt.errHas)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	for _, arg := range []string{"--help", "-h", "-help"} {
		var stdout, stderr testutil.SyncBuffer
		if code := Main(context.Background(), []string{arg}, &stdout, &stderr); code != 0 {
			t.Errorf("%s: exit status %d, want 0", arg, code)
		}
		help := stdout.String()
		newFlagSet(new(config)).VisitAll(func(f *flag.Flag) {
			if !strings.Contains(help, "--"+f.Name+" ") {
				t.Errorf("%s does not document --%s", arg, f.Name)
			}
		})
		for _, env := range []string{"NATS_URL", "NATS_TOKEN"} {
			if !strings.Contains(help, env) {
				t.Errorf("%s does not mention %s", arg, env)
			}
		}
	}
}
