package daemon

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/rs/zerolog"

	"github.com/zotune/zotune/simexec"
	"github.com/zotune/zotune/transport"
)

// maxRestarts is how often in a row an evaluator process that exits on its
// own is started again before the daemon gives up on it. A process that
// ran for stableRun or longer before exiting starts a new count: an
// occasional crash over a long study is restarted every time, a crash loop
// is not.
const (
	maxRestarts = 5
	stableRun   = time.Minute
)

// fleet is the evaluator processes a config lists, started by the daemon.
type fleet struct {
	log      zerolog.Logger
	mu       sync.Mutex
	stopping bool
	procs    []*proc
	wg       sync.WaitGroup
	// lost, if set, is called (once per objective, with f.mu held) when
	// the fleet has given up on the last evaluator of an objective.
	lost func(objective string, err error)
}

// proc is one evaluator child process, restarted if it exits on its own.
type proc struct {
	name      string
	objective string
	argv      []string
	env       []string
	stderr    io.Writer
	config    Evaluator
	cmd       *exec.Cmd
	restarts  int       // restarts in a row, each after a run shorter than stableRun
	started   time.Time // when cmd started
	gone      bool      // given up on
}

func startEvaluators(cfg *Config, c transport.ConnOptions, o Options, log zerolog.Logger, lost func(string, error)) (*fleet, error) {
	f := &fleet{log: log.With().Str("component", "fleet").Logger(), lost: lost}
	if len(cfg.Evaluators) == 0 {
		return f, nil
	}
	if len(o.Evaluator) == 0 {
		return nil, fmt.Errorf("daemon: the config lists evaluators but no evaluator program is set")
	}
	level := cfg.LogLevel
	if level == "" {
		level = "info"
	}
	for i, e := range cfg.Evaluators {
		for k := 0; k < e.Count; k++ {
			name := fmt.Sprintf("%s-%d", e.Objective, i)
			if e.Count > 1 {
				name = fmt.Sprintf("%s-%d.%d", e.Objective, i, k)
			}
			argv, env := evaluatorCommand(o.Evaluator, e, name, level, c, os.Environ())
			stderr := io.Writer(os.Stderr)
			if o.EvaluatorLog != nil {
				stderr = &lineWriter{next: o.EvaluatorLog}
			}
			p := &proc{name: name, objective: e.Objective, argv: argv, env: env, stderr: stderr, config: e}
			f.mu.Lock()
			f.procs = append(f.procs, p)
			err := f.start(p)
			f.mu.Unlock()
			if err != nil {
				f.stop(time.Second, nil)
				return nil, err
			}
		}
	}
	return f, nil
}

// credentialEnv are the environment variables evaluators read credentials
// (and the server) from. The daemon sets those of the config and passes on
// none of its own environment's, so that an evaluator never mixes the two.
var credentialEnv = []string{"NATS_URL", "NATS_TOKEN", "NATS_USER", "NATS_PASSWORD", "NATS_CREDS"}

// evaluatorCommand is the argv and environment of an evaluator process of
// e, called name, started with the argv prefix and the daemon's environment
// environ. Secrets (token, password) go in the environment: a command line
// is visible to every user of the host (ps, /proc). File names of
// credentials and certificates go on the command line.
func evaluatorCommand(prefix []string, e Evaluator, name, level string, c transport.ConnOptions, environ []string) (argv, env []string) {
	argv = append([]string(nil), prefix...)
	argv = append(argv,
		"--nats", c.URL,
		"--objective", e.Objective,
		"--slots", strconv.Itoa(e.Slots),
		"--timeout", e.Timeout.String(),
		"--mode", e.Mode,
		"--answers", e.Answers,
		"--name", name,
		"--log-level", level,
	)
	if e.Dir != "" {
		argv = append(argv, "--workdir", e.Dir)
	}
	if e.RunAs != "" {
		argv = append(argv, "--run-as", e.RunAs)
	}
	for _, kv := range [][2]string{{"--creds", c.Creds}, {"--nkey", c.NKey},
		{"--tls-ca", c.TLSCA}, {"--tls-cert", c.TLSCert}, {"--tls-key", c.TLSKey}} {
		if kv[1] != "" {
			argv = append(argv, kv[0], kv[1])
		}
	}
	argv = append(argv, "--")
	argv = append(argv, e.Command...)

	for _, kv := range environ {
		k, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(credentialEnv, k) {
			env = append(env, kv)
		}
	}
	for _, kv := range [][2]string{{"NATS_TOKEN", c.Token}, {"NATS_USER", c.User}, {"NATS_PASSWORD", c.Password}} {
		if kv[1] != "" {
			env = append(env, kv[0]+"="+kv[1])
		}
	}
	return argv, env
}

// start launches p in its own process group, so that a Ctrl-C at the
// terminal reaches only tunerd, which then stops the evaluators in order.
// Pdeathsig ends the evaluator if the daemon dies without stopping it.
func (f *fleet) start(p *proc) error {
	cmd := exec.Command(p.argv[0], p.argv[1:]...)
	cmd.Env = p.env
	// The evaluator writes to tunerd's stderr itself, not through a pipe
	// (unless Options.EvaluatorLog says otherwise): it logs for a terminal
	// when there is one, and it can still log (and stop its simulators in
	// order) after tunerd died.
	cmd.Stdout = p.stderr
	cmd.Stderr = p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("daemon: starting evaluator %s: %w", p.name, err)
	}
	p.cmd = cmd
	p.started = time.Now()
	f.log.Info().Str("evaluator", p.name).Int("pid", cmd.Process.Pid).Msg("evaluator started")
	f.wg.Add(1)
	go f.watch(p, cmd)
	return nil
}

// watch waits for the process and restarts it if it exited on its own.
func (f *fleet) watch(p *proc, cmd *exec.Cmd) {
	defer f.wg.Done()
	err := cmd.Wait()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopping {
		return
	}
	if time.Since(p.started) >= stableRun {
		p.restarts = 0
	}
	if p.restarts >= maxRestarts {
		f.log.Error().Str("evaluator", p.name).Err(err).Msgf("evaluator exited %d times in a row within a minute of starting; not restarting it", p.restarts+1)
		f.giveUp(p, fmt.Errorf("evaluator %s exited %d times in a row, each within a minute of starting, the last time with %v%s", p.name, p.restarts+1, err, diagnose(p.config)))
		return
	}
	p.restarts++
	f.log.Warn().Str("evaluator", p.name).Err(err).Int("restart", p.restarts).Msg("evaluator exited; restarting it")
	if err := f.start(p); err != nil {
		f.log.Error().Err(err).Msg("restarting evaluator")
		f.giveUp(p, err)
	}
}

// giveUp marks p as given up on, and reports the objective lost when no
// evaluator of it is left. The caller holds f.mu.
func (f *fleet) giveUp(p *proc, err error) {
	p.gone = true
	for _, q := range f.procs {
		if q.objective == p.objective && !q.gone {
			return
		}
	}
	f.log.Error().Str("objective", p.objective).Err(err).Msg("no evaluator of the objective is left")
	if f.lost != nil {
		f.lost(p.objective, err)
	}
}

// diagnose says why an evaluator of e cannot run, as ": why", if the
// daemon can tell: it sets up the simulator runner the way the evaluator
// does, which finds a simulator program that does not exist, a command
// the mode cannot run or a user it cannot run as. Otherwise it points at
// the evaluator's own messages.
func diagnose(e Evaluator) string {
	r, err := simexec.New(simexec.Options{
		Command: e.Command, Mode: simexec.Mode(e.Mode), Answers: simexec.Answers(e.Answers), Timeout: e.Timeout, Dir: e.Dir,
		RunAs: e.RunAs, Logger: zerolog.Nop(),
	})
	if err != nil {
		return ": " + err.Error()
	}
	_ = r.Close()
	return " (its messages are above on stderr)"
}

// stopMargin is what an evaluator's drain takes beyond its longest
// simulation: storing the last results (an evaluator gives up after 3 s
// once stopping), acking, draining its connection (at most 10 s) and
// exiting.
const stopMargin = 15 * time.Second

// stop stops the evaluators. Each gets SIGTERM in its process group and
// drains: it takes no more tasks and lets its simulations in flight
// finish, so that their results are delivered (a durable study finds them
// in its journal when it resumes). stop waits for them for d, or when d is
// 0 for the longest drain: the longest evaluator timeout of the fleet plus
// stopMargin. An interrupt meanwhile (Options.Interrupt: a second Ctrl-C)
// sends the evaluators a second SIGTERM, which abandons their simulations
// at once; a second one kills them, as the end of the wait does.
func (f *fleet) stop(d time.Duration, interrupts <-chan struct{}) {
	f.mu.Lock()
	f.stopping = true
	procs := append([]*proc(nil), f.procs...)
	f.mu.Unlock()
	if d <= 0 {
		d = drainWait(procs)
	}
	signalAll(procs, syscall.SIGTERM)
	done := make(chan struct{})
	go func() { f.wg.Wait(); close(done) }()
	notice, deadline := time.NewTimer(time.Second), time.NewTimer(d)
	defer notice.Stop()
	defer deadline.Stop()
	for n := 0; ; {
		select {
		case <-done:
			return
		case <-notice.C:
			f.log.Info().Dur("up_to", d).Msg("waiting for the evaluators to finish their simulations in flight; interrupt again to abandon them")
			continue
		case <-interrupts:
			if n++; n == 1 {
				f.log.Warn().Msg("abandoning the evaluators' simulations in flight")
				signalAll(procs, syscall.SIGTERM)
				continue
			}
			f.log.Warn().Msg("killing the evaluators")
		case <-deadline.C:
			f.log.Warn().Dur("waited", d).Msg("evaluators did not stop; killing them")
		}
		signalAll(procs, syscall.SIGKILL)
		<-done
		return
	}
}

// drainWait is how long the evaluators of procs may take to drain.
func drainWait(procs []*proc) time.Duration {
	longest := time.Duration(0)
	for _, p := range procs {
		longest = max(longest, p.config.Timeout)
	}
	return longest + stopMargin
}

// signalAll sends sig to the process group of each of procs that started.
func signalAll(procs []*proc, sig syscall.Signal) {
	for _, p := range procs {
		if p.cmd != nil && p.cmd.Process != nil {
			_ = syscall.Kill(-p.cmd.Process.Pid, sig)
		}
	}
}

// lineWriter hands whole lines to next, one per Write: what a process
// writes comes through a pipe in chunks that need not end at a line.
type lineWriter struct {
	mu   sync.Mutex
	next io.Writer
	buf  []byte
}

func (w *lineWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf = append(w.buf, p...)
	for {
		i := bytes.IndexByte(w.buf, '\n')
		if i < 0 {
			return len(p), nil
		}
		if _, err := w.next.Write(w.buf[:i+1]); err != nil {
			return len(p), err
		}
		w.buf = w.buf[i+1:]
	}
}
